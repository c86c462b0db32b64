"""The rule catalogue on invented examples of each kind of chrome, and on prose it must spare."""

from __future__ import annotations

import random
import re

import pytest

from tasks.clean.rules import (
    _FOLDED,
    _TAIL_KEYS,
    BULLET,
    RULES,
    dateline_credit,
    match_rule,
    match_rules,
    split_names,
)
from tests.regex_samples import sample


@pytest.mark.parametrize(
    ("text", "rule", "label"),
    [
        ("ADVERTISEMENT", "ad_marker", "ad"),
        ("Story continues below advertisement", "ad_marker", "ad"),
        ("{{ article.date }}", "template_residue", "boilerplate"),
        ("Published:", "empty_date_label", "boilerplate"),
        ("Share on Facebook | Twitter | Email", "share_widget", "boilerplate"),
        ("Tags: politics, economy, elections", "tag_list", "boilerplate"),
        ("Leave a comment", "comment_form", "boilerplate"),
        ("Copyright © 2024 Example Media Group", "copyright_line", "boilerplate"),
        ("The Associated Press", "wire_credit", "byline"),
        ("Source: Agence France-Presse", "source_credit", "byline"),
        ("Additional reporting by Reuters and AFP", "reporting_credit", "byline"),
        ("About Jane Q. Public", "author_box", "byline"),
        ("By Maria Lopez and Tom Baker", "byline", "byline"),
        ("Protesters gather outside parliament. (AP Photo/John Smith)", "photo_caption", "caption"),
        ("In this file photo, the senator speaks to reporters.", "photo_caption", "caption"),
        ("Head to our home page for the latest headlines", "homepage_promo", "promo"),
        ("READ MORE: Ten things to know about the vote", "watch_promo", "promo"),
        ("» Markets tumble as oil prices jump", "link_arrow", "promo"),
        ("Election 2024:Who is ahead in the polls", "inline_related_link", "promo"),
        ("Sign up for our morning briefing newsletter", "newsletter_promo", "promo"),
        ("Follow us on Twitter for breaking news", "app_or_follow_promo", "promo"),
        ("Related Articles:", "related_heading", "promo"),
        ("You Might Also Like:", "related_heading", "promo"),
        ("Das könnte Sie auch interessieren", "related_heading", "promo"),
        ("À lire aussi", "related_heading", "promo"),
        ("About the Author", "author_heading", "byline"),
        ("Peter Hale says:", "comment_header", "boilerplate"),
        ("Peter Hale says: January 5, 2024 at 3:12 pm", "comment_header", "boilerplate"),
    ],
)
def test_rule_matches_its_kind_of_chrome(text: str, rule: str, label: str):
    found = match_rule(text)
    assert found is not None, text
    assert (found[0].name, found[0].label) == (rule, label)


@pytest.mark.parametrize(
    "text",
    [
        "The minister said the talks would resume next week.",
        "By Monday, officials had left the capital.",
        "Sources close to the negotiations declined to comment on the plan.",
        "About Us",
        "Share prices rose 3% on the news, the exchange said in a statement today.",
        "He urged residents to stay indoors: the storm is expected to worsen overnight.",
        "WASHINGTON (AP) — Lawmakers returned to the capital on Tuesday.",
        "Tagged animals were released back into the wild after the study.",
        "Missiles hit bases housing US forces, Iran says",
        "The mayor says",
    ],
)
def test_rules_spare_article_prose(text: str):
    assert match_rule(text) is None


def test_every_rule_has_a_name_label_and_description():
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    for rule in RULES:
        assert rule.label in {"ad", "byline", "promo", "caption", "boilerplate"}
        assert rule.description


def test_credit_rules_carry_names_as_metadata():
    rule, match = match_rule("With reporting by AP, Reuters, dpa, and AFP")
    assert rule.credits(match) == ["AP", "Reuters", "dpa", "AFP"]
    rule, match = match_rule("By Maria Lopez and Tom Baker")
    assert rule.authors(match) == ["Maria Lopez", "Tom Baker"]


def test_split_names_drops_roles_and_locations():
    assert split_names("Jane Roe in Paris; Editing by John Doe") == ["Jane Roe", "John Doe"]


def test_dateline_credit_is_normalised_to_catalogue_spelling():
    assert dateline_credit("LONDON (reuters) - Shares fell.") == "Reuters"
    assert dateline_credit("LONDON - Shares fell.") is None
    # The longest place the pattern allows (40 characters after the capital) still counts.
    assert dateline_credit("L" + "o" * 40 + "(AP) - Shares fell.") == "AP"
    assert dateline_credit("L" + "o" * 41 + "(AP) - Shares fell.") is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ADVERTISEMENT",
        "The Associated Press",
        "Protesters gather outside parliament. (AP Photo/John Smith)",
        "Crowds at the rally, as seen from above " + "x" * 300 + " (Reuters)",
        "A view of the harbour at dawn. Photograph: Getty Images",
        "Sponsored by Acme. All rights reserved.",
        "Get our free morning briefing in your inbox",
        "ALL RIGHTſ RESERVED",  # re.I matches 'ſ' to 's'
        "Pictures: İSTOCK",  # and 'İ' to 'i'
        "In this photo, crowds gather (AP Photo/Jane Doe)",  # head and tail alternatives
        "Houses by the river at dawn (Reuters)",  # tail alternative of a first-admitted rule
        "Copyright notice follows. All rights reserved.",
        "Politics:Parliament votes on the budget today",  # possessive repeat before ':'
        "Politics and more, with extra words here: Parliament",
        "The minister said the talks would resume next week.",
    ],
)
def test_match_rule_equals_trying_every_rule_in_order(text: str):
    """The lead-string and tail-keyword shortcuts only skip rules that cannot match."""
    found = match_rule(text)
    assert (found and found[0].name) == _first_rule(text)


def _first_rule(text: str) -> str | None:
    """What ``match_rule`` means: the first rule in catalogue order that matches."""
    return next(
        (rule.name for rule in RULES if len(text) <= rule.max_chars and rule.pattern.match(text)),
        None,
    )


_BY_NAME = {rule.name: rule for rule in RULES}
PROSE = (
    "The minister said the talks would resume next week.",
    "Shares fell 3% (Reuters)",
    "Photo",
    "",
    "About",
)


@pytest.mark.slow
@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_match_rules_equals_trying_every_rule_on_generated_pages(rule):
    """Pages of random strings along each rule (whole pattern and head; random case, letters
    re.I folds to ASCII, words before and after, long repeats) mixed with prose: every
    paragraph gets the rule of trying the catalogue in order, with the same match."""
    rng = random.Random(rule.name)
    patterns = [rule.pattern, *([rule.head] if rule.head else [])]
    matched = 0
    for _ in range(40):
        page = []
        for _ in range(12):
            text = sample(rng.choice(patterns), rng)
            roll = rng.random()
            if roll < 0.15:
                text = rng.choice(PROSE) + " " + text
            elif roll < 0.3:
                text = text + rng.choice((" end", ".", "\n", " " + "x" * rng.randint(1, 600)))
            page.append(text)
            if rng.random() < 0.3:
                page.append(rng.choice(PROSE))
        found = match_rules(page)
        for index, text in enumerate(page):
            expected = _first_rule(text)
            matched += expected == rule.name
            got = found.get(index)
            assert (got and got[0].name) == expected, text
            if got:
                assert got[1].group(0) == _BY_NAME[expected].pattern.match(text).group(0)
    assert matched >= 20, matched  # the samples do exercise the rule


def test_match_rules_on_paragraphs_with_line_breaks():
    """Texts holding a line break are screened one by one (the joined page would misplace
    them) and still get the same rules."""
    page = [
        "Houses at dawn\n(Reuters)",
        "ADVERTISEMENT",
        "Sign up\nfor our newsletter",
        "Politics:Parliament votes today",
        "x",
    ]
    for texts in (page, page[1:2] + page[3:]):  # with and without line breaks
        found = match_rules(texts)
        assert {i: f[0].name for i, f in found.items()} == {
            i: name for i, text in enumerate(texts) if (name := _first_rule(text))
        }
    assert match_rules(page)[3][0].name == "inline_related_link"
    assert match_rules(page[1:2] + page[3:])[1][0].name == "inline_related_link"


@pytest.mark.slow
def test_folded_letters_are_all_that_ignorecase_matches_to_ascii():
    """The tail-keyword search lower-cases bytes, so it must first fold the non-ASCII letters
    that re.I matches to an ASCII one; other non-ASCII characters become '?'."""
    ascii_class = re.compile("[\x00-\x7f]", re.I)
    folded = {chr(c) for c in range(128, 0x110000) if ascii_class.fullmatch(chr(c))}
    assert folded == set(_FOLDED)
    assert all(key.isascii() and "?" not in key and "\n" not in key for key in _TAIL_KEYS)


def test_share_widget_does_not_backtrack_over_digit_runs():
    """'\\d+' inside the repeated word group split a run of digits every possible way (2**n
    tries: ~1 s at 22 digits); the possessive repeat takes the run whole, same matches."""
    assert match_rule("1" * 200) is not None
    assert match_rule("1" * 80 + ".") is None
    assert match_rule("Share 12 | Tweet 345") is not None


def test_length_limits_do_not_cut_possible_matches():
    for rule in RULES:
        longest = re._parser.parse(rule.pattern.pattern, rule.pattern.flags).getwidth()[1]
        assert rule.max_chars >= min(longest + 1, 200), rule.name


def test_bullet_matches_bullets_and_short_numbers_only():
    assert BULLET.match("• item") and BULLET.match("12) item") and BULLET.match("3. item")
    assert not BULLET.match("123. item") and not BULLET.match("•item") and not BULLET.match("a")
