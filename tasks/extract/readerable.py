"""Does a page hold an article at all? Mozilla Readability's ``isProbablyReaderable``, on lxml.

Readability (the reader view of Firefox) offers its view only on pages with enough prose: it
scores each visible ``<p>``, ``<pre>``, ``<article>`` and ``<div>`` holding a ``<br>`` that is
not in a list item or in an element whose class or id names page chrome, ``sqrt(characters -
140)`` for each one of at least 140 characters, and calls the page readerable once the sum
passes 20. Port of ``Readability-readerable.js`` (Apache-2.0): on the 133 Readability test pages
it agrees with the ``readerable`` flag of every page.

Language independent (characters, markup); it says "no block of prose", which an index or a
listing page is, but so is a short news brief, so ``tasks.clean.document`` quarantines a page only
when, in addition, what the extractor found is not an article either (see there).
"""

from __future__ import annotations

import math
import re

from lxml.html import HtmlElement

from tasks.config import DEFAULTS, ExtractConfig

_UNLIKELY = re.compile(
    r"-ad-|ai2html|banner|breadcrumbs|combx|comment|community|cover-wrap|disqus|extra|footer"
    r"|gdpr|header|legends|menu|related|remark|replies|rss|shoutbox|sidebar|skyscraper|social"
    r"|sponsor|supplemental|ad-break|agegate|pagination|pager|popup|yom-remote",
    re.I,
)
_MAYBE_CANDIDATE = re.compile(r"and|article|body|column|content|main|mathjax|shadow", re.I)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def _visible(node: HtmlElement) -> bool:
    """Readability's ``isNodeVisible``: no hiding style, no ``hidden``, not ``aria-hidden``."""
    if _HIDDEN_STYLE.search(node.get("style") or "") or node.get("hidden") is not None:
        return False
    return node.get("aria-hidden") != "true" or "fallback-image" in (node.get("class") or "")


def _candidates(tree: HtmlElement) -> list[HtmlElement]:
    """``p, pre, article`` and the ``div`` parents of ``br``, each once, in Readability's order."""
    nodes = list(tree.iter("p", "pre", "article"))
    seen = set(map(id, nodes))
    for br in tree.iter("br"):
        parent = br.getparent()
        if parent is not None and parent.tag == "div" and id(parent) not in seen:
            seen.add(id(parent))
            nodes.append(parent)
    return nodes


def readerable_score(tree: HtmlElement, config: ExtractConfig = DEFAULTS.extract) -> float:
    """Readability's prose score of the page, counted until it passes the minimum score."""
    min_chars, stop_above = config.readerable_min_content_chars, config.readerable_min_score
    score = 0.0
    for node in _candidates(tree):
        if not _visible(node):
            continue
        names = f"{node.get('class') or ''} {node.get('id') or ''}"
        if _UNLIKELY.search(names) and not _MAYBE_CANDIDATE.search(names):
            continue
        if node.tag == "p" and any(a.tag == "li" for a in node.iterancestors()):
            continue
        length = len(node.text_content().strip())
        if length < min_chars:
            continue
        score += math.sqrt(length - min_chars)
        if score > stop_above:
            break
    return score


def is_probably_readerable(tree: HtmlElement, config: ExtractConfig = DEFAULTS.extract) -> bool:
    """True when the page has enough visible prose for a reader view (Readability's test)."""
    return readerable_score(tree, config) > config.readerable_min_score


def link_texts(tree: HtmlElement) -> frozenset[str]:
    """The page's link texts, whitespace collapsed and case folded."""
    texts = (" ".join(a.text_content().split()).casefold() for a in tree.iter("a"))
    return frozenset(t for t in texts if t)
