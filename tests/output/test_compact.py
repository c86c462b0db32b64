"""Compaction of the published parts: same rows and runs after, atomic for readers, recoverable
after a kill at any point, deterministic, idempotent, and dedup still finds earlier runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from flows.cli import EXIT_BUSY, EXIT_USAGE, main
from flows.pipeline import newsclean_flow
from tasks.config import PipelineConfig
from tasks.dedup.index_sync import _published_runs
from tasks.models import QuarantineRecord
from tasks.output.compact import COMPACT, PAUSE_POINTS, compact, small_parts
from tasks.output.publish import (
    COMPACTED,
    PAUSE_ENV,
    PAUSE_FILE_ENV,
    PUBLISHED_TABLES,
    output_lock,
    publish,
    published_runs,
    recover,
    write_staged,
    write_staged_table,
)

from ..builders import quarantine_table
from ..conftest import REPO, SEEDS
from .test_publish import ROWS_SCHEMA, _files, _rows, _wait_for_pause

SMALL = {"part_rows": 1_000, "row_group_rows": 256}
RUNS = [f"2026120{d}T000000Z-0000000{d}" for d in range(1, 7)]


def _publish_runs(output: Path, runs: list[str] = RUNS) -> None:
    """Small runs, as a schedule leaves them: each a part or two per table."""
    for n, run_id in enumerate(runs):
        start = n * 700
        write_staged_table(output, run_id, "articles", [_rows(300, start)], ROWS_SCHEMA, **SMALL)
        paragraphs = [_rows(700 + 300 * (n % 3), start)]  # 700, 1,000 (a full part), 1,300
        write_staged_table(output, run_id, "paragraphs", paragraphs, ROWS_SCHEMA, **SMALL)
        record = QuarantineRecord(f"bad-{n}.txt", "read", "file is empty")
        write_staged(output, run_id, {"quarantine": quarantine_table([record], run_id)})
        publish(output, run_id)


def _table(output: Path, table: str) -> list[tuple]:
    """The rows a reader's glob sees, in the order of the files' names and rows."""
    return duckdb.sql(
        f"SELECT * EXCLUDE (filename) FROM read_parquet('{output}/{table}/*.parquet', "
        "union_by_name = true, filename = true) ORDER BY ALL"
    ).fetchall()


def _dataset(output: Path) -> dict[str, list[tuple]]:
    return {table: _table(output, table) for table in PUBLISHED_TABLES}


def _except_all(a: Path, b: Path, table: str) -> int:
    """Rows of ``a`` not in ``b`` or of ``b`` not in ``a``, as multisets (DuckDB)."""
    glob_a, glob_b = f"'{a}/{table}/*.parquet'", f"'{b}/{table}/*.parquet'"
    ((count,),) = duckdb.sql(
        f"SELECT count(*) FROM ((FROM {glob_a} EXCEPT ALL FROM {glob_b}) "
        f"UNION ALL (FROM {glob_b} EXCEPT ALL FROM {glob_a}))"
    ).fetchall()
    return int(count)


def test_compaction_keeps_every_row_and_run_and_leaves_full_parts(tmp_path):
    before, output = tmp_path / "before", tmp_path / "out"
    _publish_runs(before)
    shutil.copytree(before, output)
    parts_before = {t: sorted((output / t).glob("*.parquet")) for t in PUBLISHED_TABLES}
    full = [p.name for p in parts_before["paragraphs"] if pq.read_metadata(p).num_rows == 1_000]
    assert len(parts_before["quarantine"]) == 6 and full

    done = compact(output, part_rows=1_000)

    assert done == {
        "articles": (6, 2),  # 1,800 rows: one full part and one of 800
        "paragraphs": (len(parts_before["paragraphs"]), len(full) + 2),  # 2,000 rows merged
        "quarantine": (6, 1),
    }
    for table in PUBLISHED_TABLES:
        assert _except_all(before, output, table) == 0, table
        assert len(_table(output, table)) == len(_table(before, table))
    # Full parts are kept as they were; the rest is in publishing order.
    for name in full:
        assert (output / "paragraphs" / name).read_bytes() == (
            before / "paragraphs" / name
        ).read_bytes()
    compacted = sorted((output / "articles").glob(f"{COMPACTED}*.parquet"))
    ids = [i for p in compacted for i in pq.read_table(p)["paragraph_id"].to_pylist()]
    assert ids == [f"p{i:07d}" for n in range(6) for i in range(n * 700, n * 700 + 300)]
    assert published_runs(output, "paragraphs") == published_runs(before, "paragraphs") == RUNS
    assert published_runs(output, "articles") == RUNS
    assert _published_runs(output) == RUNS  # what the dedup index must cover: no rebuild
    assert not any((output / COMPACT).iterdir())  # nothing left behind
    assert sorted(p.name for p in (output / "articles").iterdir()) == [p.name for p in compacted]


def test_compaction_is_deterministic_and_idempotent(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    _publish_runs(one)
    shutil.copytree(one, two)
    compact(one, part_rows=1_000)
    compact(two, part_rows=1_000)
    assert _files(one) == _files(two)
    assert compact(one, part_rows=1_000) == {}  # one small part a table left: nothing to do
    assert _files(one) == _files(two)
    # New runs: only the small parts are merged again, the full ones stay.
    _publish_runs(one, ["20261208T000000Z-00000007", "20261209T000000Z-00000008"])
    full = {n: b for n, b in _files(one).items() if pq.read_metadata(one / n).num_rows == 1_000}
    compact(one, part_rows=1_000)
    assert full.items() <= _files(one).items()
    assert published_runs(one, "paragraphs")[-2:] == [
        "20261208T000000Z-00000007",
        "20261209T000000Z-00000008",
    ]


def test_a_table_with_one_small_part_is_left_alone(tmp_path):
    _publish_runs(tmp_path, RUNS[:1])
    files = _files(tmp_path)
    assert compact(tmp_path, part_rows=1_000) == {}
    assert _files(tmp_path) == files
    assert small_parts(tmp_path, "articles", 1_000) == sorted((tmp_path / "articles").iterdir())


# The killed process: compacts ``argv[1]`` under the test hook.
_KILLED_COMPACTION = """
import sys
from pathlib import Path
from tasks.output.compact import compact
compact(Path(sys.argv[1]), part_rows=1_000)
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_compaction_killed_anywhere_shows_readers_every_row_once_and_is_recovered(tmp_path):
    base, reference = tmp_path / "base", tmp_path / "reference"
    _publish_runs(base)
    shutil.copytree(base, reference)
    compact(reference, part_rows=1_000)
    rows = _dataset(base)
    runs = {}
    for point in PAUSE_POINTS:
        output, marker = tmp_path / point, tmp_path / f"{point}.paused"
        shutil.copytree(base, output)
        env = {**os.environ, PAUSE_ENV: point, PAUSE_FILE_ENV: str(marker), "PYTHONPATH": str(REPO)}
        log = open(tmp_path / f"{point}.log", "wb")  # noqa: SIM115 - closed after the kill
        process = subprocess.Popen(
            [sys.executable, "-c", _KILLED_COMPACTION, str(output)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        runs[point] = (process, output, marker, log)
    try:
        for point, (process, output, marker, log) in runs.items():
            _wait_for_pause(process, marker, Path(log.name))
            assert _dataset(output) == rows, point  # every row, once, whatever the point
            switched = [t for t in PUBLISHED_TABLES if any((output / t).glob(f"{COMPACTED}*"))]
            expected = {
                "compact-staging": [],
                "compact-committed": [],
                "compact-switching": ["articles"],  # the first table switched
                "compact-switched": list(PUBLISHED_TABLES),
            }[point]
            assert switched == expected, point
            process.kill()
            process.wait(timeout=30)
            log.close()
    finally:
        for process, *_ in runs.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)

    for point, (_, output, _, _) in runs.items():
        recover(output)  # what the next run or compaction does first
        assert _dataset(output) == rows, point
        assert not (output / COMPACT).exists() or not any((output / COMPACT).iterdir()), point
        if point == "compact-staging":
            assert _files(output) == _files(base), point  # uncommitted: dropped
            compact(output, part_rows=1_000)
        assert _files(output) == _files(reference), point
        assert not [p for t in PUBLISHED_TABLES for p in (output / t).glob(".*")], point


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_run_compacts_past_the_threshold_and_the_next_dedups_against_compacted_rows(tmp_path):
    """Three runs with ``compact_after_parts = 2``: the third compacts at its end. A fourth run
    with a copy of the first run's page finds its paragraphs duplicates of the first run's,
    without rebuilding the index."""
    output, config = tmp_path / "out", PipelineConfig(compact_after_parts=2)
    seeds = sorted(SEEDS.glob("*.txt"))
    results = []
    for n, seed in enumerate(seeds[:3]):
        folder = tmp_path / f"in{n}"
        folder.mkdir()
        shutil.copy(seed, folder / seed.name)
        before = _dataset(output) if n else None
        results.append(newsclean_flow(inputs=[str(folder)], output=str(output), config=config))
        assert results[-1].published
    first_ids = {
        i
        for (i,) in duckdb.sql(
            f"SELECT paragraph_id FROM '{output}/paragraphs/*.parquet' "
            f"WHERE run_id = '{results[0].run_id}' AND label IN ('title', 'body')"
        ).fetchall()
    }
    assert results[1].summary.notes == [] and before is not None
    assert any(note.startswith("compacted ") for note in results[2].summary.notes)
    assert not list((output / "paragraphs").glob("part-2*"))  # every run's part was merged
    assert published_runs(output, "paragraphs") == sorted(r.run_id for r in results)

    copy_in = tmp_path / "copy"
    copy_in.mkdir()
    (copy_in / "copy.txt").write_bytes(seeds[0].read_bytes() + b"\n\n")
    again = newsclean_flow(inputs=[str(copy_in)], output=str(output), config=config)
    assert again.summary.dedup_index == "ok"
    duplicates = duckdb.sql(
        f"SELECT duplicate_of FROM '{output}/paragraphs/part-{again.run_id}-*.parquet' "
        "WHERE label = 'duplicate'"
    ).fetchall()
    assert duplicates and {d for (d,) in duplicates} <= first_ids


def test_newsclean_compact_merges_the_parts_and_waits_for_no_run(tmp_path, capsys):
    before, output = tmp_path / "before", tmp_path / "out"
    _publish_runs(before)
    shutil.copytree(before, output)
    with output_lock(output):
        assert main(["compact", str(output)]) == EXIT_BUSY  # a run holds the output
    assert _files(output) == _files(before)
    assert main(["compact", str(output)]) == 0
    assert "compacted articles 6 → 1 parts" in capsys.readouterr().out
    assert _dataset(output) == _dataset(before)
    assert main(["compact", str(tmp_path / "nothing")]) == EXIT_USAGE
