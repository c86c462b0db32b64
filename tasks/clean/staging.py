"""What a clean shard writes: its articles, paragraphs, quarantine and skipped rows as Parquet.

A shard task writes these files into the run's staging folder (``<staging>/shards/<n>/``)
and returns a small summary, so the flow never holds a run's articles. The run-wide steps
(:mod:`tasks.dedup.runwide`) read them back with DuckDB. Besides the published columns, a shard
records per paragraph what only the run-wide steps need and what is cheapest to compute
while the article is at hand: its word count, its normalised words when it is a short body
line (site chrome counts them across a site's pages) and the earlier paragraphs of its
article it repeats (marked once the run-wide dedup has settled the labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.clean.rules import BULLET
from tasks.config import DEFAULTS, CleanConfig, PipelineConfig
from tasks.dedup.near_duplicates import DEDUP_INPUT_FIELDS, dedup_inputs, normalise_words
from tasks.models import (
    BODY,
    KEPT_LABELS,
    TITLE,
    Article,
    Paragraph,
    QuarantineRecord,
    SkippedInput,
)
from tasks.output.tables import (
    ARTICLES_SCHEMA,
    PARAGRAPHS_SCHEMA,
    QUARANTINE_SCHEMA,
    paragraph_keys,
    paragraph_values,
)

# The article columns a shard knows (the published schema's, less what the run-wide steps
# set: links, versions, the text and counts after dedup, the run's id and time).
SHARD_ARTICLE_COLUMNS = (
    "article_id",
    "source",
    "url",
    "input_format",
    "extractor",
    "encoding",
    "title",
    "authors",
    "credits",
    "published_at",
    "published_at_precision",
    "published_date",
    "site_name",
    "language",
    "description",
    "n_paragraphs_in",
    "input_sha256",
    "decode_errors",
    "fetched_at",
)
SHARD_ARTICLES_SCHEMA = pa.schema(
    [
        *(ARTICLES_SCHEMA.field(name) for name in SHARD_ARTICLE_COLUMNS),
        # Run-wide keys: the site a page belongs to (site chrome) and its URL as versions
        # compare it (null without a URL).
        pa.field("site", pa.string(), nullable=False),
        pa.field("version_key", pa.string()),
        # False for a repeat of an input of the same shard: its paragraphs are not written.
        pa.field("has_paragraphs", pa.bool_(), nullable=False),
    ]
)

SHARD_PARAGRAPHS_SCHEMA = pa.schema(
    [
        *(
            PARAGRAPHS_SCHEMA.field(name)
            for name in PARAGRAPHS_SCHEMA.names
            if name not in ("duplicate_of", "cluster_id", "run_id")  # set run-wide
        ),
        # Whitespace-separated words (what "more than half of its words" counts).
        pa.field("words", pa.int32(), nullable=False),
        # Normalised words of a short body line; null for every other paragraph.
        pa.field("short_line", pa.string()),
        # Positions of earlier title/body paragraphs of the article this one repeats.
        pa.field("repeats", pa.list_(pa.int32())),
        # What the run-wide dedup needs of a title/body paragraph (null for the others):
        # hash, normalised word count, shingle fingerprints, band keys (tasks.dedup.candidates).
        *DEDUP_INPUT_FIELDS,
    ]
)

SHARD_QUARANTINE_SCHEMA = QUARANTINE_SCHEMA.remove(QUARANTINE_SCHEMA.get_field_index("run_id"))

SHARD_SKIPPED_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("url", pa.string()),
    ]
)

SHARD_FILES = ("articles", "paragraphs", "quarantine", "skipped")
# The labels the run-wide dedup compares (tasks.dedup.runwide's title/body paragraphs).
DEDUP_LABELS = (TITLE, BODY)


def site_key(article: Article) -> str:
    """The site a page belongs to: its URL's host, else the folder the input file is in."""
    if article.url:
        host = urlsplit(article.url).hostname
        if host:
            return host.removeprefix("www.")
    return str(Path(article.source.split("#", 1)[0]).parent)


def version_key(url: str) -> str:
    """A URL as versions compare it: host lower-cased without ``www.``, http and https alike,
    no fragment, no trailing slash (query kept: it can name another page)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").removeprefix("www.")
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{port}{parts.path.rstrip('/')}{query}"


def short_body_lines(
    paragraphs: Sequence[Paragraph], max_words: int = DEFAULTS.clean.site_repeat_max_words
) -> dict[int, str]:
    """Each short body line's normalised words, by position: what site chrome counts (lines
    of at most ``max_words``; longer shared paragraphs are left to deduplication)."""
    lines: dict[int, str] = {}
    for paragraph in paragraphs:
        if paragraph.label == BODY:
            words = normalise_words(paragraph.text)
            if 0 < len(words) <= max_words:
                lines[paragraph.position] = " ".join(words)
    return lines


def _shingles(words: list[str], size: int) -> frozenset[tuple[str, ...]]:
    return frozenset(zip(*(words[i:] for i in range(size)), strict=False))


def _list_item_or_row(text: str) -> bool:
    return text.startswith("|") or BULLET.match(text) is not None


def find_repeats(
    paragraphs: Sequence[Paragraph],
    shingle_words: int,
    config: CleanConfig = DEFAULTS.clean,
    copy_threshold: float = DEFAULTS.dedup.threshold,
) -> dict[int, tuple[int, ...]]:
    """Each body paragraph mostly contained in (or containing) earlier title/body paragraphs.

    A standfirst or lede is often repeated inside a longer paragraph (or a pull quote repeats
    a sentence): Jaccard misses these, containment does (``config.containment_threshold`` of
    the smaller paragraph's shingles in the other). A copy of a whole paragraph (Jaccard of
    ``copy_threshold`` or more) is no such repeat: dedup settles it, and within an article
    keeps it unless it copies the head. Nor is a list item or a table row: structure (the
    references of a list citing one book at two pages), never a pull quote.

    Maps the paragraph's position to theirs, in order. One article at a time, in the clean
    shard; which of these repeats are marked depends on the run-wide dedup and is settled
    after it (:func:`tasks.dedup.runwide.mark_repeats`).
    """
    earlier: list[tuple[int, frozenset[tuple[str, ...]]]] = []
    repeats: dict[int, tuple[int, ...]] = {}
    for paragraph in paragraphs:
        if paragraph.label not in KEPT_LABELS:
            continue
        words = normalise_words(paragraph.text)
        if len(words) < config.containment_min_words:
            continue
        shingles = _shingles(words, shingle_words)
        if (
            paragraph.label == BODY
            and not _list_item_or_row(paragraph.text)
            and (
                hits := tuple(
                    position
                    for position, previous in earlier
                    if (shared := len(shingles & previous))
                    >= config.containment_threshold * min(len(shingles), len(previous))
                    and shared < copy_threshold * len(shingles | previous)
                )
            )
        ):
            repeats[paragraph.position] = hits
        earlier.append((paragraph.position, shingles))
    return repeats


def _dedup_columns(written: Sequence[Article], config: PipelineConfig) -> dict[str, pa.Array]:
    """The dedup inputs of every title/body paragraph, hashed here in the shard."""
    texts = [p.text if p.label in DEDUP_LABELS else None for a in written for p in a.paragraphs]
    inputs = dedup_inputs(texts, config.dedup)
    return {name: inputs.column(name) for name in inputs.column_names}


def shard_tables(
    articles: Sequence[Article], config: PipelineConfig = DEFAULTS
) -> tuple[pa.Table, pa.Table]:
    """The shard's article rows (every article) and paragraph rows.

    Paragraphs are written once per content: for the first input (by source) of each
    ``article_id`` in the shard; the run-wide step keeps the first input of the whole run,
    which is the first of its own shard.
    """
    ordered = sorted(articles, key=lambda a: a.source)
    first: dict[str, Article] = {}
    for article in ordered:
        first.setdefault(article.article_id, article)
    written = sorted(first.values(), key=lambda a: a.article_id)
    columns: dict[str, list[Any]] = {
        name: [getattr(a, name) for a in ordered]
        for name in SHARD_ARTICLE_COLUMNS
        if name != "n_paragraphs_in"
    }
    article_rows = pa.table(
        {
            **columns,
            "n_paragraphs_in": [
                len(a.paragraphs) if a.paragraphs_in is None else a.paragraphs_in for a in ordered
            ],
            "site": [site_key(a) for a in ordered],
            "version_key": [version_key(a.url) if a.url else None for a in ordered],
            "has_paragraphs": [first[a.article_id] is a for a in ordered],
        },
        schema=SHARD_ARTICLES_SCHEMA,
    )
    short_lines: list[str | None] = []
    repeats: list[list[int] | None] = []
    for article in written:
        lines = short_body_lines(article.paragraphs, config.clean.site_repeat_max_words)
        found = find_repeats(
            article.paragraphs, config.dedup.shingle_words, config.clean, config.dedup.threshold
        )
        for paragraph in article.paragraphs:
            short_lines.append(lines.get(paragraph.position))
            hits = found.get(paragraph.position)
            repeats.append(list(hits) if hits else None)
    size = len(short_lines)
    paragraph_rows = pa.table(
        {
            **paragraph_keys(written),
            "text": paragraph_values(written, "text", pa.string()),
            "label": paragraph_values(written, "label", pa.string()),
            "reason": paragraph_values(written, "reason", pa.string()),
            "line_start": paragraph_values(written, "line_start", pa.int32()),
            "line_end": paragraph_values(written, "line_end", pa.int32()),
            "words": pa.array(
                (len(p.text.split()) for a in written for p in a.paragraphs), pa.int32(), size=size
            ),
            "short_line": pa.array(short_lines, pa.string()),
            "repeats": pa.array(repeats, pa.list_(pa.int32())),
            **_dedup_columns(written, config),
        },
        schema=SHARD_PARAGRAPHS_SCHEMA,
    )
    return article_rows, paragraph_rows


def write_shard(
    folder: Path,
    articles: Sequence[Article],
    quarantined: Sequence[QuarantineRecord],
    skipped: Sequence[SkippedInput],
    config: PipelineConfig,
) -> None:
    """Write one shard's files into ``folder`` (replacing a previous attempt's)."""
    folder.mkdir(parents=True, exist_ok=True)
    article_rows, paragraph_rows = shard_tables(articles, config)
    tables = {
        "articles": article_rows,
        "paragraphs": paragraph_rows,
        "quarantine": pa.table(
            {
                "source": [q.source for q in quarantined],
                "stage": [q.stage for q in quarantined],
                "reason": [q.reason for q in quarantined],
                "input_sha256": [q.input_sha256 for q in quarantined],
            },
            schema=SHARD_QUARANTINE_SCHEMA,
        ),
        "skipped": pa.table(
            {
                "source": [s.source for s in skipped],
                "reason": [s.reason for s in skipped],
                "url": [s.url for s in skipped],
            },
            schema=SHARD_SKIPPED_SCHEMA,
        ),
    }
    for name, table in tables.items():
        # Written under a temporary name and renamed: a retried or killed shard never leaves
        # a half file that the run-wide step would read.
        partial = folder / f".{name}.parquet.partial"
        pq.write_table(table, partial, compression="zstd")
        partial.replace(folder / f"{name}.parquet")
