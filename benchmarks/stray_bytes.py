"""Pages declaring UTF-8 with one stray invalid byte: published text garbled, or equal.

Usage::

    python -m benchmarks.stray_bytes [--limit N] [--json OUT]
    # the same pages through another checkout's code (e.g. main):
    PYTHONPATH=/work/main python benchmarks/stray_bytes.py

Pages: the WCXB dev articles and the trafilatura-eval dev pages under ``../shared/bench``
(``$NEWSCLEAN_BENCH_ROOT`` overrides it) that are valid UTF-8, contain non-ASCII text and
do not declare another charset. Into each, one byte 0xFF (never valid in UTF-8) is put in
the middle of the longest ``<p>`` paragraph whose text there the clean page publishes,
between two ASCII letters.

Both versions of the page go through ``process_document`` (what newsclean would publish for
the page before run-wide dedup). A page is

* *equal* when the stray page's text is the clean page's text with one U+FFFD (or nothing)
  at the spot of the byte: the replacement character removed, the two texts are equal;
* *garbled* when it holds characters the clean text does not (besides U+FFFD): the page
  was read in another charset (mojibake), or it was quarantined;
* *other* otherwise: the same characters, other paragraphs kept (the extraction or the
  cleaning decided otherwise on a text that differs by one character).

Pages that the clean version does not publish are not counted (nothing to compare).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tasks.clean.document import process_document
from tasks.models import Rejected

STRAY = b"\xff"
REPLACEMENT = "\ufffd"
SETS = ("wcxb-dev-articles", "trafilatura-eval-dev")
_PARAGRAPH = re.compile(rb"<p[ >].*?</p>", re.S | re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_ASCII_LETTER_PAIR = re.compile(rb"(?<=[a-z])(?=[a-z])")
_PLAIN = re.compile(rb"[A-Za-z0-9 ,.]+")


def bench_root() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "bench"
    return Path(os.environ.get("NEWSCLEAN_BENCH_ROOT", default))


def utf8_page(data: bytes) -> bool:
    """Valid UTF-8 with non-ASCII characters, declaring UTF-8 or no charset."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if data.isascii():
        return False
    declared = _META_CHARSET.search(data[:4096])
    return declared is None or declared.group(1).lower().replace(b"_", b"-") in (b"utf-8", b"utf8")


def with_stray_byte(data: bytes, published: str) -> bytes | None:
    """``data`` with 0xFF between two ASCII letters in the middle of the longest ``<p>`` whose
    text there is in ``published`` (the article's body, not a footer line)."""
    paragraphs = sorted(_PARAGRAPH.finditer(data), key=lambda m: len(m.group(0)), reverse=True)
    for paragraph in paragraphs:
        middle = (paragraph.start() + paragraph.end()) // 2
        for spot in _ASCII_LETTER_PAIR.finditer(data, middle, paragraph.end()):
            at = spot.start()
            around = data[at - 15 : at + 15]
            if _PLAIN.fullmatch(around) and around.decode("ascii") in published:
                return data[:at] + STRAY + data[at:]
    return None


def published_text(data: bytes, source: str) -> str | None:
    try:
        return process_document(data, source, fmt="html").text
    except Rejected:
        return None


@dataclass
class Tally:
    tried: int = 0
    garbled: int = 0
    equal: int = 0
    other: int = 0
    garbled_pages: list[str] = field(default_factory=list)
    other_pages: list[str] = field(default_factory=list)


def run(limit: int | None) -> Tally:
    tally = Tally()
    root = bench_root()
    if not root.is_dir():
        sys.exit(f"no benchmark sets at {root} (set NEWSCLEAN_BENCH_ROOT)")
    for name in SETS:
        for path in sorted((root / name / "html").glob("*.html.gz")):
            if limit is not None and tally.tried >= limit:
                return tally
            clean = gzip.decompress(path.read_bytes())
            if not utf8_page(clean):
                continue
            expected = published_text(clean, str(path))
            if expected is None or (stray := with_stray_byte(clean, expected)) is None:
                continue
            tally.tried += 1
            got = published_text(stray, str(path))
            page = f"{name}/{path.name}"
            if got is not None and got.replace(REPLACEMENT, "") == expected:
                tally.equal += 1
            elif got is None or set(got) - set(expected) - {REPLACEMENT}:
                tally.garbled += 1
                tally.garbled_pages.append(page)
            else:
                tally.other += 1
                tally.other_pages.append(page)
    return tally


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="pages tried at most")
    parser.add_argument("--json", type=Path, default=None, help="write the tally here")
    args = parser.parse_args(argv)
    tally = run(args.limit)
    print(f"pages tried: {tally.tried}")
    print(f"garbled:     {tally.garbled}")
    print(f"equal but for the stray byte: {tally.equal}")
    print(f"other (same characters, other paragraphs kept): {tally.other}")
    if tally.garbled_pages:
        print("garbled pages:", " ".join(tally.garbled_pages[:20]))
    if tally.other_pages:
        print("other pages:", " ".join(tally.other_pages[:20]))
    if args.json:
        args.json.write_text(json.dumps(tally.__dict__, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
