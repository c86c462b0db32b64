"""Give every paragraph one label and the name of the rule that decided it.

Order of decisions, first one wins:
1. the rule catalogue (``tasks.clean.rules``): ads, widgets, bylines, captions, promos, ...;
2. structural rules: runs of bulleted headlines are related-story link lists; the bulleted
   items right after a related-stories heading, the bio after an "About the Author" heading,
   and everything from a reader comment's "Jane says:" header with its timestamp to the end
   (the comment section) go with the heading;
3. the title: the metadata title where the page has one, else the first headline-shaped
   paragraph at the top of the page;
4. for whole-page text, the main-content selector (``tasks.clean.pagetext``) drops chrome the
   catalogue does not name (menus, footers, lists of other stories);
5. everything else is body.
Paragraphs an extractor's filter already removed come in labelled (``removed``) and keep it.
Duplicates are decided later, across the whole run (``tasks.dedup.near_duplicates``).
Bylines and credits are not only removed: their names become article metadata.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, count
from operator import not_

from tasks.clean.paragraphs import ParagraphSpan
from tasks.clean.rules import (
    BULLET,
    SENTENCE_END,
    WIRE_PATTERN,
    WIRE_SERVICES,
    dateline_credit,
    match_rules,
)
from tasks.config import DEFAULTS, CleanConfig
from tasks.models import KEPT_LABELS, Paragraph
from tasks.reasons import (
    ARTICLE_TEXT,
    AUTHOR_BIO,
    AUTHOR_HEADING,
    COMMENT_HEADER,
    COMMENT_SECTION,
    RELATED_HEADING,
    RELATED_LINK_LIST,
    RELATED_LIST,
    TITLE_FIRST_HEADLINE,
    TITLE_METADATA,
    WATCH_PROMO,
    Reason,
)
from tasks.stats import StepStats, Unit

# The reason of a paragraph no step removed (``benchmarks/textpath_cost.py`` reads it here).
BODY_REASON = ARTICLE_TEXT.name
# A comment's timestamp line: "January 5, 2024 at 3:12 pm", "5. Januar 2024 um 15:12", ...
COMMENT_TIMESTAMP = re.compile(
    r"^(?:[a-zäéû]+\.? \d{1,2},? \d{4}|\d{1,2}\.? [a-zäéû]+\.? \d{4}|\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}[./]\d{1,2}[./]\d{2,4}),?\s+(?:at|um|à|a las|-)?\s*\d{1,2}[:.h]\d{2}"
    r"\s*(?:[ap]\.?m\.?)?$",
    re.I,
)
_CLOCK = re.compile(r"\d{1,2}:\d{2}")


@dataclass(slots=True)
class Classification:
    paragraphs: list[Paragraph]
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    credits: list[str] = field(default_factory=list)


def _words(text: str) -> int:
    return len(text.split())


def _is_headline(text: str, config: CleanConfig) -> bool:
    """Headline shape: a short line that does not end a sentence."""
    words = _words(text)
    return config.title_min_words <= words <= config.title_max_words and not text.endswith(".")


def _canonical_credit(name: str) -> str:
    lowered = name.lower().removeprefix("the ")
    return next((wire for wire in WIRE_SERVICES if wire.lower() == lowered), name)


def _add(names: list[str], new: Sequence[str]) -> None:
    for name in new:
        if name and name not in names:
            names.append(name)


def _mark_link_lists(
    texts: Sequence[str], labels: list[str], reasons: list[str], config: CleanConfig
) -> None:
    """Label runs of bulleted, sentence-less, short items as related-story link lists."""
    # BULLET on every paragraph through map (it fails at the first character of most), the
    # other tests on the few it matches.
    items = [
        i
        for i in compress(range(len(texts)), map(BULLET.match, texts))
        if not labels[i]
        and not SENTENCE_END.search(texts[i])
        and _words(texts[i]) <= config.link_list_max_words
    ]
    run: list[int] = []
    for i in [*items, -2]:
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if len(run) >= config.link_list_min_run:
            for item in run:
                labels[item], reasons[item] = RELATED_LINK_LIST.label, RELATED_LINK_LIST.name
        run = [i]


def _mark_what_headings_open(
    texts: Sequence[str], labels: list[str], reasons: list[str], config: CleanConfig
) -> None:
    """Give what follows a chrome heading the heading's fate.

    The bulleted, sentence-less items right after a related-stories heading are that list;
    the paragraph after an "About the Author" heading is the bio; a reader comment's header
    with its timestamp (on its line or the next) opens the comment section, which runs to
    the end of the text. Only paragraphs no rule claimed are labelled.
    """
    n = len(texts)
    for i in range(n):
        if reasons[i] == RELATED_HEADING.name or (
            reasons[i] == WATCH_PROMO.name and texts[i].endswith(":")
        ):
            j = i + 1
            while (
                j < n
                and not labels[j]
                and BULLET.match(texts[j])
                and not SENTENCE_END.search(texts[j])
                and _words(texts[j]) <= config.link_list_max_words
            ):
                labels[j], reasons[j] = RELATED_LIST.label, RELATED_LIST.name
                j += 1
        elif reasons[i] == AUTHOR_HEADING.name:
            if (
                i + 1 < n
                and not labels[i + 1]
                and _words(texts[i + 1]) <= config.author_bio_max_words
            ):
                labels[i + 1], reasons[i + 1] = AUTHOR_BIO.label, AUTHOR_BIO.name
        elif reasons[i] == COMMENT_HEADER.name and (
            _CLOCK.search(texts[i]) or (i + 1 < n and COMMENT_TIMESTAMP.match(texts[i + 1]))
        ):
            for j in range(i + 1, n):
                if not labels[j]:
                    labels[j], reasons[j] = COMMENT_SECTION.label, COMMENT_SECTION.name
            return


def _normalized(text: str) -> str:
    return " ".join(text.casefold().split())


def _open(labels: list[str]) -> list[int]:
    """Indices of the paragraphs no decision has claimed yet."""
    return list(compress(range(len(labels)), map(not_, labels)))


def _mark_title(
    texts: Sequence[str],
    labels: list[str],
    reasons: list[str],
    known_title: str | None,
    config: CleanConfig,
) -> str | None:
    if known_title:
        wanted = _normalized(known_title)
        for i in _open(labels):
            if _normalized(texts[i]) == wanted:
                labels[i], reasons[i] = TITLE_METADATA.label, TITLE_METADATA.name
                break
        return known_title
    for i in _open(labels)[: config.title_search_depth]:
        if _is_headline(texts[i], config):
            labels[i], reasons[i] = TITLE_FIRST_HEADLINE.label, TITLE_FIRST_HEADLINE.name
            return texts[i]
    return None


def classify(
    spans: Sequence[ParagraphSpan],
    *,
    known_title: str | None = None,
    whole_page: bool = True,
    site_repeats: Collection[str] = frozenset(),
    link_lists: bool | None = None,
    config: CleanConfig = DEFAULTS.clean,
) -> Classification:
    """Label ``spans`` and collect the bylines and credits they carry.

    ``whole_page`` says the text is a page dump (not extractor output), so the main-content
    selector runs; ``site_repeats`` are paragraphs seen on other pages of the same site.
    ``link_lists`` (default: ``whole_page``) runs the bulleted-headline rule. It is off for
    extractor output: the extractor already dropped link-dense lists with the DOM's evidence,
    and on the 711 WCXB dev pages 91 % of the bulleted items the rule removed from
    trafilatura's output were article text (feature lists, steps, key points).
    """
    texts, line_starts, line_ends = zip(*spans, strict=True) if spans else ((), (), ())
    return classify_columns(
        texts,
        line_starts,
        line_ends,
        known_title=known_title,
        whole_page=whole_page,
        site_repeats=site_repeats,
        link_lists=link_lists,
        config=config,
    )


def classify_columns(
    texts: Sequence[str],
    line_starts: Sequence[int],
    line_ends: Sequence[int],
    *,
    known_title: str | None = None,
    whole_page: bool = True,
    site_repeats: Collection[str] = frozenset(),
    link_lists: bool | None = None,
    removed: Mapping[int, Reason] | None = None,
    language: str | None = None,
    config: CleanConfig = DEFAULTS.clean,
) -> Classification:
    """``classify`` on paragraphs given as columns (``tasks.clean.paragraphs.split_lines``).

    ``removed`` holds positions an earlier filter already removed (the extractor's DOM chrome
    filter), with their reason: they keep that decision, their names are not read.
    ``language``: the page's detected language, whose stop words the main-content selector
    counts (None: not detected, the selector's fallback list).
    Decisions are written into label and reason lists and every ``Paragraph`` is built once,
    at the end, with its final label: a page dump has ~240 paragraphs, and a pass of Python
    attribute reads and writes over all of them costs as much as a stage of the selector.
    """
    labels = [""] * len(texts)
    reasons = [""] * len(texts)
    for index, reason in (removed or {}).items():
        labels[index], reasons[index] = reason.label, reason.name
    authors: list[str] = []
    credits: list[str] = []
    for index, (rule, match) in match_rules(texts).items():
        if labels[index]:
            continue
        labels[index], reasons[index] = rule.label, rule.name
        names = rule.authors(match) if rule.authors else []
        _add(authors, [n for n in names if not WIRE_PATTERN.match(n)])
        _add(credits, [_canonical_credit(n) for n in names if WIRE_PATTERN.match(n)])
        if rule.credits:
            _add(credits, [_canonical_credit(n) for n in rule.credits(match)])

    _mark_what_headings_open(texts, labels, reasons, config)
    if whole_page if link_lists is None else link_lists:
        _mark_link_lists(texts, labels, reasons, config)
    title = _mark_title(texts, labels, reasons, known_title, config)

    if whole_page:
        from tasks.clean.pagetext import select_main_content

        open_indices = _open(labels)
        verdicts = select_main_content(
            [texts[i] for i in open_indices],
            site_repeats=site_repeats,
            language=language,
            config=config,
        )
        body = []
        for i, verdict in zip(open_indices, verdicts, strict=True):
            if verdict is None:
                body.append(i)
            else:
                labels[i], reasons[i] = verdict.label, verdict.name
    else:
        body = _open(labels)

    for i in body:
        labels[i], reasons[i] = ARTICLE_TEXT.label, ARTICLE_TEXT.name
        if wire := dateline_credit(texts[i]):
            _add(credits, [wire])
    paragraphs = list(map(Paragraph, count(), texts, labels, reasons, line_starts, line_ends))
    return Classification(paragraphs, title, authors, credits)


# A document's paragraphs as columns: texts, first lines, last lines (``split_lines``).
Lines = tuple[Sequence[str], Sequence[int], Sequence[int]]


@dataclass(frozen=True, slots=True)
class ClassifyStep:
    """The classify step of one document (a ``tasks.stats.Step``): its paragraphs in, the
    same paragraphs labelled out, counted in paragraphs: kept (title, body) or dropped with
    the reason of their removed label. The fields are the document's context
    (``classify_columns``'s keywords); the step runs within the clean step, whose time
    includes its own.
    """

    known_title: str | None = None
    whole_page: bool = True
    link_lists: bool | None = None
    removed: Mapping[int, Reason] | None = None
    language: str | None = None
    config: CleanConfig = DEFAULTS.clean
    name = "classify"
    unit = Unit.PARAGRAPHS

    def __call__(self, lines: Lines, stats: StepStats, /) -> Classification:
        with stats.timed():
            result = classify_columns(
                *lines,
                known_title=self.known_title,
                whole_page=self.whole_page,
                link_lists=self.link_lists,
                removed=self.removed,
                language=self.language,
                config=self.config,
            )
        removed = Counter(p.reason for p in result.paragraphs if p.label not in KEPT_LABELS)
        stats.keep(len(result.paragraphs) - removed.total())
        for reason, n in removed.items():
            stats.drop(reason, n)
        return result
