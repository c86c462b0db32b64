"""Validate a run's tables with Great Expectations and write Data Docs, batch by batch.

The suites live as JSON in ``expectations/`` (one per table). Checks that span tables
(every duplicate resolves, counts add up) are written as ``derived_columns`` in the suite's
``meta``: DuckDB expressions evaluated over the run's tables, whose result columns the
suite's expectations then check. So each check is declared next to the table it guards.

A run's tables may be larger than memory (Parquet files staged by the shards): DuckDB reads
them whole for what needs the whole run (derived columns, uniqueness, row counts) under a
memory limit, and GX checks the rest one bounded batch at a time; the batches' verdicts add
up to one result per suite, as if the table had been one frame.
"""

from __future__ import annotations

import copy
import glob
import html
import importlib
import json
import logging
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# typing_extensions': pydantic, which builds Prefect's parameter schemas (a flow taking a
# RunSummary), refuses typing.TypedDict before Python 3.12.
from typing_extensions import TypedDict

from tasks.config import load_suite

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.data_context.data_context.ephemeral_data_context import (
        EphemeralDataContext,
    )


class FailureRow(TypedDict):
    """A failed expectation in the run summary and report."""

    suite: str
    expectation: str
    column: str | None
    unexpected_count: int | None
    sample: list[str]


class ValidationRow(TypedDict):
    """The validation outcome in the run summary and report."""

    success: bool
    evaluated_expectations: int
    failures: list[FailureRow]
    data_docs_index: str | None


@dataclass(slots=True)
class FailedExpectation:
    suite: str
    expectation: str
    column: str | None
    unexpected_count: int | None
    sample: list[object] = field(default_factory=list)

    def as_dict(self) -> FailureRow:
        return {
            "suite": self.suite,
            "expectation": self.expectation,
            "column": self.column,
            "unexpected_count": self.unexpected_count,
            "sample": [str(value) for value in self.sample],
        }


@dataclass(slots=True)
class ValidationReport:
    success: bool
    evaluated: int
    failures: list[FailedExpectation]
    data_docs_index: str | None

    def as_dict(self) -> ValidationRow:
        return {
            "success": self.success,
            "evaluated_expectations": self.evaluated,
            "failures": [f.as_dict() for f in self.failures],
            "data_docs_index": self.data_docs_index,
        }


def preload_great_expectations() -> threading.Thread:
    """Import Great Expectations in a background thread and return it.

    Its import takes ~5 s of CPU. Started just before the flow, it overlaps with Prefect
    starting its local API server, while the main thread only waits for that server; the
    checkpoints later find the module loaded (or wait on the import lock until it is).
    """
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    thread = threading.Thread(
        target=importlib.import_module, args=("great_expectations",), daemon=True
    )
    thread.start()
    return thread


# A table of the run: in memory, or Parquet files (a path, a glob, or a sequence of them).
TableSource: TypeAlias = pa.Table | str | Path | Sequence[str | Path]

# The published views the suites read, with the one column they read: on a first run (or
# when the caller has none) they exist with no rows, so the suites' SQL still binds.
PUBLISHED_IDS = {"published_articles": "article_id", "published_paragraphs": "paragraph_id"}
# Arrow data GX checks at once (~150,000 paragraphs or ~5,000 articles); GX's working memory
# is a few times this, whatever the run's size. Smaller batches pay GX's fixed cost per
# batch more often: 16 MB took 1.5x the time of 32 MB at 20,000 articles.
BATCH_BYTES = 32 * 1024 * 1024
# DuckDB's own limit for the run-wide queries; beyond it, it spills to the scratch folder.
# Its process footprint goes ~100-200 MB past the limit (readers, allocator). At 40,000
# articles the derived columns took ~310 MB more RSS at 256 MB and ~410 MB at 512 MB, and
# validation was no slower at 256 MB (benchmarks/validate_memory.py).
DUCKDB_MEMORY = "256MB"
_FILE, _ROW = "__newsclean_file", "__newsclean_row"


def parquet_files(source: str | Path | Sequence[str | Path]) -> list[str]:
    """The files of ``source``, in the order given; a glob expands to its matches, sorted."""
    items = [source] if isinstance(source, str | Path) else list(source)
    files: list[str] = []
    for item in items:
        text = str(item)
        files.extend(sorted(glob.glob(text)) if any(c in text for c in "*?[") else [text])
    return files


def _sql_list(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


class RunTables:
    """The run's tables and the published ids as DuckDB views, read back in bounded batches.

    Each table is one view over all of its files, so a check that looks across rows (a
    suite's derived SQL, uniqueness, the row count) sees the whole run, while GX only ever
    holds one batch: the run never needs to fit in memory. DuckDB runs under
    ``memory_limit`` and spills to ``scratch``.
    """

    def __init__(
        self,
        tables: Mapping[str, TableSource],
        published: Mapping[str, TableSource] | None,
        scratch: Path,
        memory_limit: str = DUCKDB_MEMORY,
    ) -> None:
        self._scratch = scratch
        scratch.mkdir(parents=True, exist_ok=True)
        self._parts: dict[str, pa.Table | list[str]] = {
            name: source if isinstance(source, pa.Table) else parquet_files(source)
            for name, source in tables.items()
        }
        for name, part in self._parts.items():
            if not isinstance(part, pa.Table) and not part:
                raise ValueError(f"{name}: no files (an empty part gives an empty table)")
        self._con = duckdb.connect(
            config={
                "memory_limit": memory_limit,
                "temp_directory": str(scratch / "duckdb"),
                # The derived rows are written unordered and sorted back per file.
                "preserve_insertion_order": False,
            }
        )
        for name, part in self._parts.items():
            if isinstance(part, pa.Table):
                marked = part.append_column(
                    _FILE, pa.array(np.zeros(part.num_rows, np.int64))
                ).append_column(_ROW, pa.array(np.arange(part.num_rows)))
                self._con.register(name, marked)
            else:
                self._con.execute(
                    f"CREATE VIEW {name} AS SELECT *, file_index AS {_FILE}, "
                    f"file_row_number AS {_ROW} "
                    f"FROM read_parquet({_sql_list(part)}, union_by_name = true)"
                )
        for name, source in (published or {}).items():
            if isinstance(source, pa.Table):
                self._con.register(name, source)
            elif files := parquet_files(source):
                self._con.execute(
                    f"CREATE VIEW {name} AS SELECT * "
                    f"FROM read_parquet({_sql_list(files)}, union_by_name = true)"
                )
        for name, column in PUBLISHED_IDS.items():
            if not self._has_view(name):
                self._con.execute(
                    f"CREATE VIEW {name} AS SELECT NULL::VARCHAR AS {column} WHERE false"
                )

    def _has_view(self, name: str) -> bool:
        """Whether ``name`` is a view already (a registered Arrow table is one too)."""
        query = "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT internal"
        return bool(self._con.execute(query, [name]).fetchall()[0][0])

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> RunTables:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def batches(
        self, name: str, derived: Mapping[str, str], batch_bytes: int = BATCH_BYTES
    ) -> Iterator[pa.Table]:
        """``name``'s rows in order, about ``batch_bytes`` of Arrow data at a time, each with
        its derived columns.

        Consecutive files share a batch when they are smaller than one (GX has a fixed cost
        per batch), and a larger file is split. A table with no rows yields
        one empty batch, so its expectations are still evaluated.
        """
        pending: list[pa.Table] = []
        rows = size = 0
        yielded = False
        for piece in self._pieces(name, derived, batch_bytes):
            pending.append(piece)
            rows, size = rows + piece.num_rows, size + piece.nbytes
            while rows and size >= batch_bytes:
                joined = pa.concat_tables(pending, promote_options="default")
                take = _rows_within(rows, size, batch_bytes)
                yield joined.slice(0, take)
                yielded = True
                rest = joined.slice(take)
                pending, rows, size = [rest], rest.num_rows, rest.nbytes
        if rows or not yielded:
            pending = pending or [self._empty(name, derived)]
            yield pa.concat_tables(pending, promote_options="default")

    def _pieces(
        self, name: str, derived: Mapping[str, str], batch_bytes: int
    ) -> Iterator[pa.Table]:
        """Each file's rows in order, at most about ``batch_bytes`` at a time, with derived
        columns.

        The derived columns are computed by one DuckDB query over the whole run (a file's
        rows must see every other file's) and written per file to the scratch folder: the
        query runs once, not once per batch, and each file's share is read back in row order.
        """
        target = self._scratch / f"derived_{name}"
        if derived:
            columns = ", ".join(f"({expr}) AS {col}" for col, expr in derived.items())
            self._con.execute(
                f"COPY (SELECT {_FILE}, {_ROW}, {columns} FROM {name}) "
                f"TO '{target}' (FORMAT parquet, PARTITION_BY ({_FILE}))"
            )
        parts = self._parts[name]
        for index, part in enumerate([parts] if isinstance(parts, pa.Table) else parts):
            share: pa.Table | None = None
            for start, piece in _slices(part, batch_bytes):
                if derived and share is None:
                    share = self._con.sql(
                        f"SELECT {', '.join(derived)} "
                        f"FROM read_parquet('{target}/{_FILE}={index}/*.parquet') "
                        f"ORDER BY {_ROW}"
                    ).to_arrow_table()
                if share is not None:
                    for column in derived:
                        piece = piece.append_column(
                            column, share.column(column).slice(start, piece.num_rows)
                        )
                yield piece

    def _empty(self, name: str, derived: Mapping[str, str]) -> pa.Table:
        """``name`` with no rows: its first file's columns and the derived ones."""
        parts = self._parts[name]
        first = parts if isinstance(parts, pa.Table) else parts[0]
        schema = first.schema if isinstance(first, pa.Table) else pq.read_schema(first)
        empty = schema.empty_table()
        if derived:
            columns = ", ".join(f"({expr}) AS {col}" for col, expr in derived.items())
            computed = self._con.sql(f"SELECT {columns} FROM {name} LIMIT 0").to_arrow_table()
            for column in derived:
                empty = empty.append_column(column, computed.column(column))
        return empty

    def fetch(self, query: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of a query over the run's views (each table's name is a view)."""
        return self._con.execute(query, parameters).fetchall()


def _rows_within(rows: int, size: int, budget: int) -> int:
    """How many of ``rows`` rows taking ``size`` bytes fit ``budget`` bytes (at least one)."""
    return max(1, min(rows, rows * budget // size)) if size else max(rows, 1)


def _slices(part: pa.Table | str, batch_bytes: int) -> Iterator[tuple[int, pa.Table]]:
    """``(first row, rows)`` of a table or a Parquet file, about ``batch_bytes`` at a time."""
    if isinstance(part, pa.Table):
        step = _rows_within(part.num_rows, part.nbytes, batch_bytes)
        for start in range(0, part.num_rows, step):
            yield start, part.slice(start, step)
        return
    start = 0
    with pq.ParquetFile(part) as parquet:
        meta = parquet.metadata
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        step = _rows_within(meta.num_rows, size, batch_bytes)
        for batch in parquet.iter_batches(batch_size=step):
            yield start, pa.Table.from_batches([batch])
            start += batch.num_rows


def arrow_backed_frame(table: pa.Table) -> pd.DataFrame:
    """``table`` as a pandas frame whose columns stay Arrow arrays (``pd.ArrowDtype``).

    GX's pandas engine gives the same verdicts on these (``tests/output/test_validate.py`` shows a
    violation of every expectation type the suites use caught this way), while the default
    conversion copies every string into a Python object: at 100,000 pages (7.6 million
    paragraphs) that copy alone took ~5 GB.
    """
    import pandas as pd  # here: the clean shards import this module and never validate

    return table.to_pandas(types_mapper=pd.ArrowDtype)


RESULTS_STORE = "newsclean_validation_results"
# Validation pages the Data Docs index lists (newest first): the last 100 runs' three suites.
INDEX_VALIDATIONS = 300


def results_dir_for(docs_dir: Path) -> Path:
    """Where validation results are kept between runs: beside the Data Docs they render to."""
    return docs_dir.parent / "validation_results"


def _gx_context(docs_dir: Path) -> tuple[ModuleType, EphemeralDataContext]:
    """An in-memory GX context whose validation results persist under ``results_dir_for``.

    Persisting the results is what lets Data Docs keep every run's validation pages in their
    index, instead of only the runs this process happened to validate.
    """
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_store(
        RESULTS_STORE,
        {
            "class_name": "ValidationResultsStore",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(results_dir_for(docs_dir).resolve()),
            },
        },
    )
    context.validation_results_store_name = RESULTS_STORE
    context.add_data_docs_site(
        site_name="newsclean",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir.resolve()),
            },
            # The index reads every result it lists: bounded, so it costs the same every run.
            "site_index_builder": {
                "class_name": "DefaultSiteIndexBuilder",
                "validation_results_limit": INDEX_VALIDATIONS,
            },
        },
    )
    return gx, context


def _escaped(value: Any) -> Any:
    """``value`` with every string in it HTML-escaped (lists, dicts and tuples walked)."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_escaped(item) for item in value)
    return value


def escape_for_data_docs(suite_result: Any) -> Any:
    """A copy of a suite validation result whose observed values are HTML-escaped.

    GX 1.x writes unexpected values (page titles, paragraph texts) into the cells of Data Docs
    tables as raw HTML, so a page whose title is ``<script>...`` runs it in whoever opens the
    docs. The stored copy, which Data Docs render, holds the escaped text (the browser shows
    the original characters); the result the run report reads keeps the raw values.
    """
    safe = copy.deepcopy(suite_result)
    for outcome in safe.results:
        if outcome.result:
            outcome.result = _escaped(dict(outcome.result))
        info = outcome.exception_info
        if isinstance(info, dict):
            outcome.exception_info = _escaped(info)
    return safe


# Expectations whose verdict on a table is the verdict on each of its rows: GX checks them per
# batch and the batches' results add up. (Types the suites use; a new one is added here once
# it is known to be row-local, and to tests/test_validate.py's cases.)
ROW_LOCAL = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_value_lengths_to_equal",
        "expect_column_value_lengths_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_pair_values_to_be_equal",
    }
)
# Expectations about a whole table: a batch cannot answer them (a duplicate id may sit in two
# files), so a DuckDB query over all of the table's files does, in GX's result format.
RUN_WIDE = frozenset(
    {
        "expect_column_values_to_be_unique",
        "expect_column_distinct_values_to_be_in_set",
        "expect_table_row_count_to_equal",
        "expect_table_row_count_to_be_between",
    }
)
SUPPORTED_EXPECTATIONS = ROW_LOCAL | RUN_WIDE
# Unexpected values kept per expectation, as GX's SUMMARY result format keeps.
SAMPLE = 20
_NO_EXCEPTION = {"raised_exception": False, "exception_traceback": None, "exception_message": None}


def unsupported_expectation(expectation: Mapping[str, Any]) -> str | None:
    """Why the batched validation cannot run ``expectation``, or ``None`` when it can.

    ``mostly`` is refused too: a batch passing 95 % says nothing of the run passing it.
    """
    kind = expectation["type"]
    if kind not in SUPPORTED_EXPECTATIONS:
        return f"{kind} is not supported"
    if "mostly" in expectation.get("kwargs", {}):
        return f"{kind} with 'mostly' is not supported"
    return None


def check_batchable(suite: Mapping[str, Any]) -> None:
    """Refuse a suite whose verdicts could not be added up over batches (the types are
    ``ROW_LOCAL`` or ``RUN_WIDE``; a new one is added there once its batches add up)."""
    for expectation in suite["expectations"]:
        problem = unsupported_expectation(expectation)
        if problem:
            raise ValueError(f"suite {suite['name']}: {problem}")


def _key(config: Any) -> str:
    """An expectation's identity in a batch result (GX adds the batch id to its kwargs)."""
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    return json.dumps([config.type, kwargs], sort_keys=True, default=str)


def _percent(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole else None


def _percentages(result: dict[str, Any]) -> None:
    """Recompute GX's percentages in ``result`` from its counts (the keys it already has)."""
    rows, missing = result.get("element_count") or 0, result.get("missing_count") or 0
    unexpected = result.get("unexpected_count") or 0
    computed = {
        "missing_percent": _percent(missing, rows),
        "unexpected_percent": _percent(unexpected, rows - missing),
        "unexpected_percent_total": _percent(unexpected, rows),
        "unexpected_percent_nonmissing": _percent(unexpected, rows - missing),
    }
    result.update({key: value for key, value in computed.items() if key in result})


def _value_counts(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[Any]:
    """Two batches' ``partial_unexpected_counts`` as one, most frequent first, as GX orders."""
    if any("value" not in entry for entry in first + second):
        return first or second  # GX's note that the values are not hashable
    counts: Counter[Any] = Counter()
    for entry in first + second:
        counts[entry["value"]] += entry["count"]
    try:
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    except TypeError:
        ranked = sorted(counts.items(), key=lambda item: -item[1])
    return [{"value": value, "count": count} for value, count in ranked[:SAMPLE]]


def merge_results(first: Any, second: Any) -> Any:
    """Two batches' results of one row-local expectation as the result of both batches.

    Counts add up, the percentages follow from them, the samples keep the first ``SAMPLE``
    values in row order. A batch on which GX raised decides the result: it is a failure
    whose counts are unknown, as it was when the whole table was one frame.
    """
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )

    for outcome in (first, second):
        if (outcome.exception_info or {}).get("raised_exception"):
            return outcome
    result = dict(first.result or {})
    other = second.result or {}
    for key in ("element_count", "missing_count", "unexpected_count"):
        if key in result or key in other:
            result[key] = (result.get(key) or 0) + (other.get(key) or 0)
    for key in ("partial_unexpected_list", "partial_unexpected_index_list"):
        if key in result or key in other:
            result[key] = [*(result.get(key) or []), *(other.get(key) or [])][:SAMPLE]
    if "partial_unexpected_counts" in result or "partial_unexpected_counts" in other:
        result["partial_unexpected_counts"] = _value_counts(
            result.get("partial_unexpected_counts") or [],
            other.get("partial_unexpected_counts") or [],
        )
    _percentages(result)
    return ExpectationValidationResult(
        success=bool(first.success and second.success),
        expectation_config=first.expectation_config,
        result=result,
        meta=first.meta,
        exception_info=first.exception_info,
    )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _between(value: int, kwargs: Mapping[str, Any]) -> bool:
    """GX's bounds: ``min_value``/``max_value`` inclusive unless ``strict_min``/``strict_max``."""
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None and (value <= low if kwargs.get("strict_min") else value < low):
        return False
    return high is None or (value < high if kwargs.get("strict_max") else value <= high)


def run_wide_result(run: RunTables, table: str, config: Any) -> Any:
    """A ``RUN_WIDE`` expectation's result over all of ``table``'s files, as GX reports it."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )

    kwargs, kind = config.kwargs, config.type
    result: dict[str, Any]
    if kind.startswith("expect_table_row_count_to_"):
        ((rows,),) = run.fetch(f"SELECT count(*) FROM {table}")
        success = rows == kwargs["value"] if kind.endswith("_equal") else _between(rows, kwargs)
        result = {"observed_value": rows}
    elif kind == "expect_column_distinct_values_to_be_in_set":
        column = _quoted(kwargs["column"])
        outside = (
            f"SELECT DISTINCT {column} AS value FROM {table} "
            f"WHERE {column} IS NOT NULL AND {column} NOT IN (SELECT unnest(?))"
        )
        ((count,),) = run.fetch(f"SELECT count(*) FROM ({outside})", [kwargs["value_set"]])
        sample = run.fetch(f"{outside} ORDER BY value LIMIT {SAMPLE}", [kwargs["value_set"]])
        success = count == 0
        result = {
            "observed_value": None,
            "unexpected_count": count,
            "partial_unexpected_list": [value for (value,) in sample],
        }
    else:  # expect_column_values_to_be_unique: every copy of a repeated value is unexpected
        column = _quoted(kwargs["column"])
        # One pass over the column; what it keeps (nulls, repeated values) is small.
        run.fetch(
            f"CREATE OR REPLACE TEMP TABLE newsclean_repeats AS "
            f"SELECT {column} AS value, count(*) AS copies FROM {table} "
            f"GROUP BY {column} HAVING {column} IS NULL OR count(*) > 1"
        )
        ((rows,),) = run.fetch(f"SELECT count(*) FROM {table}")
        ((missing, unexpected),) = run.fetch(
            "SELECT coalesce(sum(copies) FILTER (value IS NULL), 0), "
            "coalesce(sum(copies) FILTER (value IS NOT NULL), 0) FROM newsclean_repeats"
        )
        top = run.fetch(
            "SELECT value, copies FROM newsclean_repeats WHERE value IS NOT NULL "
            f"ORDER BY copies DESC, value LIMIT {SAMPLE}"
        )
        success = unexpected == 0
        result = {
            "element_count": rows,
            "missing_count": missing,
            "missing_percent": None,
            "unexpected_count": int(unexpected),
            "unexpected_percent": None,
            "unexpected_percent_total": None,
            "unexpected_percent_nonmissing": None,
            "partial_unexpected_list": [v for v, n in top for _ in range(n)][:SAMPLE],
            "partial_unexpected_counts": [{"value": v, "count": n} for v, n in top],
        }
        _percentages(result)
    return ExpectationValidationResult(
        success=bool(success),
        expectation_config=config,
        result=result,
        exception_info=dict(_NO_EXCEPTION),
    )


def _validate_table(
    gx: ModuleType,
    run: RunTables,
    suite_spec: dict[str, Any],
    suite: Any,
    batches: Any,
    batch_bytes: int,
) -> Any:
    """One suite's result over all of its table's batches, in the suite's order."""
    import pandas as pd
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )
    from great_expectations.validator.v1_validator import Validator
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    name = suite_spec["name"]
    derived = suite_spec.get("meta", {}).get("derived_columns", {})
    per_batch = gx.ExpectationSuite(
        name=name, expectations=[e for e in suite_spec["expectations"] if e["type"] in ROW_LOCAL]
    )
    merged: dict[str, Any] = {}
    first: tuple[dict[str, Any], str | None] | None = None  # a batch's meta and batch id
    rows = count = 0
    for table in run.batches(name, derived, batch_bytes):
        frame = arrow_backed_frame(table)
        frame.index = pd.RangeIndex(rows, rows + table.num_rows)  # the run's row numbers
        # What ValidationDefinition.run does, without storing each batch's result: the
        # merged one is stored, escaped. (Batch.validate would load, and fingerprint, the
        # frame twice.)
        validator = Validator(batch_definition=batches, batch_parameters={"dataframe": frame})
        outcome = validator.validate_expectation_suite(per_batch)
        del frame, validator
        for result in outcome.results:
            key = _key(result.expectation_config)
            merged[key] = merge_results(merged[key], result) if key in merged else result
        if first is None:
            first = (dict(outcome.meta), outcome.batch_id)
        rows, count = rows + table.num_rows, count + 1
    assert first is not None  # RunTables.batches yields at least one batch
    results = []
    for expectation in suite.expectations:
        config = expectation.configuration
        if config.type in RUN_WIDE:
            results.append(run_wide_result(run, name, config))
        else:
            result = merged[_key(config)]
            result.expectation_config = config
            results.append(result)
    statistics = calc_validation_statistics(results)
    batch_meta, batch_id = first
    meta = {key: value for key, value in batch_meta.items() if key != "batch_markers"}
    meta["batch_parameters"] = {"rows": rows, "batches": count}
    return ExpectationSuiteValidationResult(
        success=statistics.success,
        results=results,
        suite_name=name,
        statistics={
            "evaluated_expectations": statistics.evaluated_expectations,
            "successful_expectations": statistics.successful_expectations,
            "unsuccessful_expectations": statistics.unsuccessful_expectations,
            "success_percent": statistics.success_percent,
        },
        meta=meta,
        batch_id=batch_id,
    )


def run_checkpoints(
    tables: Mapping[str, TableSource],
    published: Mapping[str, TableSource] | None,
    expectations_dir: Path,
    docs_dir: Path,
    run_name: str | None = None,
    run_time: datetime | None = None,
    *,
    batch_bytes: int = BATCH_BYTES,
    memory_limit: str = DUCKDB_MEMORY,
    scratch_dir: Path | None = None,
) -> ValidationReport:
    """Validate each table against its suite without holding the run, then build Data Docs.

    ``tables`` maps a table name (its suite is ``expectations/<name>.json``) to an Arrow
    table or to Parquet files: a path, a glob, or a sequence of them, read in that order
    (a glob's matches sorted). ``published`` maps the views the suites' derived SQL reads
    (``published_articles``, ``published_paragraphs``) to the same kinds of sources; a view
    left out or given no files is empty (a first run). Files are read by DuckDB (under
    ``memory_limit``, spilling to a temporary folder in ``scratch_dir``) and, about
    ``batch_bytes`` of Arrow data at a time, by GX: peak memory follows the batch and the
    limit, not the run.

    Row-local expectations (``ROW_LOCAL``) run in GX per batch and their results add up;
    those about the whole table (``RUN_WIDE``: uniqueness, distinct values, row count) are
    DuckDB queries over all of its files; derived columns are computed over all files too.
    Each suite's result is one validation page per run (``run_name``, the newsclean run id,
    names it), with observed values escaped for Data Docs; Data Docs are built once at the
    end (each build re-renders every page) and the index lists every run whose results are
    kept.
    """
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    suites = {name: load_suite(expectations_dir, name) for name in tables}
    for spec in suites.values():
        check_batchable(spec)
    gx, context = _gx_context(docs_dir)
    source = context.data_sources.add_pandas("newsclean")
    failures: list[FailedExpectation] = []
    evaluated = 0
    run_id = RunIdentifier(run_name=run_name, run_time=run_time)
    rendered: list[Any] = []
    with (
        tempfile.TemporaryDirectory(prefix="newsclean-validate-", dir=scratch_dir) as scratch,
        RunTables(tables, published, Path(scratch), memory_limit) as run,
    ):
        for name, spec in suites.items():
            suite = context.suites.add(gx.ExpectationSuite(**spec))
            batches = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("run")
            result = _validate_table(gx, run, spec, suite, batches, batch_bytes)
            result.meta["run_id"] = run_id
            result.meta["validation_time"] = run_id.run_time
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=name),
                run_id=run_id,
                batch_identifier=result.batch_id,
            )
            context.validation_results_store.set(key, escape_for_data_docs(result))
            rendered += [ExpectationSuiteIdentifier(name=name), key]
            for outcome in result.results:
                evaluated += 1
                if outcome.success:
                    continue
                kwargs = outcome.expectation_config.kwargs
                details = outcome.result or {}
                failures.append(
                    FailedExpectation(
                        suite=name,
                        expectation=outcome.expectation_config.type,
                        column=kwargs.get("column") or kwargs.get("column_A"),
                        unexpected_count=details.get("unexpected_count"),
                        sample=list(details.get("partial_unexpected_list") or [])[:5],
                    )
                )
    context.build_data_docs(site_names=["newsclean"], resource_identifiers=rendered)
    index = docs_dir / "index.html"
    return ValidationReport(
        success=not failures,
        evaluated=evaluated,
        failures=failures,
        data_docs_index=str(index) if index.exists() else None,
    )
