"""One input to one cleaned article, and one shard of inputs to articles plus quarantine.

This is the per-document boundary: a ``Rejected`` raised anywhere below is caught here once
and turns the input into a quarantine record with its stage and reason; any other exception
is an infrastructure error and propagates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from tasks.classify import classify
from tasks.config import PipelineConfig
from tasks.extract import extract_html
from tasks.models import Article, InputRef, QuarantineRecord, Rejected
from tasks.paragraphs import split_paragraphs
from tasks.read import decode, input_format, read_input
from tasks.stats import StepStats

ARTICLE_ID_HEX = 16
EXTRACTOR_TEXT = "text"


def article_id_for(data: bytes) -> str:
    """Stable id from the input bytes: the same page gets the same id wherever it lives."""
    return hashlib.sha256(data).hexdigest()[:ARTICLE_ID_HEX]


def process_document(
    data: bytes,
    source: str,
    *,
    url: str | None = None,
    declared_charset: str | None = None,
    config: PipelineConfig | None = None,
) -> Article:
    """Decode, extract, split and classify one input. Raises ``Rejected`` for bad input."""
    config = config or PipelineConfig()
    fmt = input_format(source)
    text, encoding = decode(data, declared=declared_charset, is_html=fmt == "html")
    article = Article(
        article_id=article_id_for(data),
        source=source,
        input_sha256=hashlib.sha256(data).hexdigest(),
        input_format=fmt,
        encoding=encoding,
        extractor=EXTRACTOR_TEXT,
        paragraphs=[],
        url=url,
    )
    known_title = None
    if fmt == "html":
        extraction = extract_html(text, url=url)
        text = extraction.text
        known_title = extraction.title
        article.extractor = extraction.extractor
        article.authors = list(extraction.authors)
        article.published_at = extraction.published_at
        article.site_name = extraction.site_name
        article.language = extraction.language
        article.description = extraction.description
        article.url = extraction.url
    spans = split_paragraphs(text)
    if not spans:
        raise Rejected("split", "no paragraphs of text after extraction")
    result = classify(
        spans,
        known_title=known_title,
        whole_page=fmt == "text" and config.select_main_content,
    )
    article.paragraphs = result.paragraphs
    article.title = result.title
    article.authors.extend(a for a in result.authors if a not in article.authors)
    article.credits = result.credits
    return article


@dataclass(slots=True)
class ShardResult:
    articles: list[Article] = field(default_factory=list)
    quarantined: list[QuarantineRecord] = field(default_factory=list)
    stats: list[StepStats] = field(default_factory=list)


def process_shard(refs: Sequence[InputRef], config: PipelineConfig) -> ShardResult:
    """Process a batch of inputs; each bad input is quarantined and the rest go on."""
    read_stats, clean_stats = StepStats("read"), StepStats("clean")
    result = ShardResult(stats=[read_stats, clean_stats])
    for ref in refs:
        sha = None
        try:
            with read_stats.timed():
                raw = read_input(ref, config.max_input_bytes)
            sha = raw.sha256
            read_stats.keep()
            with clean_stats.timed():
                article = process_document(raw.data, ref.source, config=config)
            clean_stats.keep()
            result.articles.append(article)
        except Rejected as rejection:
            (read_stats if sha is None else clean_stats).drop(rejection.stage)
            result.quarantined.append(
                QuarantineRecord(ref.source, rejection.stage, rejection.reason, sha)
            )
    return result
