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

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

_WHITESPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"""[.!?:;…]["'”’)\]]*$""")
_CONTINUATION_START = re.compile(r"^[a-z0-9(“‘\"'%$€£-]")
HARD_WRAP_MIN_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class ParagraphSpan:
    """One paragraph of the input with the 1-based, inclusive line range it came from."""

    text: str
    line_start: int
    line_end: int


def normalize_whitespace(text: str) -> str:
    """Collapse every run of Unicode whitespace (NBSP, tabs, newlines) to one space."""
    return _WHITESPACE.sub(" ", text).strip()


def _is_mid_sentence_break(line: str, next_line: str) -> bool:
    return not _SENTENCE_END.search(line.rstrip()) and bool(
        _CONTINUATION_START.match(next_line.lstrip())
    )


def _is_hard_wrapped(lines: list[str]) -> bool:
    if len(lines) < 3:
        return False
    breaks = len(lines) - 1
    mid = sum(_is_mid_sentence_break(a, b) for a, b in pairwise(lines))
    return mid / breaks >= HARD_WRAP_MIN_SHARE


def _blocks(lines: list[str]) -> Iterator[tuple[int, list[str]]]:
    """Yield (first line number, lines) for each run of non-blank lines."""
    start, block = 0, []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def split_paragraphs(text: str) -> list[ParagraphSpan]:
    """Split ``text`` into paragraphs with whitespace normalised; blank paragraphs are dropped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    spans: list[ParagraphSpan] = []
    for start, block in _blocks(lines):
        if _is_hard_wrapped(block):
            joined = normalize_whitespace(" ".join(block))
            spans.append(ParagraphSpan(joined, start, start + len(block) - 1))
            continue
        for offset, line in enumerate(block):
            cleaned = normalize_whitespace(line)
            if cleaned:
                spans.append(ParagraphSpan(cleaned, start + offset, start + offset))
    return spans
