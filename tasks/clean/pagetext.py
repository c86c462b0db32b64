"""Pick the article's main content out of a whole-page plain-text dump.

Method: every paragraph gets cheap shape features (length, density of the stop words of the page's
language (``stop_words``), sentence ends, commas, capitalised/digit share, separators, boilerplate
and date vocabulary, in-page duplicates) plus page context: windowed means of length and prose-ness,
the length of the run of short lines it sits in (menus, link lists), where it lies relative to the
densest run of prose (maximum-sum segment of per-paragraph prose scores) and whether a short "N
Comments" line precedes it. A two-stage model scores them: stage 1 is a small MLP (one tanh layer)
on those features; stage 2 re-scores each paragraph from the same features plus its neighbours'
stage-1 scores, so a short subheading inside prose survives and a stray sentence inside a footer
does not. Weights ship in ``pagetext_model.json``, trained by ``benchmarks/train_pagetext.py`` (WCXB
dev pages, train/held-out split by domain) when the stop words were one fixed list of seven Western
languages (prose density ~0.42 in English, ~0.31 in German, ~0.07 in Polish). Pages are now read
with their own language's stop words, scaled to the density the weights know (``stop_words``,
``stop_scale``); a retrain on jusText's lists for every language scored lower on the
trafilatura-eval and Readability dumps (docs/benchmarks.md, 2026-12-07), so the weights were kept.
Rules on top: the headline (longest headline-shaped line just before the main text) is kept; a short
line with newsletter/share/cookie vocabulary next to a dropped line is dropped; paragraphs seen on
other pages of the same site are dropped unless most of the kept text repeats (a duplicate page,
which deduplication handles, not chrome).

Known failure modes (WCXB dev): comment threads and long "about the author" or teaser blurbs after
the article are often kept; main content that is itself list-like (directories, data tables dumped a
cell per line, product specs, recipe ingredients) is dropped as menus; pages with several equal
prose blocks (Q&A, listicles with long captions) are cut at the wrong block; a newsletter box title
inside the article can pass as a subheading; languages without a jusText list (Chinese, Japanese,
Thai...) fall back to the union list; WCXB's ground truth mostly excludes the headline, so keeping
it costs ~0.3 F1 points there.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Collection, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from tasks import reasons
from tasks.config import DEFAULTS, CleanConfig
from tasks.reasons import Reason

MODEL_PATH = Path(__file__).with_name("pagetext_model.json")

# Stop words per language, keyed by the ISO 639-1 code py3langid gives. English is read with the
# English words of the list the selector's weights were trained with; every other language with
# jusText's list (built from Wikipedia so that prose in any language has about the same density,
# ~0.52), its counts scaled by STOP_SCALE to the weights' English scale (prose at ~0.42). A text
# whose language is not detected, or has no list, is read with the whole trained list: English
# and a few words of six other Western languages (the fallback union).
ENGLISH_STOP_WORDS = frozenset(
    (  # noqa: SIM905
        "the a an and or of to in on for with is are was were be been it that this as at by "
        "from has have had not but they he she we you his her their its which who will would "
        "can could more than also about into there these those when what if so all one our "
        "your i my do does did no just like after some other how them then only most said "
        "says while over new"
    ).split()
)
FALLBACK_STOP_WORDS = ENGLISH_STOP_WORDS | frozenset(
    (  # noqa: SIM905
        # German
        "der die das und ist nicht ein eine zu den mit sich auf für von dem im es auch werden "
        "wird sie er wir ich aber nach bei oder wie noch "
        # French
        "le la les et des un une du est que qui dans pour pas sur au avec il elle ce sont par "
        "plus ne se aux mais nous vous ou "
        # Spanish, Italian, Portuguese, Dutch
        "el los las y en del por con para es su al lo como más pero sus ya fue este ha muy il "
        "di che e per non sono della nel alla si da ma anche o os não um uma em do da dos das "
        "com na mais mas de het een van dat op te zijn voor er maar ook"
    ).split()
)
# Feature definitions the weights were trained with, not options (changing them means retraining).
STOP_SCALE = 0.8
STOPLIST_NAMES: dict[str, str] = {
    "af": "Afrikaans", "an": "Aragonese", "ar": "Arabic", "az": "Azerbaijani",
    "be": "Belarusian", "bg": "Bulgarian", "bn": "Bengali", "br": "Breton", "bs": "Bosnian",
    "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish", "de": "German",
    "el": "Greek", "eo": "Esperanto", "es": "Spanish", "et": "Estonian",
    "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French", "fy": "West_Frisian",
    "ga": "Irish", "gl": "Galician", "gu": "Gujarati", "he": "Hebrew", "hi": "Hindi",
    "hr": "Croatian", "ht": "Haitian", "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian",
    "ig": "Igbo", "is": "Icelandic", "it": "Italian", "jv": "Javanese", "ka": "Georgian",
    "kk": "Kazakh", "kn": "Kannada", "ko": "Korean", "ku": "Kurdish", "ky": "Kyrgyz",
    "la": "Latin", "lb": "Luxembourgish", "lt": "Lithuanian", "lv": "Latvian",
    "mk": "Macedonian", "ml": "Malayalam", "mr": "Marathi", "ms": "Malay", "mt": "Maltese",
    "ne": "Nepali", "nl": "Dutch", "nn": "Norwegian_Nynorsk", "no": "Norwegian_Bokmal",
    "oc": "Occitan", "pl": "Polish", "pt": "Portuguese", "qu": "Quechua", "ro": "Romanian",
    "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "sq": "Albanian", "sr": "Serbian",
    "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "tk": "Turkmen",
    "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek",
    "vi": "Vietnamese", "vo": "Volapuk", "wa": "Walloon", "yo": "Yoruba",
}  # fmt: skip


@cache
def stop_words(language: str | None) -> frozenset[str]:
    """The stop words of ``language`` (ISO 639-1); the fallback union when it is None or has
    no list."""
    if language == "en":
        return ENGLISH_STOP_WORDS
    name = STOPLIST_NAMES.get(language or "")
    if name is None:
        return FALLBACK_STOP_WORDS
    import justext  # its stoplists ship in the wheel; a dependency of trafilatura too

    return frozenset(word.lower() for word in justext.get_stoplist(name))


def stop_scale(language: str | None) -> float:
    """What a stop word of ``language`` counts for (``STOP_SCALE`` for jusText's lists)."""
    return STOP_SCALE if language != "en" and language in STOPLIST_NAMES else 1.0


def prose_sample(paragraphs: Sequence[str], chars: int) -> str:
    """The longest paragraphs of a page (its prose, not its menus), about ``chars`` characters:
    what language detection reads."""
    picked: list[str] = []
    total = 0
    for text in sorted(paragraphs, key=len, reverse=True):
        if total >= chars:
            break
        picked.append(text)
        total += len(text) + 1
    return "\n".join(picked)[:chars]


LOCAL_FEATURES = (
    "log_words",
    "log_chars",
    "stop_density",
    "log_stops",
    "ends_sentence",
    "log_inner_sentences",
    "comma_per_word",
    "cap_ratio",
    "digit_ratio",
    "has_separator",
    "bullet",
    "boiler_keyword",
    "url_like",
    "all_caps",
    "page_duplicate",
    "ends_colon",
    "starts_lower",
    "chars_per_word",
    "date_like",
    "comment_marker",
)


# Character classes of every BMP code point as bit flags, so one table lookup classifies the
# whole page (characters above the BMP get no class).
_WS, _UP, _LO, _DIGIT, _SEP, _DASH, _BULLET, _END, _CLOSE, _COMMA, _COLON = (
    1 << i for i in range(11)
)


def _char_classes() -> np.ndarray:
    table = np.zeros(0x10000, dtype=np.uint16)
    chars = [chr(i) for i in range(0x10000)]
    table[[i for i, c in enumerate(chars) if c.isspace()]] |= _WS
    table[[i for i, c in enumerate(chars) if c.isupper()]] |= _UP
    table[[i for i, c in enumerate(chars) if c.islower()]] |= _LO
    table[ord("0") : ord("9") + 1] |= _DIGIT
    for flag, members in (
        (_SEP, "|•›»·■►→←/"),
        (_DASH, "-–—"),
        (_BULLET, "-–—•*·▪►»>"),
        (_END, ".!?…"),
        (_CLOSE, "\"'”’)]"),
        (_COMMA, ","),
        (_COLON, ":"),
    ):
        table[[ord(c) for c in members]] |= flag
    return table


_CLASSES = _char_classes()

# Boilerplate vocabulary, matched on lower-cased words (with trailing punctuation variants) and
# word pairs: cheaper than a regex over the page and it does not fire inside longer words.
_BOILER_WORDS = (  # noqa: SIM905
    "cookie cookies newsletter newsletters subscribe subscribers subscription privacy copyright "
    "© advertisement advertisements advertising sponsored share shares comment comments click "
    "download menu home search login log-in register related trending next previous loading "
    "unsubscribe inbox email e-mail"
).split()
_BOILER_PAIRS = (  # noqa: SIM905
    "sign up|sign in|log in|read more|follow us|most read|most popular|most viewed|all rights|"
    "rights reserved|terms of|contact us|about us|skip to|app store|google play|see all|view all|"
    "load more|show more|back to"
).split("|")
_TRAILING = ("", ".", ",", ":", ";", "!", "?", ")")
_BOILER_PAIR_SET = frozenset(
    (a, b + t) for a, b in (pair.split() for pair in _BOILER_PAIRS) for t in _TRAILING
)
# One dict lookup per word gives all word classes at once.
_STOP, _BOILER, _PAIR_FIRST, _DATE, _COMMENT = 1, 2, 4, 8, 16
_DATE_WORDS = (  # noqa: SIM905
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec ago am pm"
).split()
_COMMENT_WORDS = ("comment", "comments", "responses", "replies", "reply", "discussion")
_WORD_CLASS: dict[str, int] = {}
for _w in _BOILER_WORDS:
    for _t in _TRAILING:
        _WORD_CLASS[_w + _t] = _WORD_CLASS.get(_w + _t, 0) | _BOILER
for _pair in _BOILER_PAIRS:
    _first = _pair.split()[0]
    _WORD_CLASS[_first] = _WORD_CLASS.get(_first, 0) | _PAIR_FIRST
for _bit, _words in ((_DATE, _DATE_WORDS), (_COMMENT, _COMMENT_WORDS)):
    for _w in _words:
        for _t in _TRAILING:
            _WORD_CLASS[_w + _t] = _WORD_CLASS.get(_w + _t, 0) | _bit


# Words are looked up by a 64-bit polynomial hash of their lower-cased characters, computed for
# every word of the page at once with numpy (prefix sums of code * base**position): no Python
# call per word. A collision with a vocabulary word has probability ~1e-16 per word.
_HASH_BASE = 0x100000001B3  # odd, so invertible modulo 2**64
_POW_CACHE = 1 << 20  # characters; longer pages compute their powers afresh
_LENGTH_MIX = np.uint64(0x9E3779B97F4A7C15)
# str.lower() per BMP code point (a table lookup is ~3x faster than lower-casing the page). Only
# 'İ' lower-cases to two characters; it keeps its code, which no vocabulary word contains.
_LOWER = np.array(
    [ord(c.lower()) if len(c.lower()) == 1 else ord(c) for c in map(chr, range(0x10000))],
    dtype=np.uint16,
)


def _powers(base: int, count: int) -> np.ndarray:
    out = np.full(count, base, dtype=np.uint64)
    out[0] = 1
    return np.multiply.accumulate(out)  # wraps modulo 2**64


_POW = _powers(_HASH_BASE, _POW_CACHE)
_INV_POW = _powers(pow(_HASH_BASE, -1, 1 << 64), _POW_CACHE)


def _word_hashes(bmp: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Hash of each lower-cased word ``bmp[starts[i]:ends[i]]`` (the page's code points capped
    at U+FFFF): its length mixed with the sum of lower(c) * base**k over its characters, from
    one prefix sum over the page."""
    size = len(bmp) + 1
    pw, inv = (
        (_POW, _INV_POW)
        if size <= _POW_CACHE
        else (
            _powers(_HASH_BASE, size),
            _powers(pow(_HASH_BASE, -1, 1 << 64), size),
        )
    )
    prefix = np.zeros(size, dtype=np.uint64)
    np.cumsum(np.take(_LOWER, bmp) * pw[: size - 1], out=prefix[1:])
    hashes = (prefix[ends] - prefix[starts]) * inv[starts]
    mixed: np.ndarray = hashes + (ends - starts).astype(np.uint64) * _LENGTH_MIX
    return mixed


def _vocabulary_hashes(words: Sequence[str]) -> np.ndarray:
    text = " ".join(words)
    bmp = np.minimum(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32), 0xFFFF)
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    return _word_hashes(bmp, starts, starts + lengths)


class _HashTable:
    """A fixed set of 64-bit keys with small values, looked up for many keys in a few numpy
    calls: a multiplier is searched (deterministically) that sends the keys to distinct slots
    of a 2**16 table, so a lookup is one multiply-shift and one comparison. A slot holds its
    key XOR its value (< 32): one gather from a 512 KB table instead of two, and a word is
    taken for a key when the two differ in the low five bits only (2**-59 for a stranger)."""

    VALUE_BITS = 5

    BITS = 16

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        shift = np.uint64(64 - self.BITS)
        for i in range(1, 10_000, 2):
            mult = np.uint64((0x9E3779B97F4A7C15 * i) % (1 << 64))
            slots = (keys * mult) >> shift
            if len(np.unique(slots)) == len(keys):
                break
        else:  # pragma: no cover - 5,000 multipliers all colliding does not happen
            raise RuntimeError("no collision-free multiplier")
        if not (values.min() >= 0 and values.max() < 1 << self.VALUE_BITS):
            raise ValueError("values must fit in VALUE_BITS")
        self.mult, self.shift = mult, shift
        # Empty slots hold a key no word hash equals in its high 59 bits but for 2**-59.
        self.packed = np.full(1 << self.BITS, 0xFFFFFFFFFFFFFFE0, dtype=np.uint64)
        self.packed[slots] = keys ^ values.astype(np.uint64)

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key, 0 for keys not in the table."""
        found = np.take(self.packed, (keys * self.mult) >> self.shift) ^ keys
        return np.where(found < 1 << self.VALUE_BITS, found, 0).astype(np.int64)


_VOCAB_WORDS = sorted(_WORD_CLASS)
_VOCABULARY = _HashTable(
    _vocabulary_hashes(_VOCAB_WORDS), np.array([_WORD_CLASS[w] for w in _VOCAB_WORDS])
)


@cache
def _stop_hashes(language: str | None) -> np.ndarray:
    """Sorted hashes of the stop words of ``language`` (``stop_words``): too many for the
    collision-free table, they are found by binary search."""
    return np.unique(_vocabulary_hashes(sorted(stop_words(language))))


def _stop_flags(hashes: np.ndarray, language: str | None) -> np.ndarray:
    """``_STOP`` for each word hash that is a stop word of ``language``, else 0."""
    stops = _stop_hashes(language)
    at = np.minimum(np.searchsorted(stops, hashes), len(stops) - 1)
    flags: np.ndarray = (np.take(stops, at) == hashes) * _STOP
    return flags


_PAIR_MULT = np.uint64(0xD6E8FEB86659FD93)
_PAIR_WORDS = sorted({a for a, _ in _BOILER_PAIR_SET} | {b for _, b in _BOILER_PAIR_SET})
_PAIR_HASH = dict(zip(_PAIR_WORDS, _vocabulary_hashes(_PAIR_WORDS).tolist(), strict=True))
_PAIRS = _HashTable(
    np.array([_PAIR_HASH[a] for a, _ in _BOILER_PAIR_SET], dtype=np.uint64) * _PAIR_MULT
    + np.array([_PAIR_HASH[b] for _, b in _BOILER_PAIR_SET], dtype=np.uint64),
    np.ones(len(_BOILER_PAIR_SET), dtype=np.int64),
)


_RARE = _UP | _DIGIT | _END | _COMMA | _COLON | _SEP | _DASH
# A word's class bits plus one for a capital first letter, and the bits counted per paragraph.
_CAPITAL = 32
_CODES = 64
_CODE_BITS = np.array(
    [[code & bit > 0 for bit in (_STOP, _BOILER, _DATE, _COMMENT, _CAPITAL)] for code in range(64)],
    dtype=np.float64,
)


def _paragraph_ids(starts: np.ndarray, size: int) -> np.ndarray:
    """Paragraph index of every position of the joined page (one cumulative sum), for
    words and rare characters alike."""
    marks = np.zeros(size, dtype=np.int32)
    marks[starts[1:]] = 1
    return np.cumsum(marks, dtype=np.int32)


def _local_features(
    paragraphs: Sequence[str], rows: np.ndarray, language: str | None = None
) -> np.ndarray:
    """Fill ``rows[:len(LOCAL_FEATURES)]`` (feature-major) with per-paragraph shape features;
    return the word counts (at least 1). Stop words are those of ``language``.

    The page is joined into one string and classified per code point with one table lookup.
    Characters that are rarely set (capitals, digits, punctuation) are counted per paragraph
    from their positions; words come from the whitespace boundaries and are classified by
    hash. A fixed number of numpy calls per page, none per paragraph or word.
    """
    n = len(paragraphs)
    lengths = np.fromiter(map(len, paragraphs), dtype=np.int64, count=n)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    ends = starts + lengths  # index of the newline after each paragraph
    page = "\n".join(paragraphs) + "\n"
    codes = np.frombuffer(page.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    size = len(codes)
    bmp = np.minimum(codes, 0xFFFF)
    padded = np.full(size + 3, _WS, dtype=np.uint16)  # one class before, two after the page
    np.take(_CLASSES, bmp, out=padded[1 : size + 1])
    cls = padded[1 : size + 1]
    space = np.full(size + 2, True)
    np.not_equal(cls & _WS, 0, out=space[1 : size + 1])
    word_starts = np.flatnonzero(space[:size] > space[1 : size + 1])
    word_ends = np.flatnonzero(space[2:] > space[1 : size + 1]) + 1
    paragraph_id = _paragraph_ids(starts, size)
    word_par = paragraph_id[word_starts]
    words = np.maximum(np.bincount(word_par, minlength=n), 1).astype(np.float64)

    rare = np.flatnonzero((cls & _RARE) != 0)
    rare_cls = cls[rare]
    rare_par = paragraph_id[rare]
    after = padded[rare + 2]
    separator = ((rare_cls & _SEP) > 0) | (
        ((rare_cls & _DASH) > 0) & space[rare] & ((after & _WS) > 0)
    )
    inner_end = ((rare_cls & _END) > 0) & ((after & _WS) > 0) & ((padded[rare + 3] & _UP) > 0)
    clock = ((rare_cls & _COLON) > 0) & ((padded[rare] & _DIGIT) > 0) & ((after & _DIGIT) > 0)

    def per_par(flags: np.ndarray, par: np.ndarray = rare_par) -> np.ndarray:
        return np.bincount(par, weights=flags, minlength=n)

    upper = per_par(rare_cls & _UP)
    has_lower = np.logical_or.reduceat((cls & _LO) > 0, starts) if size > 0 else upper > 0

    hashes = _word_hashes(bmp, word_starts, word_ends)
    word_class = _VOCABULARY.get(hashes) | _stop_flags(hashes, language)
    # Per paragraph, how many words have each class bit (and a capital first letter): one
    # bincount of (paragraph, class bits) pairs, then a product with the bit columns.
    code = word_class | ((cls[word_starts] & _UP) > 0) * _CAPITAL
    counts = np.bincount(word_par * _CODES + code, minlength=n * _CODES)
    stops, boilers, dates, comments, capitals = (counts.reshape(n, _CODES) @ _CODE_BITS).T
    boiler = boilers > 0
    first_words = np.flatnonzero(word_class[:-1] & _PAIR_FIRST)
    pairs = _PAIRS.get(hashes[first_words] * _PAIR_MULT + hashes[first_words + 1]) > 0
    boiler[word_par[first_words[pairs]]] = True

    last = np.where(lengths > 0, cls[np.maximum(ends - 1, 0)], _WS)
    before_last = np.where(lengths > 1, cls[np.maximum(ends - 2, 0)], _WS)
    first, second = (np.where(lengths > k, cls[starts + k], _WS) for k in range(2))
    numbered = ((first & _DIGIT) > 0) & (
        (codes[np.minimum(starts + 1, size - 1)] == ord("."))
        | ((second & _DIGIT) > 0) & (codes[np.minimum(starts + 2, size - 1)] == ord("."))
    )
    chars = lengths.astype(np.float64)
    rows[0] = np.log1p(words)
    rows[1] = np.log1p(chars)
    stops *= stop_scale(language)
    np.divide(stops, words, out=rows[2])
    rows[3] = np.log1p(stops)
    rows[4] = ((last & _END) > 0) | (((last & _CLOSE) > 0) & ((before_last & _END) > 0))
    rows[5] = np.log1p(per_par(inner_end))
    rows[6] = per_par((rare_cls & _COMMA) > 0) / words
    rows[7] = capitals / words
    rows[8] = per_par((rare_cls & _DIGIT) > 0) / words
    rows[9] = per_par(separator) > 0
    rows[10] = ((first & _BULLET) > 0) | numbered
    rows[11] = boiler
    rows[12] = _url_flags(page, starts, n)
    rows[13] = (upper > 0) & ~has_lower
    if len(set(paragraphs)) < n:
        seen = Counter(paragraphs)
        rows[14] = np.fromiter(map(seen.__getitem__, paragraphs), dtype=np.float64, count=n) > 1
    else:
        rows[14] = 0.0
    rows[15] = (last & _COLON) > 0
    rows[16] = (first & _LO) > 0
    rows[17] = np.minimum(chars / words, 20.0) / 10.0
    rows[18] = (words <= 10) & ((per_par(clock) > 0) | (dates > 0))
    rows[19] = (words <= 6) & (comments > 0)
    return words


def _url_flags(page: str, starts: np.ndarray, n: int) -> np.ndarray:
    """1.0 for paragraphs of the joined page with '@', 'http:', 'https:', 'www.' or a '.com' word
    end: what the regex ``@|https?:|www\\.|\\.com\\b`` finds, with str.find (~2x faster)."""
    hits = []
    for mark in ("@", "http", "www.", ".com"):
        i = page.find(mark)
        while i >= 0:
            after = page[i + 4 : i + 6]
            if (
                mark in ("@", "www.")
                or (mark == "http" and (after[:1] == ":" or after == "s:"))
                or (mark == ".com" and not (after[:1].isalnum() or after[:1] == "_"))
            ):
                hits.append(i)
            i = page.find(mark, i + 1)
    flags = np.zeros(n)
    if hits:
        flags[np.searchsorted(starts, hits, side="right") - 1] = 1.0
    return flags


def _window_means(x: np.ndarray, radii: np.ndarray, out: np.ndarray) -> None:
    """``out[j]``: mean of ``x`` over the window i-r..i+r for r = ``radii[j]`` (a column of
    radii; windows truncated at the page edges), all radii at once from one prefix sum."""
    n = len(x)
    c = np.zeros(n + 1)
    np.cumsum(x, out=c[1:])
    idx = np.arange(n)
    lo = np.maximum(idx - radii, 0)
    hi = np.minimum(idx + radii + 1, n)
    np.divide(np.take(c, hi) - np.take(c, lo), hi - lo, out=out)


def _block_features(score: np.ndarray, cum_words: np.ndarray, out: np.ndarray) -> int:
    """Fill the five block rows (in block, after it, log distance, log words between, best run
    through it relative to the best) from the maximum-sum run of ``score``; return its start.

    Prefix sums make it vectorised: the best run ending at i is C[i+1] - min(C[..i]), the best
    run starting at i is max(C[i+1..]) - C[i]. ``cum_words`` is the word prefix sum (from 0).
    """
    n = len(score)
    c = np.zeros(n + 1)
    np.cumsum(score, out=c[1:])
    ending = c[1:] - np.minimum.accumulate(c[:-1])
    starting = np.maximum.accumulate(c[::-1])[::-1][1:] - c[:-1]
    end = int(np.argmax(ending))
    best = ending[end]
    start = int(np.argmin(c[: end + 1]))
    in_block, after, distance, between, ratio = out
    in_block.fill(0.0)
    in_block[start : end + 1] = 1.0
    after.fill(0.0)
    after[end + 1 :] = 1.0
    # Paragraphs (words) from the block: before it the first term is positive, after it the
    # second (word counts are at least 1, so cum_words rises), inside both are not: log1p(0).
    idx = np.arange(n)
    np.log1p(np.maximum(np.maximum(start - idx, idx - end), 0), out=distance)
    np.log1p(
        np.maximum(
            np.maximum(cum_words[start] - cum_words[1:], cum_words[:-1] - cum_words[end + 1]), 0.0
        ),
        out=between,
    )
    if best > 0:
        np.clip((ending + starting - score) / best, -1.0, 1.0, out=ratio)
    else:
        ratio.fill(0.0)
    return start


CONTEXT_FEATURES = (
    "rel_position",
    "word_position",
    "short_run",
    "prev_log_words",
    "next_log_words",
    "prev_stop_density",
    "next_stop_density",
    "prev_ends_sentence",
    "next_ends_sentence",
    "win2_log_words",
    "win6_log_words",
    "win2_prose",
    "win6_prose",
    "win15_prose",
    "in_block",
    "after_block",
    "log_block_distance",
    "log_words_to_block",
    "block_ratio",
    "after_comment_marker",
)

STAGE2_FEATURES = (
    "p1",
    "win1_p1",
    "win3_p1",
    "win8_p1",
    "prev3_max_p1",
    "next3_max_p1",
    "p1_in_block",
    "p1_after_block",
    "p1_log_block_distance",
    "p1_log_words_to_block",
    "p1_block_ratio",
)

SHORT_WORDS = 5
_RADII_2_6, _RADII_2_6_15, _RADII_1_3_8 = (
    np.array(radii)[:, None] for radii in ((2, 6), (2, 6, 15), (1, 3, 8))
)
_N_LOCAL = len(LOCAL_FEATURES)
_N_STAGE1 = _N_LOCAL + len(CONTEXT_FEATURES)
_N_ALL = _N_STAGE1 + len(STAGE2_FEATURES)


def _context_features(rows: np.ndarray, words: np.ndarray) -> None:
    """Fill the page-context rows of ``rows`` (feature-major) from its local rows."""
    n = len(words)
    ctx = rows[_N_LOCAL:_N_STAGE1]
    log_words, stop_density, ends = rows[0], rows[2], rows[4]
    prose = ((words >= 8) & (stop_density >= 0.15)).astype(float)
    short = words <= SHORT_WORDS
    edges = np.flatnonzero(np.diff(np.concatenate(([0], short.astype(np.int8), [0]))))
    run_lengths = edges[1::2] - edges[::2]
    cum_words = np.zeros(n + 1)
    np.cumsum(words, out=cum_words[1:])
    ctx[0] = np.arange(n) / max(n - 1, 1)
    ctx[1] = (cum_words[1:] - words / 2) / max(cum_words[-1], 1.0)
    ctx[2] = 0.0
    ctx[2, short] = np.repeat(np.log1p(run_lengths), run_lengths)
    for row, x in ((3, log_words), (5, stop_density), (7, ends)):
        ctx[row, 0] = 0.0
        ctx[row, 1:] = x[:-1]
        ctx[row + 1, :-1] = x[1:]
        ctx[row + 1, -1] = 0.0
    _window_means(log_words, _RADII_2_6, ctx[9:11])
    _window_means(prose, _RADII_2_6_15, ctx[11:14])
    score = np.where(prose > 0, np.minimum(words, 100.0), 0.0) - 6.0
    start = _block_features(score, cum_words, ctx[14:19])
    # Comment threads follow a short "N Comments" / "Leave a reply" line after the article start.
    marker = rows[LOCAL_FEATURES.index("comment_marker")] > 0
    marker[:start] = False
    ctx[19, 0] = 0.0
    ctx[19, 1:] = np.maximum.accumulate(marker[:-1])


def _features(
    paragraphs: Sequence[str], language: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Feature-major array (one row per feature of both stages, one column per paragraph) with
    the stage-1 rows filled, and the word counts. Rows are written in place: no stacking."""
    rows = np.empty((_N_ALL, len(paragraphs)))
    words = _local_features(paragraphs, rows, language)
    _context_features(rows, words)
    return rows, words


def page_features(paragraphs: Sequence[str], language: str | None = None) -> np.ndarray:
    """Stage-1 feature matrix (local shape + page context), one row per paragraph."""
    return _features(paragraphs, language)[0][:_N_STAGE1].T


def _stage2_rows(p1: np.ndarray, words: np.ndarray, out: np.ndarray) -> None:
    n = len(p1)
    out[0] = p1
    _window_means(p1, _RADII_1_3_8, out[1:4])
    pad = np.zeros(n + 6)
    pad[3 : n + 3] = p1
    np.maximum(np.maximum(pad[2 : n + 2], pad[1 : n + 1]), pad[:n], out=out[4])
    np.maximum(np.maximum(pad[4 : n + 4], pad[5 : n + 5]), pad[6 : n + 6], out=out[5])
    cum_words = np.zeros(n + 1)
    np.cumsum(words, out=cum_words[1:])
    _block_features((p1 - 0.5) * np.sqrt(words), cum_words, out[6:])


def stage2_features(p1: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Neighbourhood view of the stage-1 scores: smoothed scores and the best-scoring run."""
    out = np.empty((len(STAGE2_FEATURES), len(p1)))
    _stage2_rows(p1, words, out)
    return out.T


def mlp_forward(layer: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Standardise, one tanh hidden layer, sigmoid output."""
    z = (x - layer["mean"]) / layer["std"]
    h = np.tanh(z @ layer["w1"] + layer["b1"])
    scores: np.ndarray = 1.0 / (1.0 + np.exp(-(h @ layer["w2"] + layer["b2"])))
    return scores


def _fold_standardisation(layer: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Same network with (x - mean) / std folded into the first layer: one matmul less."""
    w1 = layer["w1"] / layer["std"][:, None]
    b1 = layer["b1"] - layer["mean"] @ w1
    return {"w1": w1, "b1": b1, "w2": layer["w2"], "b2": layer["b2"]}


def _forward(layer: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """``mlp_forward`` with the standardisation folded in, every step in place (the same
    operations in the same order, so the same scores bit for bit)."""
    h = x @ layer["w1"]
    h += layer["b1"]
    np.tanh(h, out=h)
    out = h @ layer["w2"]
    out += layer["b2"]
    np.negative(out, out=out)
    np.exp(out, out=out)
    out += 1.0
    scores: np.ndarray = np.divide(1.0, out, out=out)
    return scores


@lru_cache(maxsize=1)
def _load_model(path: str = str(MODEL_PATH)) -> dict[str, Any]:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    model = dict(raw)
    for stage in ("stage1", "stage2"):
        layer = {k: np.asarray(v, dtype=np.float64) for k, v in raw[stage].items()}
        model[stage] = _fold_standardisation(layer)
    return model


_HEADLINE_END = re.compile(r"[.:,;]$")
_NOT_HEADLINE = re.compile(
    r"^(?:by|posted|updated|published|image|photo|source)\b|©|@|https?:", re.I
)


def _headline(
    paragraphs: Sequence[str], words: np.ndarray, first_kept: int, config: CleanConfig
) -> str | None:
    """The article headline: the longest headline-shaped line shortly before the main text.

    WCXB's ground truth usually leaves the headline out, but readers (and the seed gold) count
    it as part of the article, so it is kept at a small precision cost.
    """
    best, best_words = None, 0.0
    for i in range(max(first_kept - config.headline_window, 0), first_kept):
        text = paragraphs[i]
        n = words[i]
        if (
            config.headline_min_words <= n <= config.headline_max_words
            and n >= best_words
            and not _HEADLINE_END.search(text)
            and not _NOT_HEADLINE.search(text)
            and not any(_WORD_CLASS.get(w, 0) & _BOILER for w in text.lower().split())
        ):
            best, best_words = text, n
    return best


def select_main_content(
    paragraphs: Sequence[str],
    *,
    site_repeats: Collection[str] = frozenset(),
    language: str | None = None,
    config: CleanConfig = DEFAULTS.clean,
) -> list[Reason | None]:
    """For each paragraph: ``None`` to keep it as article text, else the reason it was dropped
    (registered in ``tasks.reasons``, all label it ``boilerplate``). ``language`` (ISO 639-1,
    None when not detected) chooses the stop words (``stop_words``).

    Reasons: ``site_repeat`` (seen on other pages of this site), ``menu_run`` (inside a run of
    short lines), ``outside_main_text`` (before or after the article's prose); inside the
    article span, paragraphs the scorer rejects are ``boilerplate_phrase`` (cookie, newsletter,
    share... vocabulary), ``short_non_prose`` or ``low_content_score``.
    """
    n = len(paragraphs)
    if n == 0:
        return []
    model = _load_model()
    rows, _ = _features(paragraphs, language)
    x = rows.T
    x1 = x[:, :_N_STAGE1]
    words = np.exp(x1[:, 0]) - 1.0
    p1 = _forward(model["stage1"], x1)
    _stage2_rows(p1, words, rows[_N_STAGE1:])
    p2 = _forward(model["stage2"], x)
    return decide(paragraphs, x1, p2, model["threshold"], site_repeats, config)


def decide(
    paragraphs: Sequence[str],
    x1: np.ndarray,
    score: np.ndarray,
    threshold: float,
    site_repeats: Collection[str] = frozenset(),
    config: CleanConfig = DEFAULTS.clean,
) -> list[Reason | None]:
    """Turn paragraph scores into keep/drop reasons (headline and site-repeat rules included)."""
    n = len(paragraphs)
    words = np.exp(x1[:, 0]) - 1.0
    p2 = score
    keep = p2 >= threshold
    kept = np.flatnonzero(keep)
    if len(kept) == 0:
        # No prose at all: keep the single best paragraph rather than return nothing.
        keep[int(np.argmax(p2))] = True
        kept = np.flatnonzero(keep)
    first, last = int(kept[0]), int(kept[-1])
    # A short line with newsletter/share/cookie vocabulary next to a rejected line is the title
    # of a widget embedded in the article (it looks like a subheading to the scorer).
    dropped = ~keep
    beside_dropped = np.concatenate(([True], dropped[:-1])) | np.concatenate((dropped[1:], [True]))
    keep &= ~((x1[:, _BOILER_COLUMN] > 0) & (words <= config.boiler_line_words) & beside_dropped)
    headline = _headline(paragraphs, words, first, config)
    if headline is not None:
        for i in range(max(first - config.headline_window, 0), first):
            if paragraphs[i] == headline:
                keep[i] = True
    # The first reason that applies wins: written from the last to the first.
    code = np.full(n, 6, dtype=np.int64)
    code[(words < 8) | (x1[:, 2] < 0.15)] = 5
    code[x1[:, _BOILER_COLUMN] > 0] = 4
    code[:first] = 3
    code[last + 1 :] = 3
    code[x1[:, _SHORT_RUN_COLUMN] >= math.log1p(config.menu_run)] = 2
    code[keep] = 0
    if site_repeats:
        repeated = np.fromiter(map(site_repeats.__contains__, paragraphs), bool, n)
        if words[keep & repeated].sum() <= config.repeated_page_share * words[keep].sum():
            # Chrome repeats across a site's pages; a page whose article text mostly repeats
            # is a duplicate page, left to deduplication.
            code[repeated & np.array([t != headline for t in paragraphs])] = 1
    return list(map(_REASONS.__getitem__, code.tolist()))


# By code of ``decide``; every one labels the paragraph boilerplate.
_REASONS: tuple[Reason | None, ...] = (
    None,
    reasons.SITE_REPEAT,
    reasons.MENU_RUN,
    reasons.OUTSIDE_MAIN_TEXT,
    reasons.BOILERPLATE_PHRASE,
    reasons.SHORT_NON_PROSE,
    reasons.LOW_CONTENT_SCORE,
)
_SHORT_RUN_COLUMN = len(LOCAL_FEATURES) + CONTEXT_FEATURES.index("short_run")
_BOILER_COLUMN = LOCAL_FEATURES.index("boiler_keyword")
