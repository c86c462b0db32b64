"""One input to one cleaned article, and one shard of inputs to articles plus quarantine.

This is the per-document boundary: a ``Rejected`` raised anywhere below is caught here once
and turns the input into a quarantine record with its stage and reason; any other exception
is an infrastructure error and propagates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from tasks.clean.classify import Classification, ClassifyStep, Lines
from tasks.clean.paragraphs import split_lines
from tasks.clean.staging import write_shard
from tasks.config import DEFAULTS, CleanConfig, PipelineConfig, length_limits, value_limits
from tasks.extract.html import extract_html
from tasks.extract.metadata import detect_language, word_count
from tasks.inputs.mojibake import mojibake_share, repair_mojibake
from tasks.inputs.read import decode, garbled_text, input_format, read_input
from tasks.models import (
    Article,
    Document,
    InputRef,
    Paragraph,
    QuarantineRecord,
    Rejected,
    SkippedInput,
)
from tasks.reasons import Label, Reason, Stage
from tasks.stats import Step, StepStats, Unit

ARTICLE_ID_HEX = 16
EXTRACTOR_TEXT = "text"
ALREADY_PUBLISHED = "already published by an earlier run"


def article_id_for(data: bytes) -> str:
    """Stable id from the input bytes: the same page gets the same id wherever it lives."""
    return hashlib.sha256(data).hexdigest()[:ARTICLE_ID_HEX]


@dataclass(frozen=True, eq=False)
class PublishedIds:
    """The ids of every article published before, as one sorted ``uint64`` array.

    Every shard task gets a copy. An article id is 16 hex digits, so 8 bytes: one buffer that
    pickles at 8 MB a million ids in ~5 ms. A frozenset of the strings pickles at 19 MB and
    costs ~0.8 s a task to pickle and rebuild, which grows with everything ever published.
    """

    ids: np.ndarray

    @classmethod
    def of(cls, article_ids: Iterable[str]) -> PublishedIds:
        return cls(np.unique(np.fromiter((int(i, 16) for i in article_ids), np.uint64)))

    def __contains__(self, article_id: str) -> bool:
        value = np.uint64(int(article_id, 16))
        at = int(np.searchsorted(self.ids, value))
        return at < len(self.ids) and self.ids[at] == value

    def __len__(self) -> int:
        return len(self.ids)


NOTHING_PUBLISHED = PublishedIds.of(())


def process_document(
    data: bytes,
    source: str,
    *,
    url: str | None = None,
    declared_charset: str | None = None,
    fetched_at: datetime | None = None,
    fmt: str | None = None,
    config: PipelineConfig | None = None,
    classify_stats: StepStats | None = None,
) -> Article:
    """Decode, extract, split and classify one input. Raises ``Rejected`` for bad input.

    ``fmt`` (``"html"`` or ``"text"``) defaults to what the suffix of ``source`` says.
    ``classify_stats`` counts the paragraphs of the classify step (``ClassifyStep``).
    """
    config = config or DEFAULTS
    fmt = fmt or input_format(source)
    text, encoding, decode_errors = decode(
        data, declared=declared_charset, is_html=fmt == "html", config=config.read
    )
    digest = hashlib.sha256(data).hexdigest()
    article = Article(
        article_id=digest[:ARTICLE_ID_HEX],
        source=source,
        input_sha256=digest,
        input_format=fmt,
        encoding=encoding,
        extractor=EXTRACTOR_TEXT,
        decode_errors=decode_errors,
        fetched_at=fetched_at,
        paragraphs=[],
        url=url,
    )
    known_title = None
    declared_credits: list[str] = []
    lines: tuple[list[str], list[int], list[int]] | None = None
    removed: dict[int, Reason] = {}
    no_prose_links: frozenset[str] | None = None
    if fmt == "html":
        extraction = extract_html(text, url=url, config=config)
        text = extraction.text
        known_title = extraction.title
        article.extractor = extraction.extractor
        article.authors = list(extraction.authors)
        article.published_at = extraction.published_at
        article.published_at_precision = extraction.published_at_precision
        article.published_date = extraction.published_date
        article.site_name = extraction.site_name
        article.language = extraction.language
        article.description = extraction.description
        article.url = extraction.url
        declared_credits = extraction.credits
        lines, removed = extraction.lines, extraction.removed
        no_prose_links = None if extraction.readerable else extraction.link_texts
    texts, line_starts, line_ends = lines or split_lines(text, config.split)
    if mojibake_share("\n".join(texts)) > config.read.max_mojibake_share:
        # Mojibake that decoding could not see: written as entities (``&acirc;&euro;``).
        texts = [repair_mojibake(line) for line in texts]
    if not texts:
        raise Rejected(Stage.SPLIT, "no paragraphs of text after extraction")
    whole_page = fmt == "text" and config.clean.select_main_content
    classify: Step[Lines, Classification] = ClassifyStep(
        known_title=known_title,
        whole_page=whole_page,
        link_lists=fmt == "text",
        removed=removed,
        language=dump_language(texts, config) if whole_page else None,
        config=config.clean,
    )
    result = classify(
        (texts, line_starts, line_ends), classify_stats or StepStats(classify.name, classify.unit)
    )
    if not any(p.label == Label.BODY for p in result.paragraphs):
        raise Rejected(Stage.CLEAN, "no article text left after removing page chrome")
    if no_prose_links is not None and (
        reason := not_an_article(result.paragraphs, no_prose_links, config.clean)
    ):
        raise Rejected(Stage.CLEAN, reason)
    article.paragraphs = result.paragraphs
    article.paragraphs_in = len(texts)
    article.title = result.title
    article.language = article.language or detect_language(article.text, config.metadata)
    _within_published_limits(article, length_limits(config.expectations_dir))
    max_mojibake = value_limits(config.expectations_dir).get(("articles", "mojibake_share"))
    if max_mojibake is not None and (garbled := garbled_text(article.text, max_mojibake)):
        raise Rejected(Stage.DECODE, garbled)
    article.authors.extend(a for a in result.authors if a not in article.authors)
    article.credits = [*declared_credits, *(c for c in result.credits if c not in declared_credits)]
    return article


def dump_language(texts: Sequence[str], config: PipelineConfig = DEFAULTS) -> str | None:
    """The language of a page dump, detected from its longest paragraphs (its prose, not its
    menus): the main-content selector counts that language's stop words."""
    from tasks.clean.pagetext import prose_sample  # the selector's tables load on first use

    return detect_language(
        prose_sample(texts, config.metadata.language_sample_chars), config.metadata
    )


def not_an_article(
    paragraphs: Sequence[Paragraph], links: frozenset[str], config: CleanConfig = DEFAULTS.clean
) -> str | None:
    """Why a page without a block of prose (``tasks.extract.readerable``) is no article, or None.

    Such a page is an index or a listing when most of the body found is link text (headlines
    linking elsewhere), and holds no article when the body is a line or two; a short brief
    with its own sentences is neither, and is published (``config.not_article_max_words``,
    ``not_article_link_share``). Publishing the first two would
    publish the page's chrome as a body. Neither rule fires on the 711 WCXB dev articles or
    the 458 trafilatura evaluation pages; of the 8 Readability test pages that are not
    readerable, it quarantines 4 (one more has no text left; the other 3 keep 37-294 words).
    """
    body = " ".join(p.text for p in paragraphs if p.label == Label.BODY)
    words = word_count(body)
    if words < config.not_article_max_words:
        return f"not an article: no block of prose on the page and {words} words of text"
    text = " ".join(body.split()).casefold()
    shortest = config.not_article_link_min_words
    linked = sum(len(link) for link in links if len(link.split()) >= shortest and link in text)
    if linked >= config.not_article_link_share * len(text):
        return (
            f"not an article: no block of prose on the page and {linked / len(text):.0%} of its "
            "text is link text (an index or a listing)"
        )
    return None


def _within_published_limits(article: Article, limits: dict[tuple[str, str], int]) -> None:
    """Hold ``article`` to the lengths the suites allow, or reject it with the one it breaks.

    A title over its limit is no title (keyword-stuffed ``<title>`` tags): it becomes
    unknown and the article is kept. A paragraph or a body text over its limit is not an
    article (a minified dump, a whole book on one line): the input is quarantined.
    """
    title_max = limits.get(("articles", "title"))
    if article.title is not None and title_max is not None and len(article.title) > title_max:
        article.title = None
    paragraph_max = limits.get(("paragraphs", "text"))
    longest = max(len(p.text) for p in article.paragraphs)
    if paragraph_max is not None and longest > paragraph_max:
        raise Rejected(
            Stage.SPLIT,
            f"a paragraph of {longest:,} characters, over the {paragraph_max:,}-character limit",
        )
    text_max = limits.get(("articles", "text"))
    length = len(article.text)
    if text_max is not None and length > text_max:
        raise Rejected(
            Stage.CLEAN,
            f"article text of {length:,} characters, over the {text_max:,}-character limit",
        )


def iter_documents(
    ref: InputRef, config: PipelineConfig, stats: StepStats
) -> Iterator[Document | SkippedInput]:
    """The documents of one input file: itself, or each HTML response record of a WARC.

    A WARC's other response records come as ``SkippedInput`` (``file#offset``, URL, reason).
    """
    fmt = input_format(ref.source)
    if fmt == "warc":
        from tasks.inputs.warc import warc_documents

        yield from warc_documents(ref, config, stats)
        return
    raw = read_input(ref, config.read.max_input_bytes)
    stats.keep()
    yield Document(ref.source, raw.data, fmt)


@dataclass(slots=True)
class ShardResult:
    articles: list[Article] = field(default_factory=list)
    quarantined: list[QuarantineRecord] = field(default_factory=list)
    skipped: list[SkippedInput] = field(default_factory=list)
    stats: list[StepStats] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ShardSummary:
    """What a shard task returns to the flow: counts and step stats; its rows are on disk."""

    folder: str
    articles: int
    skipped: int
    quarantined: int
    stats: list[StepStats]


def stage_shard(
    refs: Sequence[InputRef],
    folder: Path,
    config: PipelineConfig,
    published_ids: PublishedIds = NOTHING_PUBLISHED,
) -> ShardSummary:
    """Clean a shard of inputs and write its rows to ``folder`` (:mod:`tasks.clean.staging`)."""
    result = process_shard(refs, config, published_ids)
    stage = StepStats("stage_shard", Unit.ARTICLES)
    with stage.timed():
        write_shard(folder, result.articles, result.quarantined, result.skipped, config)
    stage.keep(len(result.articles))
    return ShardSummary(
        folder=str(folder),
        articles=len(result.articles),
        skipped=len(result.skipped),
        quarantined=len(result.quarantined),
        stats=[*result.stats, stage],
    )


def process_shard(
    refs: Sequence[InputRef],
    config: PipelineConfig,
    published_ids: PublishedIds = NOTHING_PUBLISHED,
) -> ShardResult:
    """Process a batch of inputs; each bad input is quarantined and the rest go on.

    Inputs whose content an earlier run published (same ``article_id``) are skipped unread
    beyond hashing, so a renamed file is not new and an edited one is.
    """
    read_stats = StepStats("read", Unit.DOCUMENTS)
    clean_stats = StepStats("clean", Unit.DOCUMENTS)
    classify_stats = StepStats(ClassifyStep.name, ClassifyStep.unit)
    result = ShardResult(stats=[read_stats, clean_stats, classify_stats])
    for ref in refs:
        documents = iter_documents(ref, config, read_stats)
        while True:
            try:
                with read_stats.timed():
                    document = next(documents, None)
            except Rejected as rejection:
                # A file-level failure; records a WARC yielded before it are kept.
                read_stats.drop(rejection.stage)
                result.quarantined.append(
                    QuarantineRecord(
                        rejection.source or ref.source,
                        rejection.stage,
                        rejection.reason,
                        rejection.input_sha256,
                    )
                )
                break
            if document is None:
                break
            if isinstance(document, SkippedInput):
                result.skipped.append(document)
                continue
            _clean_document(document, config, published_ids, clean_stats, result, classify_stats)
    return result


def _clean_document(
    document: Document,
    config: PipelineConfig,
    published_ids: PublishedIds,
    stats: StepStats,
    result: ShardResult,
    classify_stats: StepStats | None = None,
) -> None:
    """The clean step for one document, counted in documents: an article out (kept), or none
    (dropped: already published, or quarantined with its ``Stage``)."""
    article_id = article_id_for(document.data)
    if article_id in published_ids:
        stats.drop("already_published")
        result.skipped.append(SkippedInput(document.source, ALREADY_PUBLISHED))
        return
    try:
        with stats.timed():
            article = process_document(
                document.data,
                document.source,
                url=document.url,
                declared_charset=document.declared_charset,
                fetched_at=document.fetched_at,
                fmt=document.input_format,
                config=config,
                classify_stats=classify_stats,
            )
    except Rejected as rejection:
        stats.drop(rejection.stage)
        result.quarantined.append(
            QuarantineRecord(
                document.source,
                rejection.stage,
                rejection.reason,
                hashlib.sha256(document.data).hexdigest(),
            )
        )
        return
    stats.keep()
    result.articles.append(article)
