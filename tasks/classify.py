"""Give every paragraph one label and the name of the rule that decided it.

Order of decisions, first one wins:
1. the rule catalogue (``tasks.rules``): ads, widgets, bylines, captions, promos, ...;
2. structural rules: runs of bulleted headlines are related-story link lists;
3. the title: the metadata title where the page has one, else the first headline-shaped
   paragraph at the top of the page;
4. for whole-page text, the main-content selector (``tasks.pagetext``) drops chrome the
   catalogue does not name (menus, footers, lists of other stories);
5. everything else is body.
Duplicates are decided later, across the whole run (``tasks.dedup``).
Bylines and credits are not only removed: their names become article metadata.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from itertools import count, repeat

from tasks.models import BODY, TITLE, Paragraph
from tasks.paragraphs import ParagraphSpan
from tasks.rules import (
    BULLET,
    BULLET_FIRST,
    LINK_LIST_MAX_WORDS,
    LINK_LIST_MIN_RUN,
    SENTENCE_END,
    TITLE_MAX_WORDS,
    TITLE_MIN_WORDS,
    WIRE_PATTERN,
    WIRE_SERVICES,
    dateline_credit,
    match_rules,
)

BODY_REASON = "article_text"
TITLE_FROM_METADATA = "title_metadata"
TITLE_FROM_LAYOUT = "title_first_headline"
LINK_LIST_RULE = "related_link_list"
# The title is looked for among the first few paragraphs the catalogue did not claim.
TITLE_SEARCH_DEPTH = 3


@dataclass(slots=True)
class Classification:
    paragraphs: list[Paragraph]
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    credits: list[str] = field(default_factory=list)


def _words(text: str) -> int:
    return len(text.split())


def _is_headline(text: str) -> bool:
    return TITLE_MIN_WORDS <= _words(text) <= TITLE_MAX_WORDS and not text.endswith(".")


def _canonical_credit(name: str) -> str:
    lowered = name.lower().removeprefix("the ")
    return next((wire for wire in WIRE_SERVICES if wire.lower() == lowered), name)


def _add(names: list[str], new: Sequence[str]) -> None:
    for name in new:
        if name and name not in names:
            names.append(name)


def _mark_link_lists(paragraphs: list[Paragraph]) -> None:
    """Label runs of bulleted, sentence-less, short items as related-story link lists."""

    def is_item(p: Paragraph) -> bool:
        return (
            p.label == ""
            and (p.text[:1] in BULLET_FIRST or p.text[:1].isdecimal())  # what BULLET needs
            and bool(BULLET.match(p.text))
            and not SENTENCE_END.search(p.text)
            and _words(p.text) <= LINK_LIST_MAX_WORDS
        )

    run: list[Paragraph] = []
    for paragraph in [*paragraphs, None]:
        if paragraph is not None and is_item(paragraph):
            run.append(paragraph)
            continue
        if len(run) >= LINK_LIST_MIN_RUN:
            for item in run:
                item.label, item.reason = "promo", LINK_LIST_RULE
        run = []


def _normalized(text: str) -> str:
    return " ".join(text.casefold().split())


def _mark_title(paragraphs: list[Paragraph], known_title: str | None) -> str | None:
    open_paragraphs = [p for p in paragraphs if p.label == ""]
    if known_title:
        wanted = _normalized(known_title)
        for paragraph in open_paragraphs:
            if _normalized(paragraph.text) == wanted:
                paragraph.label, paragraph.reason = TITLE, TITLE_FROM_METADATA
                break
        return known_title
    for paragraph in open_paragraphs[:TITLE_SEARCH_DEPTH]:
        if _is_headline(paragraph.text):
            paragraph.label, paragraph.reason = TITLE, TITLE_FROM_LAYOUT
            return paragraph.text
    return None


def classify(
    spans: Sequence[ParagraphSpan],
    *,
    known_title: str | None = None,
    whole_page: bool = True,
    site_repeats: Collection[str] = frozenset(),
    link_lists: bool | None = None,
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
    paragraphs = list(
        map(Paragraph, count(), texts, repeat(""), repeat(""), line_starts, line_ends)
    )
    authors: list[str] = []
    credits: list[str] = []
    for index, (rule, match) in match_rules(texts).items():
        paragraph = paragraphs[index]
        paragraph.label, paragraph.reason = rule.label, rule.name
        names = rule.authors(match) if rule.authors else []
        _add(authors, [n for n in names if not WIRE_PATTERN.match(n)])
        _add(credits, [_canonical_credit(n) for n in names if WIRE_PATTERN.match(n)])
        if rule.credits:
            _add(credits, [_canonical_credit(n) for n in rule.credits(match)])

    if whole_page if link_lists is None else link_lists:
        _mark_link_lists(paragraphs)
    title = _mark_title(paragraphs, known_title)

    if whole_page:
        from tasks.pagetext import select_main_content

        open_paragraphs = [p for p in paragraphs if p.label == ""]
        verdicts = select_main_content([p.text for p in open_paragraphs], site_repeats=site_repeats)
        for paragraph, verdict in zip(open_paragraphs, verdicts, strict=True):
            if verdict is not None:
                paragraph.label, paragraph.reason = "boilerplate", verdict

    for paragraph in paragraphs:
        if paragraph.label == "":
            paragraph.label, paragraph.reason = BODY, BODY_REASON
            # A dateline's '(' comes within its first 42 characters.
            if "(" in paragraph.text[2:42] and (wire := dateline_credit(paragraph.text)):
                _add(credits, [wire])
    return Classification(paragraphs, title, authors, credits)
