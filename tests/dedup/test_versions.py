"""Versions of one URL in crawl order: numbered by when each page was fetched (WARC-Date),
never by article id, whatever the input order, sharding or shard size."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from benchmarks.crawl_versions import (
    FIRST_CRAWL,
    SECOND_CRAWL,
    UPDATE,
    latest,
    url,
    write_two_crawls,
)
from flows.pipeline import newsclean_flow
from tasks.clean.document import process_shard
from tasks.config import PipelineConfig
from tasks.dedup.runwide import label_articles
from tasks.models import InputRef

URLS = range(1, 11)


def _articles(warc: Path):
    return process_shard([InputRef(str(warc), str(warc))], PipelineConfig()).articles


def test_the_later_crawl_is_the_later_version_wherever_it_is_in_the_file(tmp_path):
    """main numbered these by article id: the stale crawl was the latest for about half."""
    warc = write_two_crawls(tmp_path / "crawl.warc.gz", URLS, later_first=URLS[::2])
    for order in (1, -1):
        articles = _articles(warc)[::order]
        assert {a.fetched_at for a in articles} == {FIRST_CRAWL, SECOND_CRAWL}
        label_articles(articles)
        by_crawl = {(a.url, a.fetched_at): a for a in articles}
        for n in URLS:
            old, new = by_crawl[(url(n), FIRST_CRAWL)], by_crawl[(url(n), SECOND_CRAWL)]
            assert (old.version, old.supersedes) == (1, None)
            assert (new.version, new.supersedes) == (2, old.article_id)
            assert UPDATE in new.text and UPDATE not in old.text
            # Each version is published whole: neither is a copy of the other.
            assert all(p.label != "duplicate" for p in [*old.paragraphs, *new.paragraphs])
        assert {a.fetched_at for a in latest(articles)} == {SECOND_CRAWL}


def test_without_fetch_times_versions_follow_the_input_order(tmp_path):
    """Files (no WARC-Date) of one URL with the same declared date: by path, not by id."""
    warc = write_two_crawls(tmp_path / "crawl.warc.gz", URLS, later_first=URLS[::2])
    articles = _articles(warc)
    for article in articles:
        article.fetched_at = None
    label_articles(articles[::-1])
    for n in URLS:
        first, second = sorted(
            (a for a in articles if a.url == url(n)), key=lambda a: int(a.source.split("#")[1])
        )
        assert (first.version, second.version) == (1, 2)
        assert second.supersedes == first.article_id


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_versions_and_the_readme_query_through_the_flow_whatever_the_shard_size(tmp_path):
    """Two WARCs (later crawls first for half the URLs), one shard per file or one for both:
    the same rows, the later crawl the highest version and README's latest."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_two_crawls(inputs / "a.warc.gz", URLS[:5], later_first=URLS[:5:2])
    write_two_crawls(inputs / "b.warc.gz", URLS[5:], later_first=URLS[6::2])
    outputs = []
    for shard_size in (1, 2):
        output = tmp_path / f"out{shard_size}"
        config = PipelineConfig(shard_size=shard_size)
        assert newsclean_flow(inputs=[str(inputs)], output=str(output), config=config).published
        outputs.append(output)
    rows = []
    for output in outputs:
        articles = f"read_parquet('{output}/articles/*.parquet')"
        rows.append(
            duckdb.sql(
                f"SELECT url, fetched_at, version, supersedes, text FROM {articles} ORDER BY ALL"
            ).fetchall()
        )
        newest = duckdb.sql(  # README, "Reading the output"
            f"SELECT a.url, a.fetched_at, a.text FROM {articles} AS a WHERE NOT EXISTS "
            f"(SELECT 1 FROM {articles} AS b WHERE b.supersedes = a.article_id)"
        ).fetchall()
        assert len(newest) == len(URLS)
        assert all(when == SECOND_CRAWL and UPDATE in text for _, when, text in newest)
        assert all((version == 2) == (when == SECOND_CRAWL) for _, when, version, _, _ in rows[-1])
    assert rows[0] == rows[1]
