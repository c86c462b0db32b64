"""HTML pages to main text plus metadata: trafilatura first, a plain DOM walk as fallback.

trafilatura's paragraphs are found again in the page's DOM and those that sit in page chrome
by their surroundings (``tasks.extract.domblocks``: figure, aside, footer, related or newsletter
boxes,
link lists after the article...) are marked removed, with that reason. The page is parsed once
and the tree is shared by trafilatura and the metadata reader.

Second and third opinions (trafilatura's baseline, the plain-text selector on the page's
visible text) replaced trafilatura's text when it looked like a fragment; they were chosen on
the WCXB dev pages and lowered F1 on the two other development sets (trafilatura-eval -0.018,
Readability -0.005, ``python -m benchmarks.extraction --ablate opinions``), so they are gone.

Metadata merges what the page declares (``tasks.extract.metadata``: JSON-LD, meta tags) with
trafilatura's findings. The publication time is ``tasks.extract.metadata.publication``'s: the
page's declared time with its offset, else the date its article header shows, else the URL's.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TypeAlias, TypedDict

import lxml.html
import trafilatura
import trafilatura.metadata
import trafilatura.settings
from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning
from lxml.etree import ParserError
from trafilatura.utils import is_dubious_html, repair_faulty_html

from tasks.clean.paragraphs import split_lines
from tasks.clean.rules import split_names
from tasks.config import DEFAULTS, ExtractConfig, MetadataConfig, PipelineConfig
from tasks.extract.domblocks import SIDEBAR, TEASER, chrome_filter
from tasks.extract.metadata import (
    PageMetadata,
    byline_authors,
    clean_author_names,
    page_metadata,
    publication,
    without_elsewhere,
)
from tasks.extract.readerable import is_probably_readerable, link_texts
from tasks.models import Rejected
from tasks.reasons import DOM_CHROME, SIDEBAR_PARAGRAPH, TEASER_HEADLINE, Reason, Stage

EXTRACTOR_TRAFILATURA = "trafilatura"
EXTRACTOR_FALLBACK = "dom_text"
_BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "div")
_BY_PREFIX = re.compile(r"^\s*by\s+", re.I)
_SURROGATE = re.compile("[\ud800-\udfff]")
# Loggers of the extraction libraries. They log every page they cannot use (ERROR "parsed tree
# length: 0", WARNING "discarding data"); newsclean reports such a page once, with its reason,
# in the quarantine table and the run report, so their lines would only flood a run's console.
EXTRACTOR_LOGGERS = ("trafilatura", "htmldate", "courlan")
for _name in EXTRACTOR_LOGGERS:
    logging.getLogger(_name).setLevel(logging.CRITICAL)
# The page as markup, or parsed once (``parse_html``) and shared by every reader.
Page: TypeAlias = str | lxml.html.HtmlElement


@dataclass(slots=True)
class Extraction:
    text: str
    extractor: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    published_at_precision: str | None = None
    # The calendar day the page states, in its own UTC offset (``published_at`` is UTC).
    published_date: date | None = None
    site_name: str | None = None
    language: str | None = None
    description: str | None = None
    url: str | None = None
    credits: list[str] = field(default_factory=list)
    # ``text`` split into paragraphs (``tasks.clean.paragraphs.split_lines`` columns), when the
    # extraction split it already, and the positions among them that a filter removed, with
    # their reason (which names their label): they are published as removed rows, not
    # dropped unseen.
    lines: tuple[list[str], list[int], list[int]] | None = None
    removed: dict[int, Reason] = field(default_factory=dict)
    # Readability's test (``tasks.extract.readerable``): False when the page has no block of prose;
    # then ``link_texts`` holds its link texts, for telling an index page from a short brief.
    readerable: bool = True
    link_texts: frozenset[str] = frozenset()


class _Metadata(TypedDict):
    """The metadata fields of an ``Extraction``, read before its text is chosen."""

    title: str | None
    authors: list[str]
    credits: list[str]
    published_at: datetime | None
    published_at_precision: str | None
    published_date: date | None
    site_name: str | None
    language: str | None
    description: str | None
    url: str | None


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
    blocks = soup.find_all(_BLOCK_TAGS)
    # A block that holds another block is left to the inner one. Each block marks its nearest
    # block ancestor, in one pass: searching every block's descendants instead took time
    # quadratic in the nesting depth (28 s for a page of 20,000 nested divs).
    outer: set[int] = set()
    for node in blocks:
        parent = node.parent
        while parent is not None and parent.name not in _BLOCK_TAGS:
            parent = parent.parent
        if parent is not None:
            outer.add(id(parent))
    lines: list[str] = []
    for node in blocks:
        if id(node) in outer:
            continue
        text = " ".join(node.get_text(" ").split())
        if text:
            lines.append(text)
    if not lines:
        text = " ".join(soup.get_text(" ").split())
        lines = [text] if text else []
    return "\n\n".join(lines)


def _declared(
    html: str, tree: lxml.html.HtmlElement | None, config: MetadataConfig = DEFAULTS.metadata
) -> PageMetadata:
    """The page's own metadata; empty when lxml cannot parse the markup at all."""
    if tree is not None:
        return page_metadata(tree, config)
    try:
        return page_metadata(lxml.html.fromstring(html), config)
    except (ParserError, ValueError):
        return PageMetadata()


# trafilatura's parser options, plus ``huge_tree``: without it libxml2 stops at a text node
# over 10 MB (an inline ``<script>`` of JSON state) and the tree holds only what came before
# it, so a 17 MB page with 15 MB of script JSON published its navigation menu as the article.
HTML_PARSER = lxml.html.HTMLParser(
    collect_ids=False,
    default_doctype=False,
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
    huge_tree=True,
)


def parse_html(html: str, config: ExtractConfig = DEFAULTS.extract) -> lxml.html.HtmlElement | None:
    """The page parsed once, as trafilatura's ``load_html`` parses it; None when lxml cannot.

    The same steps as ``load_html`` (repair, Unicode first, bytes second, the dubious-HTML
    check), with :data:`HTML_PARSER` so that huge text nodes parse. Scripts and styles over
    ``config.max_script_chars`` are emptied (application state, never metadata), so that the
    readers that search the page's markup (htmldate's regexes take ~2 s a MB) stay bounded.
    trafilatura (which copies a tree it is given) and the metadata reader take this tree
    instead of parsing again.
    """
    beginning = html[:50].lower()
    html = repair_faulty_html(html, beginning)
    tree = None
    try:
        tree = lxml.html.fromstring(html, parser=HTML_PARSER)
    except ValueError:  # a Unicode string with an encoding declaration: parse its bytes
        tree = None
    except Exception:  # lxml raises several kinds of errors on markup it cannot parse
        return None
    if tree is None or len(tree) < 1:
        try:
            tree = lxml.html.fromstring(html.encode("utf-8", "surrogatepass"), parser=HTML_PARSER)
        except Exception:
            return None
    if is_dubious_html(beginning) and len(tree) < 2:
        return None
    for node in tree.iter("script", "style"):
        if node.text is not None and len(node.text) > config.max_script_chars:
            node.text = None
    return tree


def _main_extraction(
    html: Page, url: str | None, config: ExtractConfig = DEFAULTS.extract
) -> trafilatura.settings.Document | None:
    """trafilatura's main text, without its metadata (``_trafilatura_metadata`` reads that)."""
    try:
        # A Document (or None): the dict form comes only with as_dict=True.
        return trafilatura.bare_extraction(  # type: ignore[return-value]
            html,
            url=url,
            with_metadata=False,
            include_comments=False,
            include_tables=True,
            favor_recall=config.favor_recall,
        )
    except Exception:  # trafilatura raises many kinds of parser errors on broken markup
        return None


def _trafilatura_metadata(
    tree: lxml.html.HtmlElement | None, url: str | None, declared: PageMetadata
) -> trafilatura.settings.Document:
    """trafilatura's metadata, step by step as ``trafilatura.metadata.extract_metadata`` (2.3).

    Left out is what newsclean never publishes or reads elsewhere: categories, tags and
    licence; the author search when the page declares authors; and the date, which
    ``tasks.extract.metadata.publication`` reads (declarations first, then the article's
    header, never the URL before the page).
    """
    if tree is None:
        return trafilatura.settings.Document()
    found = trafilatura.metadata.examine_meta(tree)
    if found.author and " " not in found.author:
        found.author = None
    with contextlib.suppress(Exception):  # as trafilatura: bugs in its JSON-LD reader
        found = trafilatura.metadata.extract_meta_json(tree, found)
    found.title = found.title or trafilatura.metadata.extract_title(tree)
    if not found.author and not declared.authors:
        found.author = trafilatura.metadata.extract_author(tree)
    found.url = found.url or trafilatura.metadata.extract_url(tree, url)
    found.sitename = found.sitename or trafilatura.metadata.extract_sitename(tree)
    if found.sitename:
        found.sitename = found.sitename.lstrip("@")
        if "." not in found.sitename and not found.sitename[0].isupper():
            found.sitename = found.sitename.title()
    elif found.url and (match := trafilatura.metadata.META_URL.match(found.url)):
        found.sitename = match[1]
    found.clean_and_trim()
    return found


def extractor_text(
    tree: lxml.html.HtmlElement, url: str | None = None
) -> tuple[str, str, str | None] | None:
    """The main text before the DOM chrome filter, its extractor and trafilatura's title."""
    document = _main_extraction(tree, url)
    if document is None or not (document.text or "").strip():
        return None
    title = _trafilatura_metadata(tree, url, page_metadata(tree)).title
    return document.text or "", EXTRACTOR_TRAFILATURA, title


_KIND_REASONS = {SIDEBAR: SIDEBAR_PARAGRAPH, TEASER: TEASER_HEADLINE}


def dom_chrome(
    tree: lxml.html.HtmlElement | None,
    paragraphs: list[str],
    extractor: str,
    config: ExtractConfig = DEFAULTS.extract,
) -> dict[int, Reason]:
    """Positions of the ``paragraphs`` that ``tasks.extract.domblocks`` places in page chrome.

    Each is removed as ``DOM_CHROME`` (``boilerplate`` / ``dom_chrome``); none when the model
    would drop all of them (then it is the model, not the page, that is wrong). Paragraphs in
    a sidebar and teaser headlines (``domblocks.chrome_filter``'s kinds) get their own reasons.
    """
    if tree is None:
        return {}
    kinds: list[str | None] = []
    keep = chrome_filter(tree, paragraphs, extractor, config, kinds)
    removed: dict[int, Reason] = (
        {} if all(keep) or not any(keep) else {i: DOM_CHROME for i, k in enumerate(keep) if not k}
    )
    # Sidebar paragraphs and teaser headlines go by their place in the DOM, with their kind,
    # whether or not the model saw them as chrome; never all the text.
    by_kind = {i: _KIND_REASONS[kind] for i, kind in enumerate(kinds) if kind is not None}
    if len(removed.keys() | by_kind.keys()) < len(paragraphs):
        removed.update(by_kind)
    return removed


def extract_html(
    html: str, url: str | None = None, config: PipelineConfig = DEFAULTS
) -> Extraction:
    """Main text and metadata of an HTML page; the ``extractor`` field says which path ran.

    ``config``: its ``extract``, ``metadata`` and ``split`` sections apply.
    """
    options, about = config.extract, config.metadata
    tree = parse_html(html, options)
    page: Page = tree if tree is not None else html
    declared = _declared(html, tree, about)
    found = _trafilatura_metadata(tree, url, declared)
    # The page without comments, related lists and footers: where dates and bylines are read.
    # Copying it costs a few ms, so only for a page that declares no date or no author.
    searched_authors = clean_author_names(
        [found.author] if found.author else [], searched=True, config=about
    )
    needs_article = tree is not None and (
        declared.published_at is None or not (declared.authors or searched_authors)
    )
    article = without_elsewhere(tree, declared.title) if needs_article else None
    published = publication(article, declared, url or found.url, about)
    metadata: _Metadata = {
        "title": declared.title,
        "authors": declared.authors
        or searched_authors
        or (byline_authors(article, about, declared.title) if article is not None else []),
        "credits": declared.credits,
        "published_at": published.at,
        "published_at_precision": published.precision,
        "published_date": published.day,
        "site_name": declared.site_name or found.sitename or None,
        "language": declared.language or found.language or None,
        "description": declared.description or found.description or None,
        "url": url or found.url or None,
    }
    document = _main_extraction(page, url, options)
    if document is not None and (document.text or "").strip():
        extractor = EXTRACTOR_TRAFILATURA
        text = _SURROGATE.sub("\ufffd", document.text or "")
        lines = split_lines(text, config.split)
        removed = dom_chrome(tree, lines[0], extractor, options)
        readerable = tree is None or is_probably_readerable(tree, options)
        return _valid_unicode(
            Extraction(
                text=text,
                extractor=extractor,
                lines=lines,
                removed=removed,
                readerable=readerable,
                link_texts=frozenset() if readerable or tree is None else link_texts(tree),
                **metadata,
            )
        )
    text = _dom_text(html)
    if not text.strip():
        raise Rejected(Stage.EXTRACT, "HTML page has no visible text")
    return _valid_unicode(Extraction(text=text, extractor=EXTRACTOR_FALLBACK, **metadata))


def _valid_unicode(extraction: Extraction) -> Extraction:
    """``extraction`` with every lone UTF-16 surrogate replaced by U+FFFD.

    JSON-LD escapes such as ``"\\ud83d"`` (half an emoji, cut by a CMS) decode to lone
    surrogates, which neither UTF-8 nor Parquet can hold: one such author name failed the
    whole run when the tables were written. Text decoded from bytes never has them.
    """
    for name in ("text", "title", "site_name", "language", "description", "url"):
        value = getattr(extraction, name)
        if value is not None and _SURROGATE.search(value):
            setattr(extraction, name, _SURROGATE.sub("\ufffd", value))
    for name in ("authors", "credits"):
        values = getattr(extraction, name)
        if any(_SURROGATE.search(value) for value in values):
            setattr(extraction, name, [_SURROGATE.sub("\ufffd", value) for value in values])
    return extraction
