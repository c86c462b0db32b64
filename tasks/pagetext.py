"""Pick the article's main content out of a whole-page plain-text dump.

Method: every paragraph gets cheap shape features (length, stop-word density, sentence ends,
commas, capitalised/digit share, separators, boilerplate and date vocabulary, in-page duplicates)
plus page context: windowed means of length and prose-ness, the length of the run of short lines
it sits in (menus, link lists), where it lies relative to the densest run of prose (maximum-sum
segment of per-paragraph prose scores) and whether a short "N Comments" line precedes it. A
two-stage model scores them: stage 1 is a small MLP (one tanh layer) on those features; stage 2
re-scores each paragraph from the same features plus its neighbours' stage-1 scores, so a short
subheading inside prose survives and a stray sentence inside a footer does not. Weights ship in
``pagetext_model.json``, reproducible with ``benchmarks/train_pagetext.py`` (WCXB dev pages,
train/held-out split by domain). Rules on top: the headline (longest headline-shaped line just
before the main text) is kept; a short line with newsletter/share/cookie vocabulary next to a
dropped line is dropped; paragraphs seen on other pages of the same site are dropped unless most
of the kept text repeats (a duplicate page, which deduplication handles, not chrome).

Known failure modes (WCXB dev): comment threads and long "about the author" or teaser blurbs
after the article are often kept; main content that is itself list-like (directories, data
tables dumped a cell per line, product specs, recipe ingredients) is dropped as menus; pages with
several equal prose blocks (Q&A, listicles with long captions) are cut at the wrong block; a
newsletter box title inside the article can pass as a subheading; the stop-word list covers only
a few Western European languages; WCXB's ground truth mostly excludes the headline, so keeping it
costs ~0.3 F1 points there.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Collection, Sequence
from functools import lru_cache
from itertools import repeat
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("pagetext_model.json")

_STOP_WORDS = (  # noqa: SIM905
    # English
    "the a an and or of to in on for with is are was were be been it that this as at by from "
    "has have had not but they he she we you his her their its which who will would can could "
    "more than also about into there these those when what if so all one our your i my do does "
    "did no just like after some other how them then only most said says while over new "
    # German
    "der die das und ist nicht ein eine zu den mit sich auf für von dem im es auch werden wird "
    "sie er wir ich aber nach bei oder wie noch "
    # French
    "le la les et des un une du est que qui dans pour pas sur au avec il elle ce sont par plus ne "
    "se aux mais nous vous ou "
    # Spanish, Italian, Portuguese, Dutch
    "el los las y en del por con para es su al lo como más pero sus ya fue este ha muy il di che "
    "e per non sono della nel alla si da ma anche o os não um uma em do da dos das com na mais "
    "mas de het een van dat op te zijn voor er maar ook"
).split()

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
for _w in _STOP_WORDS:
    _WORD_CLASS[_w] = _STOP
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


def _local_features(paragraphs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-paragraph shape features and word counts.

    The page is joined into one string and classified per code point with one table lookup;
    counts per paragraph come from one ``np.add.reduceat`` and word lists from one ``split()``.
    That avoids a Python call per paragraph and feature (~10x faster on a 250-line page).
    """
    n = len(paragraphs)
    lengths = np.fromiter(map(len, paragraphs), dtype=np.int64, count=n)
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    ends = starts + lengths  # index of the newline after each paragraph
    page = "\n".join(paragraphs) + "\n"
    codes = np.frombuffer(page.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    cls = _CLASSES[np.minimum(codes, 0xFFFF)]
    space = (cls & _WS) > 0
    prev_space = np.concatenate(([True], space[:-1]))
    prev_cls = np.concatenate(([_WS], cls[:-1]))
    nxt = np.concatenate((cls[1:], [_WS]))
    nxt2 = np.concatenate((cls[2:], [_WS, _WS]))
    upper = (cls & _UP) > 0
    counted = np.vstack(
        (
            ~space & prev_space,  # word starts
            upper & prev_space,  # capitalised words
            upper,
            (cls & _LO) > 0,
            (cls & _DIGIT) > 0,
            (cls & _COMMA) > 0,
            ((cls & _SEP) > 0) | ((cls & _DASH) > 0) & prev_space & ((nxt & _WS) > 0),
            ((cls & _END) > 0) & ((nxt & _WS) > 0) & ((nxt2 & _UP) > 0),  # inner sentence ends
            ((cls & _COLON) > 0) & ((prev_cls & _DIGIT) > 0) & ((nxt & _DIGIT) > 0),  # 10:45
        )
    ).astype(np.int32)
    per_par = np.add.reduceat(counted, starts, axis=1).T.astype(np.float64)
    words = np.maximum(per_par[:, 0], 1.0)
    # Words in the order str.split() yields them, attributed to their paragraph.
    tokens = page.lower().split()
    word_pid = np.repeat(np.arange(n), per_par[:, 0].astype(np.int64))
    word_class = np.fromiter(
        map(_WORD_CLASS.get, tokens, repeat(0)), dtype=np.int64, count=len(tokens)
    )
    stops = np.bincount(word_pid, weights=word_class & _STOP, minlength=n)
    boiler = np.bincount(word_pid, weights=word_class & _BOILER, minlength=n) > 0
    dates = np.bincount(word_pid, weights=word_class & _DATE, minlength=n)
    comments = np.bincount(word_pid, weights=word_class & _COMMENT, minlength=n)
    for i in np.flatnonzero(word_class[:-1] & _PAIR_FIRST).tolist():
        if (tokens[i], tokens[i + 1]) in _BOILER_PAIR_SET:
            boiler[word_pid[i]] = True
    url = _url_flags(page, starts, n)
    last = np.where(lengths > 0, cls[np.maximum(ends - 1, 0)], _WS)
    before_last = np.where(lengths > 1, cls[np.maximum(ends - 2, 0)], _WS)
    ends_sentence = ((last & _END) > 0) | (((last & _CLOSE) > 0) & ((before_last & _END) > 0))
    first, second = (np.where(lengths > k, cls[starts + k], _WS) for k in range(2))
    numbered = ((first & _DIGIT) > 0) & (
        (codes[np.minimum(starts + 1, len(codes) - 1)] == ord("."))
        | ((second & _DIGIT) > 0) & (codes[np.minimum(starts + 2, len(codes) - 1)] == ord("."))
    )
    dup = Counter(paragraphs)
    chars = lengths.astype(np.float64)
    columns = (
        np.log1p(words),
        np.log1p(chars),
        stops / words,
        np.log1p(stops),
        ends_sentence,
        np.log1p(per_par[:, 7]),
        per_par[:, 5] / words,
        per_par[:, 1] / words,
        per_par[:, 4] / words,
        per_par[:, 6] > 0,
        ((first & _BULLET) > 0) | numbered,
        boiler,
        url,
        (per_par[:, 2] > 0) & (per_par[:, 3] == 0),
        np.fromiter(map(dup.__getitem__, paragraphs), dtype=np.float64, count=n) > 1,
        (last & _COLON) > 0,
        (first & _LO) > 0,
        np.minimum(chars / words, 20.0) / 10.0,
        (words <= 10) & ((per_par[:, 8] > 0) | (dates > 0)),
        (words <= 6) & (comments > 0),
    )
    return np.column_stack(columns).astype(np.float64), words


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


def _window_mean(x: np.ndarray, k: int) -> np.ndarray:
    """Mean of ``x`` over the window i-k..i+k (truncated at the page edges)."""
    n = len(x)
    c = np.concatenate(([0.0], np.cumsum(x)))
    idx = np.arange(n)
    lo = np.maximum(idx - k, 0)
    hi = np.minimum(idx + k + 1, n)
    return (c[hi] - c[lo]) / (hi - lo)


def _best_segment(score: np.ndarray) -> tuple[int, int, np.ndarray]:
    """Maximum-sum run of paragraphs (the densest prose) and, per paragraph, the best sum of a
    run through it relative to that maximum: how close it is to being part of the main text.

    Prefix sums make it vectorised: the best run ending at i is C[i+1] - min(C[..i]), the best
    run starting at i is max(C[i+1..]) - C[i].
    """
    c = np.concatenate(([0.0], np.cumsum(score)))
    ending = c[1:] - np.minimum.accumulate(c[:-1])
    starting = np.maximum.accumulate(c[::-1])[::-1][1:] - c[:-1]
    end = int(np.argmax(ending))
    best = ending[end]
    start = int(np.argmin(c[: end + 1]))
    through = ending + starting - score
    ratio = np.clip(through / best, -1.0, 1.0) if best > 0 else np.zeros(len(score))
    return start, end, ratio


def _block_features(score: np.ndarray, words: np.ndarray) -> tuple[list[np.ndarray], int]:
    n = len(score)
    start, end, ratio = _best_segment(score)
    idx = np.arange(n)
    before = idx < start
    after = idx > end
    dist = np.where(before, start - idx, np.where(after, idx - end, 0))
    cum = np.concatenate(([0.0], np.cumsum(words)))
    between = np.where(before, cum[start] - cum[idx + 1], 0.0) + np.where(
        after, cum[idx] - cum[end + 1], 0.0
    )
    return [
        (~before & ~after).astype(float),
        after.astype(float),
        np.log1p(dist),
        np.log1p(between),
        ratio,
    ], start


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


def _shift(x: np.ndarray, k: int, fill: float) -> np.ndarray:
    out = np.full_like(x, fill)
    if k > 0:
        out[k:] = x[:-k]
    else:
        out[:k] = x[-k:]
    return out


def page_features(paragraphs: Sequence[str]) -> np.ndarray:
    """Stage-1 feature matrix (local shape + page context), one row per paragraph."""
    local, words = _local_features(paragraphs)
    n = len(paragraphs)
    log_words, stop_density, ends = local[:, 0], local[:, 2], local[:, 4]
    prose = ((words >= 8) & (stop_density >= 0.15)).astype(float)
    short = words <= SHORT_WORDS
    edges = np.flatnonzero(np.diff(np.concatenate(([0], short.astype(np.int8), [0]))))
    run_lengths = edges[1::2] - edges[::2]
    run = np.zeros(n)
    run[short] = np.repeat(np.log1p(run_lengths), run_lengths)
    idx = np.arange(n)
    cum = np.cumsum(words)
    score = np.where(prose > 0, np.minimum(words, 100.0), 0.0) - 6.0
    block, start = _block_features(score, words)
    # Comment threads follow a short "N Comments" / "Leave a reply" line after the article start.
    marker = local[:, LOCAL_FEATURES.index("comment_marker")] > 0
    marker[:start] = False
    after_marker = np.concatenate(([0.0], np.maximum.accumulate(marker[:-1].astype(float))))
    ctx = [
        idx / max(n - 1, 1),
        (cum - words / 2) / max(cum[-1], 1.0),
        run,
        _shift(log_words, 1, 0.0),
        _shift(log_words, -1, 0.0),
        _shift(stop_density, 1, 0.0),
        _shift(stop_density, -1, 0.0),
        _shift(ends, 1, 0.0),
        _shift(ends, -1, 0.0),
        _window_mean(log_words, 2),
        _window_mean(log_words, 6),
        _window_mean(prose, 2),
        _window_mean(prose, 6),
        _window_mean(prose, 15),
        *block,
        after_marker,
    ]
    return np.hstack([local, np.column_stack(ctx)])


def stage2_features(p1: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Neighbourhood view of the stage-1 scores: smoothed scores and the best-scoring run."""
    n = len(p1)
    pad = np.concatenate(([0.0] * 3, p1, [0.0] * 3))
    prev3 = np.max(np.column_stack([pad[2 - k : 2 - k + n] for k in range(3)]), axis=1)
    next3 = np.max(np.column_stack([pad[4 + k : 4 + k + n] for k in range(3)]), axis=1)
    score = (p1 - 0.5) * np.sqrt(words)
    return np.column_stack(
        [
            p1,
            _window_mean(p1, 1),
            _window_mean(p1, 3),
            _window_mean(p1, 8),
            prev3,
            next3,
            *_block_features(score, words)[0],
        ]
    )


def mlp_forward(layer: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Standardise, one tanh hidden layer, sigmoid output."""
    z = (x - layer["mean"]) / layer["std"]
    h = np.tanh(z @ layer["w1"] + layer["b1"])
    return 1.0 / (1.0 + np.exp(-(h @ layer["w2"] + layer["b2"])))


def _fold_standardisation(layer: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Same network with (x - mean) / std folded into the first layer: one matmul less."""
    w1 = layer["w1"] / layer["std"][:, None]
    b1 = layer["b1"] - layer["mean"] @ w1
    return {"w1": w1, "b1": b1, "w2": layer["w2"], "b2": layer["b2"]}


def _forward(layer: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    h = np.tanh(x @ layer["w1"] + layer["b1"])
    return 1.0 / (1.0 + np.exp(-(h @ layer["w2"] + layer["b2"])))


@lru_cache(maxsize=1)
def _load_model(path: str = str(MODEL_PATH)) -> dict:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    model = dict(raw)
    for stage in ("stage1", "stage2"):
        layer = {k: np.asarray(v, dtype=np.float64) for k, v in raw[stage].items()}
        model[stage] = _fold_standardisation(layer)
    return model


HEADLINE_WINDOW = 8
BOILER_LINE_WORDS = 12
MENU_RUN = 3
_HEADLINE_END = re.compile(r"[.:,;]$")
_NOT_HEADLINE = re.compile(
    r"^(?:by|posted|updated|published|image|photo|source)\b|©|@|https?:", re.I
)


def _headline(paragraphs: Sequence[str], words: np.ndarray, first_kept: int) -> str | None:
    """The article headline: the longest headline-shaped line shortly before the main text.

    WCXB's ground truth usually leaves the headline out, but readers (and the seed gold) count
    it as part of the article, so it is kept at a small precision cost.
    """
    best, best_words = None, 0.0
    for i in range(max(first_kept - HEADLINE_WINDOW, 0), first_kept):
        text = paragraphs[i]
        n = words[i]
        if (
            3 <= n <= 30
            and n >= best_words
            and not _HEADLINE_END.search(text)
            and not _NOT_HEADLINE.search(text)
            and not any(_WORD_CLASS.get(w, 0) & _BOILER for w in text.lower().split())
        ):
            best, best_words = text, n
    return best


def select_main_content(
    paragraphs: Sequence[str], *, site_repeats: Collection[str] = frozenset()
) -> list[str | None]:
    """For each paragraph: ``None`` to keep it as article text, else the reason it was dropped.

    Reasons: ``site_repeat`` (seen on other pages of this site), ``menu_run`` (inside a run of
    short lines), ``outside_main_text`` (before or after the article's prose); inside the
    article span, paragraphs the scorer rejects are ``boilerplate_phrase`` (cookie, newsletter,
    share... vocabulary), ``short_non_prose`` or ``low_content_score``.
    """
    n = len(paragraphs)
    if n == 0:
        return []
    model = _load_model()
    x1 = page_features(paragraphs)
    words = np.exp(x1[:, 0]) - 1.0
    p1 = _forward(model["stage1"], x1)
    p2 = _forward(model["stage2"], np.hstack([x1, stage2_features(p1, words)]))
    return decide(paragraphs, x1, p2, model["threshold"], site_repeats)


def decide(
    paragraphs: Sequence[str],
    x1: np.ndarray,
    score: np.ndarray,
    threshold: float,
    site_repeats: Collection[str] = frozenset(),
) -> list[str | None]:
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
    keep &= ~((x1[:, _BOILER_COLUMN] > 0) & (words <= BOILER_LINE_WORDS) & beside_dropped)
    headline = _headline(paragraphs, words, first)
    if headline is not None:
        for i in range(max(first - HEADLINE_WINDOW, 0), first):
            if paragraphs[i] == headline:
                keep[i] = True
    repeated = np.fromiter(map(site_repeats.__contains__, paragraphs), bool, n)
    if site_repeats and words[keep & repeated].sum() <= 0.5 * words[keep].sum():
        # Chrome repeats across a site's pages; a page whose article text mostly repeats is a
        # duplicate page, left to deduplication.
        drop_repeat = repeated & np.array([t != headline for t in paragraphs])
    else:
        drop_repeat = np.zeros(n, dtype=bool)
    short_run = x1[:, _SHORT_RUN_COLUMN]
    idx = np.arange(n)
    code = np.select(
        [
            drop_repeat,
            keep,
            short_run >= MENU_RUN_LOG,
            (idx < first) | (idx > last),
            x1[:, _BOILER_COLUMN] > 0,
            (words < 8) | (x1[:, 2] < 0.15),
        ],
        [1, 0, 2, 3, 4, 5],
        default=6,
    )
    return list(map(_REASONS.__getitem__, code.tolist()))


_REASONS = (
    None,
    "site_repeat",
    "menu_run",
    "outside_main_text",
    "boilerplate_phrase",
    "short_non_prose",
    "low_content_score",
)
_SHORT_RUN_COLUMN = len(LOCAL_FEATURES) + CONTEXT_FEATURES.index("short_run")
_BOILER_COLUMN = LOCAL_FEATURES.index("boiler_keyword")
MENU_RUN_LOG = math.log1p(MENU_RUN)
