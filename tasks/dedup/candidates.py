"""The run-wide near-duplicate search over the shards' staged dedup inputs, in DuckDB.

The clean shards write, per title/body paragraph, its exact hash, normalised word count,
shingle fingerprints and LSH band keys (:func:`tasks.dedup.near_duplicates.dedup_inputs`), so
nothing here reads, hashes or MinHashes a text. DuckDB (with the run-wide memory limit,
spilling) groups the band keys bucket by bucket (``hash(key) % buckets``, :func:`bucket_count`)
and hands the flow only the entries of keys that at least two groups share, and the
fingerprints of those groups only. What the flow still holds per paragraph is the canonical
order and the per-row result (:func:`tasks.dedup.near_duplicates.decide_duplicates`, a few
dozen bytes per paragraph); the texts, the band keys and the fingerprints of the run stay in
files. The answer is the one :func:`~tasks.dedup.near_duplicates.find_duplicates` gives on
the texts (tests compare the two).
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.dedup.near_duplicates import (
    DedupConfig,
    IndexCandidates,
    Prepared,
    SharedBands,
    decide_duplicates,
    empty_index_candidates,
    exact_index_leaders,
)

# Band entries (one per band of a distinct long paragraph) grouped per bucket query: about
# 16 bytes each in DuckDB's hash table, so a bucket's aggregate needs ~64 MB before spilling.
BUCKET_ENTRIES = 4_000_000
INPUT_COLUMNS = (
    "paragraph_id",
    "article_id",
    "position",
    "published_at",
    "text_hash",
    "norm_words",
    "shingles",
    "band_keys",
)


def bucket_count(entries: int) -> int:
    """Buckets for ``entries`` band entries: ``ceil(entries / BUCKET_ENTRIES)``, at least 1.

    The output does not depend on it: a key's entries always fall in one bucket."""
    return max(1, math.ceil(entries / BUCKET_ENTRIES))


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _grouped(text_hash: pa.ChunkedArray, norm_words: pa.ChunkedArray, bands: int) -> Prepared:
    """Exact groups of the rows (distinct hashes, in hash order); no shingles or keys yet."""
    valid = text_hash.is_valid().to_numpy(zero_copy_only=False)
    hashes = text_hash.fill_null(0).to_numpy()
    words = norm_words.fill_null(0).to_numpy().astype(np.int64)
    uniq, first, inverse = np.unique(hashes[valid], return_index=True, return_inverse=True)
    row_uid = np.full(len(hashes), -1, dtype=np.int64)
    row_uid[valid] = inverse
    return Prepared(
        row_uid=row_uid,
        uniq_hash=uniq.astype(np.int64),
        uniq_words=words[valid][first],
        long_uids=np.zeros(0, np.int64),
        shingles=np.zeros(0, np.uint32),
        shingle_offsets=np.zeros(1, np.int64),
        band_keys=np.zeros((0, bands), np.int64),
    )


def find_staged_duplicates(
    con: duckdb.DuckDBPyConnection,
    source: str,
    config: DedupConfig,
    index_dir: Path | None,
    workdir: Path,
) -> pa.Table:
    """:func:`~tasks.dedup.near_duplicates.find_duplicates` over the eligible paragraphs that
    the query ``source`` selects (columns :data:`INPUT_COLUMNS`); same output, same order."""
    path = workdir / "dedup_input.parquet"
    keys_path = workdir / "dedup_run_keys.parquet"
    # No ORDER BY: the answer does not depend on row order, and a sort would hold the rows.
    con.execute(f"COPY ({source}) TO {_quoted(path)} (FORMAT parquet, COMPRESSION zstd)")
    try:
        return _find(con, path, keys_path, config, index_dir)
    finally:
        path.unlink(missing_ok=True)
        keys_path.unlink(missing_ok=True)
        for name in ("dd_settled", "dd_hits", "dd_involved"):
            con.unregister(name)
        con.execute("DROP TABLE IF EXISTS dd_open")


def _find(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    keys_path: Path,
    config: DedupConfig,
    index_dir: Path | None,
) -> pa.Table:
    rows = _quoted(path)
    table = pq.read_table(
        path, columns=["paragraph_id", "article_id", "position", "text_hash", "norm_words"]
    )
    published_at = pq.read_table(path, columns=["published_at"]).column(0)
    paragraphs = pa.table(
        {
            "paragraph_id": table.column("paragraph_id"),
            "article_id": table.column("article_id"),
            "position": table.column("position"),
            "published_at": published_at.cast(pa.timestamp("us", "UTC")),
            "eligible": pa.repeat(pa.scalar(True), table.num_rows),
        }
    )
    bands, _ = config.bands_rows
    prep = _grouped(table.column("text_hash"), table.column("norm_words"), bands)
    del table
    ids = paragraphs.column("paragraph_id").cast(pa.string()).combine_chunks()
    if len(ids) and len(ids.unique()) != len(ids):
        raise ValueError("paragraph_id must be unique")

    index: IndexCandidates = empty_index_candidates()
    if index_dir is not None:
        from tasks.dedup.index_store import load_index_candidates

        con.execute(
            f"COPY (SELECT DISTINCT unnest(band_keys) AS k FROM read_parquet({rows}) "
            f"WHERE band_keys IS NOT NULL) TO {_quoted(keys_path)} (FORMAT parquet)"
        )
        index = load_index_candidates(Path(index_dir), config, prep, ids, str(keys_path))

    g = len(prep.uniq_hash)
    scoped = prep.uniq_words <= config.scope_max_words
    leader = exact_index_leaders(prep.uniq_hash, index, scoped)
    settled = pa.table({"h": prep.uniq_hash[leader != np.arange(g)]})
    hits = pa.table({"key": index.band_key, "irow": index.band_row})
    con.register("dd_settled", settled)
    con.register("dd_hits", hits)
    # One entry per band of every distinct long paragraph not settled by an identical index
    # row (a group's rows all have its band keys).
    con.execute(
        f"""
        CREATE TEMP TABLE dd_open AS
        SELECT h, unnest(band_keys) AS key FROM (
            SELECT text_hash AS h, any_value(band_keys) AS band_keys
            FROM read_parquet({rows})
            WHERE band_keys IS NOT NULL AND text_hash NOT IN (SELECT h FROM dd_settled)
            GROUP BY text_hash)
        """
    )
    ((entries,),) = con.execute("SELECT count(*) FROM dd_open").fetchall()
    buckets = bucket_count(int(entries))
    owners: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    for bucket in range(buckets):
        shared = con.sql(
            f"""
            WITH run AS (SELECT key, h FROM dd_open WHERE hash(key) % {buckets} = {bucket}),
            e AS (
                SELECT key, h, NULL::BIGINT AS irow FROM run
                UNION ALL
                SELECT key, NULL::BIGINT, irow FROM dd_hits
                WHERE hash(key) % {buckets} = {bucket} AND key IN (SELECT key FROM run))
            SELECT key, h, irow FROM e QUALIFY count(*) OVER (PARTITION BY key) >= 2
            """
        ).to_arrow_table()
        in_run = shared.column("h").is_valid().to_numpy(zero_copy_only=False)
        owner = np.empty(shared.num_rows, dtype=np.int64)
        run_hashes = shared.column("h").filter(in_run).to_numpy()
        owner[in_run] = np.searchsorted(prep.uniq_hash, run_hashes)
        owner[~in_run] = g + shared.column("irow").filter(~in_run).to_numpy()
        owners.append(owner)
        keys.append(shared.column("key").to_numpy())
    owner = np.concatenate(owners) if owners else np.zeros(0, np.int64)
    bucket_key = np.concatenate(keys).astype(np.int64) if keys else np.zeros(0, np.int64)
    con.execute("DROP TABLE dd_open")

    # The fingerprints of the groups that share a bucket, the only ones verification reads.
    involved = np.unique(owner[owner < g])
    con.register("dd_involved", pa.table({"h": prep.uniq_hash[involved]}))
    found = con.sql(
        f"SELECT text_hash, any_value(shingles) AS shingles FROM read_parquet({rows}) "
        f"WHERE text_hash IN (SELECT h FROM dd_involved) GROUP BY text_hash ORDER BY text_hash"
    ).to_arrow_table()
    shingles = found.column("shingles").combine_chunks()
    offsets = shingles.offsets.to_numpy().astype(np.int64)
    prep.long_uids = np.searchsorted(prep.uniq_hash, found.column("text_hash").to_numpy())
    prep.shingles = shingles.flatten().to_numpy().astype(np.uint32)
    prep.shingle_offsets = offsets - offsets[0]
    return decide_duplicates(paragraphs, prep, config, index, SharedBands(owner, bucket_key))


__all__ = ["BUCKET_ENTRIES", "INPUT_COLUMNS", "bucket_count", "find_staged_duplicates"]
