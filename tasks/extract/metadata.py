"""Article metadata that a page states about itself: JSON-LD, meta tags, ``<time>``, ``lang``.

Only values the page declares are taken, in a fixed order of trust (structured data, then
meta tags, then markup); nothing is inferred from the URL or the visible text, so a missing
value stays None instead of becoming a guess. Dates keep the page's own UTC offset, which
is also what decides the calendar day of an evening story in a western time zone.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

from lxml.etree import XPath
from lxml.html import HtmlElement

from tasks.clean.rules import WIRE_PATTERN, WIRE_SERVICES, split_names
from tasks.config import DEFAULTS, MetadataConfig

# JSON-LD types whose datePublished/author describe the page's main article.
ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenews",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "reviewnewsarticle",
        "backgroundnewsarticle",
        "blogposting",
        "socialmediaposting",
        "liveblogposting",
        "techarticle",
        "scholarlyarticle",
        "report",
        "review",
        "howto",
        "recipe",
        "webpage",
        "itempage",
        "creativework",
    }
)
# Meta tags naming the publication time, most specific first.
DATE_META = (
    "article:published_time",
    "og:published_time",
    "og:article:published_time",
    "article.published",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish_date",
    "publish-date",
    "published_time",
    "published-date",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "date",
    "citation_publication_date",
    "citation_date",
)
AUTHOR_META = (
    "author",
    "article:author",
    "parsely-author",
    "sailthru.author",
    "dc.creator",
    "dcterms.creator",
    "byl",
    "citation_author",
    "twitter:creator",
)
_BY = re.compile(
    r"^\s*(?:(?:written|posted|article|recipe|story|words|text|published)\s+)?by[:\s]+", re.I
)
# Whoever reviewed, edited or illustrated the piece is not its author.
_SECOND_CREDIT = re.compile(
    r"\s+(?:medically\s+)?(?:reviewed|edited|fact[- ]checked|illustrated|photos?|updated)"
    r"\s+by\b.*$",
    re.I | re.S,
)
# "About the author", "About <book>": a box or subheading about something, never a byline.
_ABOUT = re.compile(r"^\s*(?:read\s+more\s+)?about\b", re.I)
_DATE_TEXT = re.compile(
    r"\b(?:\d{1,2}(?:st|nd|rd|th)?\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
    r"\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?)?,?\s+\d{4}\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b",
    re.I,
)
_UPDATED = re.compile(r"\b(?:updated|published|posted|on)\b[:\s]*$", re.I)
_NOT_A_NAME = re.compile(r"https?://|www\.|@|©|\d|^[^\w]*$|^[^\sA-Z]+$")
# Degrees, licences and certifications written after a name ("Jane Doe, MS, RDN"): a
# credential of the author, never an author. Those in mixed case are listed; any other word of
# two to six capitals (dots and hyphens allowed: "M.S.", "PA-C") is one too, unless it names a
# wire service or source (``WIRE_PATTERN``: "AP", "AFP" are credits).
_CREDENTIALS = frozenset(
    {
        "phd",
        "md",
        "ms",
        "msc",
        "ma",
        "mba",
        "mph",
        "mpa",
        "med",
        "msn",
        "msw",
        "bsc",
        "bsn",
        "ba",
        "bs",
        "jd",
        "esq",
        "pharmd",
        "psyd",
        "edd",
        "drph",
        "dnp",
        "dds",
        "dmd",
        "dvm",
        "do",
        "rd",
        "rdn",
        "ld",
        "ldn",
        "rn",
        "np",
        "pa-c",
        "cfa",
        "cfp",
        "cpa",
        "chfc",
        "clu",
        "cscs",
        "cpt",
        "mbbs",
        "frcp",
        "facs",
        "cdces",
        "cde",
        "ibclc",
        "lcsw",
        "lmft",
        "lpc",
        "cns",
        "ches",
        "acsm",
        "nasm",
        "dpt",
        "pt",
        "atc",
        "otr",
        "crnp",
        "aprn",
        "fnp",
        "cnm",
    }
)
_CAPITALS = re.compile(r"^(?:[A-Z]\.?){2,6}(?:-[A-Z]\.?)?$")


def is_credential(word: str, capitals: bool = True) -> bool:
    """``word`` is a degree or certification ("MS", "Ph.D.", "RDN", "PA-C"), not a name.

    With ``capitals`` False (a byline written all in capitals), only the listed ones count.
    """
    bare = word.strip(" ,.;()®")
    key = bare.replace(".", "").casefold()
    if not key:
        return False
    return key in _CREDENTIALS or (
        capitals and bool(_CAPITALS.match(bare)) and not WIRE_PATTERN.match(bare.replace(".", ""))
    )


def _without_credentials(name: str, capitals: bool) -> str:
    """``name`` without the credentials that end it ("Ilana Muhlstein MS RDN" -> "Ilana
    Muhlstein"); empty when it is only credentials."""
    words = name.split()
    while words and is_credential(words[-1], capitals):
        words.pop()
    return " ".join(words)


# A company's legal form ends an organisation's name, never a person's: "Kneib Dentistry PC",
# "SmartEtailing Inc" are who runs the site, not authors.
_ORGANISATION = re.compile(
    r"[\s,](?:inc|llc|l\.l\.c|ltd|limited|corp|corporation|gmbh|plc|pc|p\.c|pllc|s\.a)\.?$",
    re.I,
)


# Placeholders, roles and template labels that fill author fields in place of a name.
_NOT_NAMES = frozenset(
    {
        "admin",
        "administrator",
        "author",
        "editor",
        "staff",
        "the author",
        "undefined",
        "null",
        "none",
        "unknown",
        "webmaster",
        "written by",
        "posted by",
        "guest",
        "user",
        "name",
        "username",
        "by",
    }
)
_ROLE_WORDS = re.compile(
    r"^(?:author|written by|posted by|last updated|updated|published|on)\b[:\s]*"
    r"|\s+(?:last updated|updated|published|posted)\b.*$",
    re.I,
)
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_MONTH_ONLY = re.compile(rf"^{_MONTHS}$", re.I)
# A trailing "December" or "February 8" left from a byline's date.
_TRAILING_DAY = re.compile(rf"\s+{_MONTHS}(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?,?$", re.I)
_ISO = re.compile(
    r"^(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{2}):?(\d{2})(?::?(\d{2})(?:[.,]\d+)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
# Separators between a headline and the site's name or section in ``<title>``/``og:title``:
# a bar or a double colon with or without spaces; a dash, bullet or guillemet only when spaced.
_TITLE_SEPARATOR = re.compile(r"\s*(?:\||::)\s*|\s+[-–—·•»/]\s+")
_NOT_ALNUM = re.compile(r"[\W_]+")


# Job titles proper that follow a name in a byline ("Jane Doe Tech Reporter"): one of these must
# be in a trailing run of role words for the run to be cut. Lower-case, without punctuation.
_JOB_TITLES = frozenset(
    {
        "analyst",
        "ceo",
        "cfo",
        "co-founder",
        "cofounder",
        "columnist",
        "consultant",
        "contributor",
        "coo",
        "correspondent",
        "cto",
        "director",
        "editor",
        "expert",
        "founder",
        "intern",
        "journalist",
        "manager",
        "officer",
        "photographer",
        "president",
        "producer",
        "reporter",
        "reviewer",
        "specialist",
        "strategist",
        "winemaker",
        "writer",
    }
)
# Role words: the job titles and the words that qualify them ("Lead Reviewer", "Sr. Director
# of Operations"): a name is cut where a run of these words that ends the value begins, and a
# value made only of them is no name.
ROLE_WORDS = _JOB_TITLES | frozenset(
    {
        "&",
        "and",
        "assistant",
        "associate",
        "at",
        "author",
        "business",
        "certified",
        "chief",
        "community",
        "content",
        "contributing",
        "deputy",
        "development",
        "digital",
        "executive",
        "finance",
        "food",
        "former",
        "freelance",
        "games",
        "gaming",
        "guest",
        "head",
        "health",
        "junior",
        "lead",
        "licensed",
        "managing",
        "marketing",
        "media",
        "member",
        "news",
        "of",
        "personal",
        "politics",
        "principal",
        "privacy",
        "science",
        "security",
        "senior",
        "social",
        "sports",
        "sr",
        "staff",
        "tech",
        "technology",
        "travel",
    }
)


def _without_role(name: str) -> str:
    """``name`` without a trailing job title; empty when the value is only a job title.

    "Rachel MacDonald Writer" -> "Rachel MacDonald"; "Sr. Director of Operations", "Lead
    Reviewer", "Community Development" -> "". A value with no job title word is kept whole.
    """
    words = name.split()
    lowered = [w.casefold().strip(".,()") for w in words]
    first_job = next((i for i, w in enumerate(lowered) if w in _JOB_TITLES), None)
    if first_job is not None and all(w in ROLE_WORDS for w in lowered[:first_job]):
        return ""
    if all(w in ROLE_WORDS for w in lowered):
        return ""
    start = len(words)
    while start > 0 and lowered[start - 1] in ROLE_WORDS:
        start -= 1
    return " ".join(words[:start]) if set(lowered[start:]) & _JOB_TITLES else name


@dataclass(slots=True)
class PageMetadata:
    """What the page declares; every field is None (or empty) when the page does not say."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    credits: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    published_at_precision: str | None = None
    site_name: str | None = None
    language: str | None = None
    description: str | None = None
    # What names the site on this page (``site_keys``): for cleaning authors found elsewhere.
    site_keys: frozenset[str] = frozenset()


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        cleaned = " ".join(value.split())
        return cleaned or None
    return None


def parse_datetime(raw: str | None, config: MetadataConfig = DEFAULTS.metadata) -> datetime | None:
    """A declared date or datetime, offset kept; naive values are taken as UTC.

    Accepts ISO 8601 (also compact and with a space), RFC 2822 (``Tue, 05 Mar 2024 09:30:00
    GMT``) and a date-only value, which becomes midnight UTC: the day is what the page says,
    the time of day is unknown. Anything else is None rather than a guess, and so are years
    outside ``config.earliest_year``-``latest_year`` (a fixed range, so that output never
    depends on the run date): ``0001-01-01`` and ``9999-12-31`` are how CMSs (.NET's
    ``DateTime.MinValue``/``MaxValue``) write a date nobody set.
    """
    value = _parse_datetime(raw)
    if value is None or not config.earliest_year <= value.year <= config.latest_year:
        return None
    return value


# How much of a time a value states: the calendar day only, hours and minutes, or seconds.
DAY, MINUTE, SECOND = "day", "minute", "second"
_RFC_SECONDS = re.compile(r"\d:\d{2}:\d{2}")


def date_precision(raw: str | None, config: MetadataConfig = DEFAULTS.metadata) -> str | None:
    """``day``, ``minute`` or ``second``: how precise the declared value ``raw`` is; None when
    it is no date. A date-only value becomes midnight UTC, and this is what tells it from a
    stated midnight."""
    if parse_datetime(raw, config) is None:
        return None
    text = _text(raw) or ""
    match = _ISO.match(text)
    if match:
        hour, second = match.group(4), match.group(6)
        return DAY if hour is None else (MINUTE if second is None else SECOND)
    return SECOND if _RFC_SECONDS.search(text) else MINUTE


def _parse_datetime(raw: str | None) -> datetime | None:
    text = _text(raw)
    if not text:
        return None
    match = _ISO.match(text)
    if match:
        year, month, day, hour, minute, second, offset = match.groups()
        try:
            value = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
        except ValueError:
            return None
        return value.replace(tzinfo=_offset(offset))
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _offset(raw: str | None) -> timezone:
    if not raw or raw == "Z":
        return UTC
    sign = -1 if raw[0] == "-" else 1
    digits = raw[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _walk_json(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            if isinstance(child, dict | list):
                yield from _walk_json(child)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_json(item)


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.lower() for k in kinds if isinstance(k, str)}


def json_ld_objects(tree: HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page (``@graph`` members included); broken blocks skipped."""
    objects: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "", strict=False)
        except ValueError:
            continue
        objects.extend(_walk_json(data))
    return objects


def _article_object(objects: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The most article-like JSON-LD object: news/blog types before generic web pages."""
    ranked = [
        (0 if ("article" in t or "posting" in t) else 1, i, o)
        for i, o in enumerate(objects)
        for t in [" ".join(_types(o))]
        if _types(o) & ARTICLE_TYPES
    ]
    return min(ranked, key=lambda r: r[:2])[2] if ranked else None


def _ld_names(value: Any) -> list[str]:
    """Names of a JSON-LD ``author``: a string, a Person/Organization or a list of them."""
    if isinstance(value, list):
        return [n for item in value for n in _ld_names(item)]
    if isinstance(value, dict):
        return [n] if (n := _text(value.get("name"))) else []
    return [n] if (n := _text(value)) else []


def _meta_values(tree: HtmlElement) -> dict[str, list[str]]:
    """``content`` of ``<meta>`` tags by lower-cased name/property/itemprop, in page order."""
    values: dict[str, list[str]] = {}
    for meta in tree.iter("meta"):
        content = _text(meta.get("content"))
        if content is None:
            continue
        for attribute in ("property", "name", "itemprop", "http-equiv"):
            key = (meta.get(attribute) or "").strip().lower()
            if key:
                values.setdefault(key, []).append(content)
    return values


def clean_author_names(
    raw: list[str],
    site_name: str | None = None,
    *,
    searched: bool = False,
    config: MetadataConfig = DEFAULTS.metadata,
) -> list[str]:
    """Split and clean author values: no "By", no dates, no "and", no URLs or handles, no job
    titles, no reviewers or editors, no "About ..." boxes.

    A value equal to ``site_name`` is the publisher, not an author (a site's name elsewhere
    in it is not: on the WCXB pages, company blogs credit the company and personal blogs have
    the author's name as host). ``searched`` values were found by searching the page's
    markup (trafilatura's author search), not declared: of several, one-word ones
    ("Functionality", "Audience") are labels picked up beside the byline and are dropped.
    """
    names: list[str] = []
    for value in raw:
        value = html.unescape(html.unescape(value))
        capitals = any(c.islower() for c in value)  # else capitals are no sign of a degree
        if _ABOUT.match(value):
            continue
        value = _SECOND_CREDIT.sub("", _BY.sub("", value))
        value = _DATE_TEXT.sub(" ", value)
        value = _TRAILING_DAY.sub("", _ROLE_WORDS.sub("", value.strip()))
        value = _UPDATED.sub("", " ".join(value.split())).strip(" ,;|-–—")
        for name in split_names(value):
            name = _ROLE_WORDS.sub("", name.strip(" ,;|-–—:")).strip(" ,;|-–—:")
            if _ORGANISATION.search(name):
                continue
            name = _without_role(_without_credentials(name, capitals))
            if (
                not name
                or _ABOUT.match(name)
                or _NOT_A_NAME.search(name)
                or name.casefold() in _NOT_NAMES
                or _MONTH_ONLY.match(name)
                or len(name.split()) > config.max_author_name_words
                or (site_name and name.casefold() == site_name.casefold())
                or name.casefold() in {n.casefold() for n in names}
            ):
                continue
            names.append(name)
    if searched and len(names) > 1:
        names = [n for n in names if len(n.split()) > 1]
    return names


def _wire_credits(names: list[str]) -> list[str]:
    credits = []
    for name in names:
        if WIRE_PATTERN.match(name):
            lowered = name.lower().removeprefix("the ")
            credits.append(next(w for w in WIRE_SERVICES if w.lower() == lowered))
    return credits


def _time_element_date(tree: HtmlElement) -> str | None:
    """``datetime`` of the ``<time>`` marked as the publication time (itemprop or pubdate)."""
    for node in tree.iter("time"):
        itemprop = (node.get("itemprop") or "").lower()
        if itemprop == "datepublished" or node.get("pubdate") is not None:
            return node.get("datetime") or _text(node.text_content())
    return None


def _language(
    tree: HtmlElement, meta: dict[str, list[str]], ld: dict[str, Any] | None
) -> str | None:
    """Primary language subtag (``en``) from ``<html lang>``, meta tags or JSON-LD."""
    candidates = [
        tree.get("lang"),
        tree.get("xml:lang"),
        *meta.get("content-language", []),
        *meta.get("og:locale", []),
        ld.get("inLanguage") if ld else None,
    ]
    for value in candidates:
        if isinstance(value, str) and (
            match := re.match(r"^\s*([A-Za-z]{2,3})(?:[-_]|\s*$)", value)
        ):
            return match.group(1).lower()
    return None


def _key(text: str) -> str:
    """Letters and digits only, case-folded: how a site's name is compared wherever it appears."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).casefold())


def _host_labels(url: str | None) -> set[str]:
    """``move.org`` -> ``{"moveorg", "move"}``: the host and its labels bar ``www`` and the TLD."""
    host = (urlsplit(url).hostname or "") if url else ""
    labels = host.removeprefix("www.").split(".")
    keys = {_key(host.removeprefix("www."))} if len(labels) > 1 else set()
    keys.update(_key(label) for label in labels[:-1] if len(label) >= 3 and label != "www")
    return keys - {""}


def site_keys(names: list[str | None], url: str | None) -> set[str]:
    """What names the site on this page: declared names (``og:site_name``, ``application-name``,
    the JSON-LD publisher, the Twitter handle) and the labels of its host."""
    keys = {_key(name.lstrip("@")) for name in names if name} | _host_labels(url)
    return keys - {""}


def _is_site_segment(segment: str, keys: set[str]) -> bool:
    """A title segment that names the site: a known name, or one with at most two extra words
    ("Scratch Culinary Meal Prep" for "Scratch Culinary"), or a host label leading a short
    segment ("Freightwaves Checkpoint" on freightwaves.com)."""
    key = _key(segment)
    if not key or key in keys:
        return True
    words = [k for w in segment.split() if (k := _key(w))]
    for name in keys:
        if name in key and len(words) <= 3 and (key.startswith(name) or key.endswith(name)):
            return True
        if key in name and len(key) >= 4:
            return True
    return False


def strip_site_name(title: str, keys: set[str]) -> str:
    """``title`` without the segments that name the site, at either end.

    Segments are cut at the separators of ``_TITLE_SEPARATOR``. From the left, the first
    segment that names the site ends the headline (what follows it is a tagline); a leading
    site name is dropped too. The headline's own separators are kept; a title that is nothing
    but the site's name is returned unchanged, for the caller to weigh.
    """
    parts = _TITLE_SEPARATOR.split(title)
    separators = _TITLE_SEPARATOR.findall(title)
    start = 0
    while start < len(parts) - 1 and _is_site_segment(parts[start], keys):
        start += 1
    end = next(
        (i for i in range(start + 1, len(parts)) if _is_site_segment(parts[i], keys)), len(parts)
    )
    kept = parts[start]
    for i in range(start + 1, end):
        kept += separators[i - 1] + parts[i]
    return kept.strip() or title


def _heading_text(node: HtmlElement) -> str:
    """A heading's visible text; a ``<br>`` separates words, as a browser shows it."""
    pieces: list[str] = [node.text or ""]
    for child in node:
        if isinstance(child.tag, str) and child.tag.lower() not in ("script", "style"):
            pieces.append(" " if child.tag.lower() == "br" else "")
            pieces.append(_heading_text(child))
        pieces.append(child.tail or "")
    return " ".join(html.unescape("".join(pieces)).split())


def _title_prefixes(title: str) -> set[str]:
    """Keys of ``title`` and of each run of its segments from either end: the places where
    a headline inside a decorated title can end or start."""
    parts = _TITLE_SEPARATOR.split(title)
    found = {_key(title)}
    for i in range(1, len(parts)):
        found.add(_key(" ".join(parts[:i])))
        tail, head = _key(" ".join(parts[i:])), _key(" ".join(parts[:i]))
        if len(tail) >= len(head):  # "Site | Headline", but not "Headline | Site"
            found.add(tail)
    return found - {""}


def headline(
    tree: HtmlElement,
    declared: list[str | None],
    keys: set[str],
    config: MetadataConfig = DEFAULTS.metadata,
) -> str | None:
    """The article's headline: the ``<h1>`` that the page's declared titles confirm, else the
    first declared title (``og:title``, JSON-LD headline, ``<title>``, ``twitter:title``)
    without the site's name; None when the page declares no title.

    An ``<h1>`` is confirmed when it equals a declared title, or the run of that title's
    segments before a separator (``Headline | Section | Site``) or after one, when that run is
    the longer part (``Site | Headline``), compared on letters and digits only. The page's
    only ``<h1>`` also counts when it shares half its words with a declared title (see
    ``config.lone_headline_shared``). Any other ``<h1>`` may be the site's logo or a section name.
    """
    titles = [" ".join(html.unescape(t).split()) for t in declared if t and t.strip()]
    titles = [t for t in titles if t]
    if not titles:
        return None
    confirmed = set().union(*(_title_prefixes(t) for t in titles))
    headings = [
        text
        for node in tree.iter("h1")
        if (text := _heading_text(node))
        and _key(text)
        and _key(text) not in keys
        and len(text.split()) <= config.max_headline_words
    ]
    for text in headings:
        if _key(text) in confirmed:
            return text
    if len(headings) == 1 and len(headings[0].split()) >= config.min_lone_headline_words:
        words = {_key(w) for w in headings[0].split()} - {""}
        title_words = {_key(w) for t in titles for w in t.split()}
        if len(words & title_words) >= config.lone_headline_shared * len(words):
            return headings[0]
    return strip_site_name(titles[0], keys)


def _canonical(tree: HtmlElement) -> str | None:
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split():
            return _text(link.get("href"))
    return None


def _headline_node(tree: HtmlElement, title: str | None) -> HtmlElement | None:
    """The heading of the article: the first ``<h1>``-``<h3>`` whose text is the page's
    headline ``title``, else the first ``<h1>`` (a page's first ``<h1>`` is sometimes the
    site's tagline, and some blogs head the article with an ``<h2>``)."""
    key = _key(title) if title else ""
    if key:
        for node in tree.iter("h1", "h2", "h3"):
            if _key(_heading_text(node)) == key:
                return node
    return next(tree.iter("h1"), None)


def _near_headline(
    tree: HtmlElement, config: MetadataConfig, title: str | None = None
) -> Iterator[tuple[HtmlElement, str]]:
    """Short text nodes (with their element) after the article's heading (``_headline_node``),
    up to ``config.dateline_nodes``, then the few just before it or before its two nearest
    ancestors: where datelines and bylines sit."""
    heading = _headline_node(tree, title)
    if heading is None:
        return
    yield from islice(
        (
            found
            for node in (heading, *heading.iterancestors())
            for sibling in node.itersiblings()
            for found in _short_texts(sibling, config.dateline_max_chars)
        ),
        config.dateline_nodes,
    )
    yield from islice(
        (
            found
            for node in (heading, *islice(heading.iterancestors(), 2))
            for sibling in node.itersiblings(preceding=True)
            for found in _short_texts(sibling, config.dateline_max_chars)
        ),
        config.dateline_nodes // 4,
    )


_BYLINE = re.compile(r"^by[:\s]\s*(.+)$", re.I)
_AUTHOR_CLASS = re.compile(r"author|byline", re.I)
_NOT_BYLINE_CLASS = re.compile(r"avatar|bio|about|desc|title|job|role|img|photo|social", re.I)


def byline_authors(
    tree: HtmlElement, config: MetadataConfig = DEFAULTS.metadata, title: str | None = None
) -> list[str]:
    """Names from the byline near the page's first ``<h1>``: a line "By Jane Doe" (a date or
    a separator may follow), or a short text in an element marked as the author's
    (class ``author``/``byline`` on it or on one of its ``config.max_byline_ancestors``
    nearest ancestors)."""
    for element, text in _near_headline(tree, config, title):
        line = " ".join(element.text_content().split())
        if (match := _BYLINE.match(text)) and len(line) <= config.dateline_max_chars:
            value = re.split(r"\s+[|·•–—-]\s+|,\s+(?=\w+\.?\s+\d)", match.group(1))[0]
            if _capitalised(value) and (names := clean_author_names([value], config=config)):
                return names
        if _marked_as_author(element, config.max_byline_ancestors) and (
            names := clean_author_names([text], searched=True, config=config)
        ):
            return names
    return []


_NAME_PARTICLES = frozenset({"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "bin"})


def _capitalised(value: str) -> bool:
    """Every word of ``value`` starts with a capital (name particles aside): a name, not the
    rest of a sentence ("by following the tips below")."""
    words = re.findall(r"[^\W\d_][\w'’.-]*", value)
    return bool(words) and all(w[0].isupper() or w.lower() in _NAME_PARTICLES for w in words)


def _marked_as_author(element: HtmlElement, ancestors: int) -> bool:
    for node in (element, *islice(element.iterancestors(), ancestors)):
        marks = " ".join(filter(None, (node.get("class"), node.get("itemprop"), node.get("rel"))))
        if _NOT_BYLINE_CLASS.search(marks):
            return False
        if _AUTHOR_CLASS.search(marks):
            return True
    return False


def _short_texts(node: HtmlElement, max_chars: int) -> Iterator[tuple[HtmlElement, str]]:
    """The text nodes of ``node`` short enough to be a line of their own (``max_chars``), in
    page order, each with the element that holds it."""
    if not isinstance(node.tag, str) or node.tag in ("script", "style", "noscript"):
        return
    for element in node.iter():
        if not isinstance(element.tag, str) or element.tag in ("script", "style", "noscript"):
            continue
        for piece in (element.text, *(child.tail for child in element)):
            text = " ".join((piece or "").split())
            if text and len(text) <= max_chars:
                yield element, text


# Where a date or a name shown on the page is never read from: readers' comments, lists and
# cards of related articles, page footers, asides and navigation ("widget", "teaser" and
# "sidebar" are not among them: page builders wrap articles and their datelines in them). Their
# dates are other articles' or readers', their names other authors'.
_ELSEWHERE_TAGS = frozenset({"footer", "aside", "nav"})
_ELSEWHERE_CLASS = re.compile(
    r"comment|disqus|\breply|related|recommend|popular|trending|read-?next|also-?read"
    r"|more-(?:stories|articles|news|from)|(?<![a-z])footer"
    r"|outbrain|taboola|(?<![a-z])cards?(?![a-z])",
    re.I,
)


# The elements that may be elsewhere, found in C (a Python loop over every element of a page
# cost ~20 ms): a tag of ``_ELSEWHERE_TAGS`` or a class/id holding one of ``_ELSEWHERE_CLASS``'s
# words, lower-cased; ``_ELSEWHERE_CLASS`` then decides.
_ELSEWHERE_WORDS = (
    "comment",
    "disqus",
    "reply",
    "related",
    "recommend",
    "popular",
    "trending",
    "read",
    "more-",
    "footer",
    "outbrain",
    "taboola",
    "card",
)
_ELSEWHERE_CANDIDATES = XPath(
    ".//*[self::footer or self::aside or self::nav or "
    + " or ".join(
        f"contains(translate(concat(@class, ' ', @id), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
        f"'abcdefghijklmnopqrstuvwxyz'), '{word}')"
        for word in _ELSEWHERE_WORDS
    )
    + "]"
)


def without_elsewhere(tree: HtmlElement, title: str | None = None) -> HtmlElement:
    """A copy of ``tree`` without comments, related lists and cards, footers, asides and
    navigation (``_ELSEWHERE_TAGS``, ``_ELSEWHERE_CLASS`` on a class or id). The elements
    that hold the article's heading (``_headline_node`` of ``title``) stay whatever their
    class: they hold the article."""
    copy = deepcopy(tree)
    heading = _headline_node(copy, title)
    # The proxies themselves, held alive: lxml gives a node the same proxy while one exists.
    keep = set(heading.iterancestors()) if heading is not None else set()
    doomed = [
        node
        for node in _ELSEWHERE_CANDIDATES(copy)
        if node not in keep
        and (
            node.tag in _ELSEWHERE_TAGS
            or _ELSEWHERE_CLASS.search(f"{node.get('class') or ''} {node.get('id') or ''}")
        )
    ]
    for node in doomed:
        if node.getparent() is not None:
            node.drop_tree()
    return copy


# A date stated in words needs its year: without one, a parser fills in the current year,
# and the output would depend on the day of the run.
_HAS_YEAR = re.compile(r"(?<!\d)(?:1[89]|20)\d{2}(?!\d)|(?<!\d)\d{1,2}[./-]\d{1,2}[./-]\d{2}(?!\d)")
_LATER = re.compile(
    r"\b(?:updated|modified|edited|aktualisiert|geändert|mis à jour|actualizado|aggiornato)\b",
    re.I,
)


def _date_range(config: MetadataConfig) -> tuple[datetime, datetime]:
    return datetime(config.earliest_year, 1, 1), datetime(config.latest_year, 12, 31)


def header_date(
    tree: HtmlElement, config: MetadataConfig = DEFAULTS.metadata, title: str | None = None
) -> tuple[datetime, str] | None:
    """The publication date shown in the article's header: a ``<time datetime>`` (time and
    offset kept) or a short text that is a date, read by htmldate's parsers (many languages
    and formats), among the text nodes near the article's heading (``_near_headline``).

    A date marked as an update ("Updated ...") is taken only when the header shows no other.
    ``tree`` should be without comments and related lists (:func:`without_elsewhere`). With
    the date, its precision (a dateline's is ``day``).
    """
    updated: tuple[datetime, str] | None = None
    for element, text in _near_headline(tree, config, title):
        found: tuple[datetime, str] | None = None
        time_node = next(
            (n for n in (element, *islice(element.iterancestors(), 2)) if n.tag == "time"), None
        )
        stamp = time_node.get("datetime") if time_node is not None else None
        if (value := parse_datetime(stamp, config)) and (precision := date_precision(stamp)):
            found = value, precision
        elif _is_dateline(element, text, config) and (day := _text_date(text, config)):
            found = day, DAY
        if found is None:
            continue
        context = " ".join((element.text_content() or "", text))[: config.dateline_max_chars]
        if not _LATER.search(context):
            return found
        updated = updated or found
    return updated


_DATE_CLASS = re.compile(r"date|time|publish|posted|dateline|datum|fecha|byline|meta", re.I)
_SENTENCE_END = re.compile(r"[.!?]\W*$")


def _is_dateline(element: HtmlElement, text: str, config: MetadataConfig) -> bool:
    """A line of the header that may state the date, not a sentence of the story: in an
    element marked as a date or byline (class, id or ``itemprop``, or ``<time>``), or a line
    of at most ``config.dateline_max_words`` words that does not read as a sentence
    ("Works start on March 5, 2024 at the harbour." is news, not a dateline)."""
    for node in (element, *islice(element.iterancestors(), 2)):
        marks = " ".join(filter(None, (node.get("class"), node.get("id"), node.get("itemprop"))))
        if node.tag == "time" or _DATE_CLASS.search(marks):
            return True
    words = len(text.split())
    return words <= config.dateline_max_words and not (
        words >= config.dateline_sentence_words and _SENTENCE_END.search(text)
    )


def _text_date(text: str, config: MetadataConfig) -> datetime | None:
    """A date written in ``text`` (with its year), read by htmldate's parsers; midnight UTC."""
    from htmldate.extractors import try_date_expr

    if not _HAS_YEAR.search(text):
        return None
    earliest, latest = _date_range(config)
    day = try_date_expr(text, "%Y-%m-%d", True, earliest, latest)
    return datetime.fromisoformat(day).replace(tzinfo=UTC) if day else None


def itemprop_date(
    tree: HtmlElement, config: MetadataConfig = DEFAULTS.metadata
) -> tuple[datetime, str] | None:
    """The first element marked ``itemprop="datePublished"`` (microdata): its ``content`` or
    ``datetime`` with their time and offset, else the date its text states (a day).
    ``tree`` should be without related lists (:func:`without_elsewhere`): their cards carry
    the same mark for other articles."""
    for node in tree.iter():
        if not isinstance(node.tag, str) or (node.get("itemprop") or "").lower() != "datepublished":
            continue
        raw = node.get("content") or node.get("datetime")
        if (value := parse_datetime(raw, config)) and (precision := date_precision(raw, config)):
            return value, precision
        text = " ".join(node.text_content().split())[: config.dateline_max_chars]
        if day := _text_date(text, config):
            return day, DAY
    return None


def markup_date(tree: HtmlElement, config: MetadataConfig = DEFAULTS.metadata) -> datetime | None:
    """htmldate's search of the markup on ``tree``, step by step as its ``find_date`` (1.11)
    with ``original_date``: meta tags, JSON in scripts, ``<abbr>`` dates, elements marked as
    dates (class, id, ``itemprop``) and ``<time>`` elements. Left out are its URL rule (the
    URL counts last, :func:`url_date`) and its searches of the whole text, which find dates
    on pages that state none. A day, midnight UTC; its year-only fallback (January 1 of a
    year seen somewhere) is no date."""
    from htmldate import core
    from htmldate.extractors import json_search
    from htmldate.utils import Extractor

    earliest, latest = _date_range(config)
    options = Extractor(True, latest, earliest, True, "%Y-%m-%d")
    found = (
        core.examine_header(tree, options)
        or json_search(tree, options)
        or core.examine_abbr_elements(tree, options)
        or core.examine_elements(core.date_candidates(tree, True), options)
        or core.examine_time_elements(tree, options)
    )
    day = parse_datetime(found, config)
    if day is None or (day.month, day.day) == (1, 1):
        return None
    return day


def url_date(url: str | None, config: MetadataConfig = DEFAULTS.metadata) -> datetime | None:
    """The day a URL's path states (``/2024/03/15/``), midnight UTC; None without one."""
    from htmldate.extractors import extract_url_date
    from htmldate.utils import Extractor

    if not url:
        return None
    earliest, latest = _date_range(config)
    found = extract_url_date(url, Extractor(False, latest, earliest, True, "%Y-%m-%d"))
    return parse_datetime(found, config)


@dataclass(frozen=True, slots=True)
class Publication:
    """When the page says it was published: the instant (in the page's own offset; stored as
    UTC), the calendar day in that offset, and how much of the time the page stated (``day``,
    ``minute``, ``second``)."""

    at: datetime | None = None
    day: date | None = None
    precision: str | None = None


def publication(
    article: HtmlElement | None,
    declared: PageMetadata,
    url: str | None,
    config: MetadataConfig = DEFAULTS.metadata,
) -> Publication:
    """The publication time in the order of trust: the page's declarations (JSON-LD, meta,
    ``itemprop``, with their time and offset); else the date its article header shows
    (``<time datetime>``, a dateline), then htmldate's markup search; the URL's day only
    when the page states none. ``article`` is the page without comments, related lists and
    footers (:func:`without_elsewhere`)."""
    found, precision = declared.published_at, declared.published_at_precision
    if found is None and article is not None:
        shown = itemprop_date(article, config) or header_date(article, config, declared.title)
        if shown is not None:
            found, precision = shown
        else:
            found, precision = markup_date(article, config), DAY
    if found is None:
        found, precision = url_date(url, config), DAY
    if found is None:
        return Publication()
    return Publication(found, found.date(), precision)


def _first(*values: Any) -> str | None:
    return next((t for v in values if (t := _text(v))), None)


def page_metadata(tree: HtmlElement, config: MetadataConfig = DEFAULTS.metadata) -> PageMetadata:
    """The metadata ``tree`` declares (see the module docstring for the order of trust)."""
    meta = _meta_values(tree)
    ld = _article_object(json_ld_objects(tree))
    publisher = ld.get("publisher") if ld else None

    def first_meta(*keys: str) -> str | None:
        return next((meta[k][0] for k in keys if meta.get(k)), None)

    publisher_name = publisher.get("name") if isinstance(publisher, dict) else None
    site_name = _first(first_meta("og:site_name", "application-name"), publisher_name)
    published, precision = None, None
    for raw in (
        ld.get("datePublished") if ld else None,
        *(meta[k][0] for k in DATE_META if meta.get(k)),
        _time_element_date(tree),
        ld.get("dateCreated") if ld else None,
    ):
        published = parse_datetime(raw, config) if isinstance(raw, str) else None
        if published is not None:
            precision = date_precision(raw, config)
            break
    page_url = _first(first_meta("og:url"), _canonical(tree))
    keys = site_keys(
        [
            *meta.get("og:site_name", []),
            *meta.get("application-name", []),
            publisher_name if isinstance(publisher_name, str) else None,
            *meta.get("twitter:site", []),
        ],
        page_url,
    )
    raw_authors = _ld_names(ld.get("author")) if ld else []
    if not raw_authors:
        raw_authors = next((meta[k] for k in AUTHOR_META if meta.get(k)), [])
    authors = clean_author_names(raw_authors, site_name, config=config)
    title_node = tree.find(".//title")
    title = headline(
        tree,
        [
            first_meta("og:title"),
            ld.get("headline") if ld and isinstance(ld.get("headline"), str) else None,
            title_node.text_content() if title_node is not None else None,
            first_meta("twitter:title"),
        ],
        keys,
        config,
    )
    return PageMetadata(
        title=title,
        site_keys=frozenset(keys),
        authors=authors,
        credits=_wire_credits(authors),
        published_at=published,
        published_at_precision=precision,
        site_name=site_name,
        language=_language(tree, meta, ld),
        description=_first(
            first_meta("description", "og:description", "twitter:description"),
            ld.get("description") if ld else None,
        ),
    )


# Scripts written without spaces between words: each Han ideograph (Chinese, Japanese kanji)
# and each kana counts as a word. Hangul is written with spaces and counts like Latin text.
_UNSPACED_CHAR = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0002fa1f]"
)
_SPACED_RUN = re.compile(
    "[^\\s\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0002fa1f]+"
)


def word_count(text: str) -> int:
    """Words in ``text``: whitespace-separated tokens, except that each Han ideograph and each
    kana is a word of its own, and so is each run of other characters beside them that holds a
    letter or digit (the ideographic full stop is not a word).

    Latin, Cyrillic, Arabic, Hangul... text counts as it always did; a Japanese or Chinese
    article counts its characters instead of the few spaces it has. Thai, Lao, Khmer and
    Burmese also leave words unspaced; they are still counted by their spaces (phrases), as
    no light, well-kept segmenter was found (pythainlp's wheel is 22 MB).
    """
    if not _UNSPACED_CHAR.search(text):
        return len(text.split())
    runs = _SPACED_RUN.findall(text)
    return len(_UNSPACED_CHAR.findall(text)) + sum(any(c.isalnum() for c in r) for r in runs)


def detect_language(text: str, config: MetadataConfig = DEFAULTS.metadata) -> str | None:
    """The language of ``text`` (ISO 639-1, as py3langid names it) for pages that declare
    none; None for a text with fewer than ``config.min_language_letters`` letters.

    py3langid ships its model in the wheel (nothing is downloaded) and is deterministic; only
    the first ``config.language_sample_chars`` characters are read, which bounds its cost.
    """
    sample = text[: config.language_sample_chars]
    if sum(c.isalpha() for c in sample) < config.min_language_letters:
        return None
    import py3langid  # loads its model (~0.4 s) on the first page that needs it

    language, _ = py3langid.classify(sample)
    return str(language)
