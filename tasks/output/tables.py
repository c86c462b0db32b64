"""The published schema (documented in README) and the Arrow tables built from articles."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.models import REMOVED_LABELS, Article

TIMESTAMP = pa.timestamp("us", tz="UTC")
REMOVED_COUNT_COLUMNS = tuple(f"n_removed_{label}" for label in REMOVED_LABELS)

ARTICLES_SCHEMA = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("input_format", pa.string(), nullable=False),
        pa.field("extractor", pa.string(), nullable=False),
        pa.field("encoding", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("authors", pa.list_(pa.string()), nullable=False),
        pa.field("credits", pa.list_(pa.string()), nullable=False),
        pa.field("published_at", TIMESTAMP),
        pa.field("published_at_precision", pa.string()),
        pa.field("site_name", pa.string()),
        pa.field("language", pa.string()),
        pa.field("description", pa.string()),
        pa.field("duplicate_of_article", pa.string()),
        pa.field("syndication_source", pa.string()),
        pa.field("supersedes", pa.string()),
        pa.field("version", pa.int32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("n_paragraphs_in", pa.int32(), nullable=False),
        pa.field("n_paragraphs_kept", pa.int32(), nullable=False),
        *(pa.field(name, pa.int32(), nullable=False) for name in REMOVED_COUNT_COLUMNS),
        pa.field("word_count", pa.int32(), nullable=False),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("input_sha256", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("processed_at", TIMESTAMP, nullable=False),
        pa.field("decode_errors", pa.int32(), nullable=False),
        pa.field("fetched_at", TIMESTAMP),
        pa.field("published_date", pa.date32()),
    ]
)

# What the run-wide steps read of earlier runs' articles (versions, syndication sources).
PUBLISHED_ARTICLE_KEYS = pa.schema(
    [ARTICLES_SCHEMA.field(name) for name in ("article_id", "credits", "url", "version")]
)

PARAGRAPHS_SCHEMA = pa.schema(
    [
        pa.field("paragraph_id", pa.string(), nullable=False),
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("position", pa.int32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string()),
        pa.field("cluster_id", pa.string()),
        pa.field("line_start", pa.int32(), nullable=False),
        pa.field("line_end", pa.int32(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("input_sha256", pa.string()),
        pa.field("run_id", pa.string(), nullable=False),
    ]
)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def paragraph_values(articles: Sequence[Article], attribute: str, type_: pa.DataType) -> pa.Array:
    """One attribute of every paragraph of ``articles``, in order, straight into Arrow."""
    values = (getattr(p, attribute) for article in articles for p in article.paragraphs)
    return pa.array(values, type=type_, size=sum(len(a.paragraphs) for a in articles))


def per_paragraph(articles: Sequence[Article], values: pa.Array) -> pa.Array:
    """An article-level column (one value per article) repeated for each of its paragraphs."""
    counts = [len(article.paragraphs) for article in articles]
    return values.take(pa.array(np.repeat(np.arange(len(articles)), counts), pa.int64()))


def paragraph_ids(article_ids: pa.Array, positions: pa.Array) -> pa.Array:
    """``Article.paragraph_id`` (``<article_id>-<position, 5 digits>``) for whole columns."""
    digits = pc.utf8_lpad(positions.cast(pa.string()), width=5, padding="0")
    return pc.binary_join_element_wise(article_ids, digits, "-")


def paragraph_keys(articles: Sequence[Article]) -> dict[str, pa.Array]:
    """``paragraph_id``, ``article_id`` and ``position`` columns, one row per paragraph."""
    article_ids = per_paragraph(articles, pa.array([a.article_id for a in articles], pa.string()))
    positions = paragraph_values(articles, "position", pa.int32())
    return {
        "paragraph_id": paragraph_ids(article_ids, positions),
        "article_id": article_ids,
        "position": positions,
    }
