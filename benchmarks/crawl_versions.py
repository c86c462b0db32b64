"""Versions in crawl order: a WARC holding two crawls of each URL, counted wrong or right.

Usage::

    python -m benchmarks.crawl_versions [--urls 20]
    # the same WARC through another checkout's code (e.g. main):
    PYTHONPATH=/work/main python benchmarks/crawl_versions.py

The WARC holds two crawls of each of ``--urls`` news pages: the first crawl on 1 March, the
second a day later with an update paragraph added. For every other URL the later crawl is
written first in the file (crawlers append, but archives are merged and re-sorted). The
records go through the shard step (``process_shard``) and the run-wide steps
(``label_articles``), as in a run. A URL is *wrong* when its highest version is not the
later crawl, or when README's latest-version query (the articles no other supersedes)
does not return the later crawl for it.
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tasks.clean.document import process_shard
from tasks.config import PipelineConfig
from tasks.dedup.runwide import label_articles
from tasks.models import Article, InputRef

FIRST_CRAWL = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SECOND_CRAWL = datetime(2026, 3, 2, 18, 45, tzinfo=UTC)
UPDATE = "Update"

PAGE = (
    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
    "<meta property='article:published_time' content='2026-03-01T08:15:00Z'>"
    "</head><body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
)


_WORDS = [
    "river",
    "bridge",
    "council",
    "rain",
    "storm",
    "crews",
    "residents",
    "shelter",
    "school",
    "market",
    "hills",
    "water",
    "road",
    "mayor",
    "police",
    "farmers",
    "harbour",
    "station",
    "valley",
    "tunnel",
    "power",
    "lines",
    "schools",
    "clinic",
    "museum",
    "traffic",
    "ferry",
    "orchard",
    "factory",
    "workers",
    "teachers",
    "nurses",
    "pupils",
    "drivers",
    "volunteers",
    "engineers",
    "closed",
    "opened",
    "repaired",
    "flooded",
    "reported",
    "warned",
    "promised",
    "checked",
    "cleared",
    "delayed",
    "moved",
    "after",
    "before",
    "during",
    "overnight",
    "today",
    "yesterday",
    "morning",
    "evening",
    "north",
    "south",
    "east",
    "west",
    "slowly",
    "quickly",
    "again",
    "finally",
    "early",
    "late",
    "nearby",
    "upstream",
    "downstream",
    "across",
    "along",
]


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(9, 14)) for _ in range(3))


def page(n: int, *, updated: bool) -> bytes:
    """News page ``n`` as the first crawl found it, or with the update the second found (words
    drawn at random per page: no page's paragraphs are copies of another's)."""
    rng = random.Random(n)
    paragraphs = [_paragraph(rng), _paragraph(rng)]
    if updated:
        paragraphs.append(f"{UPDATE} at 18:00: {_paragraph(rng)}")
    title = f"River levels rise in district {n} after storms"
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return PAGE.format(title=title, paragraphs=body).encode()


def url(n: int) -> str:
    return f"https://news.example/2026/03/river-district-{n}"


def write_two_crawls(path: Path, urls: Sequence[int], *, later_first: Sequence[int]) -> Path:
    """A WARC with two crawls of each page in ``urls``; the later one first for ``later_first``."""
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for n in urls:
            crawls = [(FIRST_CRAWL, False), (SECOND_CRAWL, True)]
            if n in later_first:
                crawls.reverse()
            for when, updated in crawls:
                headers = StatusAndHeaders(
                    "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
                )
                record = writer.create_warc_record(
                    url(n),
                    "response",
                    payload=io.BytesIO(page(n, updated=updated)),
                    http_headers=headers,
                    warc_headers_dict={"WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%SZ")},
                )
                writer.write_record(record)
    return path


def latest(articles: Sequence[Article]) -> list[Article]:
    """README's latest-version query: the articles no other article supersedes."""
    superseded = {a.supersedes for a in articles}
    return [a for a in articles if a.article_id not in superseded]


def wrong_urls(articles: Sequence[Article]) -> list[str]:
    """URLs whose highest version, or whose latest by README's query, is the stale crawl."""
    wrong: set[str] = set()
    by_url: dict[str, list[Article]] = {}
    for article in articles:
        by_url.setdefault(article.url or "", []).append(article)
    for address, versions in by_url.items():
        newest = max(versions, key=lambda a: a.version)
        if UPDATE not in newest.text:
            wrong.add(address)
    for article in latest(articles):
        if UPDATE not in article.text:
            wrong.add(article.url or "")
    return sorted(wrong)


def run(urls: int, folder: Path) -> tuple[int, list[str]]:
    """(articles published, URLs wrong) for a two-crawl WARC of ``urls`` pages."""
    numbers = range(1, urls + 1)
    warc = write_two_crawls(folder / "crawl.warc.gz", numbers, later_first=numbers[::2])
    result = process_shard([InputRef(str(warc), str(warc))], PipelineConfig())
    label_articles(result.articles)
    return len(result.articles), wrong_urls(result.articles)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=20, help="URLs, each crawled twice")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="newsclean-versions-") as scratch:
        published, wrong = run(args.urls, Path(scratch))
    print(f"URLs: {args.urls} (later crawl first in the file for {(args.urls + 1) // 2})")
    print(f"articles: {published}")
    print(f"wrong (stale crawl is the highest version or README's latest): {len(wrong)}")


if __name__ == "__main__":
    main()
