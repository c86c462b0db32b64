"""Published rows built straight from ``Article`` objects: the tests' independent oracle for
the tables the run-wide step streams out of DuckDB (``tasks.dedup.runwide``), and a quick way
to make published-looking tables for the report's tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa

from tasks.extract.metadata import word_count
from tasks.models import KEPT_LABELS, REMOVED_LABELS, Article, QuarantineRecord
from tasks.output.tables import (
    ARTICLES_SCHEMA,
    PARAGRAPHS_SCHEMA,
    QUARANTINE_SCHEMA,
    REMOVED_COUNT_COLUMNS,
    content_hash,
    paragraph_keys,
    paragraph_values,
)


def articles_table(articles: Sequence[Article], run_id: str, processed_at: datetime) -> pa.Table:
    rows = []
    for article in articles:
        labels = Counter(p.label for p in article.paragraphs)
        text = article.text
        row = {
            "article_id": article.article_id,
            "source": article.source,
            "url": article.url,
            "input_format": article.input_format,
            "extractor": article.extractor,
            "encoding": article.encoding,
            "title": article.title,
            "authors": article.authors,
            "credits": article.credits,
            "published_at": article.published_at,
            "published_at_precision": article.published_at_precision,
            "published_date": article.published_date,
            "site_name": article.site_name,
            "language": article.language,
            "description": article.description,
            "duplicate_of_article": article.duplicate_of_article,
            "syndication_source": article.syndication_source,
            "supersedes": article.supersedes,
            "version": article.version,
            "text": text,
            "n_paragraphs_in": (
                len(article.paragraphs) if article.paragraphs_in is None else article.paragraphs_in
            ),
            "n_paragraphs_kept": sum(labels[label] for label in KEPT_LABELS),
            "word_count": word_count(text),
            "content_hash": content_hash(text),
            "input_sha256": article.input_sha256,
            "run_id": run_id,
            "processed_at": processed_at,
            "decode_errors": article.decode_errors,
            "fetched_at": article.fetched_at,
        }
        for label, column in zip(REMOVED_LABELS, REMOVED_COUNT_COLUMNS, strict=True):
            row[column] = labels[label]
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=ARTICLES_SCHEMA)


def paragraphs_table(articles: Sequence[Article], run_id: str) -> pa.Table:
    """One row per paragraph, built column by column.

    Column-wise because a row dict per paragraph costs ~650 bytes: 7.6 million paragraphs
    (100,000 pages) took ~5 GB for the dicts alone; columns take the values plus a pointer.
    """
    keys = paragraph_keys(articles)
    columns = {
        **keys,
        **{
            name: paragraph_values(articles, name, pa.string())
            for name in ("text", "label", "reason", "duplicate_of", "cluster_id")
        },
        "line_start": paragraph_values(articles, "line_start", pa.int32()),
        "line_end": paragraph_values(articles, "line_end", pa.int32()),
        "run_id": pa.repeat(pa.scalar(run_id, pa.string()), len(keys["position"])),
    }
    return pa.Table.from_pydict(columns, schema=PARAGRAPHS_SCHEMA)


def quarantine_table(records: Sequence[QuarantineRecord], run_id: str) -> pa.Table:
    rows = [
        {
            "source": r.source,
            "stage": r.stage,
            "reason": r.reason,
            "input_sha256": r.input_sha256,
            "run_id": run_id,
        }
        for r in records
    ]
    return pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)
