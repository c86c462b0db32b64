"""Mojibake: UTF-8 bytes read in a single-byte code page (``Weâ€™ve``, ``Ã©tÃ©``, ``вЂ™``).

A UTF-8 character of two to four bytes read as windows-1252 or Latin-1 becomes a "lead"
character (``Â``-``ß`` for two bytes, ``à``-``ï`` for three, ``ð`` for four) followed by
"continuation" characters (what bytes 0x80-0xBF are in those code pages); read as
windows-1251 (Cyrillic pages) it becomes ``Р``/``С`` plus such a character, or ``вЂ`` for
the punctuation of U+2000-U+203F. Real text almost never holds these pairs, so their share
of a text's non-ASCII characters measures how garbled it is. The same pattern, in syntax
that both Python's ``re`` and DuckDB's RE2 read, is the articles suite's derived column
``mojibake_share`` (``expectations/articles.json``), so cleaning and validation agree.

Left out on purpose, because real text has them: a lower-case accented letter followed by
one such character (French ``é»``, ``é »``: NBSP before a guillemet), upper-case letters
of Latin scripts other than ``Â Ã Ä Å Î Ï Ð Ñ × Ø Ù`` and Cyrillic letters used by
Ukrainian, Serbian or Macedonian after ``Р``/``С`` (``Січень``, ``Рік``); so ``г``, ``ґ``,
``ї``, ``є`` and ``ј`` misread go uncounted, which still leaves most of a garbled Russian text.
"""

from __future__ import annotations

import re

# Bytes 0x80-0xBF in windows-1252 (undefined ones as Latin-1's C1 controls) and Latin-1.
_CONTINUATION = "\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_CONTINUATION_NO_NBSP = "\u0080-\u009f\u00a1-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
MOJIBAKE_PATTERN = (
    f"[ÂÃÄÅÎÏÐÑØÙ][{_CONTINUATION}]"  # two-byte characters (Latin-1 range, Greek, Cyrillic...)
    f"|×[{_CONTINUATION_NO_NBSP}]"  # Hebrew (× NBSP is a multiplication)
    f"|[à-ï][{_CONTINUATION_NO_NBSP}][{_CONTINUATION}]"  # three bytes (punctuation, CJK...)
    f"|ð[{_CONTINUATION}]{{3}}"  # four bytes (emoji)
    "|вЂ"  # punctuation read as windows-1251
    "|[РС][‚„…†‡€‰‹‘’“”•–—™›ЂЃѓЉЊЌЋЏђљњќћџ°±µ¶·№»ѕјЅёЁ¤¦§©«¬®]"  # Cyrillic as windows-1251
)
_MOJIBAKE = re.compile(MOJIBAKE_PATTERN)
# Non-ASCII characters a share is taken of at the least (see ``mojibake_share``).
MIN_NON_ASCII = 20
# ``mojibake_share`` in DuckDB, over a column ``text``: the articles suite's derived column.
MOJIBAKE_SHARE_SQL = (
    f"CASE WHEN text IS NULL THEN 0.0 ELSE len(regexp_extract_all(text, '{MOJIBAKE_PATTERN}')) "
    f"/ greatest(length(regexp_replace(text, '[\\x00-\\x7F]', '', 'g')), {MIN_NON_ASCII}) END"
)


def non_ascii(text: str) -> int:
    """The number of characters of ``text`` outside ASCII."""
    return len(text) - len(text.encode("ascii", "ignore"))


def mojibake_share(text: str) -> float:
    """Mojibake sequences per non-ASCII character of ``text``, counting at least
    :data:`MIN_NON_ASCII` of them (0.0 for ASCII text).

    A text read whole in the wrong code page scores 0.3-0.5 (each garbled character is two
    to four non-ASCII characters, one sequence); real text 0.0, or a few hundredths where a
    site double-encoded a stray character. The floor keeps one such character in a short
    English text (three non-ASCII characters, one sequence) at 0.05 instead of 0.33.
    """
    if text.isascii():
        return 0.0
    return len(_MOJIBAKE.findall(text)) / max(non_ascii(text), MIN_NON_ASCII)


def _byte_of(char: str) -> bytes:
    try:
        return char.encode("cp1252")
    except UnicodeEncodeError:
        return char.encode("latin-1")  # C1 controls and the five bytes cp1252 leaves undefined


def _repaired(match: re.Match[str]) -> str:
    sequence = match.group(0)
    try:
        return b"".join(map(_byte_of, sequence)).decode("utf-8")
    except UnicodeError:  # windows-1251 sequences, and pairs that are no UTF-8 character
        return sequence


def repair_mojibake(text: str) -> str:
    """``text`` with each mojibake sequence that is the UTF-8 of one character read back.

    For text whose bytes were UTF-8 twice over (a site's own double encoding: ``Weâ€™ve``
    in a page that is otherwise proper UTF-8): each sequence is what windows-1252 or Latin-1
    made of one UTF-8 character, and one that does not read back as one UTF-8 character
    (windows-1251 sequences among them) is left as it is.
    """
    return _MOJIBAKE.sub(_repaired, text)
