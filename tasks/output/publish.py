"""Stage, then publish a run's tables in one step; read back what earlier runs published.

Layout under the output directory::

    articles/part-<run_id>-00000.parquet  published tables: per run and table, parts of at
    articles/part-<run_id>-00001.parquet  most ``PART_ROWS[table]`` rows, numbered from 0
    paragraphs/part-<run_id>-00000.parquet
    quarantine/part-<run_id>-00000.parquet
    articles/part-<run_id>.parquet        one part per run and table, as versions before
                                          bounded parts wrote them (still read everywhere)
    _staging/<run_id>/<table>/            a run's parts before validation (readers never
                                          look here), same names as once published
    .newsclean.lock                       held by the run writing this directory

Protocol (one writer at a time, enforced by :func:`output_lock`):

1. :func:`write_staged_table` (or :func:`write_staged` for in-memory tables) writes a table's
   rows into ``_staging/<run_id>/<table>/`` as parts of bounded size and fsyncs them.
   Nothing outside the staging folder changes, so validation can still say no.
2. :func:`publish` (only after validation passed) writes the ``COMMIT`` marker, fsynced:
   from here on the run *will* be published. Then each staged part is ``os.replace``d to
   ``<table>/<same name>`` (atomic on one filesystem: a reader sees the whole file or
   none) and the staging folder is removed. :func:`discard` removes it instead.
3. :func:`recover`, at the start of every run, finishes committed folders (the renames are
   idempotent) and deletes uncommitted ones. A run killed at any point therefore leaves the
   dataset as it was, or - once committed - is completed by the next run.

Compaction (:mod:`tasks.output.compact`) later merges small parts into
``part-compacted-<last run>-<k>.parquet`` files, switched in atomically and recovered the same
way (``_compact/<id>/``, by :func:`recover`); their footers list the runs they hold.

The dedup index in ``_dedup/`` is updated after publishing; a run killed in between leaves it
stale, which ``tasks.dedup.index_sync.sync_dedup_index`` detects (runs recorded != runs
published) and rebuilds. Reports and Data Docs are written outside this protocol: they
describe runs, they are not the dataset (``tasks.files.write_atomically`` keeps ``latest.*``
whole for readers).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# The lock's names, here too for the modules and tests that import them from here.
from tasks.output.lock import LOCK_FILE as LOCK_FILE
from tasks.output.lock import OutputBusyError as OutputBusyError
from tasks.output.lock import output_lock as output_lock

PUBLISHED_TABLES = ("articles", "paragraphs", "quarantine")
STAGING = "_staging"
COMMIT_MARKER = "COMMIT"
# Parts sized for readers: DuckDB, Spark and Polars read a folder of Parquet fastest in files
# of ~100 MB-1 GB (fewer files to open and plan, one file per reader thread still fits in
# memory) made of row groups of tens of MB (the unit they parallelise and skip on). Rows are
# counted, not bytes, so that part boundaries depend on the rows alone. Measured on 200 WCXB
# dev pages (zstd): an articles row is ~4.8 KB on disk and ~12 KB in Arrow (the whole text),
# a paragraphs row ~64 B on disk and ~270 B in Arrow, a quarantine row ~100 B. Hence:
#   articles    100,000 rows a part (~480 MB), row groups of 10,000 (~50 MB, ~120 MB in Arrow)
#   paragraphs  2,000,000 rows a part (~130 MB), row groups of 125,000 (~8 MB, ~34 MB in Arrow)
#   quarantine  1,000,000 rows a part (a few runs' worth is one small file)
# The writer holds one row group in memory, so the row group size also bounds its memory.
PART_ROWS = {"articles": 100_000, "paragraphs": 2_000_000, "quarantine": 1_000_000}
ROW_GROUP_ROWS = {"articles": 10_000, "paragraphs": 125_000, "quarantine": 64_000}
# A part's number has exactly this many digits, so a part's name says which run wrote it
# (``part-<run_id>-<k>.parquet``) even though run ids contain hyphens.
PART_DIGITS = 5
MAX_PARTS = 10**PART_DIGITS
# ``part-<run_id>-<5 digits>.parquet`` or, as earlier versions published, ``part-<run_id>.parquet``.
_PART_NAME = re.compile(rf"part-(?P<run_id>.+?)(?:-\d{{{PART_DIGITS}}})?\.parquet")
# Compacted parts (tasks.output.compact): their name's prefix, and the key of their Parquet
# footer's metadata that lists the runs whose rows they hold (a JSON list).
COMPACTED = "part-compacted-"
RUNS_KEY = b"newsclean.runs"
# Columns that identify a quarantine fact; ``run_id`` is when it was first seen.
QUARANTINE_KEY = ("source", "stage", "reason", "input_sha256")

# Test-only hook (tests/output/test_publish.py): when NEWSCLEAN_TEST_PAUSE_AT names one of
# PAUSE_POINTS, the process writes its pid to the file NEWSCLEAN_TEST_PAUSE_FILE and sleeps
# there, so a test can SIGKILL it at a known point of the protocol. Unset: no effect.
PAUSE_ENV = "NEWSCLEAN_TEST_PAUSE_AT"
PAUSE_FILE_ENV = "NEWSCLEAN_TEST_PAUSE_FILE"
PAUSE_POINTS = ("staging", "committed", "renaming", "published")

Batches = Iterable[pa.RecordBatch | pa.Table]


def _test_pause(point: str) -> None:
    if os.environ.get(PAUSE_ENV) != point:
        return
    Path(os.environ[PAUSE_FILE_ENV]).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(3600)


def staging_dir(output: Path, run_id: str) -> Path:
    return output / STAGING / run_id


def part_name(run_id: str, number: int) -> str:
    """The file name of a run's ``number``-th part of a table (staged and published alike)."""
    if not 0 <= number < MAX_PARTS:
        raise ValueError(f"part {number} of run {run_id}: at most {MAX_PARTS} parts a table")
    return f"part-{run_id}-{number:0{PART_DIGITS}d}.parquet"


def part_run_id(path: Path) -> str | None:
    """The run that wrote a published part, from its name (``None``: not a part's name).

    Reads both ``part-<run_id>-00000.parquet`` and the single ``part-<run_id>.parquet`` of
    earlier versions. Run ids contain hyphens; only a trailing ``-`` and exactly
    ``PART_DIGITS`` digits is a part number (the flow's run ids end in 8 hex digits).
    """
    match = _PART_NAME.fullmatch(path.name)
    return match["run_id"] if match else None


def part_runs(path: Path) -> list[str]:
    """The runs whose rows a published part holds: its run, or a compacted part's runs."""
    if path.name.startswith(COMPACTED):
        metadata = pq.read_metadata(path).metadata or {}
        runs: list[str] = json.loads(metadata.get(RUNS_KEY, b"[]"))
        return runs
    run_id = part_run_id(path)
    return [] if run_id is None else [run_id]


def published_runs(output: Path, table: str) -> list[str]:
    """The runs with a published part of ``table``, compacted or not, sorted."""
    return sorted({run for part in _published_parts(output, table) for run in part_runs(part)})


def run_parts(output: Path, table: str, run_id: str) -> list[Path]:
    """A run's published parts of ``table``, in order (an earlier version's single part too)."""
    folder = output / table
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _is_part_of(p.name, run_id))


def _is_part_of(name: str, run_id: str) -> bool:
    if name == f"part-{run_id}.parquet":
        return True
    number = name.removeprefix(f"part-{run_id}-").removesuffix(".parquet")
    return name.startswith(f"part-{run_id}-") and len(number) == PART_DIGITS and number.isdigit()


def staged_parts(output: Path, run_id: str, table: str) -> list[Path]:
    """The parts of ``table`` a run has staged, in order (what validation reads)."""
    folder = staging_dir(output, run_id) / table
    return sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []


def write_staged(output: Path, run_id: str, tables: dict[str, pa.Table]) -> Path:
    """Stage in-memory tables (small callers, tests) with the default bounds; return the
    run's staging folder. See :func:`write_staged_table`."""
    for name, table in tables.items():
        write_staged_table(output, run_id, name, [table], table.schema)
    folder = staging_dir(output, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_staged_table(
    output: Path,
    run_id: str,
    name: str,
    batches: Batches,
    schema: pa.Schema,
    *,
    part_rows: int | None = None,
    row_group_rows: int | None = None,
) -> list[Path]:
    """Write a stream of rows as the run's staged parts of table ``name``, durably.

    ``batches`` is any iterable of record batches or tables with ``schema``'s columns (a
    ``pa.RecordBatchReader`` too), in the order the rows are to be published. Parts hold at
    most ``part_rows`` rows (default ``PART_ROWS[name]``) in row groups of
    ``row_group_rows`` (default ``ROW_GROUP_ROWS[name]``): the stream is re-cut, so where
    parts and row groups end depends on the rows alone, not on how the caller chunked
    them, and the same rows give byte-identical files. Memory: one row group at a time.
    Writing a table again replaces what was staged for it (a retried task). Returns the
    staged parts in order (:func:`staged_parts` lists them later).

    A table without rows is written too (one empty part with the schema) while nothing of
    that table is published yet, so that every table exists once a run has published:
    ``read_parquet('output/quarantine/*.parquet')`` fails on a folder with no file. Later
    empty tables write nothing, so runs that find nothing new add no files. Quarantine rows
    already published by an earlier run are dropped, so a bad input that stays in the input
    folder is recorded once, not once per (scheduled) run.
    """
    part_rows = part_rows or PART_ROWS[name]
    group_rows = min(row_group_rows or ROW_GROUP_ROWS[name], part_rows)
    folder = staging_dir(output, run_id) / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if name == "quarantine":
        batches = _unpublished_quarantine(output, batches, schema)
    written = write_parts(
        folder,
        lambda number: part_name(run_id, number),
        batches,
        schema,
        part_rows=part_rows,
        row_group_rows=group_rows,
    )
    if not written and not _published_parts(output, name):
        path = folder / part_name(run_id, 0)
        pq.write_table(schema.empty_table(), path, compression="zstd")
        _fsync(path)
        written.append(path)
    _fsync(folder)
    _fsync(folder.parent)
    _fsync(folder.parent.parent)
    return written


def write_parts(
    folder: Path,
    name: Callable[[int], str],
    batches: Batches,
    schema: pa.Schema,
    *,
    part_rows: int,
    row_group_rows: int,
    metadata: Callable[[int], dict[bytes, bytes]] | None = None,
) -> list[Path]:
    """Write a stream of rows into ``folder`` as parts of at most ``part_rows`` rows in row
    groups of ``row_group_rows``, named ``name(number)``, each fsynced; nothing for no rows.

    The stream is re-cut, so the same rows give byte-identical files however they are
    chunked. ``metadata(number)``: key-value pairs for a part's footer (compacted parts).
    """
    rows = _Rows(batches, schema)
    written: list[Path] = []
    while (group := rows.take(row_group_rows)) is not None:
        path = folder / name(len(written))
        extra = metadata(len(written)) if metadata else None
        part_schema = (
            schema.with_metadata({**(schema.metadata or {}), **extra}) if extra else schema
        )
        with pq.ParquetWriter(path, part_schema, compression="zstd") as writer:
            in_part = 0
            while group is not None:
                writer.write_table(
                    group.replace_schema_metadata(part_schema.metadata),
                    row_group_size=row_group_rows,
                )
                if in_part == 0:
                    _test_pause("staging")  # the part exists but has no footer yet
                in_part += group.num_rows
                if in_part == part_rows:
                    break
                group = rows.take(min(row_group_rows, part_rows - in_part))
        _fsync(path)
        written.append(path)
    return written


class _Rows:
    """A stream of record batches, taken in slices of a chosen size whatever its chunking."""

    def __init__(self, batches: Batches, schema: pa.Schema) -> None:
        self._source = iter(batches)
        self._schema = schema
        self._buffer: list[pa.RecordBatch] = []
        self._buffered = 0

    def take(self, rows: int) -> pa.Table | None:
        """The next ``rows`` rows (fewer at the end) as one contiguous chunk; ``None`` at the
        end. One chunk: Parquet pages then do not depend on the caller's chunking."""
        while self._buffered < rows:
            item = next(self._source, None)
            if item is None:
                break
            for batch in _record_batches(item, self._schema):
                self._buffer.append(batch)
                self._buffered += batch.num_rows
        if not self._buffered:
            return None
        table = pa.Table.from_batches(self._buffer, self._schema)
        rest = table.slice(rows)
        self._buffer, self._buffered = rest.to_batches(), rest.num_rows
        return table.slice(0, rows).combine_chunks()


def _record_batches(item: pa.RecordBatch | pa.Table, schema: pa.Schema) -> list[pa.RecordBatch]:
    if not item.schema.equals(schema):
        item = item.cast(schema)
    batches = item.to_batches() if isinstance(item, pa.Table) else [item]
    return [batch for batch in batches if batch.num_rows]


def _unpublished_quarantine(output: Path, batches: Batches, schema: pa.Schema) -> Batches:
    """The quarantine rows not published yet, batch by batch, in their order.

    DuckDB anti-joins each batch with the key columns of the published parts, read where they
    lie: neither side is loaded whole.
    """
    files = _published_parts(output, "quarantine")
    if not files:
        yield from batches
        return
    same = " AND ".join(f"n.{c} IS NOT DISTINCT FROM p.{c}" for c in QUARANTINE_KEY)
    with duckdb.connect() as con:
        keys = _columns_sql(con, files, ", ".join(QUARANTINE_KEY))
        con.execute(f"CREATE VIEW published_rows AS SELECT {keys} FROM {_parts_sql(files)}")
        for item in batches:
            for batch in _record_batches(item, schema):
                numbered = pa.Table.from_batches([batch]).append_column(
                    "__row", pa.array(np.arange(batch.num_rows, dtype=np.int64))
                )
                con.register("new_rows", numbered)
                fresh = con.sql(
                    "SELECT * EXCLUDE (__row) FROM new_rows n WHERE NOT EXISTS "
                    f"(SELECT 1 FROM published_rows p WHERE {same}) ORDER BY __row"
                ).to_arrow_table()
                con.unregister("new_rows")
                yield fresh.cast(schema)


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
    """Move a committed run's parts into place; safe to repeat after a crash at any point.

    Also completes a folder committed by an earlier version (``<table>.parquet`` directly in
    it), so that upgrading after a crash loses nothing.
    """
    run_id = folder.name
    for name in PUBLISHED_TABLES:
        moves = [(p, output / name / p.name) for p in sorted((folder / name).glob("*.parquet"))]
        legacy = folder / f"{name}.parquet"
        if legacy.exists():
            moves.append((legacy, output / name / f"part-{run_id}.parquet"))
        for staged, target in moves:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
            _fsync(target.parent)
            _test_pause("renaming")
    shutil.rmtree(folder)
    _fsync(folder.parent)
    return [part for name in PUBLISHED_TABLES for part in run_parts(output, name, run_id)]


def discard(output: Path, run_id: str) -> None:
    """Remove a run's staging folder: nothing of a failed run becomes visible."""
    shutil.rmtree(staging_dir(output, run_id), ignore_errors=True)


def recover_runs(output: Path) -> list[str]:
    """Finish runs that committed but did not finish moving; drop runs that never committed.

    Returns the ids of the runs it completed. Call with the output lock held: an
    uncommitted folder is only garbage if no other run is still writing it.
    """
    return finish_committed(
        output / STAGING,
        finish=lambda folder: _complete(output, folder),
        drop=lambda folder: shutil.rmtree(folder, ignore_errors=True),
    )


def finish_committed(
    root: Path, finish: Callable[[Path], object], drop: Callable[[Path], object]
) -> list[str]:
    """The recovery protocol of a folder of pending work (runs, compactions): ``finish`` each
    subfolder with a COMMIT marker, ``drop`` the others, in name order; returns the names it
    finished. Call with the output lock held: an uncommitted folder is garbage only then."""
    if not root.is_dir():
        return []
    finished = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if (folder / COMMIT_MARKER).exists():
            finish(folder)
            finished.append(folder.name)
        else:
            drop(folder)
    return finished


def recover(output: Path) -> list[str]:
    """Finish or drop interrupted runs (:func:`recover_runs`), then interrupted compactions
    (:func:`tasks.output.compact.recover_compaction`). Returns the runs it completed."""
    from tasks.output.compact import recover_compaction  # it imports this module

    completed = recover_runs(output)
    recover_compaction(output)
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


def _parts_sql(files: list[Path]) -> str:
    return f"read_parquet({[str(f) for f in files]!r}, union_by_name = true)"


def _columns_sql(con: duckdb.DuckDBPyConnection, files: list[Path], columns: str) -> str:
    """``columns`` as a select list over the parts, a column that no part has as null."""
    if columns == "*":
        return columns
    present = {row[0] for row in con.sql(f"DESCRIBE SELECT * FROM {_parts_sql(files)}").fetchall()}
    return ", ".join(
        name if name in present else f"NULL AS {name}"
        for name in (c.strip() for c in columns.split(","))
    )


def read_published(output: Path, table: str, columns: str = "*") -> pa.Table | None:
    """Read a published table with DuckDB (``None`` when nothing was published yet).

    Parts are matched by column name, and a named column that no part has yet reads as null:
    parts published before the schema gained a column (``version``,
    ``published_at_precision``, ...) must not fail every later run.
    """
    files = _published_parts(output, table)
    if not files:
        return None
    with duckdb.connect() as con:
        select = _columns_sql(con, files, columns)
        return con.sql(f"SELECT {select} FROM {_parts_sql(files)}").to_arrow_table()
