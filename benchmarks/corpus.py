"""A corpus of N real news pages for throughput runs: WCXB dev pages, repeated with variation.

Copy ``k`` of a page is the page plus a trailing ``<!-- newsclean-bench copy k -->`` comment:
bytes (so ``article_id``) differ and nothing is skipped as an exact repeat, while extraction
does exactly the work of the original page. The text of copies is identical, so the dedup
step sees realistic reprints. Written once per size and reused (``.complete`` marker).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from benchmarks.wcxb import BenchDataMissing, default_bench_dir

COMPLETE = ".complete"


@dataclass(frozen=True, slots=True)
class Corpus:
    """Where the N pages are and how many bytes they hold (for MB/s)."""

    directory: Path
    pages: int
    bytes: int


def source_pages(bench_dir: Path | None = None) -> list[bytes]:
    """The dev split's HTML pages, in id order; a readable error when the data is absent."""
    html_dir = (bench_dir or default_bench_dir()) / "html"
    files = sorted(html_dir.glob("*.html.gz"))
    if not files:
        raise BenchDataMissing(
            f"no WCXB pages in {html_dir}: the throughput benchmark needs the dev split in "
            f"../shared/bench/wcxb-dev-articles (or NEWSCLEAN_BENCH_DIR pointing at a copy)"
        )
    return [gzip.decompress(path.read_bytes()) for path in files]


def variant(page: bytes, copy: int) -> bytes:
    """Copy ``copy`` of ``page``: unchanged for 0, else a unique comment appended."""
    return page if copy == 0 else page + f"\n<!-- newsclean-bench copy {copy} -->\n".encode()


def build_corpus(n: int, root: Path, bench_dir: Path | None = None) -> Corpus:
    """``root/pages-<n>/`` with ``n`` HTML files (1,000 per subfolder), built unless present."""
    directory = root / f"pages-{n}"
    marker = directory / COMPLETE
    if marker.is_file():
        info = json.loads(marker.read_text(encoding="utf-8"))
        return Corpus(directory, info["pages"], info["bytes"])
    pages = source_pages(bench_dir)
    total = 0
    for i in range(n):
        data = variant(pages[i % len(pages)], i // len(pages))
        path = directory / f"{i // 1000:04d}" / f"{i:07d}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)
    marker.write_text(json.dumps({"pages": n, "bytes": total}), encoding="utf-8")
    return Corpus(directory, n, total)
