"""Split page text into paragraphs the way a reader sees them.

Three layouts occur in page dumps and extractor output:

* blank-line separated blocks of one line each (most pages);
* one paragraph per line with few or no blank lines: list items, headline lists, widgets and
  pages whose paragraphs are single long lines;
* hard-wrapped prose (e-mail style, fixed width): the line breaks fall mid-sentence and the
  lines of a block are joined back into one paragraph.

So every line is a paragraph, except in a block of three or more lines where most line breaks
fall mid-sentence (the line does not end a sentence and the next one starts in lower case, with
a digit or an opening quote): that block is one hard-wrapped paragraph.
"""

from __future__ import annotations

from operator import gt, itemgetter, methodcaller
from typing import NamedTuple

import numpy as np

# A line ends a sentence when its last character, closing quotes and brackets skipped, is one of
# these; the next line continues it when it starts with one of the others.
_SENTENCE_END = frozenset(".!?:;…")
_CLOSERS = "\"'”’)]"
_CONTINUATION_START = frozenset("abcdefghijklmnopqrstuvwxyz0123456789(“‘\"'%$€£-")
HARD_WRAP_MIN_SHARE = 0.5
_STRIP_CLOSERS = methodcaller("rstrip", _CLOSERS)
_LAST = itemgetter(slice(-1, None))
_FIRST = itemgetter(0)
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


def _is_hard_wrapped(lines: list[str]) -> bool:
    """Most line breaks of ``lines`` (whitespace-normalised, three or more) fall mid-sentence:
    the line does not end a sentence (``True > False`` below) and the next one continues it.
    Chained ``map`` calls, no Python code per line (half the lines of a dump are in blocks)."""
    ends = map(_SENTENCE_END.__contains__, map(_LAST, map(_STRIP_CLOSERS, lines)))
    continues = map(_CONTINUATION_START.__contains__, map(_FIRST, lines[1:]))
    breaks_mid_sentence: int = sum(map(gt, continues, ends))
    return breaks_mid_sentence / (len(lines) - 1) >= HARD_WRAP_MIN_SHARE


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


def split_lines(text: str) -> tuple[list[str], list[int], list[int]]:
    """``split_paragraphs`` as three columns: texts, first and last line numbers. The page
    dump path takes these as they are (no tuple per paragraph); without a hard-wrapped block
    the texts are the non-blank lines and both line columns their numbers."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if not _is_normalised(text):
        lines = list(map(normalize_whitespace, lines))
    number_array = np.flatnonzero(np.fromiter(map(bool, lines), dtype=bool, count=len(lines))) + 1
    numbers = number_array.tolist()
    texts = list(filter(None, lines))
    # Block starts (indices into texts where the line numbers jump) and the end.
    jumps = np.flatnonzero(number_array[1:] - number_array[:-1] != 1) + 1
    bounds = np.concatenate(([0], jumps, [len(texts)]))
    long_blocks = np.flatnonzero(np.diff(bounds) >= 3)
    wrapped = [
        (start, end)
        for start, end in zip(
            bounds[long_blocks].tolist(), bounds[long_blocks + 1].tolist(), strict=True
        )
        if _is_hard_wrapped(texts[start:end])
    ]
    if not wrapped:
        return texts, numbers, numbers
    out_texts: list[str] = []
    firsts: list[int] = []
    lasts: list[int] = []
    done = 0
    for start, end in wrapped:
        out_texts += texts[done:start]
        firsts += numbers[done:start]
        lasts += numbers[done:start]
        out_texts.append(" ".join(texts[start:end]))
        firsts.append(numbers[start])
        lasts.append(numbers[end - 1])
        done = end
    out_texts += texts[done:]
    firsts += numbers[done:]
    lasts += numbers[done:]
    return out_texts, firsts, lasts


def split_paragraphs(text: str) -> list[ParagraphSpan]:
    """Split ``text`` into paragraphs with whitespace normalised; blank paragraphs are dropped.

    Blocks are found from the numbers of the non-blank lines (runs of consecutive numbers);
    only blocks of three or more lines are looked at line by line, for hard wrapping.
    """
    return list(map(ParagraphSpan, *split_lines(text)))
