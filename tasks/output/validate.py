"""Validate the staged tables with Great Expectations checkpoints and write Data Docs.

The suites live as JSON in ``expectations/`` (one per table). Checks that span tables
(every duplicate resolves, counts add up) are written as ``derived_columns`` in the suite's
``meta``: DuckDB expressions evaluated over the staged tables, whose result columns the
suite's expectations then check. So each check is declared next to the table it guards.
"""

from __future__ import annotations

import copy
import html
import importlib
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa

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


ROW = "__newsclean_row"


def validation_frames(
    tables: dict[str, pa.Table],
    published: dict[str, pa.Table],
    suites: dict[str, dict[str, Any]],
) -> dict[str, pa.Table]:
    """Each table plus the derived check columns its suite declares, computed in DuckDB.

    ``published`` holds the ids published by earlier runs (views ``published_articles``
    with ``article_id`` and ``published_paragraphs`` with ``paragraph_id``). Only the derived
    columns come out of DuckDB, in the table's row order, and are appended to the table as
    it is: a ``SELECT *`` copied every column, the paragraph texts too (2 GB at 100,000 pages).
    """
    con = duckdb.connect()
    try:
        for name, table in tables.items():
            con.register(name, table.append_column(ROW, pa.array(np.arange(table.num_rows))))
        for name, table in published.items():
            con.register(name, table)
        frames = {}
        for name, table in tables.items():
            derived = suites[name].get("meta", {}).get("derived_columns", {})
            frames[name] = table
            if not derived:
                continue
            columns = ", ".join(f"({expr}) AS {col}" for col, expr in derived.items())
            computed = con.sql(f"SELECT {columns} FROM {name} ORDER BY {ROW}").to_arrow_table()
            for column in computed.column_names:
                frames[name] = frames[name].append_column(column, computed.column(column))
        return frames
    finally:
        con.close()


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


def run_checkpoints(
    tables: dict[str, pa.Table],
    published: dict[str, pa.Table],
    expectations_dir: Path,
    docs_dir: Path,
    run_name: str | None = None,
    run_time: datetime | None = None,
) -> ValidationReport:
    """Run one GX checkpoint per table, then build the Data Docs under ``docs_dir`` once.

    One build at the end instead of an ``UpdateDataDocsAction`` per checkpoint: each build
    re-renders every page, so per-checkpoint builds cost a multiple of the validation itself.
    Only this run's pages are rendered; the index lists every run whose results are kept
    (``run_name``, the newsclean run id, names each run's pages).
    """
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    suites = {name: load_suite(expectations_dir, name) for name in tables}
    frames = validation_frames(tables, published, suites)
    gx, context = _gx_context(docs_dir)
    source = context.data_sources.add_pandas("newsclean")
    failures: list[FailedExpectation] = []
    evaluated = 0
    run_id = RunIdentifier(run_name=run_name, run_time=run_time)
    rendered: list[Any] = []
    for name, frame in frames.items():
        suite = context.suites.add(gx.ExpectationSuite(**suites[name]))
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("run")
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(name=f"newsclean_{name}", validation_definitions=[definition])
        )
        result = checkpoint.run(
            batch_parameters={"dataframe": arrow_backed_frame(frame)}, run_id=run_id
        )
        rendered.append(ExpectationSuiteIdentifier(name=name))
        for key, run_result in result.run_results.items():
            context.validation_results_store.set(key, escape_for_data_docs(run_result))
            rendered.append(key)
            for outcome in run_result.results:
                evaluated += 1
                if outcome.success:
                    continue
                expectation = outcome.expectation_config
                assert expectation is not None  # GX sets it on every result of a checkpoint
                kwargs = expectation.kwargs
                details = outcome.result or {}
                failures.append(
                    FailedExpectation(
                        suite=name,
                        expectation=expectation.type,
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
