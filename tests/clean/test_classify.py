"""classify: the order of decisions, link-list runs, the title, metadata from removed lines."""

from __future__ import annotations

from tasks.clean.classify import classify, classify_columns
from tasks.clean.paragraphs import ParagraphSpan, split_lines, split_paragraphs


def _labels(text: str, **kwargs) -> list[tuple[str, str, str]]:
    result = classify(split_paragraphs(text), whole_page=False, **kwargs)
    return [(p.text, p.label, p.reason) for p in result.paragraphs]


def test_runs_of_two_or_more_bulleted_headlines_are_link_lists():
    text = "\n\n".join(
        [
            "Markets rally on rate hopes",
            "- Oil slips as supply returns",
            "- Gold steady ahead of data",
            "The central bank left rates unchanged on Tuesday.",
            "- A lone bulleted line",
            "The bank's governor spoke to reporters afterwards.",
            "1. Steps to take",
            "2) Another numbered item",
            "- This item ends a sentence.",
            "- So the run before it had two",
        ]
    )
    got = {t: (label, reason) for t, label, reason in _labels(text, link_lists=True)}
    assert got["- Oil slips as supply returns"] == ("promo", "related_link_list")
    assert got["- Gold steady ahead of data"] == ("promo", "related_link_list")
    assert got["- A lone bulleted line"][1] != "related_link_list"  # prose breaks the run
    assert got["1. Steps to take"] == ("promo", "related_link_list")
    assert got["2) Another numbered item"] == ("promo", "related_link_list")
    assert got["- This item ends a sentence."][1] != "related_link_list"
    assert got["- So the run before it had two"][1] != "related_link_list"


def test_link_lists_are_off_for_extractor_output():
    text = "- Oil slips as supply returns\n\n- Gold steady ahead of data"
    assert all(reason != "related_link_list" for _, _, reason in _labels(text, link_lists=False))


def test_a_rule_claimed_line_breaks_a_link_list_run():
    text = "- Oil slips as supply returns\n\nADVERTISEMENT\n\n- Gold steady ahead of data"
    labels = _labels(text, link_lists=True, known_title="Markets")
    assert [label for _, label, _ in labels] == ["body", "ad", "body"]


def test_title_is_the_first_headline_shaped_open_paragraph():
    text = "By Jane Roe\n\nMinisters agree on new budget rules\n\nThe talks ended late on Monday."
    result = classify(split_paragraphs(text), whole_page=False)
    assert result.title == "Ministers agree on new budget rules"
    assert [(p.label, p.reason) for p in result.paragraphs] == [
        ("byline", "byline"),
        ("title", "title_first_headline"),
        ("body", "article_text"),
    ]
    assert result.authors == ["Jane Roe"]


def test_metadata_title_is_matched_case_and_space_insensitively():
    text = "Site menu\n\nMINISTERS  agree on new budget rules\n\nThe talks ended late."
    result = classify(split_paragraphs(text), whole_page=False, known_title="Ministers agree on")
    assert result.title == "Ministers agree on"
    assert all(p.label != "title" for p in result.paragraphs)
    result = classify(
        split_paragraphs(text), whole_page=False, known_title="ministers agree on new budget rules"
    )
    assert [p.reason for p in result.paragraphs][1] == "title_metadata"


def test_datelines_of_body_paragraphs_become_credits():
    text = "LONDON (Reuters) - Shares fell on Monday.\n\nWith reporting by AP and Jane Roe"
    result = classify(split_paragraphs(text), whole_page=False)
    assert result.credits == ["AP", "Jane Roe", "Reuters"]
    assert [p.label for p in result.paragraphs] == ["body", "byline"]


def test_columns_and_spans_give_the_same_paragraphs():
    text = (
        "Intro line.\n\n"
        "The minister said on Monday that the talks\n"
        "would resume next week, adding that both sides\n"
        "had agreed to a ceasefire in the meantime.\n\n"
        "ADVERTISEMENT\n\n"
        "Next paragraph here."
    )
    spans = split_paragraphs(text)
    by_spans = classify(spans)
    by_columns = classify_columns(*split_lines(text))
    assert by_spans == by_columns
    assert [(p.position, p.line_start, p.line_end) for p in by_columns.paragraphs] == [
        (i, s.line_start, s.line_end) for i, s in enumerate(spans)
    ]
    assert [p.label for p in by_columns.paragraphs][2] == "ad"


def test_empty_input_gives_no_paragraphs():
    assert classify([]).paragraphs == []
    assert classify([ParagraphSpan("Just one line of text here.", 1, 1)]).paragraphs[0].kept


def test_what_chrome_headings_open_goes_with_them():
    article = "The council voted on Tuesday to rebuild the pier after the storms."
    text = "\n\n".join(
        [
            article,
            "Related Articles:",
            "- Ferry timetable changes for the winter",
            "- New lighthouse keeper appointed",
            "About the Author",
            "Jane Marlow has covered the harbour for the Gazette since 2009.",
            "Peter Hale says:",
            "January 5, 2024 at 3:12 pm",
            "About time they fixed that pier, it was falling apart.",
            "Reply",
        ]
    )
    got = [(label, reason) for _, label, reason in _labels(text)]
    assert got == [
        ("body", "article_text"),
        ("promo", "related_heading"),
        ("promo", "related_list"),
        ("promo", "related_list"),
        ("byline", "author_heading"),
        ("boilerplate", "author_bio"),
        ("boilerplate", "comment_header"),
        ("boilerplate", "comment_section"),
        ("boilerplate", "comment_section"),
        ("boilerplate", "comment_section"),
    ]


def test_a_says_line_without_a_timestamp_opens_no_comment_section():
    text = "\n\n".join(["The mayor says:", "The pier will reopen in May after the repairs."])
    assert _labels(text)[1][1] == "body"
