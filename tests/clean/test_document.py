"""The shard boundary: which inputs count as already published, and the suites' limits."""

from __future__ import annotations

import json
import pickle
import shutil

import pytest

from tasks.clean.document import NOTHING_PUBLISHED, PublishedIds, article_id_for, process_document
from tasks.config import EXPECTATIONS_DIR, PipelineConfig, length_limits
from tasks.models import Rejected

SENTENCE = "A normal article sentence with several words in it. "


def test_published_ids_hold_exactly_the_ids_given():
    ids = [article_id_for(f"page {n}".encode()) for n in range(1000)]
    published = PublishedIds.of(ids[::2])
    assert len(published) == 500
    assert all(i in published for i in ids[::2])
    assert not any(i in published for i in ids[1::2])
    assert ids[0] not in NOTHING_PUBLISHED


def test_published_ids_cover_the_whole_64_bit_range():
    extremes = ["0000000000000000", "ffffffffffffffff", "8000000000000000"]
    published = PublishedIds.of(extremes)
    assert all(i in published for i in extremes)
    assert "7fffffffffffffff" not in published
    assert "fffffffffffffffe" not in published


def test_published_ids_ship_as_one_buffer():
    ids = [article_id_for(str(n).encode()) for n in range(10_000)]
    shipped = pickle.dumps(PublishedIds.of(ids))
    assert len(shipped) < 10 * len(ids)  # 8 bytes an id, plus the array's header
    assert all(i in pickle.loads(shipped) for i in ids[:100])


def _suites_with(tmp_path, table: str, column: str, max_value: int):
    """A copy of the shipped suites whose ``table.column`` length bound is ``max_value``."""
    folder = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, folder)
    path = folder / f"{table}.json"
    suite = json.loads(path.read_text(encoding="utf-8"))
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        if (
            expectation["type"] == "expect_column_value_lengths_to_be_between"
            and kwargs["column"] == column
        ):
            kwargs["max_value"] = max_value
    path.write_text(json.dumps(suite), encoding="utf-8")
    return folder


def test_limits_are_the_suites_own_bounds(tmp_path):
    shipped = length_limits(EXPECTATIONS_DIR)
    assert shipped[("articles", "title")] == 500
    assert shipped[("paragraphs", "text")] == 200_000
    assert shipped[("articles", "text")] == 2_000_000
    assert (
        length_limits(_suites_with(tmp_path, "articles", "title", 12))[("articles", "title")] == 12
    )


def test_a_title_over_the_suite_bound_becomes_unknown_and_the_article_stays(tmp_path):
    page = f"Short headline here\n\n{SENTENCE * 12}\n".encode()
    assert process_document(page, "a.txt").title == "Short headline here"
    strict = PipelineConfig(expectations_dir=_suites_with(tmp_path, "articles", "title", 12))
    article = process_document(page, "a.txt", config=strict)
    assert article.title is None
    assert article.text == process_document(page, "a.txt").text


@pytest.mark.parametrize(
    ("table", "stage", "what"),
    [("paragraphs", "split", "a paragraph"), ("articles", "clean", "article text")],
)
def test_text_over_the_suite_bound_quarantines_the_input(tmp_path, table, stage, what):
    page = f"Short headline here\n\n{SENTENCE * 12}\n".encode()
    length = len(process_document(page, "a.txt").text)  # one body paragraph: both are this long
    limit = length - 1
    strict = PipelineConfig(expectations_dir=_suites_with(tmp_path, table, "text", limit))
    with pytest.raises(Rejected) as rejected:
        process_document(page, "a.txt", config=strict)
    assert rejected.value.stage == stage
    assert (
        rejected.value.reason == f"{what} of {length} characters, over the {limit}-character limit"
    )
    loose = PipelineConfig(expectations_dir=_suites_with(tmp_path / "loose", table, "text", length))
    assert process_document(page, "a.txt", config=loose).text


def _listing_page() -> bytes:
    items = "".join(
        f'<li><h3><a href="/news/{i}">Council story number {i} about the harbour pier</a></h3>'
        f"<span>2 hours ago</span></li>"
        for i in range(30)
    )
    return (
        "<html><head><title>Latest news</title></head><body><nav><a href='/'>Home</a></nav>"
        f"<main><h1>Latest news</h1><ul class='stories'>{items}</ul></main>"
        "<footer>Copyright 2026 Harbour Times</footer></body></html>"
    ).encode()


def test_an_index_page_is_quarantined_as_not_an_article():
    with pytest.raises(Rejected) as rejected:
        process_document(_listing_page(), "latest.html")
    assert rejected.value.stage == "clean"
    assert rejected.value.reason.startswith("not an article")
    assert "link text" in rejected.value.reason


def test_a_short_brief_with_its_own_sentences_is_still_an_article():
    brief = (
        b"<html><head><title>Pier closed</title></head><body><article><h1>Pier closed</h1>"
        b"<p>The harbour pier is closed until Friday after the storm.</p>"
        b"<p>Ferries leave from the northern quay, the council said on Monday.</p>"
        b"<p>Repairs to the railing start next week and take two days.</p>"
        b"</article></body></html>"
    )
    article = process_document(brief, "brief.html")
    assert "northern quay" in article.text
