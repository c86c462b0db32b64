"""Random strings shaped by a regular expression, for property tests of regex screens.

Walks the parse tree and picks a random way through it: alternatives, repeat counts, class
members and, for letters, a random case or one of the non-ASCII letters ``re.IGNORECASE``
folds to ASCII ('ſ', 'ı', 'İ', the Kelvin sign). Not every sample matches (word boundaries,
case-sensitive parts, look-arounds are not honoured): callers filter with the pattern.
"""

from __future__ import annotations

import random
import re
from functools import cache
from re import _constants as sre
from re import _parser as sre_parse

from tasks.clean.regexlead import _class_source

ALPHABET = (
    [chr(i) for i in range(32, 127)]
    + list("\t\n\xa0©»«’‘“”—–•·éÉüÜßçİıſ\u212a▶→⟶■►漢")
    + list("aeiost ")  # common letters and spaces more often
)
_FOLDS = {"s": "ſ", "i": "ıİ", "k": "\u212a"}


@cache
def _members(source: str, flags: int) -> tuple[str, ...]:
    pattern = re.compile(source, flags)
    return tuple(c for c in ALPHABET if pattern.fullmatch(c))


def _letter(char: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return char.swapcase()
    if roll < 0.35 and char.lower() in _FOLDS:
        return rng.choice(_FOLDS[char.lower()])
    return char


def _emit(items: list, flags: int, rng: random.Random, out: list[str]) -> None:
    for op, av in items:
        if op is sre.LITERAL:
            out.append(_letter(chr(av), rng))
        elif op is sre.NOT_LITERAL:
            out.append(rng.choice([c for c in ALPHABET if c != chr(av)]))
        elif op is sre.IN:
            members = _members(_class_source(av), flags & re.IGNORECASE)
            out.append(_letter(rng.choice(members), rng) if members else "?")
        elif op is sre.ANY:
            out.append(rng.choice([c for c in ALPHABET if c != "\n"]))
        elif op is sre.BRANCH:
            _emit(list(rng.choice(av[1])), flags, rng, out)
        elif op is sre.SUBPATTERN:
            _emit(list(av[3]), (flags | av[1]) & ~av[2], rng, out)
        elif op is sre.ATOMIC_GROUP:
            _emit(list(av), flags, rng, out)
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, sub = av
            top = min(high, low + 3) if rng.random() < 0.8 else min(high, low + 40)
            for _ in range(rng.randint(low, top)):
                _emit(list(sub), flags, rng, out)
        # AT (anchors, word boundaries) and look-arounds emit nothing.


def sample(pattern: re.Pattern[str], rng: random.Random) -> str:
    """One random string along ``pattern``'s parse tree."""
    out: list[str] = []
    _emit(list(sre_parse.parse(pattern.pattern, pattern.flags)), pattern.flags, rng, out)
    return "".join(out)
