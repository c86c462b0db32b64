"""Read the three development sets (pages and truth) and verify the pinned subsets' manifests.

The sets live outside the repository, in ``../shared/bench/`` relative to the repository root
(override the folder with ``NEWSCLEAN_BENCH_ROOT``, or only the WCXB one with
``NEWSCLEAN_BENCH_DIR``): ``wcxb-dev-articles`` (main text, snippets, metadata),
``trafilatura-eval-dev`` (must-have / must-not-have snippets) and ``readability-pages``
(Readability's reviewed article HTML, ``readerable`` flags). Clones without them get a
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
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR_ENV = "NEWSCLEAN_BENCH_DIR"
BENCH_ROOT_ENV = "NEWSCLEAN_BENCH_ROOT"
SUBSET_DIR = REPO_ROOT / "tests" / "data" / "wcxb_subset"
TRAFILATURA_SUBSET_DIR = REPO_ROOT / "tests" / "data" / "trafilatura_eval_subset"
READABILITY_SUBSET_DIR = REPO_ROOT / "tests" / "data" / "readability_subset"
WCXB = "wcxb"
TRAFILATURA_EVAL = "trafilatura-eval"
READABILITY = "readability"
SET_FOLDERS = {
    WCXB: "wcxb-dev-articles",
    TRAFILATURA_EVAL: "trafilatura-eval-dev",
    READABILITY: "readability-pages",
}
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
        """The page as text, decoded as trafilatura decodes bytes (UTF-8 first, then detected).

        WCXB and Readability store UTF-8; trafilatura's set keeps each page's encoding as served.
        """
        from trafilatura.utils import decode_file

        return decode_file(self.html)

    @property
    def domain(self) -> str:
        """The page's web domain, for grouping cross-validation folds and subsets."""
        return str(self.metadata.get("domain") or urlsplit(self.url or "").hostname or self.page_id)


def default_bench_dir() -> Path:
    """``$NEWSCLEAN_BENCH_DIR`` if set, else ``../shared/bench/wcxb-dev-articles`` from the repo."""
    override = os.environ.get(BENCH_DIR_ENV)
    if override:
        return Path(override)
    return bench_root() / SET_FOLDERS[WCXB]


def bench_root() -> Path:
    """``$NEWSCLEAN_BENCH_ROOT`` if set, else the nearest ``shared/bench`` above the repository.

    ``../shared/bench`` for a clone; a git worktree one level deeper finds the same folder.
    """
    override = os.environ.get(BENCH_ROOT_ENV)
    if override:
        return Path(override)
    found = (p / "shared" / "bench" for p in REPO_ROOT.parents)
    return next((p for p in found if p.is_dir()), REPO_ROOT.parent / "shared" / "bench")


def set_dir(name: str, root: Path | None = None) -> Path:
    """The folder of development set ``name`` (WCXB honours ``$NEWSCLEAN_BENCH_DIR``)."""
    if name == WCXB and root is None and os.environ.get(BENCH_DIR_ENV):
        return default_bench_dir()
    return (root or bench_root()) / SET_FOLDERS[name]


def iter_set(name: str, directory: Path, limit: int | None = None) -> Iterator[Page]:
    """The pages of set ``name`` in ``directory``, in id order, at most ``limit``.

    Raises :class:`BenchDataMissing` when the folder does not hold that set.
    """
    if name == WCXB:
        return iter_pages(directory, limit)
    if name == TRAFILATURA_EVAL:
        return iter_trafilatura_eval(directory, limit)
    return iter_readability(directory, limit)


def iter_trafilatura_eval(directory: Path, limit: int | None = None) -> Iterator[Page]:
    """trafilatura's evaluation pages: truth is ``with`` and ``without`` snippets."""
    evaldata = directory / "evaldata.json"
    if not evaldata.is_file() or not (directory / "html").is_dir():
        raise BenchDataMissing(
            f"trafilatura evaluation data not found: {directory} needs evaldata.json and html/. "
            f"Point {BENCH_ROOT_ENV} at a folder holding {SET_FOLDERS[TRAFILATURA_EVAL]}/."
        )
    records: dict[str, dict[str, Any]] = json.loads(evaldata.read_text(encoding="utf-8"))
    ids = sorted(i for i in records if (directory / "html" / f"{i}.html.gz").is_file())
    for page_id in ids if limit is None else ids[:limit]:
        record = records[page_id]
        html = gzip.decompress((directory / "html" / f"{page_id}.html.gz").read_bytes())
        truth = {"with": record.get("with") or [], "without": record.get("without") or []}
        yield Page(page_id, html, truth, record.get("url"))


def iter_readability(directory: Path, limit: int | None = None) -> Iterator[Page]:
    """Readability's test pages: truth is the text of its reviewed output and its metadata.

    ``main_content`` is the visible text of ``expected.html.gz`` (``html_text``); ``readerable``
    is False for the pages Readability says hold no article.
    """
    import html_text

    ids = sorted(p.parent.name for p in directory.glob("*/source.html.gz"))
    if not ids:
        raise BenchDataMissing(
            f"Readability test pages not found: {directory} has no */source.html.gz. "
            f"Point {BENCH_ROOT_ENV} at a folder holding {SET_FOLDERS[READABILITY]}/."
        )
    for page_id in ids if limit is None else ids[:limit]:
        folder = directory / page_id
        html = gzip.decompress((folder / "source.html.gz").read_bytes())
        expected = gzip.decompress((folder / "expected.html.gz").read_bytes()).decode("utf-8")
        meta = json.loads((folder / "expected-metadata.json").read_text(encoding="utf-8"))
        truth = {
            "main_content": html_text.extract_text(expected),
            "readerable": meta.get("readerable", True) is not False,
            "title": meta.get("title"),
            "author": meta.get("byline"),
            "language": meta.get("lang"),
        }
        yield Page(page_id, html, truth, None, {"domain": page_id})


def require_pages_dir(directory: Path) -> Path:
    """Return ``directory`` if it has ``html/`` and ``ground-truth/``, else raise a clear error."""
    missing = [f"{name}/" for name in ("html", "ground-truth") if not (directory / name).is_dir()]
    if missing:
        raise BenchDataMissing(
            f"WCXB data not found: {directory} has no {' or '.join(missing)} directory. "
            f"Point {BENCH_DIR_ENV} at a copy of wcxb-dev-articles (or {BENCH_ROOT_ENV} at "
            f"its parent), or use the pinned subset in {SUBSET_DIR.relative_to(REPO_ROOT)}."
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
