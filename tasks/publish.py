"""Stage, then publish a run's tables in one step; read back what earlier runs published.

Layout under the output directory::

    articles/part-<run_id>.parquet      published tables, one file per run and table
    paragraphs/part-<run_id>.parquet
    quarantine/part-<run_id>.parquet
    _staging/<run_id>/                   a run's files before validation (readers never look here)

Publishing writes a ``COMMIT`` marker into the staging folder and then renames each staged
file into place (``os.replace``: atomic on one filesystem). A run killed before the marker
leaves nothing visible and its staging folder is removed by the next run; a run killed after
it is completed by the next run, so the dataset never shows half a run for long.
Readers that glob ``articles/*.parquet`` never see a partial file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

PUBLISHED_TABLES = ("articles", "paragraphs", "quarantine")
STAGING = "_staging"
COMMIT_MARKER = "COMMIT"


def staging_dir(output: Path, run_id: str) -> Path:
    return output / STAGING / run_id


def write_staged(output: Path, run_id: str, tables: dict[str, pa.Table]) -> Path:
    """Write each non-empty table to the run's staging folder as Parquet."""
    folder = staging_dir(output, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        if table.num_rows:
            pq.write_table(table, folder / f"{name}.parquet", compression="zstd")
    return folder


def publish(output: Path, run_id: str) -> list[Path]:
    """Make a validated staging folder visible: marker first, then atomic renames."""
    folder = staging_dir(output, run_id)
    (folder / COMMIT_MARKER).touch()
    _fsync_dir(folder)
    return _complete(output, folder)


def _complete(output: Path, folder: Path) -> list[Path]:
    run_id = folder.name
    published = []
    for name in PUBLISHED_TABLES:
        staged = folder / f"{name}.parquet"
        target = output / name / f"part-{run_id}.parquet"
        if staged.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
        if target.exists():
            published.append(target)
    shutil.rmtree(folder)
    return published


def discard(output: Path, run_id: str) -> None:
    """Remove a run's staging folder: nothing of a failed run becomes visible."""
    shutil.rmtree(staging_dir(output, run_id), ignore_errors=True)


def recover(output: Path) -> list[str]:
    """Finish runs that committed but did not finish moving; drop runs that never committed."""
    root = output / STAGING
    if not root.is_dir():
        return []
    completed = []
    for folder in sorted(root.iterdir()):
        if (folder / COMMIT_MARKER).exists():
            _complete(output, folder)
            completed.append(folder.name)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return completed


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_published(output: Path, table: str, columns: str = "*") -> pa.Table | None:
    """Read a published table with DuckDB (``None`` when nothing was published yet)."""
    files = sorted((output / table).glob("*.parquet"))
    if not files:
        return None
    with duckdb.connect() as con:
        return con.sql(
            f"SELECT {columns} FROM read_parquet({[str(f) for f in files]!r})"
        ).to_arrow_table()
