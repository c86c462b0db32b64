"""Read WCXB pages (HTML, ground truth, metadata) and verify the pinned subset's manifest.

The full development split lives outside the repository, in ``../shared/bench/wcxb-dev-articles``
relative to the repository root (override with ``NEWSCLEAN_BENCH_DIR``). Clones without it get a
:class:`BenchDataMissing` error with a readable message instead of a traceback.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR_ENV = "NEWSCLEAN_BENCH_DIR"
SUBSET_DIR = REPO_ROOT / "tests" / "data" / "wcxb_subset"
MANIFEST_NAME = "MANIFEST.json"


class BenchDataMissing(RuntimeError):
    """The benchmark data directory is absent or incomplete."""


@dataclass(frozen=True, slots=True)
class Page:
    """One benchmark page: raw HTML bytes, the ``ground_truth`` object and its metadata."""

    page_id: str
    html: bytes
    truth: dict[str, Any]
    url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def html_text(self) -> str:
        """The page as text; WCXB stores every page as UTF-8."""
        return self.html.decode("utf-8", errors="replace")


def default_bench_dir() -> Path:
    """``$NEWSCLEAN_BENCH_DIR`` if set, else ``../shared/bench/wcxb-dev-articles`` from the repo."""
    override = os.environ.get(BENCH_DIR_ENV)
    if override:
        return Path(override)
    return REPO_ROOT.parent / "shared" / "bench" / "wcxb-dev-articles"


def require_pages_dir(directory: Path) -> Path:
    """Return ``directory`` if it has ``html/`` and ``ground-truth/``, else raise a clear error."""
    missing = [f"{name}/" for name in ("html", "ground-truth") if not (directory / name).is_dir()]
    if missing:
        raise BenchDataMissing(
            f"WCXB data not found: {directory} has no {' or '.join(missing)} directory. "
            f"Point {BENCH_DIR_ENV} (or --pages) at a copy of wcxb-dev-articles, or use the "
            f"pinned subset in {SUBSET_DIR.relative_to(REPO_ROOT)}."
        )
    return directory


def page_ids(directory: Path) -> list[str]:
    """Sorted ids of the pages that have both an HTML file and a ground-truth file."""
    html_ids = {p.name.removesuffix(".html.gz") for p in (directory / "html").glob("*.html.gz")}
    truth_ids = {p.stem for p in (directory / "ground-truth").glob("*.json")}
    return sorted(html_ids & truth_ids)


def load_metadata(directory: Path) -> dict[str, dict[str, Any]]:
    """``metadata.json`` (page type and domain per page id), or an empty mapping if absent."""
    path = directory / "metadata.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def load_page(directory: Path, page_id: str, metadata: dict[str, Any] | None = None) -> Page:
    """Load one page by id."""
    html = gzip.decompress((directory / "html" / f"{page_id}.html.gz").read_bytes())
    record = json.loads((directory / "ground-truth" / f"{page_id}.json").read_text("utf-8"))
    return Page(page_id, html, record.get("ground_truth") or {}, record.get("url"), metadata or {})


def iter_pages(directory: Path, limit: int | None = None) -> Iterator[Page]:
    """Yield the pages of ``directory`` in id order, at most ``limit`` of them."""
    require_pages_dir(directory)
    metadata = load_metadata(directory)
    ids = page_ids(directory)
    for page_id in ids if limit is None else ids[:limit]:
        yield load_page(directory, page_id, metadata.get(page_id))


def make_dump(html: str) -> str:
    """Whole-page text dump, menus and footers included, as the dataset README defines it."""
    import html_text  # dev dependency: only the text mode of the harness needs it

    return html_text.extract_text(html, guess_layout=True)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 digest of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_files(directory: Path) -> list[Path]:
    """Every file under ``directory`` except the manifest itself, sorted by relative path."""
    return sorted(
        p
        for p in directory.rglob("*")
        if p.is_file() and p.relative_to(directory) != Path(MANIFEST_NAME)
    )


def build_manifest(directory: Path) -> dict[str, str]:
    """Map each file's POSIX path relative to ``directory`` to its SHA-256 digest."""
    return {p.relative_to(directory).as_posix(): sha256_file(p) for p in manifest_files(directory)}


def verify_manifest(directory: Path = SUBSET_DIR) -> list[str]:
    """Compare ``directory`` with its ``MANIFEST.json``; return the problems (empty when intact).

    Reports files that are missing, changed or not listed, so a gate never scores data that
    differs from what its floors were set on.
    """
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.is_file():
        return [f"{manifest_path} is missing"]
    expected: dict[str, str] = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
    actual = build_manifest(directory)
    problems = [f"missing: {name}" for name in sorted(expected.keys() - actual.keys())]
    problems += [f"not in manifest: {name}" for name in sorted(actual.keys() - expected.keys())]
    problems += [
        f"digest mismatch: {name}"
        for name in sorted(expected.keys() & actual.keys())
        if expected[name] != actual[name]
    ]
    return problems
