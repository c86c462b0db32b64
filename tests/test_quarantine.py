"""Bad inputs of every kind are quarantined with one clear reason each; the rest publishes.

The bad inputs are generated here (no binary fixtures in the repository). Every input is
accounted for: published + skipped + quarantined = total.
"""

from __future__ import annotations

import io
import logging
import os
import random
import shutil
from pathlib import Path

import duckdb
import pytest

from flows.pipeline import newsclean_flow
from tasks.clean.document import process_shard
from tasks.config import PipelineConfig, ReadConfig
from tasks.extract.html import EXTRACTOR_LOGGERS
from tasks.models import InputRef

from .conftest import DATA, SEEDS

SIZE_LIMIT = 1_000_000
VANISHED = ("read", "file vanished before it could be read")
# name -> (stage, a phrase its reason must contain)
EXPECTED = {
    "empty.txt": ("read", "file is empty"),
    "blank.html": ("read", "no text (whitespace only)"),
    "binary.txt": ("decode", "binary content"),
    "nul-bytes.html": ("decode", "binary content"),
    "undecodable.txt": ("decode", "undecodable"),
    "huge.txt": ("read", f"over the {SIZE_LIMIT}-byte limit"),
    "notext.html": ("extract", "HTML page has no visible text"),
    "one-line.txt": ("split", "over the 200,000-character limit"),
    "pipe.txt": ("read", "not a regular file"),
    "truncated.warc.gz#0": ("read", "truncated WARC"),  # file#offset of the record
}
# A page whose <title> is longer than the articles suite allows: published, title unknown.
STUFFED_TITLE = "Cheap flights hotels deals " * 25
STUFFED_BODY = " ".join(
    f"The council met on day {n} to discuss the harbour budget and the new ferry timetable."
    for n in range(12)
)


def _truncated_warc(path: Path) -> None:
    """One gzipped HTML response record, cut in the middle of its payload."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    headers = StatusAndHeaders(
        "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
    )
    page = (DATA / "html" / "article.html").read_bytes()
    record = writer.create_warc_record(
        "https://news.example/cut", "response", payload=io.BytesIO(page), http_headers=headers
    )
    writer.write_record(record)
    whole = buffer.getvalue()
    path.write_bytes(whole[: len(whole) // 2])


def _bad_and_good_inputs(folder: Path) -> None:
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.html").write_bytes(b"  \n\t\n")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    (folder / "nul-bytes.html").write_bytes(b"<html><body>\x00\x01\x02\x00</body></html>" * 50)
    # High bytes in no pattern any charset explains (seeded: the same bytes every run).
    noise = random.Random(7)
    (folder / "undecodable.txt").write_bytes(
        bytes(noise.randrange(0x80, 0x100) for _ in range(4000))
    )
    (folder / "huge.txt").write_bytes(b"word " * (SIZE_LIMIT // 5 + 1))
    (folder / "notext.html").write_text("<html><body><script>x()</script></body></html>")
    # One line of 250,000 characters: more than the paragraphs suite allows a paragraph.
    one_line = " ".join(f"word{i % 977}" for i in range(30_000)) + "."
    (folder / "one-line.txt").write_text(f"A headline\n\n{one_line}\n", encoding="utf-8")
    os.mkfifo(folder / "pipe.txt")  # opening it to read would wait forever for a writer
    (folder / "stuffed-title.html").write_text(
        f"<html><head><title>{STUFFED_TITLE}</title></head><body><article>"
        f"<p>{STUFFED_BODY}</p></article></body></html>"
    )
    _truncated_warc(folder / "truncated.warc.gz")
    # Good inputs beside them, and a copy of one that the run skips as repeated content.
    for seed in sorted(SEEDS.iterdir())[:2]:
        shutil.copy(seed, folder / seed.name)
    shutil.copy(DATA / "html" / "article.html", folder / "page.html")
    # A name with a Latin-1 byte (not UTF-8): its surrogate in `source` once failed the run.
    shutil.copy(sorted(SEEDS.iterdir())[2], folder / os.fsdecode(b"caf\xe9.txt"))
    shutil.copy(sorted(SEEDS.iterdir())[0], folder / "zz-copy.txt")


@pytest.mark.slow
def test_every_bad_input_is_quarantined_once_and_the_good_ones_publish(tmp_path, caplog):
    inputs, output = tmp_path / "in", tmp_path / "out"
    _bad_and_good_inputs(inputs)
    config = PipelineConfig(read=ReadConfig(max_input_bytes=SIZE_LIMIT))
    with caplog.at_level(logging.WARNING):
        result = newsclean_flow(inputs=[str(inputs)], output=str(output), config=config)
    # Each bad page is reported once, in the quarantine table: the extractors' own per-page
    # complaints ("parsed tree length: 0", "discarding data") stay off the console.
    assert [r for r in caplog.records if r.name.split(".")[0] in EXTRACTOR_LOGGERS] == []

    assert result.published
    rows = duckdb.sql(
        f"SELECT source, stage, reason FROM '{output}/quarantine/*.parquet' ORDER BY source"
    ).fetchall()
    found = {Path(source).name: (stage, reason) for source, stage, reason in rows}
    assert len(rows) == len(found) == len(EXPECTED)  # one row, so one reason, per input
    for name, (stage, phrase) in EXPECTED.items():
        assert found[name][0] == stage and phrase in found[name][1], (name, found[name])
    published = dict(
        duckdb.sql(f"SELECT source, title FROM '{output}/articles/*.parquet'").fetchall()
    )
    assert sorted(Path(s).name for s in published) == [
        *(p.name for p in sorted(SEEDS.iterdir())[:2]),
        "caf\\xe9.txt",
        "page.html",
        "stuffed-title.html",
    ]
    assert published[str(inputs / "stuffed-title.html")] is None
    assert len(STUFFED_TITLE) > 500 and published[str(inputs / "page.html")]
    counts = result.summary.inputs
    assert counts["files"] == counts["total"] == len(EXPECTED) + 6
    assert (counts["published"], counts["skipped"], counts["quarantined"]) == (5, 1, len(EXPECTED))
    assert counts["published"] + counts["skipped"] + counts["quarantined"] == counts["total"]

    # A rerun over the same folder publishes nothing and records no quarantine row twice.
    again = newsclean_flow(inputs=[str(inputs)], output=str(output), config=config)
    assert again.summary.inputs["quarantined"] == len(EXPECTED)
    assert again.summary.inputs["skipped"] == 6
    assert len(list((output / "quarantine").glob("*.parquet"))) == 1


@pytest.mark.parametrize("name", ["gone.txt", "gone.html", "gone.warc.gz"])
def test_a_file_that_vanishes_after_discovery_is_quarantined(name, tmp_path):
    path = tmp_path / name
    path.write_bytes(b"Headline\n\nSome text.\n")
    ref = InputRef(str(path), str(path))  # discovered...
    path.unlink()  # ...then deleted before it is read
    good = SEEDS / sorted(p.name for p in SEEDS.iterdir())[0]
    result = process_shard([ref, InputRef(str(good), str(good))], PipelineConfig())
    assert [(q.source, q.stage, q.reason) for q in result.quarantined] == [(str(path), *VANISHED)]
    assert [a.source for a in result.articles] == [str(good)]


@pytest.mark.slow
def test_every_file_of_a_folder_appears_in_the_report_with_its_outcome(tmp_path):
    """Published, skipped or quarantined, with a reason that says what is wrong."""
    import gzip
    import hashlib

    inputs, output = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    seeds = sorted(SEEDS.iterdir())
    (inputs / "wide.txt").write_bytes(seeds[0].read_text(encoding="utf-8").encode("utf-16-le"))
    page = (DATA / "html" / "article.html").read_bytes()
    (inputs / "page.html.gz").write_bytes(gzip.compress(page))
    (inputs / "bomb.html.gz").write_bytes(gzip.compress(b" " * 3_000_000))
    (inputs / "blank.txt").write_bytes(b" \n\n\t ")
    (inputs / "moved.txt").symlink_to(inputs / "elsewhere.txt")
    (inputs / "notes.md").write_text("# notes\n")
    (inputs / "LICENSE").write_text("MIT\n")
    config = PipelineConfig(read=ReadConfig(max_input_bytes=SIZE_LIMIT))
    result = newsclean_flow(inputs=[str(inputs)], output=str(output), config=config)
    assert result.published
    summary = result.summary
    published = {
        Path(row[0]).name: row[1]
        for row in duckdb.sql(
            f"SELECT source, encoding FROM '{output}/articles/*.parquet'"
        ).fetchall()
    }
    quarantined = {Path(q["source"]).name: q for q in summary.quarantine}
    skipped = {Path(s["source"]).name: s["reason"] for s in summary.skipped}
    assert published == {"wide.txt": "utf-16-le", "page.html.gz": "utf-8"}
    assert skipped == {
        "notes.md": "unsupported type (.md file)",
        "LICENSE": "unsupported type (no file extension)",
    }
    reasons = {name: q["reason"] for name, q in quarantined.items()}
    assert reasons == {
        "bomb.html.gz": f"gzip content over the {SIZE_LIMIT}-byte limit (decompression stopped)",
        "blank.txt": "no text (whitespace only)",
        "moved.txt": f"dangling symlink -> {inputs / 'elsewhere.txt'}",
    }
    # Bytes were read for these two: their rows say which bytes.
    for name in ("bomb.html.gz", "blank.txt"):
        digest = hashlib.sha256((inputs / name).read_bytes()).hexdigest()
        assert quarantined[name]["input_sha256"] == digest, name
    assert quarantined["moved.txt"]["input_sha256"] is None
    listed = set(published) | set(skipped) | set(quarantined)
    assert listed == {p.name for p in inputs.iterdir()}
    counts = summary.inputs
    assert (counts["total"], counts["published"], counts["skipped"], counts["quarantined"]) == (
        7,
        2,
        2,
        3,
    )
