"""Metadata rules: headline without site decoration, authors only from bylines, declared dates
with their precision, CJK word counts, detected languages; and the metadata scorer's rules."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import lxml.html
import pyarrow.parquet as pq
import pytest

from benchmarks import metadata as bench
from tasks.clean.document import process_document
from tasks.clean.staging import shard_tables
from tasks.extract.html import extract_html
from tasks.extract.metadata import (
    PageMetadata,
    clean_author_names,
    date_precision,
    detect_language,
    header_date,
    page_metadata,
    strip_site_name,
    word_count,
)

from ..builders import articles_table
from ..pages import PROSE

BODY = "".join(f"<p>{p}</p>" for p in PROSE)


def _page(head: str = "", body: str = "", lang: str | None = "en") -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    return (
        f"<html{lang_attr}><head>{head}</head><body>{body}<article>{BODY}</article></body></html>"
    )


def _meta(html: str) -> PageMetadata:
    return page_metadata(lxml.html.fromstring(html))


# Titles


def test_site_name_from_og_site_name_is_stripped_from_the_title():
    head = (
        "<title>Ferry strike ends after three days | Harbour Times</title>"
        '<meta property="og:site_name" content="Harbour Times">'
    )
    assert _meta(_page(head)).title == "Ferry strike ends after three days"


def test_site_name_at_the_front_and_a_tagline_after_it_are_stripped():
    keys = {"harbourtimes"}
    assert strip_site_name("Harbour Times | Ferry strike ends", keys) == "Ferry strike ends"
    assert (
        strip_site_name("Ferry strike ends – Harbour Times – News you trust", keys)
        == "Ferry strike ends"
    )
    # The headline's own separators stay; a title that is only the site's name is kept.
    assert strip_site_name("Rates - What changes in 2025 | Harbour Times", keys) == (
        "Rates - What changes in 2025"
    )
    assert strip_site_name("Harbour Times", keys) == "Harbour Times"


def test_site_name_from_the_host_is_stripped_without_og_site_name():
    head = (
        "<title>How tides work - Tidewatch</title>"
        '<link rel="canonical" href="https://www.tidewatch.org/how-tides-work">'
    )
    assert _meta(_page(head)).title == "How tides work"


def test_a_separator_segment_the_h1_confirms_as_outside_the_headline_is_dropped():
    # "Opinion" names no site, but the page's h1 shows where the headline ends.
    head = "<title>Why the bridge must stay open | Opinion | Harbour Times</title>"
    html = _page(head, "<h1>Why the bridge must stay open</h1>")
    assert _meta(html).title == "Why the bridge must stay open"


def test_an_unrelated_h1_such_as_a_logo_is_not_the_title():
    head = '<meta property="og:title" content="Ferry strike ends after three days">'
    html = _page(head, "<h1>Harbour Times</h1><h1>Menu</h1>")
    assert _meta(html).title == "Ferry strike ends after three days"


def test_a_short_h1_that_is_the_last_title_segment_is_the_site_not_the_headline():
    html = _page("<title>Standalone binaries with Emscripten · V8</title>", "<h1>V8</h1>")
    assert _meta(html).title == "Standalone binaries with Emscripten · V8"


def test_no_declared_title_is_no_title():
    assert _meta(_page(body="<h2>Section</h2>")).title is None


# Authors


def test_about_boxes_and_product_names_never_become_authors():
    assert clean_author_names(["About The Quiet Harbour: A Novel"]) == []
    assert clean_author_names(["Read more about The Upwork Team"]) == []
    # A markup search that finds a byline beside product and category labels keeps the name.
    found = clean_author_names(["Brett Cruz, Privacy, Headphones"], searched=True)
    assert found == ["Brett Cruz"]


def test_job_titles_and_reviewers_are_cut_from_bylines():
    assert clean_author_names(["Rachel MacDonald Staff Writer"]) == ["Rachel MacDonald"]
    assert clean_author_names(["Article by Jane Doe"]) == ["Jane Doe"]
    assert clean_author_names(["Shelby Loos Reviewed by Molly Price"]) == ["Shelby Loos"]
    assert clean_author_names(["Sr. Director of Operations", "Lead Reviewer"]) == []


def test_about_subheading_on_the_page_is_not_published_as_author():
    # trafilatura's author search reads the box's heading; before, "About Tides" was published.
    box = (
        '<div class="author-box"><h3>About Tides of Change</h3><p>A novel of the harbour.</p></div>'
    )
    html = f"<html><body><article>{box}{BODY}</article></body></html>"
    assert process_document(html.encode(), "page.html").authors == []


def test_a_byline_under_the_headline_names_the_author():
    body = "<h1>Bridge to reopen</h1><p class='meta'>By Jane Doe | 11 December 2025</p>"
    assert extract_html(_page(body=body)).authors == ["Jane Doe"]
    marked = "<h1>Bridge to reopen</h1><div class='post-author'><span>Sam O'Brien</span></div>"
    assert extract_html(_page(body=marked)).authors == ["Sam O'Brien"]


def test_credentials_in_a_byline_are_no_authors():
    """Issue #25: "By Ilana Muhlstein, MS, RDN" published three authors."""
    body = '<h1>Meal prep basics</h1><p class="byline">By Ilana Muhlstein, MS, RDN</p>'
    assert extract_html(_page(body=body)).authors == ["Ilana Muhlstein"]
    declared = '<meta name="author" content="Ilana Muhlstein, MS, RDN">'
    assert extract_html(_page(declared, body)).authors == ["Ilana Muhlstein"]
    assert clean_author_names(["Jane Doe Ph.D.", "Sam Lee, PA-C", "RDN"]) == ["Jane Doe", "Sam Lee"]
    # Capitals are no degree in a byline written all in capitals, nor in a wire's name.
    assert clean_author_names(["JANE DOE", "AP"]) == ["JANE DOE", "AP"]


def test_by_inside_a_sentence_near_the_headline_is_no_byline():
    body = "<h1>Stay safe online</h1><p>Stay safe <b>by</b> following the tips below.</p>"
    body += "<p>by remaining vigilant</p>"
    assert extract_html(_page(body=body)).authors == []


# Dates


def test_date_only_value_has_day_precision_and_full_timestamp_second():
    assert date_precision("2024-03-05") == "day"
    assert date_precision("2024-03-05T09:30+01:00") == "minute"
    assert date_precision("2024-03-05T00:00:00Z") == "second"
    assert date_precision("Tue, 05 Mar 2024 09:30:00 GMT") == "second"
    assert date_precision("sometime") is None


def test_precision_is_published_beside_the_date():
    day = _page('<meta property="article:published_time" content="2024-03-05">')
    stamp = _page('<meta property="article:published_time" content="2024-03-05T00:00:00Z">')
    day_article = process_document(day.encode(), "day.html")
    stamp_article = process_document(stamp.encode(), "stamp.html")
    # Same instant, told apart by the precision column.
    assert (
        day_article.published_at == stamp_article.published_at == datetime(2024, 3, 5, tzinfo=UTC)
    )
    table = articles_table([day_article, stamp_article], "run", datetime(2025, 1, 1, tzinfo=UTC))
    assert table.column("published_at_precision").to_pylist() == ["day", "second"]


def test_no_date_is_invented_when_the_page_declares_none():
    # A date in the visible text is no declared date (htmldate's text search is off).
    body = "<p>The council met on March 3, 2021 and again on 12 May 2022.</p>"
    result = extract_html(_page(body=body))
    assert result.published_at is None
    assert result.published_at_precision is None


def test_a_dateline_under_the_headline_is_a_day_precise_date():
    body = (
        "<header><h1>Bridge to reopen</h1><div class='meta'><span>By Jane Doe</span>"
        "<span>Updated on 11 December 2025</span></div></header>"
    )
    result = extract_html(_page(body=body))
    assert result.published_at == datetime(2025, 12, 11, tzinfo=UTC)
    assert result.published_at_precision == "day"


def test_a_json_ld_timestamp_wins_over_the_date_in_the_url_with_its_time():
    """Issue #25: a page declaring a full timestamp got the URL's day, without the time."""
    json_ld = '{"@type": "NewsArticle", "datePublished": "2024-03-15T09:30:00+01:00"}'
    head = (
        f'<script type="application/ld+json">{json_ld}</script>'
        '<link rel="canonical" href="https://news.example.com/2024/03/14/ferry-strike-ends">'
    )
    result = extract_html(_page(head, "<h1>Ferry strike ends</h1>"))
    assert result.published_at == datetime(2024, 3, 15, 8, 30, tzinfo=UTC)
    assert result.published_at_precision == "second"
    assert result.published_date == date(2024, 3, 15)


def test_the_url_date_counts_only_when_the_page_states_none():
    html = _page(body="<h1>Ferry strike ends</h1>")
    result = extract_html(html, url="https://news.example.com/2024/03/14/ferry-strike-ends")
    assert result.published_date == date(2024, 3, 14)
    assert result.published_at_precision == "day"


def test_the_local_day_is_published_beside_the_utc_instant(tmp_path):
    """Issue #25: a story of 01:00 +03:00 on the 15th was stored on the 14th (UTC's day)."""
    meta = '<meta property="article:published_time" content="2024-03-15T01:00:00+03:00">'
    article = process_document(_page(meta).encode(), "late.html")
    articles, _ = shard_tables([article])
    pq.write_table(articles, tmp_path / "articles.parquet")
    row = pq.read_table(tmp_path / "articles.parquet").to_pylist()[0]
    assert row["published_at"] == datetime(2024, 3, 14, 22, 0, tzinfo=UTC)  # the UTC instant
    assert row["published_date"] == date(2024, 3, 15)  # the day the page states


def test_a_date_shown_only_in_the_article_header_is_found():
    """Issue #25: a page showing its date (here in German) but declaring none got no date."""
    body = (
        "<article><header><h1>Fähre fährt wieder</h1>"
        "<p>Von Anna Berg</p><p>16. Oktober 2019, 14:32 Uhr</p></header></article>"
    )
    result = extract_html(_page(body=body, lang="de"))
    assert result.published_date == date(2019, 10, 16)
    assert result.published_at_precision == "day"


def test_a_date_only_in_comments_or_related_lists_is_not_taken():
    body = (
        "<h1>Ferry strike ends</h1>"
        '<ul class="related-posts"><li><a href="/a">Bridge reopens</a> '
        '<time datetime="2021-01-05">5 January 2021</time></li></ul>'
        '<div id="comments"><div class="comment"><span class="comment-date">12 May 2022'
        "</span><p>Great news for the island!</p></div></div>"
    )
    result = extract_html(_page(body=body))
    assert result.published_at is None
    assert result.published_date is None


def test_a_date_inside_a_sentence_is_no_dateline():
    body = "<h1>Bridge to reopen</h1><p>Works start on March 5, 2024 at the harbour.</p>"
    assert header_date(lxml.html.fromstring(_page(body=body))) is None


# Word counts and languages


def test_cjk_text_counts_each_ideograph_and_kana_as_a_word():
    japanese = "東京の天気は晴れです。明日は雨が降るでしょう。"
    assert word_count(japanese) == 21
    assert word_count("iPhone 15を買った") == 6  # iPhone, 15, を, 買, っ, た
    assert word_count("Hello, world — again") == 4  # spaced text counts as before
    assert word_count("한국어 문장 입니다") == 3  # Hangul is spaced


def test_a_japanese_article_has_a_meaningful_word_count(tmp_path):
    paragraphs = "".join(
        f"<p>{s}</p>"
        for s in (
            "東京都は今日、新しい防災計画を発表しました。計画には避難所の増設が含まれています。",
            "専門家によると、大きな地震に備えて家庭での準備も重要だということです。",
            "都は来年度から住民向けの説明会を各地区で開く予定です。",
        )
    )
    html = f"<html><head><title>防災計画</title></head><body><article>{paragraphs}</article></body>"
    article = process_document(html.encode(), "ja.html")
    table = articles_table([article], "run", datetime(2025, 1, 1, tzinfo=UTC))
    path = tmp_path / "a.parquet"
    pq.write_table(table, path)
    row = pq.read_table(path).to_pylist()[0]
    assert row["word_count"] > 60
    assert row["language"] == "ja"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (
            "Der Stadtrat hat am Dienstag beschlossen, die alte Brücke über den Fluss im "
            "kommenden Jahr vollständig zu sanieren. Die Arbeiten sollen im Frühjahr beginnen.",
            "de",
        ),
        (
            "市議会は火曜日、川に架かる古い橋を来年全面的に改修することを決めました。"
            "工事は春に始まる予定です。",
            "ja",
        ),
    ],
)
def test_language_is_detected_when_the_page_declares_none(text, language):
    assert detect_language(text) == language
    html = f"<html><body><article><p>{text}</p><p>{text}</p></article></body></html>"
    article = process_document(html.encode(), "page.html")
    assert article.language == language


def test_a_declared_language_wins_over_detection():
    article = process_document(_page(lang="fr").encode(), "page.html")
    assert article.language == "fr"  # the text is English; the page says French


def test_too_little_text_has_no_language():
    assert detect_language("OK") is None


# The scorer


def test_scorer_counts_invented_values_only_where_the_truth_has_none():
    page = bench.MetaPage("wcxb", "1", "a.com", b"", "A Title", None, "2024-01-02", None)
    outcome = bench.score_page(
        page, bench.MetaPrediction("a title", ["Jane Doe"], datetime(2024, 1, 2, 23, tzinfo=UTC))
    )
    assert outcome.fields["title"].correct is True
    assert outcome.fields["authors"].correct is None and outcome.fields["authors"].false_value
    assert outcome.fields["date"].correct is True
    summary = bench.summary([outcome])
    assert summary["authors"]["invented_count"] == 1 and summary["authors"]["without_truth"] == 1


def test_scorer_tells_a_title_wrong_only_by_the_truths_decoration():
    assert bench.decoration_only("How to Build a Terrarium", "How to Build a Terrarium | eHow")
    assert bench.decoration_only("Ferry strike", "Harbour Times – Ferry strike")
    assert not bench.decoration_only("How to Build", "How to Build a Terrarium | eHow")
    assert not bench.decoration_only("A title", "A Title")  # right, not wrong


def test_scorer_bootstrap_resamples_domains():
    pages = [
        bench.score_page(
            bench.MetaPage("wcxb", str(i), f"d{i % 3}.com", b"", "T", None, None, None),
            bench.MetaPrediction("T" if i % 3 else "X"),
        )
        for i in range(9)
    ]
    low, high = bench.bootstrap_interval(pages, lambda s: bench._mean(bench._rates(s, "title")[0]))
    assert 0.0 <= low < 2 / 3 < high <= 1.0


def test_scorer_stops_with_a_message_when_the_data_is_absent(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(bench.BENCH_ROOT_ENV, str(tmp_path / "missing"))
    assert bench.main([]) == 2
    assert "benchmark data not found" in capsys.readouterr().err


def test_scorer_reads_readability_pages(tmp_path):
    import gzip

    folder = tmp_path / "readability-pages" / "nytimes-2"
    folder.mkdir(parents=True)
    (folder / "source.html.gz").write_bytes(gzip.compress(b"<html></html>"))
    truth = {"title": "T", "byline": "By A", "publishedTime": None, "lang": "en"}
    (folder / "expected-metadata.json").write_text(json.dumps(truth))
    [page] = bench.readability_pages(tmp_path)
    assert (page.group, page.title, page.authors, page.language) == ("nytimes", "T", "By A", "en")
