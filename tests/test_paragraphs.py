from __future__ import annotations

import random
from itertools import pairwise

import pytest

from tasks.paragraphs import (
    _is_hard_wrapped,
    _is_normalised,
    normalize_whitespace,
    split_lines,
    split_paragraphs,
)

from .conftest import SEEDS


def test_blank_line_blocks_of_single_lines_are_paragraphs():
    spans = split_paragraphs("First line.\n\nSecond one.\n\n\nThird.")
    assert [(s.text, s.line_start, s.line_end) for s in spans] == [
        ("First line.", 1, 1),
        ("Second one.", 3, 3),
        ("Third.", 6, 6),
    ]


def test_lines_without_blank_lines_are_one_paragraph_each():
    text = "A headline here\nFirst sentence of the story.\n- a list item\n- another item"
    assert [s.text for s in split_paragraphs(text)] == text.split("\n")


def test_hard_wrapped_block_is_joined_into_one_paragraph():
    text = (
        "Intro line.\n\n"
        "The minister said on Monday that the talks\n"
        "would resume next week, adding that both sides\n"
        "had agreed to a ceasefire in the meantime.\n\n"
        "Next paragraph."
    )
    spans = split_paragraphs(text)
    assert len(spans) == 3
    assert spans[1].text == (
        "The minister said on Monday that the talks would resume next week, adding that "
        "both sides had agreed to a ceasefire in the meantime."
    )
    assert (spans[1].line_start, spans[1].line_end) == (3, 5)


def test_block_of_independent_lines_is_not_joined():
    text = "Advertisement\nA Headline Of Another Story\nIn this photo a man walks by"
    assert len(split_paragraphs(text)) == 3


def test_whitespace_is_normalised_and_blank_paragraphs_dropped():
    assert normalize_whitespace("  a\u00a0 b\t c  ") == "a b c"
    assert split_paragraphs("\n \n\u00a0\n") == []
    assert [s.text for s in split_paragraphs("x\r\n\r\ny")] == ["x", "y"]


def test_seed_004_hard_wrapped_body_spans_lines_5_to_35():
    spans = split_paragraphs((SEEDS / "004_690d2bf8d7e80f92.txt").read_text(encoding="utf-8"))
    body = [s for s in spans if s.line_start == 5]
    assert len(body) == 1 and body[0].line_end == 35


def test_every_gold_paragraph_is_a_split_paragraph(gold):
    by_file: dict[str, set[tuple[int, int, str]]] = {}
    for entry in gold:
        by_file.setdefault(entry["file"], set()).add((*entry["lines"], entry["text"]))
    for name, expected in by_file.items():
        spans = split_paragraphs((SEEDS / name).read_text(encoding="utf-8"))
        assert {(s.line_start, s.line_end, s.text) for s in spans} == expected, name


def test_line_of_only_closing_quotes_does_not_end_a_sentence():
    spans = split_paragraphs("the talks\n”\nwould resume")
    assert [(s.text, s.line_start, s.line_end) for s in spans] == [
        ("the talks ” would resume", 1, 3)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Plain line\n\nSecond line",
        "Double  space\n\nok",
        "Trailing space \nnext",
        " leading space",
        "tab\there",
        "no-break\u00a0space",
        "ideographic\u3000space\n\nline separator\u2028inside",
        "ends with a space ",
    ],
)
def test_fast_path_equals_normalising_every_line(text: str):
    """Already-normalised text skips the per-line normalising; others must not."""
    expected = [normalize_whitespace(line) for line in text.split("\n")]
    got = [span.text for span in split_paragraphs(text)]
    assert got == [line for line in expected if line]


OTHER_SPACE = frozenset(c for c in map(chr, range(0x3001)) if c.isspace() and c not in " \n")


def _normalised_by_searching(text: str) -> bool:
    """The check ``_is_normalised`` replaces: substring searches and a regex."""
    return not (
        "  " in text
        or " \n" in text
        or "\n " in text
        or text[:1] == " "
        or text[-1:] == " "
        or any(c in OTHER_SPACE for c in text)
    )


def test_is_normalised_equals_searching_on_random_texts():
    """Random texts over spaces, line feeds, other whitespace, astral characters and lone
    surrogates (two UTF-16 units, or one unpaired): the table lookup answers the same."""
    rng = random.Random(7)
    alphabet = [" ", " ", "\n", "a", "b", "é", "\t", "\xa0", "\u3000", "\u2028", "𝐀", "\ud800"]
    agree = normalised = 0
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        expected = _normalised_by_searching(text)
        assert _is_normalised(text) == expected, repr(text)
        agree += 1
        normalised += expected
    assert 100 < normalised < agree - 100  # both answers are exercised


def test_split_lines_are_the_columns_of_split_paragraphs():
    text = (SEEDS / "004_690d2bf8d7e80f92.txt").read_text(encoding="utf-8")
    wrapped = "Intro.\n\nThe talks\nwould resume next week\nafter a pause.\n\nEnd."
    for page in (text, wrapped, "", "one line"):
        spans = split_paragraphs(page)
        assert split_lines(page) == (
            [s.text for s in spans],
            [s.line_start for s in spans],
            [s.line_end for s in spans],
        )
    assert split_lines(wrapped)[1:] == ([1, 3, 7], [1, 5, 7])


def test_hard_wrap_count_equals_the_pairwise_rule_on_random_blocks():
    """``_is_hard_wrapped`` counts with chained maps what this generator counted."""
    rng = random.Random(11)
    words = ["the talks", "Next", "said.", "it”", "(and", "2024", "end!)", "”", "“quoted", "-x"]
    decided = set()
    for _ in range(2000):
        lines = [" ".join(rng.sample(words, rng.randint(1, 3))) for _ in range(rng.randint(3, 6))]
        mid = sum(
            line.rstrip("\"'”’)]")[-1:] not in _ENDS and nxt[0] in _CONTINUES
            for line, nxt in pairwise(lines)
        )
        expected = mid / (len(lines) - 1) >= 0.5
        assert _is_hard_wrapped(lines) == expected, lines
        decided.add(expected)
    assert decided == {True, False}


_ENDS = frozenset(".!?:;…")
_CONTINUES = frozenset("abcdefghijklmnopqrstuvwxyz0123456789(“‘\"'%$€£-")
