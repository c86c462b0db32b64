"""The crawl-like benchmark corpus: deterministic, fresh copies unlike each other, reprints near
their original (by dedup's own shingling), pages with URLs of their own."""

from __future__ import annotations

import gzip
import itertools
import random
from pathlib import Path

import lxml.html
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.crawl_corpus import (
    FRESH_RATE,
    REPRINT_RATE,
    crawl_page,
    dedup_shares,
    page_plan,
    rewrite,
)

from .conftest import REPO

PAGES = sorted((REPO / "tests" / "data" / "wcxb_subset" / "html").glob("*.html.gz"))[:6]
TEXT = (
    "The council voted on Tuesday to extend the bus line to the new hospital. "
    "Residents had asked for the extension for three years, citing long walks in winter. "
    "The work is expected to start in the spring and to cost about four million euros. "
    "Opponents said the money would be better spent on repairing the existing roads."
)


def _shingles(text: str) -> set[tuple[str, str]]:
    words = text.lower().split()
    return set(itertools.pairwise(words))


def _jaccard(a: str, b: str) -> float:
    x, y = _shingles(a), _shingles(b)
    return len(x & y) / len(x | y)


def test_a_reprint_stays_near_and_fresh_copies_drift_apart():
    vocabulary = TEXT.split()
    reprints = [rewrite(TEXT, random.Random(n), REPRINT_RATE, vocabulary, False) for n in range(40)]
    fresh = [rewrite(TEXT, random.Random(n), FRESH_RATE, vocabulary, True) for n in range(40)]
    assert all(r != TEXT for r in reprints)  # one word at least is replaced
    near = [_jaccard(TEXT, r) >= 0.7 for r in reprints]  # dedup's threshold
    assert sum(near) >= 0.9 * len(near)  # a few heavier edits fall below, as in a crawl
    assert max(_jaccard(a, b) for a, b in itertools.pairwise(fresh)) < 0.4
    assert rewrite(TEXT, random.Random(1), FRESH_RATE, vocabulary, True) == fresh[1]


def test_crawl_pages_are_deterministic_and_have_their_own_urls():
    pages = [gzip.decompress(p.read_bytes()) for p in PAGES]
    plans = [page_plan(i, len(pages)) for i in range(400)]
    reprints = [i for i, (_, original) in enumerate(plans) if original is not None]
    assert 0.08 < len(reprints) / len(plans) < 0.25
    assert all(plans[plans[i][0]][1] is None for i in reprints)  # reprints of fresh pages
    first = [crawl_page(i, pages) for i in range(8)]
    assert first == [crawl_page(i, pages) for i in range(8)]
    assert len(set(first)) == 8
    for i, page in enumerate(first):
        tree = lxml.html.document_fromstring(page)
        urls = tree.xpath("//meta[@property='og:url']/@content|//link[@rel='canonical']/@href")
        assert all(url.endswith(f"crawl={i}") for url in urls)


def test_dedup_shares_count_both_sides_of_a_copy(tmp_path: Path):
    rows = {
        "paragraph_id": ["a-0", "a-1", "b-0", "b-1", "c-0"],
        "label": ["body", "body", "duplicate", "duplicate", "nav"],
        "reason": ["article_text", "article_text", "exact_duplicate", "near_duplicate", "x"],
        "duplicate_of": [None, None, "a-0", "a-1", None],
    }
    pq.write_table(pa.table(rows), tmp_path / "p.parquet")
    shares = dedup_shares(str(tmp_path / "*.parquet"))
    assert shares == {"paragraphs": 4.0, "removed": 0.5, "exact_copy": 0.5, "near_copy": 0.5}
