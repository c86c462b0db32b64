"""The checkpoints catch what the suites declare, on the Arrow-backed frames they are given.

One column per expectation type the suites in ``expectations/`` use, each broken in exactly
one row of the "bad" table: every expectation must fail with one unexpected value (two for
uniqueness, which counts both copies), and the same expectations must pass on the "good"
table. Arrow-backed frames are the memory-saving path (``tasks.validate.arrow_backed_frame``);
this is what shows that GX still sees every violation through them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tasks.validate import run_checkpoints

from .conftest import REPO

STAMP = datetime(2026, 1, 1, tzinfo=UTC)
# (expectation type, kwargs, good column, bad column, unexpected count in the bad column)
CASES = [
    ("expect_column_values_to_not_be_null", {}, ["a", "b", "c"], ["a", None, "c"], 1),
    (
        "expect_column_values_to_not_be_null",
        {},
        pa.array([STAMP] * 3, pa.timestamp("us", tz="UTC")),
        pa.array([STAMP, None, STAMP], pa.timestamp("us", tz="UTC")),
        1,
    ),
    ("expect_column_values_to_be_unique", {}, ["a", "b", "c"], ["a", "a", "c"], 2),
    (
        "expect_column_value_lengths_to_equal",
        {"value": 2},
        ["aa", "bb", "cc"],
        ["aa", "b", "cc"],
        1,
    ),
    (
        "expect_column_value_lengths_to_be_between",
        {"min_value": 1, "max_value": 3},
        ["a", "bb", "ccc"],
        ["a", "bbbb", "ccc"],
        1,
    ),
    (
        "expect_column_values_to_be_in_set",
        {"value_set": ["body", "title"]},
        ["body", "title", "body"],
        ["body", "ad", "body"],
        1,
    ),
    (
        "expect_column_values_to_be_in_set",
        {"value_set": [True]},
        [True, True, True],
        [True, False, True],
        1,
    ),
    (
        "expect_column_values_to_be_between",
        {"min_value": 0},
        pa.array([0, 1, 2], pa.int32()),
        pa.array([0, -1, 2], pa.int32()),
        1,
    ),
]
# Column pairs compare an int32 column with a DuckDB-computed int64 one, as in the suites.
PAIR = ("expect_column_pair_values_to_be_equal", [1, 2, 3], [1, 5, 3], 1)


def _tables_and_suite(which: str) -> tuple[dict[str, pa.Table], dict]:
    columns: dict[str, object] = {}
    expectations = []
    for i, (kind, kwargs, good, bad, _) in enumerate(CASES):
        columns[f"c{i}"] = good if which == "good" else bad
        expectations.append({"type": kind, "kwargs": {"column": f"c{i}", **kwargs}})
    kind, good, bad, _ = PAIR
    columns["pair_a"] = pa.array([1, 2, 3], pa.int32())
    columns["pair_b"] = pa.array(good if which == "good" else bad, pa.int64())
    expectations.append({"type": kind, "kwargs": {"column_A": "pair_a", "column_B": "pair_b"}})
    expectations.append({"type": "expect_table_row_count_to_equal", "kwargs": {"value": 3}})
    return {"checked": pa.table(columns)}, {"name": "checked", "expectations": expectations}


def _run(which: str, tmp_path: Path):
    tables, suite = _tables_and_suite(which)
    suites = tmp_path / which / "expectations"
    suites.mkdir(parents=True)
    (suites / "checked.json").write_text(json.dumps(suite), encoding="utf-8")
    return run_checkpoints(tables, {}, suites, tmp_path / which / "docs")


def test_every_expectation_type_the_suites_use_is_covered_here():
    used = {
        expectation["type"]
        for path in (REPO / "expectations").glob("*.json")
        for expectation in json.loads(path.read_text(encoding="utf-8"))["expectations"]
    }
    covered = {kind for kind, *_ in CASES} | {PAIR[0], "expect_table_row_count_to_equal"}
    assert used <= covered, f"add a case for {sorted(used - covered)}"


@pytest.mark.slow
def test_a_violation_of_each_expectation_is_reported(tmp_path):
    report = _run("bad", tmp_path)
    assert not report.success
    failed = {(f.expectation, f.column): f.unexpected_count for f in report.failures}
    for i, (kind, _, _, _, count) in enumerate(CASES):
        assert failed.pop((kind, f"c{i}")) == count, kind
    assert failed.pop((PAIR[0], "pair_a")) == PAIR[3]
    assert failed == {}  # the row count is right: nothing else fails


@pytest.mark.slow
def test_the_same_expectations_pass_on_good_tables(tmp_path):
    report = _run("good", tmp_path)
    assert report.success, [f.as_dict() for f in report.failures]
    assert report.evaluated == len(CASES) + 2


@pytest.mark.slow
@pytest.mark.parametrize("rows", [2, 4])
def test_a_wrong_row_count_is_reported(tmp_path, rows):
    tables, suite = _tables_and_suite("good")
    table = tables["checked"]
    tables["checked"] = table.slice(0, rows) if rows < 3 else pa.concat_tables([table, table[:1]])
    suites = tmp_path / "expectations"
    suites.mkdir()
    (suites / "checked.json").write_text(json.dumps(suite), encoding="utf-8")
    report = run_checkpoints(tables, {}, suites, tmp_path / "docs")
    assert "expect_table_row_count_to_equal" in {f.expectation for f in report.failures}


@pytest.mark.slow
def test_data_docs_keep_every_run_under_its_own_name(tmp_path):
    """Each run's validation pages stay, named by the run id, and the index lists them all."""
    tables, suite = _tables_and_suite("good")
    suites = tmp_path / "expectations"
    suites.mkdir()
    (suites / "checked.json").write_text(json.dumps(suite), encoding="utf-8")
    docs = tmp_path / "reports" / "data_docs"
    names = ["20260101T000000Z-aaaaaaaa", "20260101T010000Z-bbbbbbbb", "20260101T020000Z-cccccccc"]
    for hour, name in enumerate(names):
        run_time = datetime(2026, 1, 1, hour, tzinfo=UTC)
        assert run_checkpoints(tables, {}, suites, docs, run_name=name, run_time=run_time).success
    pages = sorted((docs / "validations" / "checked").glob("*/*/*.html"))
    assert [page.parent.parent.name for page in pages] == names
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert all(name in index for name in names)
    assert "__none__" not in index
