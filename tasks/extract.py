"""HTML pages to main text plus metadata: trafilatura first, a plain DOM walk as fallback."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime

import trafilatura
from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

from tasks.models import Rejected
from tasks.rules import split_names

EXTRACTOR_TRAFILATURA = "trafilatura"
EXTRACTOR_FALLBACK = "dom_text"
_BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "div")
_BY_PREFIX = re.compile(r"^\s*by\s+", re.I)


@dataclass(slots=True)
class Extraction:
    text: str
    extractor: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    site_name: str | None = None
    language: str | None = None
    description: str | None = None
    url: str | None = None


def clean_authors(raw: str | None) -> list[str]:
    """``"By Jane Doe; John Roe and Ann Lee"`` -> three names; no "By", no empties."""
    if not raw:
        return []
    return split_names(_BY_PREFIX.sub("", raw))


def parse_date(raw: str | None) -> datetime | None:
    """An ISO date or datetime as a UTC timestamp; date-only values are taken at 00:00 UTC."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _dom_text(html: str) -> str:
    """Visible text of block elements, one per line, scripts and styles removed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    for node in soup(["script", "style", "noscript", "template", "svg", "head"]):
        node.decompose()
    lines: list[str] = []
    for node in soup.find_all(_BLOCK_TAGS):
        if node.find(_BLOCK_TAGS):
            continue
        text = " ".join(node.get_text(" ").split())
        if text:
            lines.append(text)
    if not lines:
        text = " ".join(soup.get_text(" ").split())
        lines = [text] if text else []
    return "\n\n".join(lines)


def extract_html(html: str, url: str | None = None) -> Extraction:
    """Main text and metadata of an HTML page; the ``extractor`` field says which path ran."""
    try:
        document = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=True
        )
    except Exception:  # trafilatura raises many kinds of parser errors on broken markup
        document = None
    if document is not None and (document.text or "").strip():
        return Extraction(
            text=document.text,
            extractor=EXTRACTOR_TRAFILATURA,
            title=document.title or None,
            authors=clean_authors(document.author),
            published_at=parse_date(document.date),
            site_name=document.sitename or None,
            language=document.language or None,
            description=document.description or None,
            url=url or document.url or None,
        )
    text = _dom_text(html)
    if not text.strip():
        raise Rejected("extract", "HTML page has no visible text")
    title = None
    if document is not None and document.title:
        title = document.title
    return Extraction(text=text, extractor=EXTRACTOR_FALLBACK, title=title, url=url)
