"""Atomic, idempotent publish: a run SIGKILLed at any point of the protocol, then rerun.

The CLI runs as a subprocess with the test hook in tasks/output/publish.py (NEWSCLEAN_TEST_PAUSE_AT)
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
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.pipeline import DEDUP_STATE, _visible_parts, newsclean_flow
from tasks.dedup.index_sync import _published_runs
from tasks.files import write_atomically
from tasks.models import QuarantineRecord
from tasks.clean.document import ALREADY_PUBLISHED, article_id_for
from tasks.output.publish import (
    COMMIT_MARKER,
    PAUSE_ENV,
    PAUSE_FILE_ENV,
    PAUSE_POINTS,
    PUBLISHED_TABLES,
    STAGING,
    OutputBusyError,
    output_lock,
    part_name,
    part_run_id,
    publish,
    read_published,
    recover,
    run_parts,
    staged_parts,
    staging_dir,
    write_staged,
    write_staged_table,
)
from tasks.report.run_report import recovered_summary
from tasks.output.tables import QUARANTINE_SCHEMA

from ..builders import quarantine_table

from ..conftest import REPO, SEEDS
from ..prefect_server import client_env, prefect_server

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
            # The run's table parts and marker (not the shards' rows the run-wide step reads).
            staged = [
                p
                for p in (output / STAGING).rglob("*")
                if p.is_file() and (p.parent.name in PUBLISHED_TABLES or p.name == COMMIT_MARKER)
            ]
            if point == "staging":  # killed in the middle of writing a staged part
                (torn,) = staged
                assert torn.parent.name == "paragraphs" and torn.name.endswith("-00000.parquet")
                with pytest.raises(pa.ArrowInvalid):
                    pq.read_metadata(torn)
            if point in ("staging", "committed"):
                assert seen == before
            if point == "committed":
                (folder,) = (output / STAGING).iterdir()
                assert sorted(str(p.relative_to(folder)) for p in staged) == [
                    COMMIT_MARKER,
                    *(f"{t}/part-{folder.name}-00000.parquet" for t in PUBLISHED_TABLES),
                ]
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
    assert [p.name for p in (tmp_path / "articles").iterdir()] == [
        "part-committed-run-00000.parquet"
    ]
    assert not any((tmp_path / STAGING).iterdir())
    assert recover(tmp_path) == []  # idempotent


def test_a_quarantined_input_is_recorded_once_across_runs(tmp_path):
    record = QuarantineRecord("a.txt", "read", "file is empty")
    for run_id in ("run-1", "run-2"):
        write_staged(tmp_path, run_id, {"quarantine": quarantine_table([record], run_id)})
        publish(tmp_path, run_id)
    files = list((tmp_path / "quarantine").iterdir())
    assert [f.name for f in files] == ["part-run-1-00000.parquet"]


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
        f"SELECT source, article_id FROM '{output}/articles/part-{second.run_id}-*.parquet'"
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
    assert parts == [f"part-{first.run_id}-00000.parquet"] * 3


@pytest.mark.slow
def test_a_run_that_completes_an_interrupted_one_writes_its_report_too(tmp_path):
    """The interrupted run gets a report from its published tables; the completing run's
    report says what it did."""

    from tasks.clean.document import process_document
    from ..builders import articles_table, paragraphs_table

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


# --- bounded parts: streams of any size ------------------------------------------------------

ROWS_SCHEMA = pa.schema(
    [
        pa.field("paragraph_id", pa.string(), nullable=False),
        pa.field("position", pa.int32(), nullable=False),
        pa.field("text", pa.string()),
    ]
)
# Small bounds so that a few thousand rows make several parts of several row groups.
SMALL = {"part_rows": 1_000, "row_group_rows": 256}


def _rows(count: int, start: int = 0, words: int = 1) -> pa.Table:
    ids = range(start, start + count)
    return pa.table(
        {
            "paragraph_id": [f"p{i:07d}" for i in ids],
            "position": pa.array([i % 50 for i in ids], pa.int32()),
            "text": [None if i % 17 == 0 else f"paragraph {i} " * (i % 7 * words) for i in ids],
        },
        schema=ROWS_SCHEMA,
    )


def _chunked(table: pa.Table, sizes: list[int]) -> Iterator[pa.RecordBatch | pa.Table]:
    """``table`` cut into pieces of the given sizes in turn, tables and batches mixed."""
    offset, turn = 0, 0
    while offset < table.num_rows:
        size = sizes[turn % len(sizes)]
        piece = table.slice(offset, size)
        yield piece if turn % 2 else pa.Table.from_batches(piece.to_batches(max_chunksize=3))
        if turn % 3 == 0:
            yield ROWS_SCHEMA.empty_table()  # empty pieces change nothing
        offset, turn = offset + size, turn + 1


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


def test_a_stream_larger_than_a_part_is_published_in_bounded_parts(tmp_path):
    rows = _rows(2_345)
    stream = pa.RecordBatchReader.from_batches(ROWS_SCHEMA, rows.to_batches(max_chunksize=100))
    staged = write_staged_table(tmp_path, "run-1", "paragraphs", stream, ROWS_SCHEMA, **SMALL)
    assert staged == staged_parts(tmp_path, "run-1", "paragraphs")
    assert [p.name for p in staged] == [f"part-run-1-{k:05d}.parquet" for k in range(3)]
    assert [pq.read_metadata(p).num_rows for p in staged] == [1_000, 1_000, 345]
    groups = [pq.read_metadata(staged[0]).row_group(i).num_rows for i in range(4)]
    assert groups == [256, 256, 256, 232]  # a part ends on its bound, not on a group's

    published = publish(tmp_path, "run-1")
    assert [p.name for p in published] == [p.name for p in staged]
    assert all(p.parent == tmp_path / "paragraphs" for p in published)
    back = duckdb.sql(
        f"SELECT * FROM read_parquet('{tmp_path}/paragraphs/*.parquet') ORDER BY paragraph_id"
    ).to_arrow_table()
    assert back.cast(ROWS_SCHEMA).equals(rows)
    assert read_published(tmp_path, "paragraphs").num_rows == rows.num_rows


@pytest.mark.parametrize("sizes", [[1], [7, 1, 333], [999, 2], [5_000]])
def test_parts_are_byte_identical_however_the_stream_is_chunked(tmp_path, sizes):
    # Long texts: a row group's text column spans several Parquet pages (1 MB each), whose
    # boundaries would follow the caller's chunks if the writer were given them as they came.
    rows, bounds = _rows(2_345, words=40), {"part_rows": 1_000, "row_group_rows": 1_000}
    write_staged_table(tmp_path / "whole", "r", "paragraphs", [rows], ROWS_SCHEMA, **bounds)
    write_staged_table(
        tmp_path / "chunked", "r", "paragraphs", _chunked(rows, sizes), ROWS_SCHEMA, **bounds
    )
    whole, chunked = _files(tmp_path / "whole"), _files(tmp_path / "chunked")
    assert len(whole) == 3 and chunked == whole


def test_writing_a_table_again_replaces_its_staged_parts(tmp_path):
    write_staged_table(tmp_path, "r", "paragraphs", [_rows(2_345)], ROWS_SCHEMA, **SMALL)
    again = write_staged_table(tmp_path, "r", "paragraphs", [_rows(10)], ROWS_SCHEMA, **SMALL)
    assert staged_parts(tmp_path, "r", "paragraphs") == again and len(again) == 1


def test_an_empty_stream_stages_one_empty_part_only_while_nothing_is_published(tmp_path):
    (first,) = write_staged_table(tmp_path, "run-1", "paragraphs", iter([]), ROWS_SCHEMA)
    assert pq.read_schema(first).equals(ROWS_SCHEMA) and pq.read_metadata(first).num_rows == 0
    publish(tmp_path, "run-1")
    assert write_staged_table(tmp_path, "run-2", "paragraphs", iter([]), ROWS_SCHEMA) == []
    assert publish(tmp_path, "run-2") == []


def _several_parts(output: Path, run_id: str) -> None:
    """A run whose articles and paragraphs are several parts each, staged and published."""
    write_staged_table(output, run_id, "articles", [_rows(2_100)], ROWS_SCHEMA, **SMALL)
    write_staged_table(output, run_id, "paragraphs", [_rows(3_500)], ROWS_SCHEMA, **SMALL)
    record = QuarantineRecord("bad.txt", "read", "file is empty")
    write_staged(output, run_id, {"quarantine": quarantine_table([record], run_id)})
    publish(output, run_id)


def test_a_publish_that_fails_between_renames_is_completed_identically(tmp_path, monkeypatch):
    reference, output = tmp_path / "reference", tmp_path / "out"
    _several_parts(reference, "run-1")
    assert len(_files(reference)) == 3 + 4 + 1
    real_replace, renames = os.replace, []

    def fail_on_the_fifth(source: Path, target: Path) -> None:
        if len(renames) == 4:
            raise OSError("disk gone")
        renames.append(target)
        real_replace(source, target)

    monkeypatch.setattr("tasks.output.publish.os.replace", fail_on_the_fifth)
    with pytest.raises(OSError, match="disk gone"):
        _several_parts(output, "run-1")
    monkeypatch.undo()
    assert _visible_parts(output, "run-1") == renames  # whole parts only, in order
    assert recover(output) == ["run-1"]
    assert _files(output) == _files(reference)
    assert _visible_parts(output, "run-1") == sorted(
        (output / t / name) for t in PUBLISHED_TABLES for name in os.listdir(output / t)
    )
    assert recover(output) == [] and _files(output) == _files(reference)  # idempotent


# The killed process: stages and publishes ``_several_parts`` under the test hook.
_KILLED_RUN = """
import sys
from pathlib import Path
from tests.output.test_publish import _several_parts
_several_parts(Path(sys.argv[1]), "run-2")
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_run_of_several_parts_killed_anywhere_is_recovered_to_the_same_files(tmp_path):
    base, reference = tmp_path / "base", tmp_path / "reference"
    _several_parts(base, "run-1")
    shutil.copytree(base, reference)
    _several_parts(reference, "run-2")
    runs = {}
    for point in PAUSE_POINTS:
        output, marker = tmp_path / point, tmp_path / f"{point}.paused"
        shutil.copytree(base, output)
        env = {**os.environ, PAUSE_ENV: point, PAUSE_FILE_ENV: str(marker), "PYTHONPATH": str(REPO)}
        log = open(tmp_path / f"{point}.log", "wb")  # noqa: SIM115 - closed after the kill
        process = subprocess.Popen(
            [sys.executable, "-c", _KILLED_RUN, str(output)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        runs[point] = (process, output, marker, log)
    try:
        for point, (process, output, marker, log) in runs.items():
            _wait_for_pause(process, marker, Path(log.name))
            _assert_visible_files_are_whole(output)
            visible = _visible_parts(output, "run-2")
            if point in ("staging", "committed"):
                assert visible == [] and _files(output).keys() - _files(base).keys() == {
                    str(p.relative_to(output)) for p in (output / STAGING).rglob("*.parquet")
                }
            if point == "renaming":  # one part moved, the rest still staged
                assert [p.name for p in visible] == ["part-run-2-00000.parquet"]
            if point == "published":
                assert _files(output) == _files(reference)
            process.kill()
            process.wait(timeout=30)
            log.close()
    finally:
        for process, *_ in runs.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)

    for point, (_, output, _, _) in runs.items():
        completed = recover(output)
        assert completed == (["run-2"] if point in ("committed", "renaming") else []), point
        if point == "staging":  # nothing was committed: dropped, and the run starts afresh
            assert _files(output) == _files(base)
            _several_parts(output, "run-2")
        assert _files(output) == _files(reference), point
        assert not any((output / STAGING).iterdir()), point


def test_parts_published_by_earlier_versions_are_still_read(tmp_path):
    """An output written before bounded parts: one ``part-<run_id>.parquet`` per table."""
    legacy = "20260101T000000Z-12345678"  # a run id ending in digits, as new_run_id can make
    started = datetime(2026, 1, 1, tzinfo=UTC)
    old_articles = pa.table({"article_id": ["a", "b", "c"], "processed_at": [started] * 3})
    old_paragraphs = _rows(5).append_column("label", pa.array(["body"] * 4 + ["nav"]))
    old_paragraphs = old_paragraphs.append_column("reason", pa.array(["kept"] * 4 + ["menu"]))
    for table, rows in (("articles", old_articles), ("paragraphs", old_paragraphs)):
        (tmp_path / table).mkdir()
        pq.write_table(rows, tmp_path / table / f"part-{legacy}.parquet")
    (tmp_path / "quarantine").mkdir()
    old_quarantine = quarantine_table(
        [QuarantineRecord("bad.txt", "read", "file is empty")], legacy
    )
    pq.write_table(old_quarantine, tmp_path / "quarantine" / f"part-{legacy}.parquet")
    # ... and a run that committed under the earlier version but was killed while renaming.
    interrupted = "20260101T010000Z-00000abc"
    staged = staging_dir(tmp_path, interrupted)
    staged.mkdir(parents=True)
    pq.write_table(_rows(2, start=100), staged / "paragraphs.parquet")
    (staged / COMMIT_MARKER).touch()

    assert recover(tmp_path) == [interrupted]
    assert run_parts(tmp_path, "paragraphs", interrupted) == [
        tmp_path / "paragraphs" / f"part-{interrupted}.parquet"
    ]
    _several_parts(tmp_path, "run-2")  # the bad input again: already recorded

    assert _published_runs(tmp_path) == sorted([legacy, interrupted, "run-2"])
    assert [p.name for p in run_parts(tmp_path, "articles", legacy)] == [f"part-{legacy}.parquet"]
    assert len(run_parts(tmp_path, "paragraphs", "run-2")) == 4
    assert read_published(tmp_path, "paragraphs").num_rows == 5 + 2 + 3_500
    assert read_published(tmp_path, "quarantine").num_rows == 1
    old = recovered_summary(tmp_path, legacy, "run-2")
    assert old.outputs["files"] == [
        str(tmp_path / t / f"part-{legacy}.parquet") for t in PUBLISHED_TABLES
    ]
    assert old.inputs == {"published": 3, "quarantined": 1}
    assert old.removed_by_label == {"nav": 1} and old.started_at == started.isoformat()


def test_part_names_say_which_run_wrote_them():
    assert part_run_id(Path("part-run-1-00000.parquet")) == "run-1"
    assert part_run_id(Path("part-run-1-00012.parquet")) == "run-1"
    assert part_run_id(Path("part-run-1.parquet")) == "run-1"  # as earlier versions named it
    assert part_run_id(Path("part-x-12345678.parquet")) == "x-12345678"  # not a part number
    assert part_run_id(Path("notes.parquet")) is None
    assert part_name("run-1", 7) == "part-run-1-00007.parquet"


def test_a_runs_parts_are_not_confused_with_those_of_a_longer_run_id(tmp_path):
    (tmp_path / "articles").mkdir()
    for name in ("part-run-00000.parquet", "part-run-1-00000.parquet", "part-run-00001.parquet"):
        (tmp_path / "articles" / name).touch()
    assert [p.name for p in run_parts(tmp_path, "articles", "run")] == [
        "part-run-00000.parquet",
        "part-run-00001.parquet",
    ]
    assert [p.name for p in run_parts(tmp_path, "articles", "run-1")] == [
        "part-run-1-00000.parquet"
    ]


def test_a_recovered_runs_report_counts_all_its_parts(tmp_path):
    from tasks.output.tables import PARAGRAPHS_SCHEMA

    paragraphs = pa.Table.from_pylist(
        [
            {
                "paragraph_id": f"p{i:05d}",
                "article_id": "a",
                "position": i,
                "text": "menu",
                "label": "boilerplate",
                "reason": "nav",
                "line_start": i,
                "line_end": i,
                "run_id": "run-1",
            }
            for i in range(2_500)
        ],
        schema=PARAGRAPHS_SCHEMA,
    )
    write_staged_table(tmp_path, "run-1", "paragraphs", [paragraphs], PARAGRAPHS_SCHEMA, **SMALL)
    publish(tmp_path, "run-1")
    summary = recovered_summary(tmp_path, "run-1", "run-2")
    assert summary.removed_by_label == {"boilerplate": 2_500}
    assert summary.outputs["files"] == [str(p) for p in _visible_parts(tmp_path, "run-1")]
    assert len(summary.outputs["files"]) == 3


def test_quarantine_rows_already_published_are_dropped_from_a_stream(tmp_path):
    def rows(run_id: str, *names: str) -> pa.Table:
        records = [QuarantineRecord(f"{n}.txt", "read", "file is empty", n) for n in names]
        return quarantine_table(records, run_id)

    write_staged(tmp_path, "run-1", {"quarantine": rows("run-1", "a", "b", "c")})
    publish(tmp_path, "run-1")
    stream = [rows("run-2", "d", "a").to_batches()[0], rows("run-2", "e", "b", "f"), rows("run-2")]
    stream += [rows("run-2", "c"), rows("run-2", *(f"x{i:04d}" for i in range(700)))]
    staged = write_staged_table(
        tmp_path, "run-2", "quarantine", iter(stream), QUARANTINE_SCHEMA, part_rows=500
    )
    fresh = pa.concat_tables(pq.read_table(p) for p in staged)
    assert fresh.column("input_sha256").to_pylist() == [
        "d",
        "e",
        "f",
        *(f"x{i:04d}" for i in range(700)),
    ]
    assert set(fresh.column("run_id").to_pylist()) == {"run-2"}
    assert [pq.read_metadata(p).num_rows for p in staged] == [500, 203]
    # Nothing new: nothing staged (the table is published already).
    assert (
        write_staged_table(tmp_path, "run-3", "quarantine", [rows("run-3", "a")], QUARANTINE_SCHEMA)
        == []
    )
