from __future__ import annotations

import random
import textwrap

import pytest

from tasks.clean.paragraphs import (
    _is_normalised,
    normalize_whitespace,
    split_lines,
    split_paragraphs,
)

from ..conftest import SEEDS


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


def test_line_ending_in_closing_quotes_does_not_end_a_sentence_unless_punctuated():
    text = (
        "He said the talks between the two sides would “resume”\n"
        "within a week, and that the ceasefire would hold until\n"
        "then, whatever the “hardliners” among the generals\n"
        "in both capitals say about it."
    )
    assert [(s.line_start, s.line_end) for s in split_paragraphs(text)] == [(1, 4)]


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
    wrapped = (
        "Intro.\n\nThe talks between the two delegations in Geneva\nwould resume next week "
        "after a pause of several days,\nthe ministry said on Monday.\n\nEnd."
    )
    for page in (text, wrapped, "", "one line"):
        spans = split_paragraphs(page)
        assert split_lines(page) == (
            [s.text for s in spans],
            [s.line_start for s in spans],
            [s.line_end for s in spans],
        )
    assert split_lines(wrapped)[1:] == ([1, 3, 7], [1, 5, 7])


# Paragraphs of a news story, wrapped below at several widths (issue #18: re-flow).
STORY = [
    "If you want to know what your competitor's CTO is listening to between meetings, "
    "you're in the right place.",
    "Here, in IT, we all love podcasts.",
    "Table of Contents",
    "The minister said on Monday that the talks would resume next week, adding that both "
    "sides had agreed to a ceasefire in the meantime. Officials in both capitals declined to "
    "comment on the details of the agreement.",
    "- Unlimited contacts and a shared inbox for the whole team",
    "- Reports",
    "| Interface | Bluetooth |",
    "| Battery | 30 hours |",
    "Critics said the plan was too little, too late: prices have risen for months and the "
    "central bank has yet to act.",
]


@pytest.mark.parametrize("width", [50, 72, 100])
@pytest.mark.parametrize("separator", ["\n\n", "\n"])
def test_wrapped_paragraphs_are_joined_and_structure_kept(width: int, separator: str):
    """Every wrapped paragraph, two lines or more, is one paragraph again, in blank-line
    separated and in one-paragraph-per-line texts; headings, list items and table rows stay
    apart. The old rule split two-line paragraphs and joined whole one-per-line texts."""
    text = separator.join("\n".join(textwrap.wrap(p, width)) for p in STORY)
    assert [s.text for s in split_paragraphs(text)] == STORY


def test_two_line_wrapped_paragraph_alone_is_joined():
    text = (
        "Title\n\nIf you want to know what your competitor's CTO is listening to between\n"
        "meetings, you're in the right place.\n\nHere, in IT, we all love podcasts."
    )
    assert [s.text for s in split_paragraphs(text)] == ["Title", *STORY[:2]]


def test_verse_and_addresses_are_not_joined():
    verse = "so much depends\nupon\na red wheel\nbarrow\nglazed with rain\nwater"
    address = "Newsroom\n12 High Street\nmanchester M1 1AA\nUnited Kingdom"
    for text in (verse, address):
        assert len(split_paragraphs(text)) == len(text.split("\n"))


def test_unwrapped_lines_of_similar_length_are_not_taken_for_a_wrap():
    """A list of similar lines, no markers: no wrap width explains it (capitalised starts)."""
    lines = [
        "Haier US Appliance Solutions, Inc., Louisville, KY, 6,000",
        "Whirlpool Corp., Clyde Opers., Clyde, OH, 3,500 employees",
        "Electrolux Major Appliances, Springfield, TN, 2,800 staff",
        "Samsung Electronics Home Appliances, Newberry, SC, 1,000",
    ]
    assert len(split_paragraphs("\n".join(lines))) == 4


# Short paragraphs one per line, wrapped at 50: the fourth one's last line (39 characters)
# is full by chance before "Nevertheless," (13), and ends a sentence before a capital.
SHORT_PARAGRAPHS = [
    "The council met on Tuesday evening to discuss the new budget for the town.",
    "Residents asked about the cost of repairing the old bridge over the river.",
    "Officials said the work would begin in spring and last for several months.",
    "Everyone agreed that the library should stay open on Sunday afternoons, and the pool too.",
    "Nevertheless, the vote on the budget itself was postponed until next week.",
    "The mayor thanked the volunteers who had organised the summer festival.",
]


def test_full_last_line_before_a_new_sentence_ends_the_paragraph_in_short_paragraphs():
    """A full break at a sentence end before a capital is a paragraph end when the text's own
    odds say so: short paragraphs (many ends, few wraps) and few sentence ends inside lines.
    The old rule joined every full break, so the fourth and fifth paragraphs became one."""
    text = "\n".join("\n".join(textwrap.wrap(p, 50)) for p in SHORT_PARAGRAPHS)
    assert [s.text for s in split_paragraphs(text)] == SHORT_PARAGRAPHS


HEADED = [
    "Retailers now change their prices several times a day, following demand, stock and what "
    "competitors charge for the same goods.",
    "Dynamic Pricing",
    "Models trained on past sales predict how many units will sell at each price and pick the "
    "one that earns the most over the week.",
]


@pytest.mark.parametrize("width", [50, 66, 100])
def test_heading_after_a_full_line_is_not_joined(width: int):
    """One paragraph per line, wrapped: at 64-68 columns the line before the heading is full
    by chance and the old rule joined the heading to it. A prose paragraph's last line ends a
    sentence; a line that ends none after one that does, starting with a capital, is a
    heading."""
    text = "\n".join("\n".join(textwrap.wrap(p, width)) for p in HEADED)
    assert [s.text for s in split_paragraphs(text)] == HEADED
