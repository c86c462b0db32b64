"""Nothing lost on the HTML path: every paragraph an extractor's filter removes is a row.

The DOM chrome filter (``tasks.extract.domblocks``) used to drop paragraphs from the extractor's
text
before it was split, so they had no row in ``paragraphs``; now each is a ``boilerplate`` /
``dom_chrome`` row, and the articles suite checks per article that the paragraphs the
extractor's text split into are all rows (``n_paragraphs_in`` = rows = kept + removed).
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from benchmarks.wcxb import SUBSET_DIR
from tasks.clean.document import process_document
from tasks.config import EXPECTATIONS_DIR
from tasks.models import Article
from tasks.output.validate import run_checkpoints

from .builders import articles_table, paragraphs_table

# A pinned WCXB page (arXiv abstract page) whose trafilatura text carries the site's header,
# which the DOM filter places in chrome.
PAGE = SUBSET_DIR / "html" / "0380.html.gz"
STAMP = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def article() -> Article:
    return process_document(gzip.decompress(PAGE.read_bytes()), "0380.html")


def test_dom_chrome_paragraphs_are_rows_with_their_reason(article: Article) -> None:
    chrome = [p for p in article.paragraphs if p.reason == "dom_chrome"]
    assert chrome, "the DOM filter removed nothing on this page"
    assert {p.label for p in chrome} == {"boilerplate"}
    assert all(p.text not in article.text for p in chrome)
    assert article.paragraphs_in == len(article.paragraphs)
    assert [p.position for p in article.paragraphs] == list(range(len(article.paragraphs)))


def test_the_accounting_identity_holds_for_the_article(article: Article) -> None:
    row = articles_table([article], "run", STAMP).to_pylist()[0]
    removed = sum(v for k, v in row.items() if k.startswith("n_removed_"))
    assert row["n_paragraphs_in"] == row["n_paragraphs_kept"] + removed
    assert row["n_removed_boilerplate"] >= sum(p.reason == "dom_chrome" for p in article.paragraphs)


def _validate(article: Article, tmp_path: Path):
    tables = {
        "articles": articles_table([article], "run", STAMP),
        "paragraphs": paragraphs_table([article], "run"),
    }
    published = {
        "published_articles": pa.table(
            {
                "article_id": pa.array([], pa.string()),
                "credits": pa.array([], pa.list_(pa.string())),
            }
        ),
        "published_paragraphs": pa.table({"paragraph_id": pa.array([], pa.string())}),
    }
    return run_checkpoints(tables, published, EXPECTATIONS_DIR, tmp_path / "docs")


@pytest.mark.slow
def test_the_suite_fails_an_article_whose_removed_paragraphs_have_no_row(
    article: Article, tmp_path: Path
) -> None:
    assert _validate(article, tmp_path / "whole").success
    article.paragraphs = [p for p in article.paragraphs if p.reason != "dom_chrome"]
    for position, paragraph in enumerate(article.paragraphs):
        paragraph.position = position
    report = _validate(article, tmp_path / "dropped")
    failed = {(f.suite, f.column) for f in report.failures}
    assert ("articles", "n_paragraphs_in") in failed
