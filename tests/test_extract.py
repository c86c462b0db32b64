"""HTML extraction: trafilatura's main text and metadata, the DOM fallback, broken markup."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tasks.extract import clean_authors, extract_html, parse_date
from tasks.models import Rejected

from .conftest import DATA


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


def test_fallback_when_trafilatura_finds_no_main_text():
    html = "<html><body><div>Short note only.</div></body></html>"
    result = extract_html(html)
    assert result.extractor in {"trafilatura", "dom_text"}
    assert "Short note only." in result.text


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
