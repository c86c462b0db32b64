"""The dedup index kept in step with what is published: rebuilt when it is not, and
updated with each published run's kept paragraphs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from tasks.dedup.index_store import (
    PART_ROWS,
    IndexDamagedError,
    IndexMismatchError,
    index_status,
    rebuild_index,
    update_index,
)
from tasks.dedup.near_duplicates import DedupConfig
from tasks.files import write_atomically

# --- the persistent dedup index, kept in step with what is published -----------------------

INDEX_RUNS_FILE = "runs.json"
# DuckDB's memory for reading a run's kept paragraphs out of its published parts.
INDEX_MEMORY = "256MB"


def _published_runs(output: Path) -> list[str]:
    """The runs with a published paragraphs part (a run may have several parts, a compacted
    part many runs)."""
    from tasks.output.publish import published_runs  # here: tasks.output.publish imports duckdb

    return published_runs(output, "paragraphs")


def _recorded_runs(state_dir: Path) -> list[str] | None:
    try:
        runs: list[str] = json.loads((state_dir / INDEX_RUNS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return runs


def _record_runs(state_dir: Path, runs: list[str]) -> None:
    write_atomically(state_dir / INDEX_RUNS_FILE, json.dumps(sorted(runs)).encode("utf-8"))


def index_records(
    paragraphs: pa.Table | str | list[str],
    articles: pa.Table | str | list[str],
    rows: int = PART_ROWS,
) -> Iterator[pa.Table]:
    """The kept paragraph rows as the dedup index reads them, in id order, ``rows`` at a
    time; from tables, Parquet globs or files. Streamed: at 100k pages one table of a run's
    kept texts made the index step's 4.3 GB peak."""
    import duckdb

    with duckdb.connect() as con:
        con.execute(f"SET memory_limit = '{INDEX_MEMORY}'")  # it spills beyond
        for name, source in (("paragraphs", paragraphs), ("articles", articles)):
            if isinstance(source, str | list):
                files = repr(source) if isinstance(source, list) else f"'{source}'"
                parts = f"read_parquet({files}, union_by_name = true)"
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM {parts}")
            else:
                con.register(name, source)
        reader = con.sql(
            "SELECT p.paragraph_id, p.article_id, p.position, p.text, a.published_at, "
            "p.label IN ('title', 'body') AS eligible, p.duplicate_of "
            "FROM paragraphs p JOIN articles a USING (article_id) "
            # Only what the index keeps (``_kept_records``): the texts of copies and chrome
            # need not be copied out (at 100k pages the whole table peaked at ~11 GB).
            "WHERE p.label IN ('title', 'body') AND p.duplicate_of IS NULL "
            "ORDER BY p.paragraph_id"
        ).to_arrow_reader(rows)
        for batch in reader:
            yield pa.Table.from_batches([batch])


def sync_dedup_index(output: Path, state_dir: Path, config: DedupConfig) -> str:
    """Make the index cover exactly the published runs; rebuild it when it does not.

    A missing, damaged, stale (a run published but not recorded, e.g. killed in between) or
    differently configured index is rebuilt from the published Parquet, never ignored.
    Returns what was done, for the run report (``"new"`` on a first run).
    """
    index_dir = state_dir / "index"
    published = _published_runs(output)
    try:
        status = index_status(index_dir, config)
        if status == "ok" and _recorded_runs(state_dir) != published:
            status = "stale"
    except IndexMismatchError as error:
        status = f"settings changed: {error}"
    except IndexDamagedError as error:
        status = f"damaged: {error}"
    if status == "ok":
        return status
    if status == "missing" and not published:
        return "new"  # a first run: nothing to index yet
    records = index_records(f"{output}/paragraphs/*.parquet", f"{output}/articles/*.parquet")
    rebuild_index(index_dir, records, config)
    _record_runs(state_dir, published)
    return f"rebuilt ({status})"


def record_published_run(
    state_dir: Path,
    run_id: str,
    paragraphs: pa.Table | list[str],
    articles: pa.Table | list[str],
    config: DedupConfig,
) -> None:
    """Add a just-published run's kept paragraphs to the index (idempotent); the run's
    tables as Arrow tables or as the files of its published parts.

    A run that published no paragraphs leaves no Parquet part, so it is not recorded either:
    the recorded runs must equal the published parts or the next run rebuilds the index.
    """
    if isinstance(paragraphs, pa.Table) and paragraphs.num_rows == 0:
        return
    records = index_records(paragraphs, articles)
    update_index(state_dir / "index", records, config)
    _record_runs(state_dir, [*(_recorded_runs(state_dir) or []), run_id])
