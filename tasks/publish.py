"""Stage, then publish a run's tables in one step; read back what earlier runs published.

Layout under the output directory::

    articles/part-<run_id>.parquet      published tables, one file per run and table
    paragraphs/part-<run_id>.parquet
    quarantine/part-<run_id>.parquet
    _staging/<run_id>/                   a run's files before validation (readers never look here)
    .newsclean.lock                      held by the run writing this directory

Protocol (one writer at a time, enforced by :func:`output_lock`):

1. :func:`write_staged` writes every table into ``_staging/<run_id>/`` and fsyncs it.
   Nothing outside the staging folder changes, so validation can still say no.
2. :func:`publish` (only after validation passed) writes the ``COMMIT`` marker, fsynced:
   from here on the run *will* be published. Then each staged file is ``os.replace``d to
   ``<table>/part-<run_id>.parquet`` (atomic on one filesystem: a reader sees the whole file
   or none) and the staging folder is removed. :func:`discard` removes it instead.
3. :func:`recover`, at the start of every run, finishes committed folders (the renames are
   idempotent) and deletes uncommitted ones. A run killed at any point therefore leaves the
   dataset as it was, or - once committed - is completed by the next run.

The dedup index in ``_dedup/`` is updated after publishing; a run killed in between leaves it
stale, which ``tasks.corpus.sync_dedup_index`` detects (runs recorded != runs published) and
rebuilds. Reports and Data Docs are written outside this protocol: they describe runs, they
are not the dataset (``tasks.files.write_atomically`` keeps ``latest.*`` whole for readers).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

PUBLISHED_TABLES = ("articles", "paragraphs", "quarantine")
STAGING = "_staging"
COMMIT_MARKER = "COMMIT"
LOCK_FILE = ".newsclean.lock"
ROW_GROUP_ROWS = 64_000
# Columns that identify a quarantine fact; ``run_id`` is when it was first seen.
QUARANTINE_KEY = ("source", "stage", "reason", "input_sha256")

# Test-only hook (tests/test_publish.py): when NEWSCLEAN_TEST_PAUSE_AT names one of
# PAUSE_POINTS, the process writes its pid to the file NEWSCLEAN_TEST_PAUSE_FILE and sleeps
# there, so a test can SIGKILL it at a known point of the protocol. Unset: no effect.
PAUSE_ENV = "NEWSCLEAN_TEST_PAUSE_AT"
PAUSE_FILE_ENV = "NEWSCLEAN_TEST_PAUSE_FILE"
PAUSE_POINTS = ("staging", "committed", "renaming", "published")


class OutputBusyError(RuntimeError):
    """Another run holds the output directory's lock."""


def _test_pause(point: str) -> None:
    if os.environ.get(PAUSE_ENV) != point:
        return
    Path(os.environ[PAUSE_FILE_ENV]).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(3600)


@contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``output`` for a whole run, or fail at once.

    Two runs on one output (a scheduled run and a manual one) would otherwise interleave:
    one run's :func:`recover` deletes the other's uncommitted staging folder, and both could
    publish the same new input. ``flock`` is released by the kernel when the process dies,
    so a killed run never leaves a stale lock.
    """
    output.mkdir(parents=True, exist_ok=True)
    with open(output / LOCK_FILE, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise OutputBusyError(f"another newsclean run is writing to {output}") from error
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def staging_dir(output: Path, run_id: str) -> Path:
    return output / STAGING / run_id


def write_staged(output: Path, run_id: str, tables: dict[str, pa.Table]) -> Path:
    """Write each table with rows to the run's staging folder as Parquet, durably.

    A table without rows is written too (an empty part with the table's schema) while
    nothing of that table is published yet, so that every table exists once a run has
    published: ``read_parquet('output/quarantine/*.parquet')`` fails on a folder with no
    file. Later empty tables write nothing, so runs that find nothing new add no files.
    Quarantine rows already published by an earlier run are dropped, so a bad input that
    stays in the input folder is recorded once, not once per (scheduled) run.
    """
    folder = staging_dir(output, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        if name == "quarantine":
            table = _unpublished_quarantine(output, table)
        if table.num_rows or not _published_parts(output, name):
            _write_parquet(folder / f"{name}.parquet", table)
    _fsync(folder)
    return folder


def write_staged_stream(
    output: Path, run_id: str, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
) -> int:
    """Write a table given as a stream of batches to the staging folder; returns its rows.

    Same rule for empty tables as :func:`write_staged`.
    """
    folder = staging_dir(output, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.parquet"
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in batches:
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_batches(pending, schema), ROW_GROUP_ROWS)
                rows += pending_rows
                pending, pending_rows = [], 0
                _test_pause("staging")
        if pending:
            writer.write_table(pa.Table.from_batches(pending, schema), ROW_GROUP_ROWS)
            rows += pending_rows
    if rows == 0 and _published_parts(output, name):
        path.unlink()
    else:
        _fsync(path)
    _fsync(folder)
    return rows


def _write_parquet(path: Path, table: pa.Table) -> None:
    with pq.ParquetWriter(path, table.schema, compression="zstd") as writer:
        for number, batch in enumerate(table.to_batches(max_chunksize=ROW_GROUP_ROWS)):
            writer.write_batch(batch)
            if number == 0:
                _test_pause("staging")  # the file exists but has no footer yet
    _fsync(path)


def _unpublished_quarantine(output: Path, table: pa.Table) -> pa.Table:
    published = read_published(output, "quarantine", ", ".join(QUARANTINE_KEY))
    if published is None or table.num_rows == 0:
        return table
    same = " AND ".join(f"n.{c} IS NOT DISTINCT FROM p.{c}" for c in QUARANTINE_KEY)
    with duckdb.connect() as con:
        con.register("new_rows", table)
        con.register("published_rows", published)
        fresh = con.sql(
            f"SELECT * FROM new_rows n WHERE NOT EXISTS "
            f"(SELECT 1 FROM published_rows p WHERE {same})"
        ).to_arrow_table()
    return fresh.cast(table.schema)


def publish(output: Path, run_id: str) -> list[Path]:
    """Make a validated staging folder visible: durable marker first, then atomic renames."""
    folder = staging_dir(output, run_id)
    marker = folder / COMMIT_MARKER
    marker.touch()
    _fsync(marker)
    _fsync(folder)
    _test_pause("committed")
    published = _complete(output, folder)
    _test_pause("published")
    return published


def _complete(output: Path, folder: Path) -> list[Path]:
    """Move a committed run's files into place; safe to repeat after a crash at any point."""
    run_id = folder.name
    published = []
    for name in PUBLISHED_TABLES:
        staged = folder / f"{name}.parquet"
        target = output / name / f"part-{run_id}.parquet"
        if staged.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
            _fsync(target.parent)
            _test_pause("renaming")
        if target.exists():
            published.append(target)
    shutil.rmtree(folder)
    _fsync(folder.parent)
    return published


def discard(output: Path, run_id: str) -> None:
    """Remove a run's staging folder: nothing of a failed run becomes visible."""
    shutil.rmtree(staging_dir(output, run_id), ignore_errors=True)


def recover(output: Path) -> list[str]:
    """Finish runs that committed but did not finish moving; drop runs that never committed.

    Returns the ids of the runs it completed. Call with the output lock held: an
    uncommitted folder is only garbage if no other run is still writing it.
    """
    root = output / STAGING
    if not root.is_dir():
        return []
    completed = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if (folder / COMMIT_MARKER).exists():
            _complete(output, folder)
            completed.append(folder.name)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return completed


def _fsync(path: Path) -> None:
    """Flush a file or a directory entry list to disk (a rename is durable once its dir is)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _published_parts(output: Path, table: str) -> list[Path]:
    return sorted((output / table).glob("*.parquet"))


def read_published(output: Path, table: str, columns: str = "*") -> pa.Table | None:
    """Read a published table with DuckDB (``None`` when nothing was published yet).

    Parts are matched by column name, and a named column that no part has yet reads as null:
    parts published before the schema gained a column (``version``,
    ``published_at_precision``, ...) must not fail every later run.
    """
    files = _published_parts(output, table)
    if not files:
        return None
    parts = f"read_parquet({[str(f) for f in files]!r}, union_by_name = true)"
    with duckdb.connect() as con:
        if columns != "*":
            present = {row[0] for row in con.sql(f"DESCRIBE SELECT * FROM {parts}").fetchall()}
            columns = ", ".join(
                name if name in present else f"NULL AS {name}"
                for name in (c.strip() for c in columns.split(","))
            )
        return con.sql(f"SELECT {columns} FROM {parts}").to_arrow_table()
