"""The plain-text selector as a second opinion on trafilatura's choice of main text."""

from __future__ import annotations

from tasks.htmlmerge import coverage, page_text_fallback, selected_paragraphs

from .pages import PAGE, PROSE, SIDEBAR


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
