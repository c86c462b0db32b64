"""Atomic, idempotent publish: a run SIGKILLed at any point of the protocol, then rerun.

The CLI runs as a subprocess with the test hook in tasks/publish.py (NEWSCLEAN_TEST_PAUSE_AT)
so it stops at a known point; the test checks what a reader sees there, kills it, reruns
and compares the dataset with that of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.pipeline import DEDUP_STATE, newsclean_flow
from tasks.files import write_atomically
from tasks.models import QuarantineRecord
from tasks.process import ALREADY_PUBLISHED, article_id_for
from tasks.publish import (
    COMMIT_MARKER,
    PAUSE_ENV,
    PAUSE_FILE_ENV,
    PAUSE_POINTS,
    PUBLISHED_TABLES,
    STAGING,
    OutputBusyError,
    output_lock,
    publish,
    recover,
    write_staged,
)
from tasks.tables import quarantine_table

from .conftest import REPO, SEEDS
from .prefect_server import client_env, prefect_server

PAUSE_TIMEOUT_S = 600
RUN_CLI = (sys.executable, "-m", "flows.cli", "run")


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with prefect_server(tmp_path_factory.mktemp("prefect-server-home")) as url:
        yield url


def _dataset(output: Path, *, with_run_columns: bool = False) -> dict[str, list[tuple]]:
    """Every published table, sorted; without the columns that differ between runs."""
    tables = {}
    for table in PUBLISHED_TABLES:
        files = sorted(str(f) for f in (output / table).glob("*.parquet"))
        exclude = "" if with_run_columns else " EXCLUDE (run_id)"
        if table == "articles" and not with_run_columns:
            exclude = " EXCLUDE (run_id, processed_at)"
        tables[table] = (
            duckdb.sql(f"SELECT *{exclude} FROM read_parquet({files!r}) ORDER BY ALL").fetchall()
            if files
            else []
        )
    return tables


def _index_paragraph_ids(output: Path) -> list[str]:
    index = output / DEDUP_STATE / "index"
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    files = [str(index / part["paragraphs"]["file"]) for part in manifest["parts"]]
    return sorted(
        r[0] for r in duckdb.sql(f"SELECT paragraph_id FROM read_parquet({files!r})").fetchall()
    )


def _assert_visible_files_are_whole(output: Path) -> None:
    for table in PUBLISHED_TABLES:
        for path in (output / table).glob("*"):
            assert path.name.startswith("part-") and path.suffix == ".parquet", path
            pq.read_table(path)  # a torn file has no footer and raises


def _wait_for_pause(process: subprocess.Popen, marker: Path, log: Path) -> None:
    deadline = time.monotonic() + PAUSE_TIMEOUT_S
    while not marker.exists():
        assert process.poll() is None, f"run ended before pausing:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, "run did not reach its pause point"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two seeds published first; three more seeds and one bad input for the killed run."""
    root = tmp_path_factory.mktemp("inputs")
    first, second = root / "first", root / "second"
    first.mkdir()
    second.mkdir()
    seeds = sorted(SEEDS.iterdir())
    for seed in seeds[:2]:
        shutil.copy(seed, first / seed.name)
    for seed in seeds[2:]:
        shutil.copy(seed, second / seed.name)
    (second / "empty.txt").write_bytes(b"\n")
    return first, second


@pytest.mark.server
@pytest.mark.timeout(600)
def test_a_run_killed_anywhere_leaves_the_dataset_intact_and_a_rerun_completes_it(
    api_url, inputs, tmp_path
):
    first, second = inputs
    base = tmp_path / "base"
    assert newsclean_flow(inputs=[str(first)], output=str(base)).published
    before = _dataset(base, with_run_columns=True)
    reference = tmp_path / "reference"
    shutil.copytree(base, reference)
    assert newsclean_flow(inputs=[str(first), str(second)], output=str(reference)).published
    expected = _dataset(reference)
    assert len(expected["articles"]) == 5 and len(expected["quarantine"]) == 1

    # All kill points at once: each CLI run costs tens of seconds of imports and startup.
    runs = {}
    for point in PAUSE_POINTS:
        output = tmp_path / point
        shutil.copytree(base, output)
        marker, log = tmp_path / f"{point}.paused", tmp_path / f"{point}.log"
        env = client_env(
            api_url,
            tmp_path / f"{point}-home",
            PYTHONPATH=str(REPO),
            **{PAUSE_ENV: point, PAUSE_FILE_ENV: str(marker)},
        )
        with open(log, "wb") as handle:
            process = subprocess.Popen(
                [*RUN_CLI, str(first), str(second), "--output", str(output)],
                cwd=REPO,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        runs[point] = (process, output, marker, log)

    try:
        for point, (process, output, marker, log) in runs.items():
            _wait_for_pause(process, marker, log)
            _assert_visible_files_are_whole(output)
            seen = _dataset(output, with_run_columns=True)
            staged = list((output / STAGING).glob("*/*"))
            if point == "staging":  # killed in the middle of writing a staged file
                torn = [p for p in staged if p.name == "articles.parquet"]
                assert torn
                with pytest.raises(pa.ArrowInvalid):
                    pq.read_metadata(torn[0])
            if point in ("staging", "committed"):
                assert seen == before
            if point == "committed":
                assert {p.name for p in staged} == {
                    "articles.parquet",
                    "paragraphs.parquet",
                    "quarantine.parquet",
                    COMMIT_MARKER,
                }
            if point == "renaming":  # the articles file is in place, the others not yet
                assert len(seen["articles"]) == 5 and seen["paragraphs"] == before["paragraphs"]
            if point == "published":  # everything visible, dedup index not yet told
                assert len(seen["articles"]) == 5 and not staged
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            assert _dataset(output, with_run_columns=True) == seen  # the kill changed nothing
    finally:
        for process, *_ in runs.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)

    for point, (_, output, _, _) in runs.items():
        rerun = newsclean_flow(inputs=[str(first), str(second)], output=str(output))
        assert rerun.published, point
        assert _dataset(output) == expected, point
        assert not any((output / STAGING).iterdir()), point
        assert _index_paragraph_ids(output) == _index_paragraph_ids(reference), point
        committed = point != "staging"
        assert rerun.summary.dedup_index == ("rebuilt (stale)" if committed else "ok"), point
        assert rerun.summary.inputs["published"] == (0 if committed else 3), point


def test_only_one_run_writes_an_output_at_a_time(tmp_path):
    with output_lock(tmp_path), pytest.raises(OutputBusyError), output_lock(tmp_path):
        pass
    with output_lock(tmp_path):  # released on exit, also after the error above
        pass


def test_recover_completes_committed_runs_and_drops_the_rest(tmp_path):
    table = pa.table({"article_id": ["a"], "run_id": ["r"]})
    write_staged(tmp_path, "committed-run", {"articles": table})
    (tmp_path / STAGING / "committed-run" / COMMIT_MARKER).touch()
    write_staged(tmp_path, "abandoned-run", {"articles": table})
    assert recover(tmp_path) == ["committed-run"]
    assert [p.name for p in (tmp_path / "articles").iterdir()] == ["part-committed-run.parquet"]
    assert not any((tmp_path / STAGING).iterdir())
    assert recover(tmp_path) == []  # idempotent


def test_a_quarantined_input_is_recorded_once_across_runs(tmp_path):
    record = QuarantineRecord("a.txt", "read", "file is empty")
    for run_id in ("run-1", "run-2"):
        write_staged(tmp_path, run_id, {"quarantine": quarantine_table([record], run_id)})
        publish(tmp_path, run_id)
    files = list((tmp_path / "quarantine").iterdir())
    assert [f.name for f in files] == ["part-run-1.parquet"]


@pytest.mark.slow
def test_a_renamed_file_is_skipped_and_an_edited_file_is_new(tmp_path):
    inputs, output = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    first_seed, second_seed = sorted(SEEDS.iterdir())[:2]
    shutil.copy(first_seed, inputs / "a.txt")
    shutil.copy(second_seed, inputs / "b.txt")
    first = newsclean_flow(inputs=[str(inputs)], output=str(output))
    assert first.summary.inputs["published"] == 2

    (inputs / "a.txt").rename(inputs / "renamed.txt")
    correction = "\n\nCorrection: an earlier version of this article misstated the date.\n"
    (inputs / "b.txt").write_text(second_seed.read_text(encoding="utf-8") + correction)
    second = newsclean_flow(inputs=[str(inputs)], output=str(output))

    assert second.summary.skipped == [
        {"source": str(inputs / "renamed.txt"), "reason": ALREADY_PUBLISHED, "url": None}
    ]
    assert second.summary.inputs["published"] == 1
    new = duckdb.sql(
        f"SELECT source, article_id FROM '{output}/articles/part-{second.run_id}.parquet'"
    ).fetchall()
    assert new == [(str(inputs / "b.txt"), article_id_for((inputs / "b.txt").read_bytes()))]
    assert duckdb.sql(f"SELECT count(*) FROM '{output}/articles/*.parquet'").fetchall() == [(3,)]


def test_write_atomically_replaces_the_whole_file(tmp_path):
    target = tmp_path / "latest.json"
    target.write_text("old")
    write_atomically(target, b'{"new": true}')
    assert target.read_bytes() == b'{"new": true}'
    assert [p.name for p in tmp_path.iterdir()] == ["latest.json"]  # no temporary left


@pytest.mark.slow
def test_all_three_tables_exist_after_a_run_with_nothing_quarantined(tmp_path):
    """The README's reads work on every table, also on one that has no rows yet."""
    inputs, output = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    shutil.copy(sorted(SEEDS.iterdir())[0], inputs / "a.txt")
    first = newsclean_flow(inputs=[str(inputs)], output=str(output))
    assert first.published and first.summary.inputs["quarantined"] == 0
    assert first.summary.dedup_index == "new"  # a first run, not a "missing" index
    counts = {
        table: duckdb.sql(
            f"SELECT count(*) FROM read_parquet('{output}/{table}/*.parquet')"
        ).fetchall()[0][0]
        for table in ("articles", "paragraphs", "quarantine")
    }
    assert counts["articles"] == 1 and counts["paragraphs"] > 1 and counts["quarantine"] == 0
    columns = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{output}/quarantine/*.parquet')")
    assert [row[0] for row in columns.fetchall()] == quarantine_table([], "r").column_names
    # A run that finds nothing new adds no empty files.
    second = newsclean_flow(inputs=[str(inputs)], output=str(output))
    assert second.published
    parts = sorted(p.name for p in output.glob("*/part-*.parquet"))
    assert parts == [f"part-{first.run_id}.parquet"] * 3


@pytest.mark.slow
def test_a_run_that_completes_an_interrupted_one_writes_its_report_too(tmp_path):
    """The interrupted run gets a report from its published tables; the completing run's
    report says what it did."""
    from datetime import UTC, datetime

    from tasks.process import process_document
    from tasks.tables import articles_table, paragraphs_table

    inputs, output = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    seed = sorted(SEEDS.iterdir())[0]
    shutil.copy(seed, inputs / "a.txt")
    interrupted = "20260101T000000Z-deadbeef"
    article = process_document(seed.read_bytes(), str(inputs / "a.txt"))
    started = datetime(2026, 1, 1, tzinfo=UTC)
    tables = {
        "articles": articles_table([article], interrupted, started),
        "paragraphs": paragraphs_table([article], interrupted),
        "quarantine": quarantine_table(
            [QuarantineRecord("in/bad.txt", "read", "file is empty")], interrupted
        ),
    }
    write_staged(output, interrupted, tables)  # validated and committed, then killed
    (output / STAGING / interrupted / COMMIT_MARKER).touch()

    result = newsclean_flow(inputs=[str(inputs)], output=str(output))
    assert result.summary.outputs["recovered_runs"] == [interrupted]
    assert result.summary.skipped[0]["reason"] == ALREADY_PUBLISHED  # completed first
    assert any(interrupted in note for note in result.summary.notes)
    assert interrupted in (output / "reports" / "latest.html").read_text(encoding="utf-8")

    report = json.loads((output / "reports" / f"run-{interrupted}.json").read_text("utf-8"))
    removed = [p for p in article.paragraphs if not p.kept]
    assert report["inputs"] == {"published": 1, "quarantined": 1}
    assert sum(report["removed_by_label"].values()) == len(removed) > 0
    assert report["quarantine"][0]["reason"] == "file is empty"
    assert report["started_at"] == started.isoformat()
    assert result.run_id in report["notes"][0]
    assert (output / "reports" / f"run-{interrupted}.html").is_file()


# Columns the articles table gained on 2026-12-02 (versions, date precision): parts published
# before that have none of them.
NEW_ARTICLE_COLUMNS = ("supersedes", "version", "published_at_precision")


@pytest.mark.slow
def test_a_run_reads_parts_published_before_the_schema_gained_columns(tmp_path):
    inputs, output = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    first_seed, second_seed = sorted(SEEDS.iterdir())[:2]
    shutil.copy(first_seed, inputs / "a.txt")
    first = newsclean_flow(inputs=[str(inputs)], output=str(output))
    (part,) = (output / "articles").glob("*.parquet")
    old = pq.read_table(part)
    pq.write_table(old.drop_columns(list(NEW_ARTICLE_COLUMNS)), part)  # as an older run wrote it
    shutil.rmtree(output / DEDUP_STATE)

    shutil.copy(second_seed, inputs / "b.txt")
    second = newsclean_flow(inputs=[str(inputs)], output=str(output))

    assert first.published and second.published
    assert second.summary.inputs["published"] == 1
    rows = duckdb.sql(
        f"SELECT source, version FROM read_parquet('{output}/articles/*.parquet', "
        "union_by_name = true) ORDER BY source"
    ).fetchall()
    assert rows == [(str(inputs / "a.txt"), None), (str(inputs / "b.txt"), 1)]
