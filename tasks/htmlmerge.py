"""A second, independent opinion on an HTML page's main text: the plain-text selector.

trafilatura decides from the DOM; ``tasks.pagetext`` decides from the page's visible text
(``html_text`` dump, one paragraph per block) with a content model of its own, so the two fail
on different pages. When trafilatura's text covers almost none of what the selector keeps, it
settled on the wrong block (a teaser, a sidebar, one widget) and the selector's text is used.

Only that page-level switch is applied. Paragraph-level merges were measured on the 711 WCXB
dev pages (shingle F1 .940 before): adding the selector's paragraphs that trafilatura missed
inside the article span gave P .901 R .971 F1 .935 (captions, FAQ and product blurbs the
truth leaves out); dropping trafilatura's paragraphs the selector calls chrome gave .939.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from tasks.paragraphs import split_paragraphs

# Switch when trafilatura's text holds under FALLBACK_COVERAGE of the selector's word 3-grams
# and the selector kept at least FALLBACK_MIN_WORDS words. Chosen on the odd WCXB dev page
# ids (0.15..0.40 tried; 0.15 and 0.20 best), confirmed on the even ones.
FALLBACK_COVERAGE = 0.15
FALLBACK_MIN_WORDS = 100
_WORD = re.compile(r"\w+")


def selected_paragraphs(html: str | HtmlElement) -> list[str]:
    """The paragraphs of the page's text dump that ``tasks.pagetext`` keeps as main content.

    ``html`` may be the page already parsed (``html_text`` reads the tree without changing it).
    """
    import html_text

    from tasks.pagetext import select_main_content

    try:
        dump = html_text.extract_text(html, guess_layout=True)
    except Exception:  # lxml raises several kinds of errors on markup it cannot parse
        return []
    paragraphs = [span.text for span in split_paragraphs(dump)]
    verdicts = select_main_content(paragraphs)
    return [p for p, verdict in zip(paragraphs, verdicts, strict=True) if verdict is None]


def _trigrams(text: str) -> list[tuple[str, ...]]:
    tokens = _WORD.findall(text.lower())
    return [tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)]


def coverage(text: str, paragraphs: list[str]) -> float:
    """Share of the word 3-grams of ``paragraphs`` that also occur in ``text`` (1 if none)."""
    wanted = _trigrams("\n".join(paragraphs))
    if not wanted:
        return 1.0
    present = set(_trigrams(text))
    return sum(gram in present for gram in wanted) / len(wanted)


def page_text_fallback(html: str | HtmlElement, text: str) -> str | None:
    """The selector's text when extractor ``text`` covers little of it, else None."""
    if not text.strip():
        return None
    kept = selected_paragraphs(html)
    if sum(len(p.split()) for p in kept) < FALLBACK_MIN_WORDS:
        return None
    if coverage(text, kept) >= FALLBACK_COVERAGE:
        return None
    return "\n\n".join(kept)
