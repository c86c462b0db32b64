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

from itertools import pairwise
from typing import NamedTuple

# A line ends a sentence when its last character, closing quotes and brackets skipped, is one of
# these; the next line continues it when it starts with one of the others.
_SENTENCE_END = frozenset(".!?:;…")
_CLOSERS = "\"'”’)]"
_CONTINUATION_START = frozenset("abcdefghijklmnopqrstuvwxyz0123456789(“‘\"'%$€£-")
HARD_WRAP_MIN_SHARE = 0.5


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
    """Most line breaks of ``lines`` (whitespace-normalised, three or more) fall mid-sentence."""
    mid = sum(
        line.rstrip(_CLOSERS)[-1:] not in _SENTENCE_END and next_line[0] in _CONTINUATION_START
        for line, next_line in pairwise(lines)
    )
    return mid / (len(lines) - 1) >= HARD_WRAP_MIN_SHARE


def split_paragraphs(text: str) -> list[ParagraphSpan]:
    """Split ``text`` into paragraphs with whitespace normalised; blank paragraphs are dropped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    spans: list[ParagraphSpan] = []
    block: list[str] = []
    for number, line in enumerate([*map(normalize_whitespace, lines), ""], start=1):
        if line:
            block.append(line)
            continue
        if not block:
            continue
        start = number - len(block)
        if len(block) == 1:
            spans.append(ParagraphSpan(block[0], start, start))
        elif len(block) >= 3 and _is_hard_wrapped(block):
            spans.append(ParagraphSpan(" ".join(block), start, number - 1))
        else:
            spans.extend(ParagraphSpan(t, start + k, start + k) for k, t in enumerate(block))
        block = []
    return spans
