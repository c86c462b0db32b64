"""Tests of tasks.dedup.index_store: real Parquet/DuckDB index files, read back through
find_duplicates, no mocks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from tasks.dedup import index_store
from tasks.dedup.index_store import (
    IndexDamagedError,
    IndexMismatchError,
    compact_index,
    index_status,
    rebuild_index,
    update_index,
)
from tasks.dedup.index_sync import index_records
from tasks.dedup.near_duplicates import DedupConfig, find_duplicates
from tests.dedup.test_near_duplicates import (
    OTHER_REPORT,
    T0,
    WIRE,
    _publish,
    _reprint_edits,
    article,
    make_table,
    result_map,
    with_results,
)


def _second_run() -> list[dict]:
    paragraphs, _ = _reprint_edits()["dateline"]
    # Published *earlier* than run 1's article: the index still wins, it is already out.
    return (
        article("rep", paragraphs, T0 - timedelta(days=2))
        + article("rep2", _reprint_edits()["typo_and_word_edits"][0], T0 - timedelta(days=1))
        + article("fresh", OTHER_REPORT, T0)
    )


def test_second_run_dedups_against_the_first(tmp_path: Path) -> None:
    config = DedupConfig()
    index_dir = tmp_path / "index"
    assert index_status(index_dir) == "missing"
    run1 = article("src", WIRE) + article("dup", WIRE[:2], T0 + timedelta(1))
    first = _publish(index_dir, run1, config)
    assert index_status(index_dir) == "ok"
    assert result_map(first)["dup-1"]["duplicate_of"] == "src-1"

    out = result_map(find_duplicates(make_table(_second_run()), config, index_dir))
    for i in range(len(WIRE)):
        assert out[f"rep-{i}"]["duplicate_of"] == f"src-{i}", out[f"rep-{i}"]
        assert out[f"rep-{i}"]["cluster_id"] == f"src-{i}"
        assert out[f"rep2-{i}"]["duplicate_of"] == f"src-{i}"
    assert out["rep-0"]["similarity"] == 1.0
    assert 0.7 <= out["rep-1"]["similarity"] < 1.0
    assert all(out[f"fresh-{i}"]["cluster_id"] is None for i in range(len(OTHER_REPORT)))


def test_index_records_only_kept_eligible_paragraphs(tmp_path: Path) -> None:
    config = DedupConfig()
    rows = article("src", WIRE) + article("dup", WIRE, T0 + timedelta(1))
    rows += article("off", OTHER_REPORT, eligible=False)
    table = make_table(rows)
    added = update_index(tmp_path, with_results(table, find_duplicates(table, config)), config)
    assert added == len(WIRE)
    # Idempotent: a repeated call adds nothing.
    assert update_index(tmp_path, with_results(table, find_duplicates(table, config))) == 0
    # The ineligible paragraphs were not recorded: as eligible rows they are kept copies.
    out = find_duplicates(make_table(article("x", OTHER_REPORT)), config, tmp_path)
    assert out.column("duplicate_of").null_count == len(OTHER_REPORT)


def test_rerunning_a_published_batch_gives_the_same_answer(tmp_path: Path) -> None:
    config = DedupConfig()
    rows = article("src", WIRE) + article("dup", WIRE, T0 + timedelta(1))
    first = _publish(tmp_path, rows, config)
    assert find_duplicates(make_table(rows), config, tmp_path).equals(first)


def test_rebuilt_index_gives_the_same_result(tmp_path: Path) -> None:
    config = DedupConfig()
    index_dir = tmp_path / "index"
    run1 = article("src", WIRE) + article("dup", WIRE[:2], T0 + timedelta(1))
    run1 += article("short", ["Breaking news", OTHER_REPORT[1]], T0)
    _publish(index_dir, run1, config)
    table1 = make_table(run1)
    published = with_results(table1, find_duplicates(table1, config))
    # s2 copies "short" (its long paragraph), so its short line is a copy too, via the index.
    run2 = make_table(_second_run() + article("s2", ["breaking NEWS!", OTHER_REPORT[1]], T0))
    expected = find_duplicates(run2, config, index_dir)
    assert result_map(expected)["s2-0"]["duplicate_of"] == "short-0"

    for path in index_dir.iterdir():
        path.unlink()
    index_dir.rmdir()
    assert rebuild_index(index_dir, published, config) == len(WIRE) + 2
    assert find_duplicates(run2, config, index_dir).equals(expected)
    # Rebuilding over an existing index replaces it and leaves no stale files.
    rebuild_index(index_dir, published, config)
    assert len(list(index_dir.glob("*.parquet"))) == 2
    assert find_duplicates(run2, config, index_dir).equals(expected)


def test_damaged_index_is_detected_and_rebuild_repairs_it(tmp_path: Path) -> None:
    config = DedupConfig()
    table = make_table(article("src", WIRE))
    published = with_results(table, find_duplicates(table, config))
    update_index(tmp_path, published, config)
    run2 = make_table(_second_run())
    expected = find_duplicates(run2, config, tmp_path)

    band_file = next(tmp_path.glob("*.bands.parquet"))
    band_file.write_bytes(band_file.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(IndexDamagedError):
        find_duplicates(run2, config, tmp_path)
    band_file.unlink()
    with pytest.raises(IndexDamagedError):
        index_status(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(IndexDamagedError):
        update_index(tmp_path, published, config)
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(IndexDamagedError):  # data files without a manifest
        find_duplicates(run2, config, tmp_path)

    rebuild_index(tmp_path, published, config)
    assert index_status(tmp_path) == "ok"
    assert find_duplicates(run2, config, tmp_path).equals(expected)


def test_index_built_with_other_settings_is_refused(tmp_path: Path) -> None:
    table = make_table(article("src", WIRE))
    update_index(tmp_path, with_results(table, find_duplicates(table)), DedupConfig())
    with pytest.raises(IndexMismatchError):
        find_duplicates(table, DedupConfig(shingle_words=3), tmp_path)
    with pytest.raises(IndexMismatchError):
        index_status(tmp_path, DedupConfig(threshold=0.8))
    assert index_status(tmp_path, DedupConfig()) == "ok"


def test_compaction_keeps_the_answer_and_foreign_files(tmp_path: Path) -> None:
    config = DedupConfig()
    (tmp_path / "notes.txt").write_text("not ours")
    runs = [
        article(f"r{i}", [*WIRE[i : i + 2], OTHER_REPORT[i]], T0 + timedelta(i)) for i in range(3)
    ]
    for rows in runs:
        table = make_table(rows)
        update_index(tmp_path, with_results(table, find_duplicates(table, config, tmp_path)))
    probe = make_table(_second_run())
    expected = find_duplicates(probe, config, tmp_path)
    assert len(list(tmp_path.glob("*.bands.parquet"))) == 3
    # 9 paragraphs, of which WIRE[1] and WIRE[2] repeat in the next run: 7 kept copies.
    assert compact_index(tmp_path, config) == 7
    assert len(list(tmp_path.glob("*.bands.parquet"))) == 1
    assert find_duplicates(probe, config, tmp_path).equals(expected)
    # update_index compacts by itself past max_parts.
    extra = make_table(article("x", ["A completely new paragraph about the weather " * 2]))
    update_index(tmp_path, extra, config, max_parts=1)
    assert len(list(tmp_path.glob("*.paragraphs.parquet"))) == 1
    rebuild_index(tmp_path, make_table(runs[0]), config)
    assert (tmp_path / "notes.txt").read_text() == "not ours"


def test_update_and_rebuild_take_a_stream_a_part_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts of a few rows give the answer of one part; a stream is recorded a part at a
    time, and an id repeated across two parts of a sorted stream is recorded once."""
    config = DedupConfig()
    run1 = article("src", WIRE) + article("dup", WIRE[:2], T0 + timedelta(1))
    run1 += article("other", OTHER_REPORT, T0)
    table = make_table(run1)
    published = with_results(table, find_duplicates(table, config))
    probe = make_table(_second_run())
    update_index(tmp_path / "one", published, config)
    expected = find_duplicates(probe, config, tmp_path / "one")

    monkeypatch.setattr(index_store, "PART_ROWS", 3)
    assert update_index(tmp_path / "parts", published, config) == 9
    assert len(list((tmp_path / "parts").glob("*.paragraphs.parquet"))) == 4
    assert find_duplicates(probe, config, tmp_path / "parts").equals(expected)

    kept = published.filter(published.column("duplicate_of").is_null()).sort_by("paragraph_id")
    stream = [kept.slice(0, 5), kept.slice(4, 1), kept.slice(5)]  # row 4 twice, adjacent
    assert rebuild_index(tmp_path / "stream", iter(stream), config) == 9
    assert find_duplicates(probe, config, tmp_path / "stream").equals(expected)


def test_index_records_come_sorted_a_batch_at_a_time() -> None:
    table = make_table(article("b", WIRE) + article("a", OTHER_REPORT))
    paragraphs = table.append_column("label", pa.array(["body"] * table.num_rows))
    paragraphs = paragraphs.append_column("duplicate_of", pa.nulls(table.num_rows, pa.string()))
    articles = pa.table({"article_id": ["a", "b"], "published_at": [T0, T0]})
    batches = list(index_records(paragraphs, articles, rows=4))
    assert [b.num_rows for b in batches] == [4, 4, 1]
    ids = [i for b in batches for i in b.column("paragraph_id").to_pylist()]
    assert ids == sorted(table.column("paragraph_id").to_pylist())
