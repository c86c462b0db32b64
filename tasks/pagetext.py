"""Pick the article's main content out of a whole-page plain-text dump.

Method: every paragraph gets cheap shape features (length, stop-word density, sentence ends,
commas, capitalised/digit share, separators, boilerplate keywords, in-page duplicates) plus page
context: windowed means of length and prose-ness, the length of the run of short lines it sits in
(menus, link lists) and where it lies relative to the densest run of prose (a maximum-sum segment
over per-paragraph prose scores). A two-stage model scores them: stage 1 is a small MLP on those
features; stage 2 re-scores each paragraph from the same features plus its neighbours' stage-1
scores, so that a short subheading inside prose survives and a stray sentence inside a footer
does not. Weights ship in ``pagetext_model.json`` (reproduce with
``benchmarks/train_pagetext.py``; trained on WCXB dev pages, held-out split by domain).
Rules on top: the article headline (the headline-like line just before the main text) is kept,
and paragraphs seen on other pages of the same site are dropped unless most of the page repeats
(then it is a duplicate page, which deduplication handles, not chrome).

Known failure modes: long prose outside the article (author bios, "about us" blurbs, comment
threads, long teaser lists) is often kept; short article paragraphs between list-like blocks
(product specs, recipe ingredient lists, tables dumped one cell per line) can be dropped as menus;
pages that are mostly lists or Q&A snippets have no clear prose run; stop words cover only a few
Western European languages.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache
from operator import methodcaller
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
_STOP_SET = frozenset(_STOP_WORDS)
_CAP_RE = re.compile(r"[A-Z]")
_DIGIT_RE = re.compile(r"\d")
_SENT_END_RE = re.compile(r"""[.!?…]["'”’)\]]*$""")
_INNER_SENT_RE = re.compile(r"""[.!?]["'”’)]*\s+["'“‘(]?[A-ZÀ-Þ]""")
_SEP_RE = re.compile(r"[|•›»·■►→←/]| [-–—] ")
_BULLET_RE = re.compile(r"^(?:[-–—•*·▪►»>]|\d{1,2}[.)]\s)")
_URL_RE = re.compile(r"@|https?:|www\.|\.com\b")
_BOILER_RE = re.compile(  # factored by first letter: a flat alternation is 2x slower
    r"c(?:ookie|opyright|omment|lick|ontact us)|n(?:ewsletter|ext)|"
    r"s(?:ubscri|ign (?:up|in)|ponsored|hare|kip to|earch)|l(?:og ?in|oading)|"
    r"r(?:egister|ights reserved|e(?:ad more|lated))|p(?:rivacy|age \d|revious)|"
    r"t(?:erms of|rending)|©|a(?:dvertis|pp store|ll rights|bout us)|follow us|"
    r"most (?:read|popular|viewed)|download|google play|menu|home"
)
# Ratios and keyword flags are measured on the head of a paragraph: long paragraphs are prose
# either way, and scanning all of them would cost most of the time budget.
HEAD_CHARS = 240
_count_comma = methodcaller("count", ",")
_ends_colon = methodcaller("endswith", ":")

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
)


def _flags(found: Iterable[object], n: int) -> np.ndarray:
    return np.fromiter(map(bool, found), dtype=np.float64, count=n)


def _counts(found: Iterable[int], n: int) -> np.ndarray:
    return np.fromiter(found, dtype=np.float64, count=n)


def _local_features(paragraphs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-paragraph shape features and word counts.

    Everything is mapped over the page with C-level callables (bound regex methods, str
    methods) instead of a Python loop per paragraph: that keeps a 250-paragraph page well
    under a millisecond.
    """
    n = len(paragraphs)
    heads = [text[:HEAD_CHARS] for text in paragraphs]
    lows = list(map(str.lower, heads))
    tails = [text[-4:] for text in paragraphs]
    words = np.maximum(_counts(map(len, map(str.split, paragraphs)), n), 1.0)
    chars = _counts(map(len, paragraphs), n)
    head_words = np.maximum(_counts(map(len, map(str.split, lows)), n), 1.0)
    stops = _counts(map(len, map(_STOP_SET.intersection, map(str.split, lows))), n)
    dup = Counter(paragraphs)
    columns = (
        np.log1p(words),
        np.log1p(chars),
        stops / head_words,
        np.log1p(stops * words / head_words),
        _flags(map(_SENT_END_RE.search, tails), n),
        np.log1p(_counts(map(len, map(_INNER_SENT_RE.findall, paragraphs)), n)),
        _counts(map(_count_comma, heads), n) / head_words,
        _counts(map(len, map(_CAP_RE.findall, heads)), n) / head_words,
        _counts(map(len, map(_DIGIT_RE.findall, heads)), n) / head_words,
        _flags(map(_SEP_RE.search, heads), n),
        _flags(map(_BULLET_RE.match, heads), n),
        _flags(map(_BOILER_RE.search, lows), n),
        _flags(map(_URL_RE.search, lows), n),
        _flags(map(str.isupper, heads), n),
        _counts(map(dup.__getitem__, paragraphs), n) > 1,
        _flags(map(_ends_colon, tails), n),
        _flags(map(str.islower, [text[:1] for text in paragraphs]), n),
        np.minimum(chars / words, 20.0) / 10.0,
    )
    return np.column_stack(columns).astype(np.float64).reshape(n, len(LOCAL_FEATURES)), words


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
    run through it relative to that maximum: how close it is to being part of the main text."""
    n = len(score)
    s = score.tolist()
    fwd = [0.0] * n
    run = 0.0
    best, best_end, start, best_start = -math.inf, 0, 0, 0
    for i, v in enumerate(s):
        if run > 0:
            run += v
        else:
            run, start = v, i
        fwd[i] = run
        if run > best:
            best, best_end, best_start = run, i, start
    bwd = [0.0] * n
    run = 0.0
    for i in range(n - 1, -1, -1):
        run = run + s[i] if run > 0 else s[i]
        bwd[i] = run
    through = np.asarray(fwd) + np.asarray(bwd) - score
    ratio = np.clip(through / best, -1.0, 1.0) if best > 0 else np.zeros(n)
    return best_start, best_end, ratio


def _block_features(score: np.ndarray, words: np.ndarray) -> list[np.ndarray]:
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
    ]


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
    run = np.zeros(n)
    i = 0
    short_list = short.tolist()
    while i < n:
        if short_list[i]:
            j = i
            while j < n and short_list[j]:
                j += 1
            run[i:j] = math.log1p(j - i)
            i = j
        else:
            i += 1
    idx = np.arange(n)
    cum = np.cumsum(words)
    score = np.where(prose > 0, np.minimum(words, 100.0), 0.0) - 6.0
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
        *_block_features(score, words),
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
            *_block_features(score, words),
        ]
    )


def mlp_forward(layer: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Standardise, one tanh hidden layer, sigmoid output."""
    z = (x - layer["mean"]) / layer["std"]
    h = np.tanh(z @ layer["w1"] + layer["b1"])
    return 1.0 / (1.0 + np.exp(-(h @ layer["w2"] + layer["b2"])))


@lru_cache(maxsize=1)
def _load_model(path: str = str(MODEL_PATH)) -> dict:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    model = dict(raw)
    for stage in ("stage1", "stage2"):
        model[stage] = {k: np.asarray(v, dtype=np.float64) for k, v in raw[stage].items()}
    return model


HEADLINE_WINDOW = 8
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
            and not _BOILER_RE.search(text.lower())
        ):
            best, best_words = text, n
    return best


def select_main_content(
    paragraphs: Sequence[str], *, site_repeats: Collection[str] = frozenset()
) -> list[str | None]:
    """For each paragraph: ``None`` to keep it as article text, else the reason it was dropped.

    Reasons: ``site_repeat`` (seen on other pages of this site), ``menu_run`` (inside a run of
    short lines), ``outside_main_text`` (before or after the article's prose),
    ``short_non_prose`` and ``low_content_score`` (failed the scorer inside the article span).
    """
    n = len(paragraphs)
    if n == 0:
        return []
    model = _load_model()
    x1 = page_features(paragraphs)
    words = np.exp(x1[:, 0]) - 1.0
    p1 = mlp_forward(model["stage1"], x1)
    p2 = mlp_forward(model["stage2"], np.hstack([x1, stage2_features(p1, words)]))
    keep = p2 >= model["threshold"]
    kept = np.flatnonzero(keep)
    if len(kept) == 0:
        # No prose at all: keep the single best paragraph rather than return nothing.
        keep[int(np.argmax(p2))] = True
        kept = np.flatnonzero(keep)
    first, last = int(kept[0]), int(kept[-1])
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
    short_run = x1[:, LOCAL_FEATURES_N + CONTEXT_FEATURES.index("short_run")]
    prose = (words >= 8) & (x1[:, 2] >= 0.15)
    reasons: list[str | None] = []
    for i in range(n):
        if drop_repeat[i]:
            reasons.append("site_repeat")
        elif keep[i]:
            reasons.append(None)
        elif short_run[i] >= MENU_RUN_LOG:
            reasons.append("menu_run")
        elif i < first or i > last:
            reasons.append("outside_main_text")
        elif not prose[i]:
            reasons.append("short_non_prose")
        else:
            reasons.append("low_content_score")
    return reasons


LOCAL_FEATURES_N = len(LOCAL_FEATURES)
MENU_RUN_LOG = math.log1p(MENU_RUN)
