"""WARC input: HTML 200 responses become articles, everything else is skipped and counted."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from flows.cli import main
from flows.pipeline import newsclean_flow
from tasks.config import PipelineConfig, ReadConfig
from tasks.inputs.warc import (
    SKIP_BAD_ENCODING,
    SKIP_NON_HTML,
    SKIP_OVERSIZED,
    SKIP_PREFIX,
    SKIP_TRUNCATED,
    skip_status,
    warc_documents,
)
from tasks.models import Document, InputRef, Rejected, SkippedInput
from tasks.stats import StepStats, Unit

from ..conftest import DATA, finishes

STORY = (
    "<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{title}</title>"
    "<meta property='og:site_name' content='Valley Courier'>"
    "<meta property='article:published_time' content='2024-06-0{day}T08:15:00-04:00'>"
    "</head><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav><article>"
    "<h1>{title}</h1><p>{first}</p><p>{second}</p><p>{third}</p></article></body></html>"
)


def story(n: int, *, lang: str = "en") -> str:
    """A distinct small news page (its paragraphs are not duplicates of any other story's)."""
    return STORY.format(
        lang=lang,
        day=n,
        title=f"River levels rise in district {n} after storms",
        first=f"Water in district {n} rose by {n + 40} centimetres overnight after two days of "
        "heavy rain, and emergency crews closed the lower bridge to traffic before dawn.",
        second=f"Residents of {n * 7} homes near the bank were asked to move their cars to "
        "higher ground, and the council opened the school gym as a shelter for the night.",
        third=f"Forecasters expect the rain to ease by district {n}'s market day, though the "
        "river may keep rising for another day as water arrives from the hills upstream.",
    )


def _response(
    writer: WARCWriter,
    url: str,
    body: bytes,
    *,
    status: str = "200 OK",
    content_type: str = "text/html; charset=utf-8",
    http_extra: list[tuple[str, str]] | None = None,
    warc_extra: dict[str, str] | None = None,
) -> None:
    headers = StatusAndHeaders(
        status, [("Content-Type", content_type), *(http_extra or [])], protocol="HTTP/1.1"
    )
    record = writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        http_headers=headers,
        warc_headers_dict=warc_extra or {},
    )
    writer.write_record(record)


def build_warc(path: Path, *, gzipped: bool = True) -> Path:
    """Two HTML articles (one Latin-1, one gzip-encoded), a PNG, a 404 and a cut-off record."""
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=gzipped)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        latin = story(1).replace("charset='utf-8'", "").replace("district 1 ", "district 1 café ")
        _response(
            writer,
            "https://news.example/a/1",
            latin.encode("latin-1"),
            content_type="text/html; charset=ISO-8859-1",
        )
        _response(
            writer, "https://news.example/logo.png", b"\x89PNG\r\n\x1a\n", content_type="image/png"
        )
        _response(writer, "https://news.example/gone", b"<html>gone</html>", status="404 Not Found")
        _response(
            writer,
            "https://news.example/a/cut",
            story(3).encode()[:200],
            warc_extra={"WARC-Truncated": "length"},
        )
        _response(
            writer,
            "https://news.example/a/2",
            gzip.compress(story(2).encode()),
            http_extra=[("Content-Encoding", "gzip")],
        )
    return path


def _collect_all(
    path: Path, config: PipelineConfig | None = None
) -> tuple[list[Document], list[SkippedInput], StepStats]:
    stats = StepStats("read", Unit.DOCUMENTS)
    ref = InputRef(str(path), str(path))
    found = list(warc_documents(ref, config or PipelineConfig(), stats))
    documents = [d for d in found if isinstance(d, Document)]
    skipped = [s for s in found if isinstance(s, SkippedInput)]
    assert len(documents) + len(skipped) == len(found)
    return documents, skipped, stats


def _collect(path: Path, config: PipelineConfig | None = None) -> tuple[list, StepStats]:
    documents, _, stats = _collect_all(path, config)
    return documents, stats


@pytest.mark.parametrize("name", ["crawl.warc.gz", "crawl.warc"])
def test_html_responses_become_documents_and_the_rest_is_counted(tmp_path, name):
    path = build_warc(tmp_path / name, gzipped=name.endswith(".gz"))
    documents, stats = _collect(path)
    assert [d.url for d in documents] == ["https://news.example/a/1", "https://news.example/a/2"]
    assert all(d.input_format == "html" for d in documents)
    assert len({d.source for d in documents}) == 2
    assert all(d.source.startswith(f"{path}#") for d in documents)
    assert documents[0].declared_charset == "iso8859-1"
    assert "café".encode("latin-1") in documents[0].data
    assert documents[1].data.startswith(b"<!DOCTYPE html>")  # gzip content coding undone
    assert stats.kept == 2
    assert dict(stats.dropped) == {SKIP_NON_HTML: 1, skip_status(404): 1, SKIP_TRUNCATED: 1}
    assert stats.total == 5  # response records only: warcinfo is not a document


def test_cut_off_file_yields_the_records_before_the_cut_then_rejects(tmp_path):
    whole = build_warc(tmp_path / "whole.warc", gzipped=False).read_bytes()
    cut = tmp_path / "cut.warc"
    cut.write_bytes(whole[: len(whole) - 300])  # inside the last record's payload
    stats = StepStats("read", Unit.DOCUMENTS)
    documents = warc_documents(InputRef(str(cut), str(cut)), PipelineConfig(), stats)
    first = next(documents)
    assert first.url == "https://news.example/a/1"
    with pytest.raises(Rejected) as error:
        list(documents)
    assert error.value.stage == "read" and "truncated" in error.value.reason
    assert stats.kept == 1


def test_garbage_and_empty_files_are_rejected(tmp_path):
    for name, data in (("junk.warc", b"this is not a warc\n" * 20), ("empty.warc.gz", b"")):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(Rejected) as error:
            _collect(path)
        assert error.value.stage == "read"


def test_a_pipe_named_like_a_warc_is_rejected_without_blocking(tmp_path):
    path = tmp_path / "crawl.warc.gz"
    os.mkfifo(path)
    rejected = finishes(_collect, path)
    assert isinstance(rejected, Rejected) and rejected.reason.startswith("not a regular file")


def test_oversized_and_undecodable_records_are_skipped(tmp_path):
    path = tmp_path / "odd.warc.gz"
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        _response(writer, "https://news.example/big", story(4).encode() + b" " * 5000)
        _response(
            writer,
            "https://news.example/bad-gzip",
            b"not gzip at all",
            http_extra=[("Content-Encoding", "gzip")],
        )
    documents, stats = _collect(path, PipelineConfig(read=ReadConfig(max_input_bytes=4000)))
    assert documents == []
    assert dict(stats.dropped) == {SKIP_OVERSIZED: 1, SKIP_BAD_ENCODING: 1}


def _rows(query: str) -> list[dict]:
    relation = duckdb.sql(query)
    names = [d[0] for d in relation.description]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


@pytest.mark.slow
def test_flow_publishes_one_article_per_html_record_with_metadata(tmp_path):
    warc = build_warc(tmp_path / "crawl.warc.gz")
    page = DATA / "html" / "article.html"
    result = newsclean_flow(inputs=[str(page), str(warc)], output=str(tmp_path / "out"))
    assert result.published
    articles = {
        r["url"] or Path(r["source"]).name: r
        for r in _rows(f"SELECT * FROM '{tmp_path}/out/articles/*.parquet'")
    }
    assert set(articles) == {"article.html", "https://news.example/a/1", "https://news.example/a/2"}
    first = articles["https://news.example/a/1"]
    assert first["title"] == "River levels rise in district 1 café after storms"
    assert "café" in first["text"] and first["encoding"] in {"iso8859-1", "cp1252"}
    assert first["site_name"] == "Valley Courier"
    assert first["language"] == "en"
    assert first["published_at"] == datetime(2024, 6, 1, 12, 15, tzinfo=UTC)  # 08:15-04:00
    assert first["source"].startswith(f"{warc}#")

    read = next(s for s in result.summary.stages if s["name"] == "read")
    record_skips = sum(n for r, n in read["dropped"].items() if r.startswith(SKIP_PREFIX))
    assert record_skips == 3
    counts = result.summary.inputs
    assert counts["files"] == 2 and counts["published"] == 3 and counts["quarantined"] == 0
    # Every document found is accounted for: published, skipped (already published or a
    # skipped WARC record) or quarantined.
    assert counts["skipped"] == record_skips
    assert counts["published"] + counts["skipped"] + counts["quarantined"] == counts["total"]


@pytest.mark.slow
def test_flow_quarantines_a_cut_off_warc_and_keeps_its_good_records(tmp_path):
    whole = build_warc(tmp_path / "whole.warc", gzipped=False).read_bytes()
    cut = tmp_path / "in" / "cut.warc"
    cut.parent.mkdir()
    cut.write_bytes(whole[: len(whole) - 300])
    result = newsclean_flow(inputs=[str(cut.parent)], output=str(tmp_path / "out"))
    assert result.published
    urls = [r["url"] for r in _rows(f"SELECT url FROM '{tmp_path}/out/articles/*.parquet'")]
    assert urls == ["https://news.example/a/1"]
    # The row names the record the file ends in (file#offset) and the bytes that were read.
    last_record = whole.rindex(b"WARC/1.0\r\n")
    (row,) = result.summary.quarantine
    assert (row["source"], row["stage"]) == (f"{cut}#{last_record}", "read")
    assert row["input_sha256"] == hashlib.sha256(cut.read_bytes()).hexdigest()


@pytest.mark.server
def test_cli_runs_html_and_warc_inputs_together(tmp_path, capsys):
    warc = build_warc(tmp_path / "crawl.warc.gz")
    page = DATA / "html" / "article.html"
    assert main(["run", str(page), str(warc), "--output", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "reports" / "latest.json").read_text("utf-8"))
    assert report["inputs"]["published"] == 3


@pytest.mark.slow
def test_every_skipped_record_is_listed_with_its_offset_url_and_reason(tmp_path):
    path = tmp_path / "mixed.warc.gz"
    offsets: list[int] = []
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        records = [
            ("https://news.example/a/1", story(1).encode(), {}),
            (
                "https://news.example/report.pdf",
                b"%PDF-1.7 ...",
                {"content_type": "application/pdf"},
            ),
            ("https://news.example/logo.png", b"\x89PNG\r\n\x1a\n", {"content_type": "image/png"}),
            ("https://news.example/gone", b"<html>gone</html>", {"status": "404 Not Found"}),
            (
                "https://news.example/old",
                b"",
                {
                    "status": "301 Moved Permanently",
                    "http_extra": [("Location", "https://news.example/new")],
                },
            ),
            (
                "https://news.example/bad-gzip",
                b"not gzip at all",
                {"http_extra": [("Content-Encoding", "gzip")]},
            ),
        ]
        for url, body, options in records:
            offsets.append(handle.tell())
            _response(writer, url, body, **options)  # type: ignore[arg-type]
    documents, skipped, stats = _collect_all(path)
    assert [d.url for d in documents] == ["https://news.example/a/1"]
    assert [(s.source, s.url, s.reason) for s in skipped] == [
        (
            f"{path}#{offsets[1]}",
            "https://news.example/report.pdf",
            "not an HTML page (application/pdf)",
        ),
        (f"{path}#{offsets[2]}", "https://news.example/logo.png", "not an HTML page (image/png)"),
        (f"{path}#{offsets[3]}", "https://news.example/gone", "HTTP status 404"),
        (
            f"{path}#{offsets[4]}",
            "https://news.example/old",
            "HTTP status 301 (redirect to https://news.example/new)",
        ),
        (
            f"{path}#{offsets[5]}",
            "https://news.example/bad-gzip",
            skipped[4].reason,  # zlib's own words follow; the start is checked below
        ),
    ]
    assert skipped[4].reason.startswith("HTTP content encoding does not decode (gzip: ")
    assert stats.total == 6 and stats.kept == 1

    # In a run, each one is a row of the report's skipped list, and the sum still holds.
    result = newsclean_flow(inputs=[str(path)], output=str(tmp_path / "out"))
    assert result.published
    assert [(s["source"], s["url"]) for s in result.summary.skipped] == [
        (s.source, s.url) for s in sorted(skipped, key=lambda s: s.source)
    ]
    counts = result.summary.inputs
    assert (counts["total"], counts["published"], counts["skipped"]) == (6, 1, 5)
