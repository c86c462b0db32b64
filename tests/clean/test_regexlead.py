"""Lead strings and required marks: exact on small patterns, and never missing a match."""

from __future__ import annotations

import random
import re

import pytest

from tasks.clean.regexlead import lead_strings, required_marks
from tasks.clean.rules import RULES
from tests.regex_samples import sample


def _admits(prefixes: frozenset[str], wholes: frozenset[str], text: str, length: int) -> bool:
    """What a caller does with lead strings: look at the first ``length`` characters."""
    low = text[:length].lower()
    whole = low in wholes or (low.endswith("\n") and low[:-1] in wholes)
    return whole or any(low.startswith(p) for p in prefixes)


@pytest.mark.parametrize(
    ("pattern", "prefixes", "wholes"),
    [
        (r"^(?:ab|cd)x", {"abx", "cdx"}, set()),
        (r"^a?bc", {"abc", "bc"}, set()),
        (r"^ad[.:]?$", set(), {"ad", "ad.", "ad:"}),
        (r"^(?:x|yz)+q", {"x", "yz"}, set()),  # after one repeat anything may follow
        (r"^abcdefgh", {"abcd"}, set()),  # cut at the length asked for
        (r"^a.b", {"a"}, set()),
        (r"^[A-C]x", {"ax", "bx", "cx"}, set()),
        (r"^[^x]y", {""}, set()),  # a class too large ends the prefix
        (r"^(?=foo)f", {"f"}, set()),  # look-arounds are ignored
        (r"^ſ", {"s"}, set()),  # re.I folds 'ſ' to 's', so an ASCII 's' matches
        (r"^©x", set(), set()),  # no ASCII text can match
    ],
)
def test_lead_strings_of_small_patterns(pattern: str, prefixes: set[str], wholes: set[str]):
    assert lead_strings(re.compile(pattern, re.I), 4) == (prefixes, wholes)


def test_multiline_patterns_are_refused():
    with pytest.raises(ValueError):
        lead_strings(re.compile(r"^a$", re.M), 4)


def test_required_marks_are_top_level_punctuation():
    assert required_marks(re.compile(r"^[A-Z]\w+:[A-Z].*$")) == ":"
    assert required_marks(re.compile(r"^a(?::|;)b")) == ""  # in a branch: not required
    assert required_marks(re.compile(r"^ab")) == ""  # letters have cases: never marks


SAMPLE_PATTERNS = [
    *(rule.pattern for rule in RULES),
    *(rule.head for rule in RULES if rule.head is not None),
    re.compile(r"^(?:the )?(?:x|yz){2,3}\s*(?:-|$)", re.I),
    re.compile(r"^(?i:by)\s+[A-Z][a-z]+(?: [A-Z][a-z]+)?$"),
]


@pytest.mark.parametrize("pattern", SAMPLE_PATTERNS, ids=lambda p: p.pattern[:30])
def test_every_match_of_a_sample_is_admitted(pattern: re.Pattern[str]):
    """Random strings along the pattern (random case, folded letters, longer repeats): every
    one the pattern matches, with an ASCII opening, starts with a lead string and holds the
    required marks."""
    rng = random.Random(pattern.pattern)
    prefixes, wholes = lead_strings(pattern, 6)
    marks = required_marks(pattern)
    matched = 0
    for _ in range(400):
        text = sample(pattern, rng) + rng.choice(("", "", "\n", " and more"))
        if not pattern.match(text):
            continue
        matched += 1
        assert all(mark in text for mark in marks), text
        if text[:6].isascii():
            assert _admits(prefixes, wholes, text, 6), text
    assert matched >= 10  # the samples do exercise the pattern
