"""The published tables, built column by column, say what the articles say, row for row."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from tasks.models import Article, Paragraph
from tasks.clean.staging import shard_tables
from tasks.output.tables import PARAGRAPHS_SCHEMA, paragraph_ids

from ..builders import articles_table, paragraphs_table


def _article(article_id: str, positions: list[int], published_at: datetime | None) -> Article:
    paragraphs = [
        Paragraph(pos, f"text {article_id} {pos}", "body", "", pos + 1, pos + 2)
        for pos in positions
    ]
    article = Article(article_id, f"{article_id}.txt", article_id, "text", "utf-8", "text", [])
    article.paragraphs, article.published_at = paragraphs, published_at
    return article


ARTICLES = [
    _article("00aa", [0, 1, 2], datetime(2026, 3, 1, 12, tzinfo=UTC)),
    _article("11bb", [0, 7, 99_999, 123_456], None),
]
ARTICLES[0].paragraphs[1].label, ARTICLES[0].paragraphs[1].reason = "ad", "ad_marker"
ARTICLES[1].paragraphs[1].label = "duplicate"
ARTICLES[1].paragraphs[1].duplicate_of = ARTICLES[1].paragraphs[1].cluster_id = "00aa-00000"


def test_paragraph_ids_are_article_paragraph_ids_at_any_width():
    ids = paragraph_ids(
        pa.array(["a", "a", "b", "b"]), pa.array([0, 42, 99_999, 123_456], pa.int32())
    )
    article = _article("a", [], None)
    expected = [article.paragraph_id(p) for p in (0, 42)] + ["b-99999", "b-123456"]
    assert ids.to_pylist() == expected


def test_shard_tables_hold_every_paragraph_with_the_run_wide_columns():
    articles, paragraphs = shard_tables(ARTICLES)
    assert articles.column("article_id").to_pylist() == ["00aa", "11bb"]
    assert articles.column("has_paragraphs").to_pylist() == [True, True]
    assert paragraphs.column("article_id").to_pylist() == ["00aa"] * 3 + ["11bb"] * 4
    assert paragraphs.column("paragraph_id").to_pylist()[-1] == "11bb-123456"
    assert paragraphs.column("words").to_pylist() == [3] * 7
    # short body lines, normalised; the ad is no body line
    assert paragraphs.column("short_line").to_pylist()[:3] == ["text 00aa 0", None, "text 00aa 2"]


def test_a_repeated_input_in_a_shard_writes_its_paragraphs_once():
    copy = _article("00aa", [0, 1, 2], None)
    copy.source = "0-first.txt"  # sorts before 00aa.txt: its paragraphs are the ones written
    articles, paragraphs = shard_tables([ARTICLES[0], copy])
    assert articles.column("source").to_pylist() == ["0-first.txt", "00aa.txt"]
    assert articles.column("has_paragraphs").to_pylist() == [True, False]
    assert paragraphs.num_rows == 3
    assert paragraphs.column("label").to_pylist() == ["body"] * 3  # the copy's labels
