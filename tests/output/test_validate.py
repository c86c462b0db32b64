"""The checkpoints catch what the suites declare, however the run's tables are laid out.

One column per expectation type ``tasks.output.validate`` accepts, each broken in exactly one row of
the "bad" table: every expectation must fail with one unexpected value (two for uniqueness,
which counts both copies), and the same expectations must pass on the "good" table. The
same verdicts must come out whether a table is one Arrow table, one file, or split over
several files and batches (a violation in any of them is caught; a duplicate split across
two files is one): the run is validated batch by batch, with what needs the whole table
(uniqueness, row counts, the suites' derived SQL) answered over all of its files.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks.validate_memory import inputs_table, synthetic_part
from tasks.output.validate import (
    BATCH_BYTES,
    ROW_LOCAL,
    RUN_WIDE,
    RunTables,
    check_batchable,
    run_checkpoints,
)

from ..conftest import REPO

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
    (
        "expect_column_values_to_match_regex",
        {"regex": "^[a-z]+$"},
        ["a", "b", "c"],
        ["a", "B", "c"],
        1,
    ),
    (
        "expect_column_distinct_values_to_be_in_set",
        {"value_set": ["a", "b", "c"]},
        ["a", "b", "c"],
        ["a", "d", "c"],
        1,
    ),
]
# Column pairs compare an int32 column with a DuckDB-computed int64 one, as in the suites.
PAIR = ("expect_column_pair_values_to_be_equal", [1, 2, 3], [1, 5, 3], 1)
ROW_COUNTS = [
    {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 3}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 3, "max_value": 3}},
]
# How the three rows are laid out: one Arrow table, or Parquet files holding the rows at
# these positions (the bad values are all in row 1, the duplicate in rows 0 and 1); and the
# batch size in bytes (1: a batch per row; the default: one batch for every file).
LAYOUTS = {
    "table": (None, BATCH_BYTES),
    "table, a batch per row": (None, 1),
    "one file": ([[0, 1, 2]], BATCH_BYTES),
    "a file per row": ([[0], [1], [2]], BATCH_BYTES),
    "a file per row, a batch per row": ([[0], [1], [2]], 1),
    "the bad row first, an empty file between": ([[1], [], [0, 2]], 1),
}


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
    expectations.extend(ROW_COUNTS)
    return {"checked": pa.table(columns)}, {"name": "checked", "expectations": expectations}


def _parts(table: pa.Table, groups: list[list[int]], folder: Path) -> list[str]:
    """``table``'s rows at each group's positions as one Parquet file per group."""
    folder.mkdir(parents=True)
    paths = []
    for number, rows in enumerate(groups):
        path = folder / f"part-{number}.parquet"
        pq.write_table(table.take(pa.array(rows, pa.int64())), path)
        paths.append(str(path))
    return paths


def _run(which: str, tmp_path: Path, layout: str = "table"):
    tables, suite = _tables_and_suite(which)
    groups, batch_bytes = LAYOUTS[layout]
    if groups is not None:
        tables = {"checked": _parts(tables["checked"], groups, tmp_path / which / "parts")}
    suites = tmp_path / which / "expectations"
    suites.mkdir(parents=True)
    (suites / "checked.json").write_text(json.dumps(suite), encoding="utf-8")
    docs = tmp_path / which / "docs"
    return run_checkpoints(tables, {}, suites, docs, batch_bytes=batch_bytes)  # type: ignore[arg-type]


def test_every_expectation_type_the_suites_use_is_covered_here():
    used = {
        expectation["type"]
        for path in (REPO / "expectations").glob("*.json")
        for expectation in json.loads(path.read_text(encoding="utf-8"))["expectations"]
    }
    covered = {kind for kind, *_ in CASES} | {PAIR[0]} | {e["type"] for e in ROW_COUNTS}
    assert used <= ROW_LOCAL | RUN_WIDE, "the suites use a type validation cannot batch"
    accepted = ROW_LOCAL | RUN_WIDE
    assert accepted <= covered, f"add a case for {sorted(accepted - covered)}"


def test_a_type_that_is_not_known_to_add_up_over_batches_is_refused():
    mean = {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "c", "min_value": 0}}
    with pytest.raises(ValueError, match="expect_column_mean_to_be_between"):
        check_batchable({"name": "t", "expectations": [mean]})
    kwargs = {"column": "c", "mostly": 0.9}
    mostly = {"type": "expect_column_values_to_not_be_null", "kwargs": kwargs}
    with pytest.raises(ValueError, match="mostly"):
        check_batchable({"name": "t", "expectations": [mostly]})


@pytest.mark.slow
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_violation_of_each_expectation_is_reported_whatever_the_layout(tmp_path, layout):
    report = _run("bad", tmp_path, layout)
    assert not report.success
    failed = {(f.expectation, f.column): f for f in report.failures}
    for i, (kind, _, _, bad, count) in enumerate(CASES):
        failure = failed.pop((kind, f"c{i}"))
        assert failure.unexpected_count == count, kind
        value = bad[1].as_py() if isinstance(bad[1], pa.Scalar) else bad[1]
        shown = "<NA>" if value is None else str(value)  # as GX reports values
        assert failure.as_dict()["sample"] == [shown] * count, kind
    assert failed.pop((PAIR[0], "pair_a")).unexpected_count == PAIR[3]
    assert failed == {}  # the row count is right: nothing else fails
    pages = list((tmp_path / "bad" / "docs" / "validations" / "checked").rglob("*.html"))
    assert len(pages) == 1, "one validation page per suite and run, whatever the batches"


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["table", "a file per row, a batch per row"])
def test_the_same_expectations_pass_on_good_tables(tmp_path, layout):
    report = _run("good", tmp_path, layout)
    assert report.success, [f.as_dict() for f in report.failures]
    assert report.evaluated == len(CASES) + 1 + len(ROW_COUNTS)


@pytest.mark.slow
@pytest.mark.parametrize("groups", [[[0], [1]], [[0, 1, 2], [0]]], ids=["2 rows", "4 rows"])
def test_a_wrong_row_count_over_the_files_is_reported(tmp_path, groups):
    """Each file's row count says nothing: the count over all files is the table's."""
    tables, suite = _tables_and_suite("good")
    files = _parts(tables["checked"], groups, tmp_path / "parts")
    suite["expectations"] = ROW_COUNTS
    suites = tmp_path / "expectations"
    suites.mkdir()
    (suites / "checked.json").write_text(json.dumps(suite), encoding="utf-8")
    report = run_checkpoints({"checked": files}, {}, suites, tmp_path / "docs", batch_bytes=1)
    assert {f.expectation for f in report.failures} == {e["type"] for e in ROW_COUNTS}


def _real_run(folder: Path, article_groups: list[range], paragraph_groups: list[range]):
    """Six synthetic articles (three paragraphs each) that pass the real suites, as files."""
    run = synthetic_part(0, 6, paragraphs=3)
    files = {
        "articles": _parts(run["articles"], [list(g) for g in article_groups], folder / "a"),
        "paragraphs": _parts(run["paragraphs"], [list(g) for g in paragraph_groups], folder / "p"),
    }
    return run, files


@pytest.mark.slow
def test_the_real_suites_see_the_whole_run_across_files(tmp_path):
    """A paragraph whose article (or duplicate) is in another file resolves; rows count."""
    # Articles 0-2 and 3-5; paragraphs in a different cut, the last file first.
    run, files = _real_run(tmp_path, [range(3), range(3, 6)], [range(10, 18), range(10)])
    # Articles 1-5 end with a duplicate of the previous article's body paragraph: article 3's
    # (row 11, in the first file) points at row 7 (in the second).
    assert run["paragraphs"].column("duplicate_of").null_count == 18 - 5
    tables = {**files, "inputs": inputs_table(6)}
    split = run_checkpoints(
        tables, None, REPO / "expectations", tmp_path / "docs", batch_bytes=1000
    )
    assert split.success, [f.as_dict() for f in split.failures]
    whole = run_checkpoints(
        {**run, "inputs": inputs_table(6)}, None, REPO / "expectations", tmp_path / "docs-whole"
    )
    assert whole.success and whole.evaluated == split.evaluated


@pytest.mark.slow
def test_a_duplicate_id_split_across_two_files_fails(tmp_path):
    run, files = _real_run(tmp_path, [range(6)], [range(9), range(9, 18), [4]])
    # The third file repeats paragraph 4 (in the first file) and so adds a row to article 1.
    tables = {**files, "inputs": inputs_table(6)}
    # A batch per row: the copies are never in one batch.
    report = run_checkpoints(tables, None, REPO / "expectations", tmp_path / "docs", batch_bytes=1)
    failed = {(f.suite, f.expectation, f.column): f for f in report.failures}
    unique = failed.pop(("paragraphs", "expect_column_values_to_be_unique", "paragraph_id"))
    duplicated = run["paragraphs"].column("paragraph_id")[4].as_py()
    assert unique.unexpected_count == 2 and unique.sample == [duplicated, duplicated]
    rows = failed.pop(("articles", "expect_column_pair_values_to_be_equal", "n_paragraphs_in"))
    assert rows.unexpected_count == 1
    assert failed == {}


@pytest.mark.slow
def test_a_duplicate_of_a_published_paragraph_resolves_through_the_published_files(tmp_path):
    _, files = _real_run(tmp_path, [range(6)], [range(18)])
    paragraphs = pq.read_table(files["paragraphs"][0])
    label = paragraphs.column("label").to_pylist()
    earlier = label.index("duplicate")
    target = paragraphs.column("duplicate_of").to_pylist()
    target[earlier] = "0123456789abcdef-00001"  # a paragraph of an earlier run
    changed = paragraphs.set_column(6, "duplicate_of", pa.array(target))
    pq.write_table(changed, files["paragraphs"][0])
    published = tmp_path / "published" / "paragraphs"
    published.mkdir(parents=True)
    ids = {"paragraph_id": ["0123456789abcdef-00001"], "text": ["An earlier paragraph."]}
    pq.write_table(pa.table(ids), published / "part-0.parquet")
    tables = {**files, "inputs": inputs_table(6)}
    suites = REPO / "expectations"
    first_run = run_checkpoints(tables, {}, suites, tmp_path / "docs-1")
    failed = [(f.suite, f.column) for f in first_run.failures]
    assert failed == [("paragraphs", "duplicate_of_resolves")]
    glob = str(published / "part-*.parquet")
    later = run_checkpoints(tables, {"published_paragraphs": glob}, suites, tmp_path / "docs-2")
    assert later.success, [f.as_dict() for f in later.failures]


def _batches(tables: dict, batch_bytes: int, derived: dict, published=None, tmp=None):
    with RunTables(tables, published, tmp) as run:
        return list(run.batches("t", derived, batch_bytes))


def test_derived_columns_line_up_with_their_rows_across_files(tmp_path):
    """More rows than DuckDB scans in one morsel, over several files, in batches that do not
    follow the files: a query (or a batch) that lost the order would show."""
    n = 300_000
    values = np.arange(n)[::-1] % 977
    table = pa.table({"id": np.arange(n), "v": values})
    files = _parts(table, [list(range(0, 100_000)), [], list(range(100_000, n))], tmp_path / "t")
    derived = {
        "twice": "v * 2",
        "known": "id IN (SELECT id FROM other)",
        "last": "id = (SELECT max(id) FROM t)",
    }
    others = {"other": pa.table({"id": np.arange(0, n, 3)})}
    for number, source in enumerate((table, files)):
        budget = 2_000_000  # ~80,000 rows: batches that do not follow the files
        batches = _batches({"t": source}, budget, derived, others, tmp_path / str(number))
        assert len(batches) >= 4 and all(b.nbytes <= budget * 1.01 for b in batches)
        frame = pa.concat_tables(batches)
        assert frame.column_names == ["id", "v", "twice", "known", "last"]
        assert np.array_equal(frame.column("twice").to_numpy(), values * 2)
        assert np.array_equal(frame.column("known").to_numpy(), np.arange(n) % 3 == 0)
        # A file's rows see the other files' rows: the largest id is in the last file.
        assert frame.column("last").to_pylist() == [False] * (n - 1) + [True]
        assert frame.select(["id", "v"]).equals(table)  # its own columns, as they were


def test_a_table_without_rows_is_one_empty_batch_with_its_columns(tmp_path):
    empty = pa.table({"id": pa.array([], pa.string())})
    files = _parts(empty, [[], []], tmp_path / "t")
    derived = {"resolves": "id IN (SELECT paragraph_id FROM published_paragraphs)"}
    (batch,) = _batches({"t": files}, 10, derived, None, tmp_path)  # published: empty views
    assert batch.num_rows == 0 and batch.column_names == ["id", "resolves"]
    assert batch.schema.field("resolves").type == pa.bool_()


def test_a_table_given_no_files_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no files"):
        RunTables({"t": str(tmp_path / "missing-*.parquet")}, None, tmp_path)


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
