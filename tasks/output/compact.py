"""Compact the published parts: many small files per table into few full ones, atomically.

Every run adds at least one part per table, so an hourly schedule leaves 8,760 small files a
table a year, and every reader's glob opens them all. :func:`compact` merges a table's small
parts (fewer rows than a full part, ``PART_ROWS``) into parts of ``PART_ROWS`` rows, named
``part-compacted-<last run>-<k>.parquet`` (so every ``part-*.parquet`` glob still reads them),
the rows in the order they were published: earlier compactions first, then the runs' parts
by name. Full parts are never rewritten. The same published parts always give the same files.
A compacted part records the runs whose rows it holds in its Parquet footer (``RUNS_KEY``), so
the published runs (what the dedup index must cover) are the same before and after.

Readers never see a row twice or miss one. A compaction builds each table's whole new folder
under ``_compact/<id>/<table>/`` (the compacted parts, plus hard links of the parts it keeps,
plus a ``.compacted-<id>`` sentinel that globs and pyarrow datasets ignore), writes the
``COMMIT`` marker, and then switches each table with one ``renameat2(RENAME_EXCHANGE)`` of the
two folders: a glob lists either the old folder or the new one, never a mix. Tables switch one
after another; each holds the same rows before and after, so joins across them agree too. A
query that listed a folder before its switch and opens a replaced file after it fails with
"file not found" (retry it); it cannot return wrong rows.

Recovery (:func:`recover_compaction`, called by :func:`tasks.output.publish.recover` at the
start of every run and compaction, under the output lock): a committed compaction's tables
without the sentinel are switched, then the old folders and sentinels are removed; an
uncommitted one is deleted (the dataset was never touched). Needs Linux (``renameat2``).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.output.publish import (
    COMMIT_MARKER,
    COMPACTED,
    PART_ROWS,
    PUBLISHED_TABLES,
    ROW_GROUP_ROWS,
    RUNS_KEY,
    _fsync,
    _test_pause,
    finish_committed,
    part_runs,
    write_parts,
)

COMPACT = "_compact"
# Where the test hook (tasks.output.publish._test_pause) can stop a compaction to be killed.
PAUSE_POINTS = ("compact-staging", "compact-committed", "compact-switching", "compact-switched")
SENTINEL = ".compacted-"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def small_parts(output: Path, table: str, part_rows: int | None = None) -> list[Path]:
    """The parts of ``table`` with fewer rows than a full part, in publishing order: earlier
    compactions first, then the runs' parts by name (run ids begin with their start time)."""
    limit = part_rows or PART_ROWS[table]
    parts = [p for p in (output / table).glob("part-*.parquet") if _rows(p) < limit]
    return sorted(parts, key=lambda p: (not p.name.startswith(COMPACTED), p.name))


def _rows(part: Path) -> int:
    return int(pq.read_metadata(part).num_rows)


def compact(
    output: Path, *, min_parts: int = 2, part_rows: int | None = None
) -> dict[str, tuple[int, int]]:
    """Compact every table with at least ``min_parts`` small parts; call with the output lock
    held. Returns ``{table: (parts before, parts after)}`` for the tables it compacted
    (empty when there was nothing to do). ``part_rows`` overrides ``PART_ROWS`` (tests)."""
    from tasks.output.publish import recover

    recover(output)  # a killed run or compaction first: never compact around one
    plan = {t: small_parts(output, t, part_rows) for t in PUBLISHED_TABLES}
    plan = {t: parts for t, parts in plan.items() if len(parts) >= max(min_parts, 2)}
    if not plan:
        return {}
    last_run = max(run for parts in plan.values() for p in parts for run in part_runs(p))
    folder = output / COMPACT / last_run
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    done: dict[str, tuple[int, int]] = {}
    for table, parts in plan.items():
        before = len(list((output / table).glob("*.parquet")))
        written = _build_table(output, table, parts, folder / table, last_run, part_rows)
        done[table] = (before, before - len(parts) + len(written))
    _fsync(folder)
    _test_pause("compact-staging")
    marker = folder / COMMIT_MARKER
    marker.write_text(json.dumps(sorted(plan)), encoding="utf-8")
    _fsync(marker)
    _fsync(folder)
    _test_pause("compact-committed")
    _switch(output, folder)
    return done


def compact_if_needed(output: Path, threshold: int) -> dict[str, tuple[int, int]]:
    """Compact when a table has more than ``threshold`` small parts (``0``: never); what a
    run does at its end, with the lock held (``PipelineConfig.compact_after_parts``)."""
    if threshold < 1 or all(len(small_parts(output, t)) <= threshold for t in PUBLISHED_TABLES):
        return {}
    return compact(output)


def describe(done: dict[str, tuple[int, int]]) -> str:
    """One line: what a compaction did, table by table."""
    if not done:
        return "nothing to compact (no table has two parts smaller than a full part)"
    return "compacted " + ", ".join(
        f"{table} {before:,} → {after:,} parts" for table, (before, after) in done.items()
    )


def _build_table(
    output: Path, table: str, parts: list[Path], new: Path, last_run: str, part_rows: int | None
) -> list[Path]:
    """The table's next folder in ``new``: ``parts`` merged into compacted parts, hard links
    to every other file of the table, and the sentinel that says the switch happened."""
    new.mkdir(parents=True)
    limit = part_rows or PART_ROWS[table]
    counts = [_rows(p) for p in parts]
    schema = _unified_schema(parts)
    # Each compacted part records the runs of the parts whose first row it holds (an empty
    # part's runs go with the rows before it): the union is every run the parts held.
    outputs = max(1, -(-sum(counts) // limit))
    runs: list[set[str]] = [set() for _ in range(outputs)]
    start = 0
    for part, count in zip(parts, counts, strict=True):
        runs[min(start // limit, outputs - 1)].update(part_runs(part))
        start += count

    def metadata(number: int) -> dict[bytes, bytes]:
        return {RUNS_KEY: json.dumps(sorted(runs[number])).encode()}

    group_rows = min(ROW_GROUP_ROWS[table], limit)
    written = write_parts(
        new,
        lambda number: f"{COMPACTED}{last_run}-{number:05d}.parquet",
        _batches(parts, schema, group_rows),
        schema,
        part_rows=limit,
        row_group_rows=group_rows,
        metadata=metadata,
    )
    replaced = {p.name for p in parts}
    for existing in sorted((output / table).iterdir()):
        if existing.name in replaced or existing.name.startswith(SENTINEL):
            continue
        if (new / existing.name).exists():
            raise FileExistsError(f"{existing} would be replaced by a compacted part")
        os.link(existing, new / existing.name)
    sentinel = new / f"{SENTINEL}{new.parent.name}"
    sentinel.touch()
    _fsync(sentinel)
    _fsync(new)
    return written


def _unified_schema(parts: list[Path]) -> pa.Schema:
    """The parts' columns by name, in first-seen order; a column some part lacks (written
    before the schema gained it) is nullable and null there, as ``union_by_name`` reads it."""
    schemas = [pq.read_schema(p).remove_metadata() for p in parts]
    names = {n for s in schemas for n in s.names}
    everywhere = {n for n in names if all(n in s.names for s in schemas)}
    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for field in schema:
            if field.name not in fields:
                fields[field.name] = (
                    field if field.name in everywhere else field.with_nullable(True)
                )
    return pa.schema(list(fields.values()))


def _batches(parts: list[Path], schema: pa.Schema, rows: int) -> Iterator[pa.RecordBatch]:
    """The parts' rows in order, a batch at a time, with ``schema``'s columns."""
    for part in parts:
        for batch in pq.ParquetFile(part).iter_batches(batch_size=rows):
            columns = [
                batch.column(f.name).cast(f.type)
                if f.name in batch.schema.names
                else pa.nulls(batch.num_rows, f.type)
                for f in schema
            ]
            yield pa.RecordBatch.from_arrays(columns, schema=schema)


def _exchange(a: Path, b: Path) -> None:
    """Swap two folders in one atomic step (Linux ``renameat2`` with ``RENAME_EXCHANGE``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"cannot exchange {a} and {b}: {os.strerror(error)}")


def _switch(output: Path, folder: Path) -> None:
    """Finish a committed compaction: switch each table not switched yet, then forget it (the
    marker first, so that a crash while cleaning up is an uncommitted folder: deleted)."""
    tables = json.loads((folder / COMMIT_MARKER).read_text(encoding="utf-8"))
    sentinel = f"{SENTINEL}{folder.name}"
    for table in tables:
        if not (output / table / sentinel).exists():
            _exchange(folder / table, output / table)
            _fsync(output)
            _fsync(folder)
            _test_pause("compact-switching")
    _test_pause("compact-switched")
    (folder / COMMIT_MARKER).unlink()
    _fsync(folder)
    _forget(output, folder)


def _forget(output: Path, folder: Path) -> None:
    """Remove an uncommitted or finished compaction: its folder and any sentinel it left."""
    for table in PUBLISHED_TABLES:
        (output / table / f"{SENTINEL}{folder.name}").unlink(missing_ok=True)
    shutil.rmtree(folder)
    _fsync(folder.parent)


def recover_compaction(output: Path) -> list[str]:
    """Finish committed compactions, delete the others; returns the ids it finished. Call
    with the output lock held (an uncommitted folder is garbage only then)."""
    return finish_committed(
        output / COMPACT,
        finish=lambda folder: _switch(output, folder),
        drop=lambda folder: _forget(output, folder),
    )
