"""End to end on a real Prefect flow run: gold labels, schema, validation gate, quarantine."""

from __future__ import annotations

import datetime
import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from flows.cli import main
from flows.pipeline import newsclean_flow
from tasks.clean.paragraphs import split_paragraphs
from tasks.config import EXPECTATIONS_DIR, PipelineConfig, ReadConfig
from tasks.output.tables import ARTICLES_SCHEMA, PARAGRAPHS_SCHEMA

from .conftest import DATA, SEEDS

# Every test here runs the real flow (most share one run over the seeds): none is quick.
pytestmark = pytest.mark.slow

KEPT = {"title", "body"}


def _rows(query: str) -> list[dict]:
    relation = duckdb.sql(query)
    names = [d[0] for d in relation.description]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def _paragraphs_by_line(output: Path) -> dict[tuple[str, int], dict]:
    rows = _rows(
        f"SELECT a.source, p.* FROM read_parquet('{output}/paragraphs/**/*.parquet') p "
        f"JOIN read_parquet('{output}/articles/**/*.parquet') a USING (article_id)"
    )
    return {(Path(r["source"]).name, r["line_start"]): r for r in rows}


def test_seeds_match_the_gold_labels(seeds_run, gold):
    assert seeds_run.published
    found = _paragraphs_by_line(seeds_run.output)
    wrong = []
    for entry in gold:
        row = found.get((entry["file"], entry["lines"][0]))
        assert row is not None, f"gold paragraph missing: {entry['file']} {entry['lines']}"
        assert row["text"] == entry["text"]
        assert row["line_end"] == entry["lines"][1]
        assert (row["label"] in KEPT) == (entry["label"] in KEPT), entry
        if row["label"] != entry["label"]:
            wrong.append((entry["file"], entry["lines"], entry["label"], row["label"]))
    assert wrong == []
    assert len(found) == len(gold)


def test_seed_titles_are_exact(seeds_run, gold):
    titles = {
        Path(r["source"]).name: r["title"]
        for r in _rows(f"SELECT source, title FROM '{seeds_run.output}/articles/*.parquet'")
    }
    expected = {e["file"]: e["text"] for e in gold if e["label"] == "title"}
    assert titles == expected


def test_bylines_and_credits_become_metadata(seeds_run):
    meta = {
        Path(r["source"]).name[:3]: set(r["authors"]) | set(r["credits"])
        for r in _rows(
            f"SELECT source, authors, credits FROM '{seeds_run.output}/articles/*.parquet'"
        )
    }
    assert "Associated Press" in meta["000"]
    assert {"RFE/RL", "AP", "TASS", "Reuters", "Al Jazeera", "dpa", "AFP"} <= meta["003"]
    assert "Nicklaus Predovic" in meta["004"]


def test_duplicates_point_at_a_kept_paragraph(seeds_run):
    rows = _rows(f"SELECT * FROM '{seeds_run.output}/paragraphs/*.parquet'")
    by_id = {r["paragraph_id"]: r for r in rows}
    duplicates = [r for r in rows if r["label"] == "duplicate"]
    assert len(duplicates) == 3
    for row in duplicates:
        kept = by_id[row["duplicate_of"]]
        assert kept["label"] in KEPT
        assert kept["article_id"] == row["article_id"] and kept["position"] < row["position"]
        assert row["cluster_id"] == kept["cluster_id"] == kept["paragraph_id"]


def test_nothing_is_lost_every_input_paragraph_is_a_row(seeds_run):
    expected = sum(len(split_paragraphs(p.read_text(encoding="utf-8"))) for p in SEEDS.iterdir())
    counts = _rows(
        f"SELECT (SELECT count(*) FROM '{seeds_run.output}/paragraphs/*.parquet') AS rows, "
        f"(SELECT sum(n_paragraphs_in) FROM '{seeds_run.output}/articles/*.parquet') AS n_in, "
        f"(SELECT sum(n_paragraphs_kept + n_removed_ad + n_removed_byline + n_removed_promo "
        f"+ n_removed_caption + n_removed_boilerplate + n_removed_duplicate) "
        f"FROM '{seeds_run.output}/articles/*.parquet') AS accounted"
    )[0]
    assert counts == {"rows": expected, "n_in": expected, "accounted": expected}


def _column_types(output: Path, table: str) -> dict[str, str]:
    return dict(
        duckdb.sql(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
            f"read_parquet('{output}/{table}/**/*.parquet'))"
        ).fetchall()
    )


def test_duckdb_reads_the_documented_types(seeds_run):
    articles = _column_types(seeds_run.output, "articles")
    assert articles["article_id"] == "VARCHAR"
    assert articles["authors"] == "VARCHAR[]"
    assert articles["credits"] == "VARCHAR[]"
    assert articles["published_at"] == "TIMESTAMP WITH TIME ZONE"
    assert articles["published_date"] == "DATE"
    assert articles["processed_at"] == "TIMESTAMP WITH TIME ZONE"
    assert articles["n_paragraphs_in"] == "INTEGER"
    assert articles["word_count"] == "INTEGER"
    paragraphs = _column_types(seeds_run.output, "paragraphs")
    assert paragraphs["position"] == "INTEGER"
    assert paragraphs["duplicate_of"] == "VARCHAR"
    row = _rows(
        f"SELECT text, published_at, word_count, content_hash, len(article_id) AS id_len "
        f"FROM '{seeds_run.output}/articles/*.parquet' WHERE source LIKE '%003_%'"
    )[0]
    assert row["published_at"] is None
    assert row["word_count"] == len(row["text"].split()) > 100
    assert row["id_len"] == 16 and len(row["content_hash"]) == 64
    assert "\n\n" in row["text"] and "Copyright" not in row["text"]


def test_pyarrow_dataset_sees_the_published_schema(seeds_run):
    articles = ds.dataset(seeds_run.output / "articles")
    paragraphs = ds.dataset(seeds_run.output / "paragraphs")
    assert articles.schema.equals(ARTICLES_SCHEMA, check_metadata=False)
    assert paragraphs.schema.equals(PARAGRAPHS_SCHEMA, check_metadata=False)
    assert articles.count_rows() == 5


def test_run_report_and_data_docs_are_written(seeds_run, gold):
    report = json.loads(seeds_run.report_json.read_text(encoding="utf-8"))
    assert report["inputs"] == {
        "files": 5,
        "total": 5,
        "published": 5,
        "skipped": 0,
        "quarantined": 0,
        "not_published_validation_failed": 0,
    }
    assert report["validation"]["success"] is True
    removed = {}
    for entry in gold:
        if entry["label"] not in KEPT:
            removed[entry["label"]] = removed.get(entry["label"], 0) + 1
    assert report["removed_by_label"] == removed
    assert report["removed_by_rule"]["ad_marker"] == removed["ad"]
    assert {s["name"]: s["unit"] for s in report["stages"]} == {
        "read": "documents",
        "clean": "documents",
        "classify": "paragraphs",
        "stage_shard": "articles",
        "repeated_inputs": "articles",
        "versions": "articles",
        "deduplicate": "paragraphs",
        "site_chrome": "paragraphs",
        "article_links": "articles",
        "tables": "articles",
        "validate": "articles",
    }
    classify = next(s for s in report["stages"] if s["name"] == "classify")
    assert classify["total"] == len(gold)  # every seed paragraph, once
    assert Path(seeds_run.data_docs).is_file()
    assert (seeds_run.output / "reports" / "latest.html").is_file()


def _table_without_run_columns(output: Path, table: str, key: str) -> list[tuple]:
    return duckdb.sql(
        f"SELECT * EXCLUDE (run_id{', processed_at' if table == 'articles' else ''}) "
        f"FROM read_parquet('{output}/{table}/*.parquet') ORDER BY {key}"
    ).fetchall()


def test_output_does_not_depend_on_sharding(seeds_run, tmp_path):
    other = newsclean_flow(
        inputs=[str(SEEDS)], output=str(tmp_path), config=PipelineConfig(shard_size=2)
    )
    assert other.published
    for table, key in (("articles", "article_id"), ("paragraphs", "paragraph_id")):
        assert _table_without_run_columns(other.output, table, key) == (
            _table_without_run_columns(seeds_run.output, table, key)
        )


def test_rerun_publishes_nothing_new(tmp_path):
    first = newsclean_flow(inputs=[str(SEEDS)], output=str(tmp_path))
    files = sorted(p.name for p in (tmp_path / "articles").iterdir())
    second = newsclean_flow(inputs=[str(SEEDS)], output=str(tmp_path))
    assert first.summary.inputs["published"] == 5
    assert second.summary.inputs["published"] == 0
    assert second.summary.inputs["skipped"] == 5
    assert sorted(p.name for p in (tmp_path / "articles").iterdir()) == files


def test_bad_inputs_are_quarantined_and_good_ones_publish(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "good.txt").write_bytes((SEEDS / "003_a7277c371bf19f06.txt").read_bytes())
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    (inputs / "huge.txt").write_bytes(b"word " * 300_000)
    (inputs / "notext.html").write_text("<html><body><script>x()</script></body></html>")
    (inputs / "page.html").write_bytes((DATA / "html" / "article.html").read_bytes())
    result = newsclean_flow(
        inputs=[str(inputs)],
        output=str(tmp_path / "out"),
        config=PipelineConfig(read=ReadConfig(max_input_bytes=1_000_000)),
    )
    assert result.published
    reasons = {Path(q["source"]).name: (q["stage"], q["reason"]) for q in result.summary.quarantine}
    assert reasons["empty.txt"] == ("read", "file is empty")
    assert reasons["binary.txt"][0] == "decode" and "binary" in reasons["binary.txt"][1]
    assert reasons["huge.txt"][0] == "read" and "limit" in reasons["huge.txt"][1]
    assert reasons["notext.html"] == ("extract", "HTML page has no visible text")
    assert len(reasons) == 4
    published = _rows(f"SELECT source, extractor FROM '{tmp_path}/out/articles/*.parquet'")
    assert sorted(Path(r["source"]).name for r in published) == ["good.txt", "page.html"]
    quarantine = _rows(f"SELECT * FROM '{tmp_path}/out/quarantine/*.parquet'")
    assert len(quarantine) == 4
    counts = result.summary.inputs
    assert counts["total"] == counts["files"] == 6
    assert counts["published"] + counts["skipped"] + counts["quarantined"] == counts["total"]


def test_html_page_gets_metadata_and_its_chrome_labelled(tmp_path):
    result = newsclean_flow(inputs=[str(DATA / "html" / "article.html")], output=str(tmp_path))
    assert result.published
    article = _rows(f"SELECT * FROM '{tmp_path}/articles/*.parquet'")[0]
    assert article["title"] == "Harbour bridge reopens after repairs"
    assert article["authors"] == ["Alice Marin"]
    assert article["site_name"] == "Coastline Gazette"
    assert article["extractor"] == "trafilatura"
    assert article["published_at"] is not None
    # The day the page states (09:30 +01:00 on March 5), through staging and the run-wide tables.
    assert article["published_date"] == datetime.date(2024, 3, 5)
    labels = {
        r["text"]: r["label"] for r in _rows(f"SELECT * FROM '{tmp_path}/paragraphs/*.parquet'")
    }
    assert labels.get("Advertisement", "ad") == "ad"
    assert "Advertisement" not in article["text"]
    assert "READ MORE" not in article["text"]
    assert "20,000 vehicles a day" in article["text"]


@pytest.mark.server
@pytest.mark.timeout(300)
def test_failed_validation_publishes_nothing_and_exits_non_zero(tmp_path, capsys, monkeypatch):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for seed in sorted(SEEDS.iterdir())[:2]:
        (inputs / seed.name).write_bytes(seed.read_bytes())
    # A suite of the user's own that these articles break: none may be over 50 words. (Bounds
    # an input alone can break, e.g. a paragraph's length, quarantine that input instead.)
    suites = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, suites)
    articles = json.loads((suites / "articles.json").read_text(encoding="utf-8"))
    articles["expectations"].append(
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "word_count", "max_value": 50},
        }
    )
    (suites / "articles.json").write_text(json.dumps(articles), encoding="utf-8")
    monkeypatch.setattr(
        "tasks.config.PipelineConfig", functools.partial(PipelineConfig, expectations_dir=suites)
    )
    output = tmp_path / "out"
    code = main(["run", str(inputs), "--output", str(output)])
    printed = capsys.readouterr().out
    assert code == 1
    assert "validation FAILED" in printed
    assert "expect_column_values_to_be_between on word_count (2 unexpected)" in printed
    assert not (output / "articles").exists() and not (output / "paragraphs").exists()
    assert not any((output / "_staging").glob("*")) if (output / "_staging").exists() else True
    report = json.loads((output / "reports" / "latest.json").read_text(encoding="utf-8"))
    assert report["published"] is False
    assert report["inputs"]["not_published_validation_failed"] == 2
    assert [f["column"] for f in report["validation"]["failures"]] == ["word_count"]


@pytest.mark.server
@pytest.mark.timeout(300)
@pytest.mark.parametrize("argv", [["run", "does/not/exist"]])
def test_cli_reports_missing_input_as_usage_error(argv, tmp_path, capsys):
    assert main([*argv, "--output", str(tmp_path)]) == 2
    assert "input not found" in capsys.readouterr().err


@pytest.mark.server
@pytest.mark.timeout(300)
def test_the_command_exits_with_mains_code(tmp_path):
    """``entry`` (the installed ``newsclean``) passes main's exit code on after its freeze."""
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "does/not/exist", "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "input not found" in done.stderr


def test_report_shows_each_cluster_with_its_kept_text(seeds_run):
    report = json.loads(seeds_run.report_json.read_text(encoding="utf-8"))
    rows = {
        r["paragraph_id"]: r["text"]
        for r in _rows(f"SELECT paragraph_id, text FROM '{seeds_run.output}/paragraphs/*.parquet'")
    }
    assert len(report["duplicate_clusters"]) == 3
    for cluster in report["duplicate_clusters"]:
        assert cluster["text"] == rows[cluster["kept"]]
        assert cluster["size"] == len(cluster["copies"]) + 1
