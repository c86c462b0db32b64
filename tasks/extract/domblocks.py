"""Where each paragraph of an extractor's text sits in the page DOM, and a chrome filter on it.

trafilatura returns text without the structure it came from. Each output paragraph is found
again in the page (by the 4-word openings of the DOM text nodes it contains) and described by
its surroundings: ``<article>``/``<main>`` vs ``<figure>``, ``<aside>``, ``<nav>``,
``<footer>``, links, class/id words (caption, related, newsletter, share, author, comment...),
whether it lies inside the container that holds the page's prose and how far from that prose.
A small boosted-tree model (``domblocks_model.json``, trained by
``benchmarks/train_domblocks.py`` on the odd WCXB dev pages) scores each paragraph; paragraphs
scored below ``CHROME_BELOW`` are removed (``boilerplate`` / ``dom_chrome``) as page chrome the
extractor let through.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import lxml.etree as etree
import numpy as np

from tasks.config import DEFAULTS, ExtractConfig

MODEL_PATH = Path(__file__).with_name("domblocks_model.json")
_WORD = re.compile(r"\w+")
_END_PUNCT = re.compile(r"[.!?:;\"'”’)\]]\s*$")
_SKIP = frozenset(
    {"script", "style", "noscript", "template", "svg", "head", "iframe", "select", "option"}
)
# The page's text nodes in document order, outside _SKIP elements and not whitespace only,
# selected in C: walking every element in Python was a third of this module's time.
_TEXT_NODES = etree.XPath(
    ".//text()[normalize-space()][not("
    + " or ".join(f"ancestor::{tag}" for tag in sorted(_SKIP))
    + ")]"
)
_CLASS_PATTERNS = (
    ("c_caption", r"caption|credit|figcap|photo|image|img|media|gallery|video"),
    (
        "c_related",
        r"related|recommend|popular|trending|more-|read-?next|also|teaser|card|promo|sponsor"
        r"|\bads?\b|advert|banner|outbrain|taboola",
    ),
    ("c_newsletter", r"newsletter|subscri|signup|sign-up|cta|paywall|register|login"),
    ("c_share", r"share|social|follow|print|email"),
    ("c_author", r"author|byline|bio\b|profile|contributor|writer"),
    ("c_comment", r"comment|reply|discuss|disqus"),
    ("c_meta", r"\bmeta|tags?\b|categor|breadcrumb|date|time|publish|updated"),
    ("c_nav", r"nav|menu|sidebar|widget|footer|header|masthead|toolbar"),
    ("c_content", r"content|article|story|post|entry|body|text|prose|main"),
    ("c_toc", r"toc|table-of-contents|contents"),
    ("c_disclaim", r"disclaim|disclosure|affiliate|note|notice|copyright|legal"),
)
_TAG_FLAGS = (
    ("t_article", ("article",)),
    ("t_main", ("main",)),
    ("t_figure", ("figure", "figcaption", "picture")),
    ("t_aside", ("aside",)),
    ("t_nav", ("nav", "menu")),
    ("t_footer", ("footer",)),
    ("t_header", ("header",)),
    ("t_form", ("form", "button", "label", "input", "textarea", "fieldset")),
    ("t_a", ("a",)),
    ("t_li", ("li", "ul", "ol", "dl", "dd", "dt")),
    ("t_table", ("table", "td", "th", "tr")),
    ("t_quote", ("blockquote", "q")),
    ("t_heading", ("h1", "h2", "h3", "h4", "h5", "h6")),
    ("t_p", ("p",)),
    ("t_strong", ("strong", "b", "em", "i", "small", "time", "cite")),
)
FLAGS = (*(name for name, _ in _TAG_FLAGS), *(name for name, _ in _CLASS_PATTERNS), "itemprop")
# Kinds of chrome told by DOM position (``chrome_filter``'s ``kinds``): a class, id or role token
# that opens with one of these words names the box. Tokens, not substrings: "has-sidebar" on
# <body> names the layout, not a box.
SIDEBAR = "sidebar"
TEASER = "teaser"
_SIDEBAR_TOKEN = re.compile(r"(?:^|\s)(?:sidebar|side-bar|aside|widget|rail|complementary)", re.I)
_TEASER_TOKEN = re.compile(
    r"(?:^|\s)(?:teaser|card|related|recommend|promo|more-(?:stories|articles|from)|read-?next"
    r"|also-|product-(?:card|teaser|box|tile))",
    re.I,
)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_FLAG_BIT = {name: 1 << i for i, name in enumerate(FLAGS)}
_TAG_BITS: dict[str, int] = {}
for _name, _tags in _TAG_FLAGS:
    for _tag in _tags:
        _TAG_BITS[_tag] = _TAG_BITS.get(_tag, 0) | _FLAG_BIT[_name]
_CLASS_RES = tuple((re.compile(p, re.I), _FLAG_BIT[name]) for name, p in _CLASS_PATTERNS)
# Most class/id strings match no pattern: one search over all of them settles those at once.
_ANY_CLASS = re.compile("|".join(p for _, p in _CLASS_PATTERNS), re.I)
_BLOCK_TAGS = ("p", "div", "span", "li", "td", "a", "h2", "h3", "figcaption", "strong", "em")
EXTRACTORS = ("trafilatura", "trafilatura_baseline", "page_text")
# Feature definitions the model was trained with (benchmarks/train_domblocks.py), not options:
# changing them means retraining. The cutoff on its score is ``ExtractConfig.chrome_below``.
PROSE_WORDS = 25
MAIN_SHARE = 0.7

FEATURES = (
    "log_words",
    "short",
    "end_punct",
    "pos_rel",
    "first",
    "last",
    "digits",
    "upper_start",
    "title_case",
    *(f"ex_{name}" for name in EXTRACTORS),
    "aligned",
    "align_share",
    *FLAGS,
    "in_main",
    "has_main",
    "before_prose",
    "after_prose",
    "dist_prose",
    "page_pos",
    "depth_rel",
    "repeated",
    *(f"blk_{tag}" for tag in _BLOCK_TAGS),
    "dup_out",
)


@lru_cache(maxsize=1 << 16)
def _class_bits(attrs: str) -> int:
    """Flag bits of an element's class, id and role; cached: a site repeats its class names."""
    if not _ANY_CLASS.search(attrs):
        return 0
    return sum(bit for pattern, bit in _CLASS_RES if pattern.search(attrs))


class _Node:
    """One DOM text node (an element's text or a child's tail) with 1+ words."""

    __slots__ = ("element", "offset", "words")

    def __init__(self, element: etree._Element, offset: int, words: int) -> None:
        self.element, self.offset, self.words = element, offset, words


class PageDom:
    """Text nodes of a page indexed by their first four words, and cached element facts."""

    def __init__(self, tree: etree._Element) -> None:
        self.index: dict[tuple[str, ...], list[_Node]] = {}
        self.words = 0
        self._flags: dict[etree._Element, int] = {}
        self._depth: dict[etree._Element, int] = {}
        for text in _TEXT_NODES(tree):
            owner = text.getparent()
            self._add(text, owner.getparent() if text.is_tail else owner)

    def _add(self, text: str, element: etree._Element) -> None:
        tokens = _WORD.findall(text.lower())
        if not tokens:
            return
        key = tuple(tokens[:4])
        self.index.setdefault(key, []).append(_Node(element, self.words, len(tokens)))
        self.words += len(tokens)

    def flags(self, element: etree._Element) -> int:
        """Bit set of the tag and class/id flags of ``element`` and all its ancestors."""
        found = self._flags.get(element)
        if found is not None:
            return found
        chain = []
        node = element
        while node is not None and node not in self._flags:
            chain.append(node)
            node = node.getparent()
        bits = self._flags[node] if node is not None else 0
        depth = self._depth[node] if node is not None else -1
        for node in reversed(chain):
            tag = node.tag.lower() if isinstance(node.tag, str) else ""
            bits |= _TAG_BITS.get(tag, 0)
            attrs = " ".join(filter(None, (node.get("class"), node.get("id"), node.get("role"))))
            if attrs:
                bits |= _class_bits(attrs)
            if (node.get("itemprop") or "").lower() == "articlebody":
                bits |= _FLAG_BIT["itemprop"]
            depth += 1
            self._flags[node] = bits
            self._depth[node] = depth
        return bits

    def box(
        self, element: etree._Element, names: re.Pattern[str], tag: str = ""
    ) -> etree._Element | None:
        """The nearest of ``element`` and its ancestors that is a ``tag`` element or has a
        class, id or role token that ``names`` finds; None if there is none."""
        node = element
        while node is not None:
            if tag and node.tag == tag:
                return node
            attrs = " ".join(filter(None, (node.get("class"), node.get("id"), node.get("role"))))
            if attrs and names.search(attrs):
                return node
            node = node.getparent()
        return None

    def depth(self, element: etree._Element) -> int:
        self.flags(element)
        return self._depth[element]

    def locate(self, tokens: Sequence[str], after: int) -> list[_Node]:
        """The text nodes whose opening words occur in ``tokens`` (at or after ``after``)."""
        found: list[_Node] = []
        n = len(tokens)
        cursor = after
        if n < 4:
            candidates: Sequence[_Node] = self.index.get(tuple(tokens), ())
            later = [c for c in candidates if c.offset >= after and c.words == n]
            pick = later or [c for c in candidates if c.words == n]
            return pick[:1]
        k = 0
        while k <= n - 4:
            candidates = self.index.get(tuple(tokens[k : k + 4]), ())
            if candidates:
                later = [c for c in candidates if c.offset >= cursor]
                node = later[0] if later else candidates[0]
                found.append(node)
                cursor = node.offset + node.words
                k += max(node.words, 1)
            else:
                k += 1
        return found


def _descends(element: etree._Element, ancestor: etree._Element) -> bool:
    node = element
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def paragraph_features(
    tree: etree._Element,
    paragraphs: Sequence[str],
    extractor: str,
    kinds: list[str | None] | None = None,
    config: ExtractConfig = DEFAULTS.extract,
) -> np.ndarray:
    """One row of ``FEATURES`` per paragraph of an extractor's text from page ``tree``.

    ``kinds``, when given, is filled with each paragraph's kind of chrome by DOM position
    (``_kind``, with ``config``'s teaser bounds): ``SIDEBAR``, ``TEASER`` or None.
    """
    dom = PageDom(tree)
    n = len(paragraphs)
    tokens = [_WORD.findall(p.lower()) for p in paragraphs]
    located: list[list[_Node]] = []
    after = 0
    for toks in tokens:
        nodes = dom.locate(toks, after)
        located.append(nodes)
        if nodes:
            after = nodes[-1].offset + nodes[-1].words
    # The prose container: the deepest element holding MAIN_SHARE of the long paragraphs' words.
    prose_words: Counter[etree._Element] = Counter()
    prose_total = 0
    span = [math.inf, -math.inf]
    for toks, nodes in zip(tokens, located, strict=True):
        if len(toks) < PROSE_WORDS or not nodes:
            continue
        links = sum(n.words for n in nodes if dom.flags(n.element) & _FLAG_BIT["t_a"])
        if links >= 0.3 * len(toks):
            continue
        for node in nodes:
            prose_words[node.element] += node.words
            prose_total += node.words
        span[0] = min(span[0], nodes[0].offset)
        span[1] = max(span[1], nodes[-1].offset + nodes[-1].words)
    main = None
    if prose_total:
        above: Counter[etree._Element] = Counter()
        for element, count in prose_words.items():
            node = element
            while node is not None:
                above[node] += count
                node = node.getparent()
        good = [e for e, c in above.items() if c >= MAIN_SHARE * prose_total]
        main = max(good, key=dom.depth)
    rows = np.zeros((n, len(FEATURES)))
    col = {name: i for i, name in enumerate(FEATURES)}
    page_words = max(dom.words, 1)
    seen: set[str] = set()
    repeated = {key for key, nodes in dom.index.items() if len(nodes) > 1}
    for i, (text, toks, nodes) in enumerate(zip(paragraphs, tokens, located, strict=True)):
        row = rows[i]
        words = len(toks)
        row[col["log_words"]] = math.log1p(words)
        row[col["short"]] = words < 8
        row[col["end_punct"]] = bool(_END_PUNCT.search(text))
        row[col["pos_rel"]] = i / max(1, n - 1)
        row[col["first"]] = i == 0
        row[col["last"]] = i == n - 1
        row[col["digits"]] = sum(map(str.isdigit, text)) / max(1, len(text))
        row[col["upper_start"]] = text[:1].isupper()
        row[col["title_case"]] = sum(t[:1].isupper() for t in _WORD.findall(text)) / max(1, words)
        if extractor in EXTRACTORS:
            row[col[f"ex_{extractor}"]] = 1.0
        key = " ".join(toks)
        row[col["dup_out"]] = key in seen
        seen.add(key)
        if not nodes:
            continue
        matched = sum(node.words for node in nodes)
        row[col["aligned"]] = 1.0
        row[col["align_share"]] = min(1.0, matched / max(1, words))
        counts = [0.0] * len(FLAGS)
        inside = 0
        for node in nodes:
            bits = dom.flags(node.element)
            while bits:
                low = bits & -bits
                counts[low.bit_length() - 1] += node.words
                bits ^= low
            if main is not None and _descends(node.element, main):
                inside += node.words
        for j, name in enumerate(FLAGS):
            row[col[name]] = counts[j] / matched
        start, end = nodes[0].offset, nodes[-1].offset + nodes[-1].words
        block = max(nodes, key=lambda node: node.words).element
        if main is not None:
            row[col["in_main"]] = inside / matched
            row[col["has_main"]] = 1.0
            row[col["before_prose"]] = end <= span[0]
            row[col["after_prose"]] = start >= span[1]
            row[col["dist_prose"]] = math.log1p(max(span[0] - end, start - span[1], 0))
            row[col["depth_rel"]] = dom.depth(block) - dom.depth(main)
        row[col["page_pos"]] = start / page_words
        keys = (
            zip(toks, toks[1:], toks[2:], toks[3:], strict=False) if words >= 4 else [tuple(toks)]
        )
        row[col["repeated"]] = sum(map(repeated.__contains__, keys)) / max(1, words - 3)
        tag = block.tag.lower() if isinstance(block.tag, str) else ""
        if tag in _BLOCK_TAGS:
            row[col[f"blk_{tag}"]] = 1.0
    if kinds is not None:
        links = col["t_a"]
        kinds[:] = [
            _kind(dom, text, nodes, main, rows[i, links], config)
            for i, (text, nodes) in enumerate(zip(paragraphs, located, strict=True))
        ]
    return rows


def _kind(
    dom: PageDom,
    text: str,
    nodes: Sequence[_Node],
    main: etree._Element | None,
    link_share: float,
    config: ExtractConfig,
) -> str | None:
    """The kind of chrome the DOM places a paragraph in, or None.

    ``SIDEBAR``: every word in an ``<aside>`` or a sidebar or widget box that does not hold the
    container of the page's prose (a box around the article names a layout, not a sidebar).
    ``TEASER``: a headline (no sentence end, at most ``config.teaser_max_words``) whose words
    are nearly all link text (``config.teaser_link_share``), in a teaser, card, promo or
    related box: the link to another page that such a box shows.
    """
    if not nodes:
        return None
    if main is not None and not any(_descends(node.element, main) for node in nodes):
        boxes = [dom.box(node.element, _SIDEBAR_TOKEN, "aside") for node in nodes]
        if all(box is not None and not _descends(main, box) for box in boxes):
            return SIDEBAR
    if (
        link_share >= config.teaser_link_share
        and len(text.split()) <= config.teaser_max_words
        and not _SENTENCE_END.search(text)
        and all(dom.box(node.element, _TEASER_TOKEN) is not None for node in nodes)
    ):
        return TEASER
    return None


@lru_cache(maxsize=1)
def load_model(path: str = str(MODEL_PATH)) -> dict[str, Any]:
    """The boosted trees as arrays: complete binary trees of equal depth, one row per tree."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if list(raw["features"]) != list(FEATURES):
        raise ValueError(f"{path} was trained on other features; rerun train_domblocks.py")
    model = dict(raw)
    model["feature"] = np.asarray(raw["feature"], dtype=np.intp)
    model["threshold"] = np.asarray(raw["threshold"], dtype=np.float64)
    model["leaf"] = np.asarray(raw["leaf"], dtype=np.float64)
    return model


def predict(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Probability that each row is article text."""
    trees = model["feature"].shape[0]
    rows = np.arange(x.shape[0])[:, None]
    tree_ids = np.arange(trees)[None, :]
    node = np.zeros((x.shape[0], trees), dtype=np.intp)
    for _ in range(model["depth"]):
        feature = model["feature"][tree_ids, node]
        right = x[rows, feature] > model["threshold"][tree_ids, node]
        node = 2 * node + 1 + right
    leaves = node - (2 ** model["depth"] - 1)
    margin = model["base"] + model["leaf"][tree_ids, leaves].sum(axis=1)
    probability: np.ndarray = 1.0 / (1.0 + np.exp(-margin))
    return probability


def chrome_filter(
    tree: etree._Element,
    paragraphs: Sequence[str],
    extractor: str,
    config: ExtractConfig = DEFAULTS.extract,
    kinds: list[str | None] | None = None,
) -> list[bool]:
    """For each paragraph: True to keep it, False if the model calls it page chrome (its
    probability of article text is under ``config.chrome_below``). ``kinds``: filled as
    ``paragraph_features`` does."""
    if not paragraphs:
        return []
    model = load_model()
    scores = predict(model, paragraph_features(tree, paragraphs, extractor, kinds, config))
    keep: list[bool] = (scores >= config.chrome_below).tolist()
    return keep
