"""Build the pinned WCXB subset in ``tests/data/wcxb_subset`` for the CI evaluation gate.

Selection is deterministic and needs no randomness: page ids are ordered by the SHA-256 of
``"<SALT>:<id>"``, pages without an annotated ``main_content`` are skipped, at most one page per
domain is kept (so no site's template dominates), and the first ``PAGE_COUNT`` are taken. Files
are copied byte for byte; a ``MANIFEST.json`` of SHA-256 digests lets the gate check them.

Usage::

    python -m benchmarks.make_subset [--source DIR] [--out DIR]
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
    REPO_ROOT,
    SUBSET_DIR,
    BenchDataMissing,
    build_manifest,
    default_bench_dir,
    load_metadata,
    page_ids,
    require_pages_dir,
)

SALT = "newsclean-wcxb-subset-v1"
# 40 pages keep the copied files under 3 MB (45 would reach it); the standard error of a
# mean per-page F1 over 40 pages is about 0.03, enough for a regression floor.
PAGE_COUNT = 40
SIZE_BUDGET = 3_000_000


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


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="full WCXB directory (default: bench dir)")
    parser.add_argument("--out", type=Path, default=SUBSET_DIR)
    args = parser.parse_args(argv)
    source: Path = args.source or default_bench_dir()
    try:
        require_pages_dir(source)
    except BenchDataMissing as exc:
        print(exc, file=sys.stderr)
        return 2

    chosen = write_subset(source, args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    where = args.out.resolve()
    shown = where.relative_to(REPO_ROOT) if where.is_relative_to(REPO_ROOT) else where
    print(f"{len(chosen)} pages, {size / 1e6:.2f} MB written to {shown}")
    if size > SIZE_BUDGET:
        print(f"warning: over the {SIZE_BUDGET / 1e6:.0f} MB budget", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
