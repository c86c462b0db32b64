"""The plain-text selector as a second opinion on trafilatura's choice of main text."""

from __future__ import annotations

import pytest

from tasks.htmlmerge import coverage, page_text_fallback, selected_paragraphs

pytest.importorskip("html_text")

PROSE = [
    "The city council voted on Tuesday to rebuild the old harbour bridge, which has been closed "
    "to traffic since the storm damaged two of its supports in the spring of last year.",
    "Engineers told the council that the repairs would take about eighteen months and that the "
    "bridge would reopen in stages, first to pedestrians and cyclists and then to cars.",
    "Residents who live near the harbour said they were relieved, because the detour through "
    "the industrial district had added almost half an hour to their daily commute to work.",
    "The mayor said the cost would be shared between the city and the regional government, "
    "and that the contract would be awarded after an open tender later in the summer.",
    "Local shop owners, who say they lost many customers while the bridge was closed, asked "
    "the council to keep the works short and to put up clear signs for the detour.",
]
SIDEBAR = "Subscribe to our newsletter for the latest deals on garden furniture and barbecue sets."
PAGE = (
    "<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav><article>"
    + "".join(f"<p>{p}</p>" for p in PROSE)
    + f"</article><aside><p>{SIDEBAR}</p></aside><footer>Copyright 2025</footer></body></html>"
)


def test_selector_keeps_the_article_prose():
    kept = selected_paragraphs(PAGE)
    assert all(p in kept for p in PROSE)


def test_coverage_counts_shared_word_trigrams():
    assert coverage("\n".join(PROSE), PROSE) == 1.0
    assert coverage(SIDEBAR, PROSE) == 0.0
    assert 0.3 < coverage("\n".join(PROSE[:2]), PROSE) < 0.5


def test_fallback_replaces_an_extraction_that_missed_the_article():
    text = page_text_fallback(PAGE, SIDEBAR)
    assert text is not None
    assert all(p in text for p in PROSE)


def test_no_fallback_when_the_extraction_holds_the_article_or_is_empty():
    assert page_text_fallback(PAGE, "\n\n".join(PROSE[1:])) is None
    assert page_text_fallback(PAGE, "") is None


def test_no_fallback_when_the_selector_keeps_too_little():
    short = "<html><body><p>One short line of text here.</p></body></html>"
    assert page_text_fallback(short, "Something else entirely.") is None


def test_unparseable_markup_gives_no_paragraphs():
    assert selected_paragraphs("") == []
