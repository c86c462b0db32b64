"""Split page text into paragraphs the way a reader sees them.

Three layouts occur in page dumps and extractor output:

* blank-line separated blocks of one line each (most pages);
* one paragraph per line with few or no blank lines: list items, headline lists, widgets and
  pages whose paragraphs are single long lines;
* hard-wrapped prose (e-mail style, fixed width), in blank-line separated blocks or one
  paragraph after the other: the line breaks fall mid-paragraph and are joined back.

Every line is a paragraph except where a line break is a soft wrap. Two kinds of evidence:

* **Wrap width** (text wrapped by a tool, ``textwrap``, mail clients, fixed-width sources).
  A soft break leaves a *full* line: the line fits the width ``W`` and the next line's first
  word would not have (``len(line) <= W < len(line) + 1 + len(next first word)``). ``W`` is
  the width that makes the most line breaks full (a sweep over the breaks' intervals,
  ``W >= wrap_min_width``); the text is wrapped when at least ``wrap_min_breaks`` breaks
  and ``wrap_min_share`` of all its breaks are full at that width. Then every full break is
  joined, whatever the number of lines of the paragraph, and every other break is kept: the
  short last line of a paragraph, a heading, an address or a verse line is not full. A full
  line ending a sentence before a capitalised line is joined unless the text's own odds say
  it is a paragraph end (``_full_paragraph_ends``): a paragraph's last line is full only with
  probability ~(next word length + 1)/W (~10 % at 70 columns), while a wrap falls at a
  sentence end as often as a word inside the lines ends one (~5 %), and a paragraph of
  several lines has several wraps; in a text of short paragraphs the ends outnumber the wraps.
  Nor is a full line joined to a last line that starts with a capital after a sentence end
  and ends no sentence: that is a heading (a prose paragraph's last line ends a sentence).
* **Sentence flow**, for ragged wraps without one width: a block of three or more lines
  where most line breaks fall mid-sentence (the line does not end a sentence and the next
  one starts in lower case, with a digit or an opening quote) is one paragraph, and so is a
  block of two where a line of ``ragged_min_chars`` or more not ending a sentence is
  followed by one starting with a lower-case letter.

The thresholds are the fields of :class:`tasks.config.SplitConfig` (``[split]``).

Never joined: a line followed by a list item or heading (``-``, ``*``, ``•``, ``1.``, ``a)``,
``#``), a Markdown heading followed by anything, or either line a table row (two or more
``|``).
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import NamedTuple

import numpy as np

from tasks.config import DEFAULTS, SplitConfig

# A line ends a sentence when its last character, closing quotes and brackets skipped, is one of
# these; the next line continues it when it starts with one of the others.
_SENTENCE_END = frozenset(".!?:;…")
_CLOSERS = "\"'”’)]"
_CONTINUATION_START = frozenset("abcdefghijklmnopqrstuvwxyz")
# A line that starts a list item or is a table row is never the continuation of a wrap.
# A sentence end before a capitalised word inside a line (the chance that a wrap falls there).
_SENTENCE_GAP = re.compile(r"[.!?:;…][\"'”’)\]]* (\w)")
_HEADING = re.compile(r"#+\s")  # a Markdown heading is one line
_STRUCTURAL = re.compile(r"(?:[-*•·▪►‣◦+]\s|\d{1,2}[.)]\s|[a-zA-Z][.)]\s|#+\s)")
# Whitespace other than space and line feed (str.isspace; all of it is in the BMP): per UTF-16
# code unit, 1 for a space, 2 for a line feed, 3 for any other whitespace.
_SPACE_KIND = np.zeros(0x10000, dtype=np.uint8)
_SPACE_KIND[[c for c in range(0x10000) if chr(c).isspace()]] = 3
_SPACE_KIND[ord(" ")], _SPACE_KIND[ord("\n")] = 1, 2


class ParagraphSpan(NamedTuple):
    """One paragraph of the input with the 1-based, inclusive line range it came from."""

    text: str
    line_start: int
    line_end: int


def normalize_whitespace(text: str) -> str:
    """Collapse every run of Unicode whitespace (NBSP, tabs, newlines) to one space.

    ``str.split()`` splits on exactly the characters the regex ``\\s`` matches.
    """
    return " ".join(text.split())


def _is_hard_wrapped(lines: list[str], config: SplitConfig) -> bool:
    """Most line breaks of ``lines`` (whitespace-normalised, three or more) fall mid-sentence:
    a line of ``ragged_min_chars`` or more that does not end a sentence, followed by one that
    starts in lower case. Short lines (verse, lists without markers) never count."""
    min_chars = config.ragged_min_chars
    mid_sentence = sum(
        _mid_sentence(line, following, min_chars) for line, following in pairwise(lines)
    )
    return mid_sentence / (len(lines) - 1) >= config.hard_wrap_min_share


def _ends_sentence(line: str) -> bool:
    return line.rstrip(_CLOSERS)[-1:] in _SENTENCE_END


def _mid_sentence(line: str, following: str, min_chars: int) -> bool:
    """A line of prose breaks off mid-sentence: ``min_chars`` or more, no sentence end, and
    the next line starts in lower case."""
    return (
        len(line) >= min_chars and following[0] in _CONTINUATION_START and not _ends_sentence(line)
    )


def _is_table_row(line: str) -> bool:
    return line.count("|") >= 2


def wrap_width(
    lengths: np.ndarray, next_first_word: np.ndarray, min_width: int = DEFAULTS.split.wrap_min_width
) -> tuple[int, int]:
    """The width ``W`` at which the most of these line breaks are full, and how many are.

    A break after a line of ``n`` characters whose next line starts with a word of ``k`` is
    full at every ``W`` in ``[n, n + k]`` (the word and its space would not have fitted).
    The count at ``W`` is the number of intervals holding it; the best ``W`` is one of the
    intervals' starts (ties: the widest). Widths below ``min_width`` are not counted.
    """
    low = lengths
    high = lengths + next_first_word
    usable = high >= min_width
    if not usable.any():
        return 0, 0
    low, high = np.sort(low[usable]), np.sort(high[usable])
    candidates = np.unique(np.maximum(low, min_width))
    counts = np.searchsorted(low, candidates, "right") - np.searchsorted(high, candidates, "left")
    best = int(counts.max())
    width = int(candidates[np.flatnonzero(counts == best)[-1]])
    return width, best


def _soft_breaks(texts: list[str], adjacent: np.ndarray, config: SplitConfig) -> np.ndarray:
    """Per pair of consecutive non-blank lines, whether the break between them is a soft wrap
    (module docstring). ``adjacent[i]``: ``texts[i + 1]`` is on the line after ``texts[i]``."""
    join = np.zeros(len(adjacent), dtype=bool)
    pairs = np.flatnonzero(adjacent).tolist()
    open_pairs = [
        i
        for i in pairs
        if not (
            _STRUCTURAL.match(texts[i + 1])
            or _HEADING.match(texts[i])
            or _is_table_row(texts[i])
            or _is_table_row(texts[i + 1])
        )
    ]
    if not open_pairs:
        return join
    lengths = np.fromiter((len(texts[i]) for i in open_pairs), np.int64, len(open_pairs))
    first_words = np.fromiter(
        (len(texts[i + 1].split(" ", 1)[0]) for i in open_pairs), np.int64, len(open_pairs)
    )
    width, full = wrap_width(lengths, first_words, config.wrap_min_width)
    if full >= config.wrap_min_breaks and full >= config.wrap_min_share * len(open_pairs):
        is_full = (lengths <= width) & (lengths + first_words >= width)
        full_pairs = np.asarray(open_pairs)[is_full]
        continued = sum(texts[i + 1][0] in _CONTINUATION_START for i in full_pairs.tolist())
        if continued >= config.wrap_min_continued * len(full_pairs):
            join[full_pairs] = True
            join[_full_paragraph_ends(texts, open_pairs, is_full, first_words, width, config)] = (
                False
            )
            join[_headings_after_full_lines(texts, join)] = False
            # A ragged line that fills most of the width still continues mid-sentence into a
            # lower-case line (a list item without a full stop is usually shorter).
            join[
                [
                    i
                    for i in open_pairs
                    if len(texts[i]) >= config.ragged_min_fill * width
                    and _mid_sentence(texts[i], texts[i + 1], config.ragged_min_chars)
                ]
            ] = True
            return join
    # No wrap width: sentence flow, block by block (runs of adjacent lines).
    is_open = np.zeros(len(adjacent), dtype=bool)
    is_open[open_pairs] = True
    starts = np.flatnonzero(adjacent & ~np.concatenate(([False], adjacent[:-1])))
    for start in starts.tolist():
        end = start
        while end < len(adjacent) and adjacent[end]:
            end += 1
        block = texts[start : end + 1]
        if len(block) >= 3:
            if _is_hard_wrapped(block, config):
                join[start:end] = is_open[start:end]
        elif is_open[start] and _mid_sentence(block[0], block[1], config.ragged_min_chars):
            join[start] = True
    return join


def _starts_sentence(line: str, following: str) -> bool:
    return _ends_sentence(line) and following[0].isupper()


def _full_paragraph_ends(
    texts: list[str],
    open_pairs: list[int],
    is_full: np.ndarray,
    first_words: np.ndarray,
    width: int,
    config: SplitConfig,
) -> list[int]:
    """The full breaks of a wrapped text that more likely end a paragraph than wrap one.

    A full break where a sentence ends and the next line starts with a capital is either a
    wrap that fell at a sentence end or a paragraph whose last line happened to be full. The
    odds come from the text itself: a paragraph's last line is full with probability
    ``(k + 1) / W`` (``k`` the next line's first word); a wrap falls at a sentence end as
    often as a space inside the text's lines follows one (``_SENTENCE_GAP``); the number of
    paragraph ends and wraps among adjacent breaks, and how often a paragraph end is a
    sentence end before a capital, from the breaks that are not full (paragraph ends whose
    last line was not full). The break ends a paragraph when that is the likelier reading.
    """
    pairs = np.asarray(open_pairs)
    candidates = [
        n
        for n, i in enumerate(open_pairs)
        if is_full[n] and _starts_sentence(texts[i], texts[i + 1])
    ]
    if not candidates:
        return []
    lines = [texts[i] for i in open_pairs]
    spaces = sum(line.count(" ") for line in lines)
    sentence_gaps = sum(c.isupper() for line in lines for c in _SENTENCE_GAP.findall(line))
    wrap_sentence_end = (sentence_gaps + 1) / (spaces + 2)
    full_set = set(pairs[is_full].tolist())
    hard = [i for n, i in enumerate(open_pairs) if not is_full[n] and i - 1 in full_set]
    if len(hard) < config.wrap_min_breaks:
        return []
    mean_full_chance = float(np.mean((first_words + 1) / width))
    paragraph_ends = len(hard) / (1 - mean_full_chance)
    wraps = max(1.0, int(is_full.sum()) - paragraph_ends * mean_full_chance)
    end_sentence_end = (sum(_starts_sentence(texts[i], texts[i + 1]) for i in hard) + 1) / (
        len(hard) + 2
    )
    return [
        int(pairs[n])
        for n in candidates
        if paragraph_ends * (first_words[n] + 1) / width * end_sentence_end
        > wraps * wrap_sentence_end
    ]


def _headings_after_full_lines(texts: list[str], join: np.ndarray) -> list[int]:
    """Joined breaks into a paragraph's last line that is a heading: the line before ends a
    sentence, the last line starts with a capital and ends none (a prose paragraph ends
    with one)."""
    last = np.append(~join[1:], True)
    return [
        i
        for i in np.flatnonzero(join & last).tolist()
        if _starts_sentence(texts[i], texts[i + 1]) and not _ends_sentence(texts[i + 1])
    ]


def _is_normalised(text: str) -> bool:
    """Every line of ``text`` is already whitespace-normalised (single spaces, none at either
    end): page dumps usually are, and then the per-line normalising can be skipped.

    One table lookup per UTF-16 code unit (~3x cheaper than a regex for other whitespace
    plus three substring searches, which cost ~0.15 ms on a page): no other whitespace, and
    no space next to a space, a line feed or either end of the text."""
    kind = _SPACE_KIND[np.frombuffer(text.encode("utf-16-le", "surrogatepass"), np.uint16)]
    if kind.max(initial=0) == 3:
        return False
    space = kind == 1
    blank = kind != 0
    return not (
        space[:1].any()
        or space[-1:].any()
        or (space[:-1] & blank[1:]).any()
        or (blank[:-1] & space[1:]).any()
    )


def split_lines(
    text: str, config: SplitConfig = DEFAULTS.split
) -> tuple[list[str], list[int], list[int]]:
    """``split_paragraphs`` as three columns: texts, first and last line numbers. The page
    dump path takes these as they are (no tuple per paragraph); without a soft wrap the
    texts are the non-blank lines and both line columns their numbers."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if not _is_normalised(text):
        lines = list(map(normalize_whitespace, lines))
    number_array = np.flatnonzero(np.fromiter(map(bool, lines), dtype=bool, count=len(lines))) + 1
    numbers = number_array.tolist()
    texts = list(filter(None, lines))
    adjacent = number_array[1:] - number_array[:-1] == 1
    if not adjacent.any():
        return texts, numbers, numbers
    join = _soft_breaks(texts, adjacent, config)
    if not join.any():
        return texts, numbers, numbers
    starts = [0, *(np.flatnonzero(~join) + 1).tolist()]
    ends = [*starts[1:], len(texts)]
    out_texts = [
        texts[start] if end - start == 1 else " ".join(texts[start:end])
        for start, end in zip(starts, ends, strict=True)
    ]
    return out_texts, [numbers[s] for s in starts], [numbers[e - 1] for e in ends]


def split_paragraphs(text: str, config: SplitConfig = DEFAULTS.split) -> list[ParagraphSpan]:
    """Split ``text`` into paragraphs with whitespace normalised; blank paragraphs are dropped.

    Line breaks between consecutive non-blank lines are soft wraps or paragraph breaks by the
    rules of the module docstring.
    """
    return list(map(ParagraphSpan, *split_lines(text, config)))
