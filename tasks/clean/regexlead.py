"""What every match of a regular expression must start with, read off its parsed form.

The rule catalogue (``tasks.clean.rules``) runs ~20 anchored patterns over every paragraph of a
page,
and ``re`` spends ~0.3 µs on each attempt even when the first word already rules it out. From
the parse tree of each pattern this module derives *lead strings*: the lower-cased ASCII
prefixes (up to a given length) that every match starting at position 0 begins with, so a
dictionary lookup on a paragraph's first characters names the few rules worth trying.

The derivation only ever widens (soundness over precision): a construct it does not model
ends the prefix there (any character may follow), character classes are expanded with
``re.IGNORECASE`` whether or not the pattern has it, and look-arounds are ignored. Texts
whose first characters are not all ASCII are out of scope (callers test them another way),
which is what lets classes and literals be reduced to their ASCII members.
"""

from __future__ import annotations

import re

# The parse tree is CPython's private API (no public one exposes it) and has no type stubs;
# tests/clean/test_regexlead.py checks the derivation against real matches on every rule.
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, TypeAlias

# One node of the parse tree: (opcode, argument), both of types private to `re`.
_Node: TypeAlias = tuple[Any, Any]

_ASCII = tuple(map(chr, range(128)))
# A class with more ASCII members than this ends the prefix (keeps the string sets small).
MAX_CLASS = 64
_CATEGORY = {
    sre.CATEGORY_DIGIT: r"\d",
    sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S",
    sre.CATEGORY_WORD: r"\w",
    sre.CATEGORY_NOT_WORD: r"\W",
}
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)

# A state of the walk: the lower-cased characters consumed so far and how it may go on.
_OPEN, _CLOSED, _WHOLE = 0, 1, 2  # still extending / anything may follow / the text ends here


def _ascii_members(source: str) -> tuple[str, ...]:
    """The lower-cased ASCII characters the one-character pattern ``source`` matches under
    ``re.IGNORECASE`` (a superset of what it matches without: 'ſ' or 'K' also match 's', 'k')."""
    pattern = re.compile(source, re.IGNORECASE)
    return tuple(sorted({c.lower() for c in _ASCII if pattern.fullmatch(c)}))


def _class_source(items: list[_Node]) -> str:
    parts: list[str] = []
    for op, av in items:
        if op is sre.NEGATE:
            parts.insert(0, "^")
        elif op is sre.LITERAL:
            parts.append(re.escape(chr(av)))
        elif op is sre.RANGE:
            parts.append(f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}")
        elif op is sre.CATEGORY:
            parts.append(_CATEGORY[av])
        else:  # pragma: no cover - the parser puts nothing else in a class
            raise ValueError(f"unexpected class item {op}")
    return f"[{''.join(parts)}]"


def _walk(items: list[_Node], states: set[tuple[str, int]], length: int) -> set[tuple[str, int]]:
    """Advance every open state over the sequence ``items``; closed states stay as they are."""
    for op, av in items:
        live = [s for s, how in states if how == _OPEN]
        if not live:
            break
        done = {state for state in states if state[1] != _OPEN}
        if op is sre.LITERAL or op is sre.IN:
            chars = _ascii_members(re.escape(chr(av)) if op is sre.LITERAL else _class_source(av))
            if len(chars) > MAX_CLASS:
                new = {(s, _CLOSED) for s in live}
            else:  # no ASCII member: an ASCII text cannot go this way
                new = {
                    (s + c, _OPEN if len(s) + 1 < length else _CLOSED) for s in live for c in chars
                }
        elif op is sre.AT:
            # '$' (no MULTILINE in these patterns) and '\Z': the text ends here, or one '\n'
            # follows; '^', '\b' and the like consume nothing and are ignored.
            ends = av in (sre.AT_END, sre.AT_END_STRING)
            new = {(s, _WHOLE if ends else _OPEN) for s in live}
        elif op is sre.BRANCH:
            new = set()
            for alternative in av[1]:
                new |= _walk(list(alternative), {(s, _OPEN) for s in live}, length)
        elif op is sre.SUBPATTERN:
            if av[1] & re.MULTILINE:
                raise ValueError("MULTILINE groups are not modelled")
            new = _walk(list(av[3]), {(s, _OPEN) for s in live}, length)
        elif op is sre.ATOMIC_GROUP:
            new = _walk(list(av), {(s, _OPEN) for s in live}, length)
        elif op in _REPEATS:
            low, high, sub = av
            # Zero times: go on as before; once or more: the first time, then anything.
            once = _walk(list(sub), {(s, _OPEN) for s in live}, length)
            if high != 1:
                once = {(s, _CLOSED if how == _OPEN else how) for s, how in once}
            new = once | ({(s, _OPEN) for s in live} if low == 0 else set())
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            new = {(s, _OPEN) for s in live}  # a look-around consumes nothing
        else:  # '.', negated literals, back-references...: anything may follow
            new = {(s, _CLOSED) for s in live}
        states = done | new
    return states


def lead_strings(pattern: re.Pattern[str], length: int) -> tuple[frozenset[str], frozenset[str]]:
    """``(prefixes, wholes)`` for ``pattern.match`` on an ASCII text: if it matches, the text
    lower-cased either starts with one of ``prefixes`` or is one of ``wholes`` (a newline may
    follow, as '$' allows). Strings are at most ``length`` characters; an empty prefix means
    the pattern can start with anything.
    """
    if pattern.flags & re.MULTILINE:
        raise ValueError("MULTILINE patterns are not modelled")
    parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    states = _walk(list(parsed), {("", _OPEN)}, length)
    prefixes = frozenset(s for s, how in states if how != _WHOLE)
    wholes = frozenset(s for s, how in states if how == _WHOLE)
    return prefixes, wholes


def required_marks(pattern: re.Pattern[str]) -> str:
    """Punctuation characters (no case, so ``re.IGNORECASE`` cannot widen them) that every
    match of ``pattern`` contains: the literals of its top-level sequence."""
    parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    marks = (
        chr(av)
        for op, av in parsed
        if op is sre.LITERAL and chr(av).isascii() and not chr(av).isalnum()
    )
    return "".join(dict.fromkeys(marks))
