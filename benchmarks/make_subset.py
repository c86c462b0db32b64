"""Build the pinned subsets in ``tests/data/`` for the CI evaluation gate.

``--set wcxb`` (default) builds ``wcxb_subset``; ``--set trafilatura-eval`` and ``--set
readability`` build ``trafilatura_eval_subset`` and ``readability_subset`` the same way (hash
order, one page per domain, ``OTHER_PAGE_COUNT`` pages, files copied byte for byte in the set's
own layout, its LICENSE, a README with the attribution, a manifest).

Selection is deterministic and needs no randomness: page ids are ordered by the SHA-256 of
``"<SALT>:<id>"``, pages without an annotated ``main_content`` are skipped, at most one page per
domain is kept (so no site's template dominates), and the first ``PAGE_COUNT`` are taken. Files
are copied byte for byte; a ``MANIFEST.json`` of SHA-256 digests lets the gate check them.

Usage::

    python -m benchmarks.make_subset [--set NAME] [--source DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.wcxb import (
    MANIFEST_NAME,
    READABILITY,
    READABILITY_SUBSET_DIR,
    REPO_ROOT,
    SUBSET_DIR,
    TRAFILATURA_EVAL,
    TRAFILATURA_SUBSET_DIR,
    WCXB,
    BenchDataMissing,
    build_manifest,
    iter_set,
    load_metadata,
    page_ids,
    set_dir,
)

SALT = "newsclean-wcxb-subset-v1"
# 40 pages keep the copied files under 3 MB (45 would reach it); the standard error of a
# mean per-page F1 over 40 pages is about 0.03, enough for a regression floor.
PAGE_COUNT = 40
SIZE_BUDGET = 3_000_000
# The two other sets: 30 pages each (~1-2 MB); their floors guard against regressions of a
# few points, as the WCXB gate does.
OTHER_PAGE_COUNT = 30
OUT_DIRS = {
    WCXB: SUBSET_DIR,
    TRAFILATURA_EVAL: TRAFILATURA_SUBSET_DIR,
    READABILITY: READABILITY_SUBSET_DIR,
}


def selection_key(page_id: str) -> str:
    """Salted hash that orders pages pseudo-randomly but identically on every machine."""
    return hashlib.sha256(f"{SALT}:{page_id}".encode()).hexdigest()


def has_main_content(source: Path, page_id: str) -> bool:
    """True when the page's ground truth has an annotated article body."""
    record = json.loads((source / "ground-truth" / f"{page_id}.json").read_text("utf-8"))
    return bool((record.get("ground_truth") or {}).get("main_content"))


def select_pages(source: Path, metadata: dict[str, dict[str, Any]]) -> list[str]:
    """The subset's page ids, sorted: hash order, annotated bodies only, one page per domain."""
    chosen: list[str] = []
    domains: set[str] = set()
    for page_id in sorted(page_ids(source), key=selection_key):
        domain = metadata.get(page_id, {}).get("domain") or page_id
        if domain in domains or not has_main_content(source, page_id):
            continue
        domains.add(domain)
        chosen.append(page_id)
        if len(chosen) == PAGE_COUNT:
            break
    return sorted(chosen)


def source_commit(source: Path) -> str:
    """The upstream commit named in the data README, or "unknown"."""
    readme = source / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    match = re.search(r"commit\s+([0-9a-f]{7,40})", text)
    return match.group(1) if match else "unknown"


def readme_text(commit: str, count: int) -> str:
    """README of the subset: provenance, licence, selection rule and how to rebuild it."""
    return f"""# WCXB subset for the evaluation gate

{count} article pages from the development split of WCXB, the Web Content eXtraction Benchmark
(Murrough Foley, 2026), github.com/Murrough-Foley/web-content-extraction-benchmark, commit
{commit}. Licensed CC-BY-4.0: see LICENSE. Copyright (c) 2026 Murrough Foley.

Changes: only the pages listed in `metadata.json` are kept. `html/*.html.gz` and
`ground-truth/*.json` are unmodified copies; `metadata.json` is the original restricted to these
pages. `MANIFEST.json` holds the SHA-256 digest of every file here (checked by
`benchmarks.wcxb.verify_manifest`).

Selection (deterministic): page ids ordered by the SHA-256 of `"<salt>:<id>"` with salt
`{SALT}`; pages whose ground truth has no `main_content` skipped; at most one page
per domain; the first {count} taken.
Rebuild with `python -m benchmarks.make_subset` (needs the full set, see `benchmarks/wcxb.py`).
"""


def write_subset(source: Path, out: Path) -> list[str]:
    """Copy the selected pages, LICENSE, metadata, README and manifest into ``out``."""
    metadata = load_metadata(source)
    chosen = select_pages(source, metadata)
    for folder in ("html", "ground-truth"):
        shutil.rmtree(out / folder, ignore_errors=True)
        (out / folder).mkdir(parents=True)
    for page_id in chosen:
        shutil.copyfile(source / "html" / f"{page_id}.html.gz", out / "html" / f"{page_id}.html.gz")
        name = f"{page_id}.json"
        shutil.copyfile(source / "ground-truth" / name, out / "ground-truth" / name)
    shutil.copyfile(source / "LICENSE", out / "LICENSE")
    subset_metadata = {page_id: metadata[page_id] for page_id in chosen if page_id in metadata}
    (out / "metadata.json").write_text(json.dumps(subset_metadata, indent=2) + "\n", "utf-8")
    (out / "README.md").write_text(readme_text(source_commit(source), len(chosen)), "utf-8")
    (out / MANIFEST_NAME).unlink(missing_ok=True)
    manifest = {"source_commit": source_commit(source), "salt": SALT, "files": build_manifest(out)}
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return chosen


ATTRIBUTION = {
    TRAFILATURA_EVAL: (
        "trafilatura evaluation subset",
        "web pages from the evaluation set of trafilatura (Adrien Barbaresi), "
        "github.com/adbar/trafilatura, `tests/evaldata.json` and `tests/cache/` at commit "
        "e90b0ef5, development half as split by web domain in newsclean's bench folder. The "
        "repository is Apache-2.0 (see LICENSE); the pages belong to their publishers and are "
        "here only to evaluate extraction",
        "`html/*.html.gz` are unmodified copies; `evaldata.json` is the original restricted "
        "to these pages",
    ),
    READABILITY: (
        "Readability subset",
        "pages from the test suite of Mozilla Readability, github.com/mozilla/readability "
        "(`test/test-pages/`), commit ab4027a8. Apache-2.0, Copyright (c) 2010 Arc90 Inc and "
        "Mozilla contributors (see LICENSE); the pages belong to their publishers and are here "
        "only to evaluate extraction",
        "each folder's `source.html.gz`, `expected.html.gz` and `expected-metadata.json` are "
        "unmodified copies",
    ),
}


def other_readme(name: str, count: int) -> str:
    """README of a trafilatura-eval or Readability subset: provenance, licence, selection."""
    title, source, changes = ATTRIBUTION[name]
    return f"""# {title} for the evaluation gate

{count} {source}.

Changes: only these pages are kept; {changes}. `MANIFEST.json` holds the SHA-256 digest of
every file here (checked by `benchmarks.wcxb.verify_manifest`).

Selection (deterministic): page ids ordered by the SHA-256 of `"<salt>:<id>"` with salt
`{SALT}`; at most one page per web domain; the first {count} taken.
Rebuild with `python -m benchmarks.make_subset --set {name}` (needs the full set).
"""


def write_other_subset(name: str, source: Path, out: Path) -> list[str]:
    """Copy ``OTHER_PAGE_COUNT`` pages of set ``name`` with its LICENSE, README, manifest."""
    chosen: list[str] = []
    domains: set[str] = set()
    pages = sorted(iter_set(name, source), key=lambda page: selection_key(page.page_id))
    for page in pages:
        if page.domain in domains:
            continue
        domains.add(page.domain)
        chosen.append(page.page_id)
        if len(chosen) == OTHER_PAGE_COUNT:
            break
    chosen.sort()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    if name == TRAFILATURA_EVAL:
        (out / "html").mkdir()
        for page_id in chosen:
            shutil.copyfile(
                source / "html" / f"{page_id}.html.gz", out / "html" / f"{page_id}.html.gz"
            )
        records = json.loads((source / "evaldata.json").read_text(encoding="utf-8"))
        subset = {page_id: records[page_id] for page_id in chosen}
        (out / "evaldata.json").write_text(
            json.dumps(subset, indent=1, ensure_ascii=False) + "\n", "utf-8"
        )
    else:
        for page_id in chosen:
            shutil.copytree(source / page_id, out / page_id)
    shutil.copyfile(source / "LICENSE", out / "LICENSE")
    (out / "README.md").write_text(other_readme(name, len(chosen)), "utf-8")
    manifest = {"salt": SALT, "files": build_manifest(out)}
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=sorted(OUT_DIRS), default=WCXB, dest="set_name")
    parser.add_argument("--source", type=Path, help="the full set's directory (default: bench dir)")
    parser.add_argument("--out", type=Path, help="default: the set's folder in tests/data")
    args = parser.parse_args(argv)
    source: Path = args.source or set_dir(args.set_name)
    out: Path = args.out or OUT_DIRS[args.set_name]
    try:
        next(iter_set(args.set_name, source, 1))
    except (BenchDataMissing, StopIteration) as exc:
        print(f"benchmark data missing: {exc}", file=sys.stderr)
        return 2
    if args.set_name == WCXB:
        chosen = write_subset(source, out)
    else:
        chosen = write_other_subset(args.set_name, source, out)
    args.out = out
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    where = args.out.resolve()
    shown = where.relative_to(REPO_ROOT) if where.is_relative_to(REPO_ROOT) else where
    print(f"{len(chosen)} pages, {size / 1e6:.2f} MB written to {shown}")
    if size > SIZE_BUDGET:
        print(f"warning: over the {SIZE_BUDGET / 1e6:.0f} MB budget", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
