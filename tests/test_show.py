"""``newsclean show``: one article's record and its paragraphs, read from the published Parquet."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.cli import main

KEPT_ID = "aaaa000000000001"
COPY_ID = "bbbb000000000002"


def _output(tmp_path: Path) -> Path:
    """A small published output: three articles (the second copies a paragraph of the first,
    and its part has a column the first part lacks) and a quarantined input."""
    out = tmp_path / "out"
    for table in ("articles", "paragraphs", "quarantine"):
        (out / table).mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "article_id": [KEPT_ID, "cccc000000000003"],
                "source": ["in/first.html", "in/third.html"],
                "title": ["First <story>", None],
                "authors": [["Ann Writer"], []],
                "version": pa.array([1, 1], pa.int32()),
                "text": ["Kept paragraph one.", ""],
                "processed_at": [datetime(2026, 12, 1, tzinfo=UTC)] * 2,
            }
        ),
        out / "articles" / "part-1.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "article_id": [COPY_ID],
                "source": ["in/second.warc.gz#1234"],
                "title": ["Second story"],
                "authors": pa.array([[]], pa.list_(pa.string())),
                "version": pa.array([1], pa.int32()),
                "text": ["Own words."],
                "processed_at": [datetime(2026, 12, 2, tzinfo=UTC)],
                "fetched_at": ["2026-12-01T10:00:00Z"],  # a column added later
            }
        ),
        out / "articles" / "part-2.parquet",
    )
    long_text = " ".join(f"word{i}" for i in range(3000))
    pq.write_table(
        pa.table(
            {
                "paragraph_id": [f"{KEPT_ID}-00000", *(f"{COPY_ID}-0000{i}" for i in range(3))],
                "article_id": [KEPT_ID, COPY_ID, COPY_ID, COPY_ID],
                "position": pa.array([0, 0, 1, 2], pa.int32()),
                "text": [
                    "Kept paragraph one, shared by the wire.",
                    "Own words.",
                    "Kept paragraph one, shared by the wire.",
                    long_text,
                ],
                "label": ["body", "body", "duplicate", "boilerplate"],
                "reason": ["article_text", "article_text", "exact_duplicate", "copyright_line"],
                "duplicate_of": [None, None, f"{KEPT_ID}-00000", None],
            }
        ),
        out / "paragraphs" / "part-1.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "source": ["in/broken.html"],
                "stage": ["decode"],
                "reason": ["binary_content"],
                "input_sha256": ["ff" * 32],
            }
        ),
        out / "quarantine" / "part-1.parquet",
    )
    return out


def _show(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["show", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_show_prints_the_record_and_each_paragraph_with_its_reason(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    out = _output(tmp_path)
    code, text, err = _show(capsys, str(out), "second.warc.gz#1234")
    assert (code, err) == (0, "")
    lines = text.splitlines()
    # Every column of the record, the one only the newer part has included; text left out.
    assert any(line.split() == ["fetched_at", "2026-12-01T10:00:00Z"] for line in lines)
    assert any(line.split() == ["source", "in/second.warc.gz#1234"] for line in lines)
    assert not any(line.startswith("text ") for line in lines)
    assert "paragraphs: 3, 1 kept, 2 removed" in lines
    duplicate = next(i for i, line in enumerate(lines) if "exact_duplicate" in line)
    assert lines[duplicate].split()[:2] == ["1", "duplicate"]
    block = " ".join(" ".join(lines[duplicate + 1 : duplicate + 4]).split())
    assert block.startswith(
        f"↳ copy of paragraph 0 of {KEPT_ID} 'First <story>' (in/first.html): “Kept paragraph one"
    )
    # Aligned: every paragraph's text starts in the same column; no line wider than the terminal.
    heads = [line for line in lines if line[:1].isdigit()]
    texts = ["Own words.", "Kept paragraph", "word0"]
    assert len({line.find(text) for line, text in zip(heads, texts, strict=True)}) == 1
    assert all(len(line) <= 100 for line in lines)
    # The 3,000-word paragraph is cut with a marker rather than printed whole.
    assert any("more characters; --json prints them all" in line for line in lines)
    assert "word2999" not in text


def test_show_json_has_every_column_and_the_full_texts(tmp_path, capsys):
    out = _output(tmp_path)
    code, text, _ = _show(capsys, str(out), "bbbb", "--json")
    shown = json.loads(text)
    assert code == 0
    assert shown["article"]["article_id"] == COPY_ID
    assert shown["article"]["text"] == "Own words."
    assert [p["reason"] for p in shown["paragraphs"]] == [
        "article_text",
        "exact_duplicate",
        "copyright_line",
    ]
    assert shown["paragraphs"][1]["kept_copy"]["source"] == "in/first.html"
    assert shown["paragraphs"][2]["text"].endswith("word2999")


def test_show_finds_an_article_by_source_suffix_and_id_prefix(tmp_path, capsys):
    out = _output(tmp_path)
    for key in ("in/first.html", "first.html", KEPT_ID, "aaaa"):
        code, text, _ = _show(capsys, str(out), key, "--json")
        assert code == 0 and json.loads(text)["article"]["article_id"] == KEPT_ID, key


def test_show_says_why_a_quarantined_input_has_no_article(tmp_path, capsys):
    code, text, _ = _show(capsys, str(_output(tmp_path)), "broken.html")
    assert code == 0
    assert "quarantined: in/broken.html" in text and "binary_content" in text


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("nothing-like-it", "no published article or quarantined input"),
        ("in/", "no published article"),
        (
            ".html",
            "matches 2 articles: aaaa000000000001 (in/first.html), "
            "cccc000000000003 (in/third.html)",
        ),
    ],
)
def test_show_refuses_an_unknown_or_ambiguous_key_in_one_line(tmp_path, capsys, key, message):
    code, text, err = _show(capsys, str(_output(tmp_path)), key)
    assert (code, text) == (2, "")
    assert len(err.splitlines()) == 1 and message in err, err


def test_show_refuses_a_folder_that_is_no_output(tmp_path, capsys):
    code, _, err = _show(capsys, str(tmp_path), "x")
    assert code == 2 and "no newsclean output" in err


@pytest.mark.slow
@pytest.mark.timeout(600)  # the shared seeds run starts the flow on a loaded machine
def test_show_on_the_seeds_explains_a_removed_duplicate(seeds_run, capsys, monkeypatch):
    """A real run: the repeated lede of seed 002 is shown as a copy of its own paragraph 1."""
    monkeypatch.setenv("COLUMNS", "120")
    code, text, err = _show(capsys, str(seeds_run.output), "002_69438e7c3c1c14ec.txt")
    assert (code, err) == (0, "")
    lines = text.splitlines()
    assert any(line.split()[:2] == ["version", "1"] for line in lines)
    repeat = next(line for line in lines if "repeated_in_article" in line)
    assert repeat.split()[:2] == ["4", "duplicate"]
    assert "↳ copy of paragraph 1 of this article" in text
    code, as_json, _ = _show(
        capsys, str(seeds_run.output), "seeds/002_69438e7c3c1c14ec.txt", "--json"
    )
    shown = json.loads(as_json)
    labels = [p["label"] for p in shown["paragraphs"]]
    assert code == 0 and len(labels) == shown["article"]["n_paragraphs_in"]
    assert labels.count("title") + labels.count("body") == shown["article"]["n_paragraphs_kept"]
    kept_texts = [p["text"] for p in shown["paragraphs"] if p["label"] == "body"]
    assert shown["article"]["text"] == "\n\n".join(kept_texts)


def test_show_into_a_closed_pipe_is_no_error(tmp_path, monkeypatch):
    """``newsclean show ... | head -1``: a reader that left early is neither a traceback nor
    a failure."""
    import os

    out = _output(tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone: every write meets a closed pipe
    with open(write_end, "w", encoding="utf-8") as closed:
        monkeypatch.setattr("sys.stdout", closed)
        assert main(["show", str(out), COPY_ID]) == 0
