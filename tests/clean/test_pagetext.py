"""Whole-page dump cleaning: article prose kept, site chrome dropped with a reason."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from tasks.clean.pagetext import (
    _STOP,
    _VOCABULARY,
    _WORD_CLASS,
    LOCAL_FEATURES,
    _HashTable,
    _paragraph_ids,
    _stop_flags,
    _url_flags,
    _window_means,
    _word_hashes,
    page_features,
    select_main_content,
    stop_words,
)
from tasks.clean.paragraphs import split_paragraphs
from tasks.reasons import (
    BOILERPLATE_PHRASE,
    MENU_RUN,
    OUTSIDE_MAIN_TEXT,
    SITE_REPEAT,
    Label,
    Reason,
)

ROOT = Path(__file__).resolve().parents[2]

MENU = """Skip to content
Home
News
World
Politics
Business
Technology
Science
Sport
Culture
Opinion
Search
Subscribe
Sign in"""

HEADLINE = "City council approves plan to rebuild the harbour bridge after years of delays"

BYLINE = "By Maria Jensen, Transport Correspondent"

ARTICLE = [
    "The city council voted on Tuesday to approve a long-delayed plan to rebuild the harbour "
    "bridge, ending a dispute that had stalled the project for almost a decade and left "
    "commuters facing lane closures on one of the region's busiest crossings.",
    "Under the plan, the existing steel structure will be replaced in stages over the next four "
    "years, with at least two lanes kept open in each direction while the work is carried out. "
    "The council said the first contracts would be signed before the end of the year.",
    "Engineers warned in a report published last spring that corrosion in the main supports had "
    "advanced faster than expected, and that without major repairs the bridge would have to be "
    "closed to heavy lorries within three years.",
    "Critics of the scheme argued that the cost, estimated at 420 million, was too high and that "
    "the money would be better spent on public transport. Several councillors said they had "
    "voted in favour only because the alternative was a full closure.",
    "The mayor said the decision was a relief for the thousands of people who cross the bridge "
    "every day. “We have talked about this for too long, and now we can finally get on with it,” "
    "she told reporters after the vote.",
    "Work on the northern approach is expected to begin in the spring, once the council has "
    "agreed a traffic plan with the regional transport authority and local businesses.",
]

NEWSLETTER = [
    "Sign up to our morning newsletter",
    "Get the day's top stories delivered to your inbox every morning. You can unsubscribe at "
    "any time.",
    "Enter your email address",
    "Subscribe",
]

MOST_READ = [
    "Most read",
    "Police appeal for witnesses after crash on ring road",
    "New ferry timetable announced for summer season",
    "Local bakery wins national award for sourdough",
    "School closures expected as storm approaches coast",
    "Football club confirms signing of young striker",
]

COOKIE = (
    "We use cookies to improve your experience on our site and to show you personalised "
    "advertising. By continuing to browse you agree to our use of cookies. Accept all cookies"
)

FOOTER = [
    "About us",
    "Contact",
    "Careers",
    "Advertise with us",
    "Privacy policy",
    "Terms of use",
    "Cookie settings",
    "© 2024 Harbour City Media Ltd. All rights reserved.",
]


def _page() -> list[str]:
    return [
        *MENU.split("\n"),
        HEADLINE,
        BYLINE,
        "12 March 2024",
        *ARTICLE[:3],
        *NEWSLETTER,
        *ARTICLE[3:],
        "Share this article",
        *MOST_READ,
        COOKIE,
        *FOOTER,
    ]


def _reasons() -> dict[str, Reason | None]:
    page = _page()
    reasons = select_main_content(page)
    assert len(reasons) == len(page)
    return dict(zip(page, reasons, strict=True))


def test_article_prose_and_headline_are_kept() -> None:
    reasons = _reasons()
    for paragraph in [HEADLINE, *ARTICLE]:
        assert reasons[paragraph] is None, paragraph


def _reasons_of_run(run: list[str]) -> list[Reason | None]:
    """The reasons given to the paragraphs of ``run``, found by position in the page."""
    page = _page()
    reasons = select_main_content(page)
    starts = [i for i in range(len(page)) if page[i : i + len(run)] == run]
    assert len(starts) == 1, run
    return reasons[starts[0] : starts[0] + len(run)]


@pytest.mark.parametrize(
    ("chrome", "expected"),
    [
        pytest.param(MENU.split("\n"), [MENU_RUN] * 14, id="menu"),
        pytest.param(NEWSLETTER, [BOILERPLATE_PHRASE] * 4, id="newsletter"),
        pytest.param(MOST_READ, [OUTSIDE_MAIN_TEXT] * 6, id="most_read"),
        pytest.param([COOKIE], [OUTSIDE_MAIN_TEXT], id="cookie_notice"),
        pytest.param(FOOTER, [MENU_RUN] * 7 + [OUTSIDE_MAIN_TEXT], id="footer"),
    ],
)
def test_chrome_is_dropped_with_its_reason(chrome: list[str], expected: list[Reason]) -> None:
    # A run of short lines is a menu; widget vocabulary next to dropped lines is boilerplate;
    # what lies before or after the article's prose and is neither is outside the main text.
    assert _reasons_of_run(chrome) == expected
    assert {reason.label for reason in expected} == {Label.BOILERPLATE}


def test_site_repeats_are_dropped_but_not_a_whole_duplicate_page() -> None:
    page = _page()
    boilerplate = ARTICLE[-1]  # pretend this paragraph appears on every page of the site
    reasons = select_main_content(page, site_repeats={boilerplate, "Home", "News"})
    assert reasons[page.index(boilerplate)] == SITE_REPEAT
    assert reasons[page.index(ARTICLE[0])] is None
    # The same article seen twice (e.g. two URLs): repeats are the article, not chrome.
    everything = select_main_content(page, site_repeats=set(page))
    assert all(everything[page.index(p)] is None for p in ARTICLE)


def test_deterministic_and_edge_cases() -> None:
    page = _page()
    assert select_main_content(page) == select_main_content(list(page))
    assert select_main_content([]) == []
    single = select_main_content([ARTICLE[0]])
    assert single == [None]


def test_seed_titles_and_body_are_never_dropped() -> None:
    gold = defaultdict(dict)
    with open(ROOT / "tests" / "data" / "seeds_gold.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            gold[row["file"]][tuple(row["lines"])] = row["label"]
    assert len(gold) == 5
    for name, labels in gold.items():
        spans = split_paragraphs((ROOT / "seeds" / name).read_text(encoding="utf-8"))
        reasons = select_main_content([span.text for span in spans])
        for span, reason in zip(spans, reasons, strict=True):
            label = labels.get((span.line_start, span.line_end))
            if label in {"title", "body"}:
                assert reason is None, (name, span.line_start, label, reason, span.text[:60])


def test_url_flags_equal_the_regex_they_replace():
    paragraphs = [
        "Write to jane@example.org",
        "See https://example.com/a and http:// too",
        "https is a protocol; www is short for the web",
        "Visit www.example.org today",
        "Shop at example.com",
        "example.com's founder",
        "example.commerce and example.com_x",
        "http",
        "",
    ]
    pattern = re.compile(r"@|https?:|www\.|\.com\b")
    page = "\n".join(paragraphs) + "\n"
    lengths = np.array([len(p) for p in paragraphs])
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    expected = [float(bool(pattern.search(p))) for p in paragraphs]
    assert _url_flags(page, starts, len(paragraphs)).tolist() == expected


def test_word_classes_by_hash_equal_the_dictionary_lookup():
    """Words are classified by a hash of their lower-cased characters, not by str.lower() and a
    dict: the two must agree, including case variants, trailing punctuation and odd letters."""
    text = (
        "The THE tHe the. the) thee th e-mail E-MAIL © newsletter) Newsletters! NEWSLETTERS: "
        "İstanbul ſign 𝐓he the\x00 für FÜR más não Comments; ago AM 5pm sign Sign"
    )
    spans = [m.span() for m in re.finditer(r"\S+", text)]
    starts, ends = (np.array(side) for side in zip(*spans, strict=True))
    bmp = np.minimum(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32), 0xFFFF)
    hashes = _word_hashes(bmp, starts, ends)
    found = (_VOCABULARY.get(hashes) | _stop_flags(hashes, None)).tolist()
    stops = stop_words(None)
    expected = [_WORD_CLASS.get(w, 0) | (_STOP if w in stops else 0) for w in text.lower().split()]
    assert found == expected
    assert found.count(0) < len(found) / 2  # the sample is mostly vocabulary


def test_boiler_pairs_need_both_words_in_order():
    x = page_features(["Sign up for free", "sign upstairs", "up sign", "Read more.", "read"])
    assert x[:, LOCAL_FEATURES.index("boiler_keyword")].tolist() == [1, 0, 0, 1, 0]


def test_hash_table_finds_its_keys_and_nothing_else():
    """Keys and values share one packed slot (key XOR value): every key gets its value,
    strangers (also ones differing from a key in a low bit) get 0."""
    keys = np.array([3, 1 << 40, 0xDEADBEEF12345678, 77], dtype=np.uint64)
    table = _HashTable(keys, np.array([1, 31, 16, 2]))
    assert table.get(keys).tolist() == [1, 31, 16, 2]
    strangers = np.array([4, (1 << 40) + 1, 0, 0xFFFFFFFFFFFFFFE0, 76], dtype=np.uint64)
    assert table.get(strangers).tolist() == [0, 0, 0, 0, 0]
    with pytest.raises(ValueError):
        _HashTable(keys, np.array([1, 32, 1, 1]))


def test_window_means_equal_the_mean_of_each_window():
    x = np.array([3.0, 0.0, 1.5, 8.0, 2.0, 0.5, 4.0])
    radii = (1, 3, 8)
    out = np.empty((3, len(x)))
    _window_means(x, np.array(radii)[:, None], out)
    for row, r in zip(out, radii, strict=True):
        expected = [x[max(i - r, 0) : i + r + 1].mean() for i in range(len(x))]
        assert np.allclose(row, expected)


def test_paragraph_ids_number_every_position_of_the_joined_page():
    paragraphs = ["ab", "", "c d", "e"]
    page = "\n".join(paragraphs) + "\n"
    lengths = np.array([len(p) for p in paragraphs])
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    ids = _paragraph_ids(starts, len(page)).tolist()
    assert ids == [page[: i + 1].count("\n") - (ch == "\n") for i, ch in enumerate(page)]
