"""Tests of tasks.dedup.candidates: the search over staged dedup inputs in DuckDB gives
find_duplicates' answer on the texts, with an index, whatever the number of buckets."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks.dedup import candidates
from tasks.dedup.candidates import bucket_count, find_staged_duplicates
from tasks.dedup.index_store import update_index
from tasks.dedup.near_duplicates import DedupConfig, dedup_inputs, find_duplicates
from tests.dedup.test_near_duplicates import (
    OTHER_REPORT,
    STRUCTURE,
    T0,
    WIRE,
    _reprint_edits,
    article,
    make_table,
    with_results,
)


def _perturbed(text: str, rng: random.Random, share: float) -> str:
    """``text`` with about ``share`` of its words replaced (a near copy, or not so near)."""
    words = text.split()
    for i in range(len(words)):
        if rng.random() < share:
            words[i] = rng.choice(["new", "said", "today", "report", "officials", "wire"])
    return " ".join(words)


def _corpus(seed: int, articles: int) -> list[dict]:
    """Articles of wire paragraphs, near copies at several distances, short lines, no dates."""
    rng = random.Random(seed)
    pool = WIRE + OTHER_REPORT + [p for ps, _ in _reprint_edits().values() for p in ps]
    rows: list[dict] = []
    for n in range(articles):
        paragraphs = [
            _perturbed(rng.choice(pool), rng, rng.choice([0.0, 0.05, 0.15, 0.4]))
            for _ in range(rng.randint(2, 7))
        ]
        paragraphs += rng.sample(STRUCTURE, rng.randint(0, 2))
        published = None if rng.random() < 0.2 else T0 + timedelta(hours=rng.randint(0, 48))
        rows += article(f"a{n:03d}", paragraphs, published, eligible=rng.random() > 0.1)
    return rows


def _staged(table: pa.Table, folder: Path) -> str:
    """The table as a shard stages it: its columns and the dedup inputs of its texts."""
    inputs = dedup_inputs(table.column("text").to_pylist(), DedupConfig())
    staged = table.drop_columns(["text"])
    for name in inputs.column_names:
        staged = staged.append_column(name, inputs.column(name))
    path = folder / "staged.parquet"
    pq.write_table(staged, path)
    return f"SELECT * EXCLUDE (eligible) FROM read_parquet('{path}') WHERE eligible"


def _by_id(table: pa.Table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: r["paragraph_id"])


@pytest.mark.parametrize("bucket_entries", [candidates.BUCKET_ENTRIES, 7])
def test_staged_search_gives_find_duplicates_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bucket_entries: int
) -> None:
    monkeypatch.setattr(candidates, "BUCKET_ENTRIES", bucket_entries)
    config = DedupConfig()
    index_dir = tmp_path / "index"
    first = make_table(_corpus(1, 40))
    update_index(index_dir, with_results(first, find_duplicates(first, config)), config)
    run = make_table(_corpus(2, 60))
    for index in (None, index_dir):
        expected = find_duplicates(run, config, index)
        expected = expected.filter(run.column("eligible"))
        assert expected.column("duplicate_of").null_count < expected.num_rows - 20
        with duckdb.connect() as con:
            got = find_staged_duplicates(con, _staged(run, tmp_path), config, index, tmp_path)
        assert _by_id(got) == _by_id(expected)
    assert not list(tmp_path.glob("*dedup*.parquet"))  # its scratch files are gone


def test_bucket_count_grows_with_the_entries() -> None:
    assert bucket_count(0) == 1
    assert bucket_count(candidates.BUCKET_ENTRIES) == 1
    assert bucket_count(candidates.BUCKET_ENTRIES + 1) == 2
