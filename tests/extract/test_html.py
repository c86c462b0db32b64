"""HTML extraction: trafilatura's main text and metadata, the DOM fallback, broken markup."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import lxml.html
import pytest
import trafilatura.metadata
import trafilatura.settings

from tasks.extract.html import (
    _dom_text,
    _trafilatura_metadata,
    clean_authors,
    extract_html,
    extractor_text,
    parse_date,
    parse_html,
)
from tasks.extract.metadata import PageMetadata, clean_author_names, page_metadata, parse_datetime
from tasks.models import Rejected

from ..conftest import DATA
from ..pages import PROSE


def test_trafilatura_path_gives_text_and_metadata():
    html = (DATA / "html" / "article.html").read_text(encoding="utf-8")
    result = extract_html(html)
    assert result.extractor == "trafilatura"
    assert "carries about 20,000 vehicles a day" in result.text
    assert "Sport" not in result.text.split("\n")
    assert result.title == "Harbour bridge reopens after repairs"
    assert result.authors == ["Alice Marin"]
    assert result.site_name == "Coastline Gazette"
    assert result.published_at is not None and result.published_at.tzinfo is not None
    # The training script's view: the text before the DOM filter, with trafilatura's title.
    text, extractor, title = extractor_text(parse_html(html))
    assert "carries about 20,000 vehicles a day" in text and extractor == "trafilatura"
    assert title == result.title


def test_fallback_when_trafilatura_finds_no_main_text():
    html = "<html><body><div>Short note only.</div></body></html>"
    result = extract_html(html)
    assert result.extractor in {"trafilatura", "dom_text"}
    assert "Short note only." in result.text


def test_dom_fallback_keeps_the_innermost_blocks_in_page_order():
    html = (
        "<div>outer text<span>inline <p>first</p></span></div>"
        "<ul><li>one</li><li>two <b>three</b></li></ul><script>no()</script>"
        "<td>cell<table><tr><td>inner cell</td></tr></table></td>"
    )
    assert _dom_text(html).split("\n\n") == ["first", "one", "two three", "inner cell"]


def test_deeply_nested_markup_falls_back_to_the_innermost_text():
    # Broken generators nest thousands of unclosed divs; the fallback walks them once.
    depth = 5000
    html = "<html><body>" + "<div>" * depth + "<p>The only sentence on the page.</p></body>"
    result = extract_html(html)
    assert result.text == "The only sentence on the page."


def test_lone_surrogates_from_json_ld_become_replacement_characters():
    # "\\ud83d" is half of an emoji's escape pair: json.loads gives a lone surrogate, which
    # UTF-8 (and so Parquet) cannot encode.
    json_ld = (
        '{"@type":"NewsArticle","headline":"Budget \\ud83d vote","description":"Cut \\ud83d",'
        '"author":{"@type":"Person","name":"Jane \\udc00 Doe"},"publisher":{"name":"Gazette"}}'
    )
    html = (
        f'<html><head><script type="application/ld+json">{json_ld}</script></head><body>'
        "<article>" + "".join(f"<p>{p}</p>" for p in PROSE) + "</article></body></html>"
    )
    result = extract_html(html)
    assert result.authors == ["Jane \ufffd Doe"]
    assert result.description == "Cut \ufffd"
    for value in (result.text, result.title, result.description, *result.authors):
        value.encode("utf-8")  # raises on a surrogate


def test_page_without_visible_text_is_rejected():
    with pytest.raises(Rejected) as error:
        extract_html("<html><head><script>var a = 1;</script></head><body> </body></html>")
    assert error.value.stage == "extract"


def test_malformed_markup_still_yields_text():
    html = (
        "<html><body><p>Unclosed paragraph with enough words to be kept by the extractor"
        "<div><p>Second"
    )
    result = extract_html(html)
    assert "Unclosed paragraph" in result.text


def test_clean_authors_strips_by_and_splits_lists():
    assert clean_authors("By Jane Doe; John Roe and Ann Lee") == ["Jane Doe", "John Roe", "Ann Lee"]
    assert clean_authors(None) == []


def test_parse_date_is_utc_and_none_when_unparseable():
    assert parse_date("2024-03-05T09:30:00+01:00") == datetime(2024, 3, 5, 8, 30, tzinfo=UTC)
    assert parse_date("2024-03-05") == datetime(2024, 3, 5, tzinfo=UTC)
    assert parse_date("last Tuesday") is None


NEWS_PAGE = """<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">
<title>Ferry strike ends | Harbour Times</title>
<meta property="og:site_name" content="Harbour Times">
<meta name="description" content="Crews return after a two-day walkout.">
<meta property="article:published_time" content="2024-11-02T21:40:00-05:00">
<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
 {"@type": "WebSite", "name": "Harbour Times"},
 {"@type": "NewsArticle", "headline": "Ferry strike ends", "datePublished": "{published}",
  "author": [{"@type": "Person", "name": "By Ann Lee"}, {"@type": "Person", "name": "Tom Park"},
             {"@type": "Organization", "name": "Associated Press"}]}]}</script>
</head><body><article><h1>Ferry strike ends</h1>
<p>Ferry crews returned to work on Saturday after a two-day strike over pay that stranded
thousands of island residents and forced the cancellation of dozens of crossings.</p>
<p>The union said its members had accepted an offer of a four per cent raise this year and
another three per cent next year, along with changes to the length of night shifts.</p>
<p>Island businesses said the strike had cost them a busy weekend at the start of the
holiday season, and several asked the operator for compensation.</p>
</article></body></html>"""


def test_declared_metadata_keeps_the_page_offset_and_cleans_authors():
    result = extract_html(NEWS_PAGE.replace("{published}", "2024-11-02T21:40:00-05:00"))
    assert result.published_at is not None
    assert result.published_at.utcoffset() == timedelta(hours=-5)
    assert result.published_at.date().isoformat() == "2024-11-02"  # the page's day, not UTC's
    assert result.authors == ["Ann Lee", "Tom Park", "Associated Press"]
    assert result.credits == ["Associated Press"]
    assert result.site_name == "Harbour Times"
    assert result.language == "en"
    assert result.description == "Crews return after a two-day walkout."


def test_clean_author_names_drops_dates_roles_handles_and_placeholders():
    cleaned = clean_author_names(
        ["By Jane Doe and John Roe, March 3, 2024", "Author Isaiah Shelton", "undefined"]
    )
    assert cleaned == ["Jane Doe", "John Roe", "Isaiah Shelton"]
    assert clean_author_names(["brandon-peaktwo", "Written By", "Luke Kim December"]) == [
        "Luke Kim"
    ]
    assert clean_author_names(["Harbour Times"], site_name="Harbour Times") == []


def test_parse_datetime_keeps_offsets_and_refuses_guesses():
    value = parse_datetime("2024-03-05T23:30:00-08:00")
    assert value is not None and value.date().isoformat() == "2024-03-05"
    assert value == datetime(2024, 3, 6, 7, 30, tzinfo=UTC)
    assert parse_datetime("Tue, 05 Mar 2024 09:30:00 GMT") == datetime(
        2024, 3, 5, 9, 30, tzinfo=UTC
    )
    assert parse_datetime("2024-03-05") == datetime(2024, 3, 5, tzinfo=UTC)
    assert parse_datetime("sometime last week") is None
    assert parse_datetime("2024-02-30") is None


@pytest.mark.parametrize("unset", ["0001-01-01T00:00:00", "9999-12-31T23:59:59-12:00"])
def test_a_cms_placeholder_date_is_no_publication_date(unset):
    assert parse_datetime(unset) is None
    assert parse_datetime("1900-01-01") == datetime(1900, 1, 1, tzinfo=UTC)
    assert parse_datetime("2099-12-31") == datetime(2099, 12, 31, tzinfo=UTC)
    json_ld = f'{{"@type":"NewsArticle","datePublished":"{unset}"}}'
    html = (
        f'<html><head><script type="application/ld+json">{json_ld}</script></head><body>'
        "<article>" + "".join(f"<p>{p}</p>" for p in PROSE) + "</article></body></html>"
    )
    assert extract_html(html).published_at is None


def test_json_ld_in_a_broken_block_is_ignored():
    page = NEWS_PAGE.replace('"@context"', '"@context" oops')
    result = extract_html(page.replace("{published}", "2024-11-02"))
    assert result.site_name == "Harbour Times"  # the meta tags still count
    assert result.published_at is not None and result.published_at.utcoffset() == timedelta(
        hours=-5
    )


SUBSET = DATA / "wcxb_subset" / "html"


def _subset_trees() -> list[tuple[str, lxml.html.HtmlElement]]:
    pages = {p.name: gzip.decompress(p.read_bytes()) for p in SUBSET.glob("*.html.gz")}
    pages["article.html"] = (DATA / "html" / "article.html").read_bytes()
    trees = [(name, parse_html(html.decode("utf-8"))) for name, html in sorted(pages.items())]
    return [(name, tree) for name, tree in trees if tree is not None]


METADATA_FIELDS = ("title", "url", "sitename", "language", "description")


@pytest.mark.slow
def test_trafilatura_metadata_matches_trafilatura_when_the_page_declares_nothing():
    """Guards the step-by-step copy of ``extract_metadata`` against trafilatura changing it.

    The date is not read there (``tasks.extract.metadata.publication`` reads it).
    """
    trees = _subset_trees()
    assert len(trees) > 30
    for name, tree in trees:
        ours = _trafilatura_metadata(tree, None, PageMetadata())
        theirs = trafilatura.metadata.extract_metadata(tree, None)
        for field in (*METADATA_FIELDS, "author"):
            assert getattr(ours, field) == getattr(theirs, field), (name, field)


@pytest.mark.slow
def test_declared_dates_and_authors_skip_searches_without_changing_what_is_used():
    compared = 0
    for name, tree in _subset_trees():
        declared = page_metadata(tree)
        ours = _trafilatura_metadata(tree, None, declared)
        theirs = trafilatura.metadata.extract_metadata(tree, None)
        for field in METADATA_FIELDS:
            assert getattr(ours, field) == getattr(theirs, field), (name, field)
        if not declared.authors:
            assert ours.author == theirs.author, name
        compared += declared.published_at is not None
    assert compared > 10  # pages whose date came from the markup-only search


def test_a_page_with_15_mb_of_inline_script_json_gives_its_article():
    """libxml2 stopped at the 15 MB text node without ``huge_tree``: only the menu before it
    was in the tree, and it was published as the article."""
    import json

    menu = "".join(
        f'<li><a href="/s{i}">Section number {i} of the site</a></li>' for i in range(40)
    )
    paragraph = (
        "<p>The harbour council voted on Tuesday to rebuild the old pier after a winter of "
        "storms left its eastern end unsafe for the ferries, officials said. Part {i} gives "
        "the details of the funding, the engineers and the timetable for the work.</p>"
    )
    state = json.dumps({"items": [{"id": i, "name": "x" * 100} for i in range(130_000)]})
    html = (
        f"<html><head><title>Pier</title></head><body><nav><ul>{menu}</ul></nav>"
        f"<script type='application/json'>{state}</script><article><h1>Council votes</h1>"
        + "".join(paragraph.format(i=i) for i in range(25))
        + "</article><footer>Copyright</footer></body></html>"
    )
    assert len(html) > 15_000_000
    result = extract_html(html)
    assert "Part 24 gives the details" in result.text
    assert "Section number 3 of the site" not in result.text
    assert '"items"' not in result.text
