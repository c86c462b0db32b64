"""The persistent dedup index: the kept paragraphs of earlier published runs, checksummed.

:func:`tasks.dedup.near_duplicates.find_duplicates` reads from it (:func:`load_index_candidates`)
only the rows that share an exact hash or a band key with the run, so its memory follows the
run, not the index. :func:`update_index` records a published run, :func:`compact_index` merges
parts, :func:`rebuild_index` starts again from the published paragraphs.

Layout of index_dir:
  manifest.json               format version, hashing settings, and for every data file its
                              row count, byte size and SHA-256
  <gen>-<n>.paragraphs.parquet paragraph_id, article_id, position, published_at, text_hash,
                              shingles (list<uint32>, empty for exact-only rows)
  <gen>-<n>.bands.parquet     key (int64 band key), paragraph_id
One pair of files per update; rebuild_index writes a new generation. Data files are written
to a temporary name and os.replace()d; manifest.json is replaced last, so a crash leaves the
previous manifest (and possibly orphan files that nothing reads) - never a half index.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.dedup.near_duplicates import (
    DedupConfig,
    IndexCandidates,
    Prepared,
    canonical_rank,
    eligible_mask,
    empty_index_candidates,
    prepare,
    shingle_fingerprints,
)
from tasks.files import write_atomically

INDEX_FORMAT_VERSION = 1
# The index manifest and its entries, as JSON objects.
Manifest: TypeAlias = dict[str, Any]

MANIFEST = "manifest.json"
PART_ROWS = 200_000  # paragraphs hashed and written per part file (bounds update memory)

PARAGRAPH_INDEX_SCHEMA = pa.schema(
    [
        pa.field("paragraph_id", pa.string(), nullable=False),
        pa.field("article_id", pa.string()),
        pa.field("position", pa.int32()),
        pa.field("published_at", pa.timestamp("us", tz="UTC")),
        pa.field("text_hash", pa.int64(), nullable=False),
        pa.field("shingles", pa.list_(pa.uint32()), nullable=False),
    ]
)
BAND_INDEX_SCHEMA = pa.schema(
    [pa.field("key", pa.int64(), nullable=False), pa.field("paragraph_id", pa.string())]
)


class IndexDamagedError(RuntimeError):
    """The index on disk is not what its manifest says; call :func:`rebuild_index`."""


class IndexMismatchError(ValueError):
    """The index was built with other hashing settings; rebuild it for this config."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write_parquet(
    path: Path, tables: pa.Table | Iterable[pa.Table], schema: pa.Schema
) -> dict[str, object]:
    """Write one table (or a stream of them) atomically; return its manifest entry."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    rows = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for table in [tables] if isinstance(tables, pa.Table) else tables:
                writer.write_table(table.cast(schema))
                rows += table.num_rows
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        entry = {
            "file": path.name,
            "rows": rows,
            "bytes": os.path.getsize(tmp),
            "sha256": _sha256(Path(tmp)),
        }
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return entry


def _is_index_file(path: Path) -> bool:
    """Files this module writes into an index directory (and may delete)."""
    name = path.name
    return path.is_file() and (
        name.endswith((".paragraphs.parquet", ".bands.parquet"))
        or (name.startswith(".") and name.endswith(".tmp"))
    )


def _remove_unlisted(index_dir: Path, parts: list[Manifest]) -> None:
    listed = {p[k]["file"] for p in parts for k in ("paragraphs", "bands")}
    for path in index_dir.iterdir():
        if _is_index_file(path) and path.name not in listed:
            path.unlink()


def _read_manifest(index_dir: Path, verify: bool = True) -> Manifest | None:
    """The manifest, or None for a missing/empty index; raises if anything is damaged."""
    path = index_dir / MANIFEST
    if not path.exists():
        leftovers = (
            [p for p in index_dir.iterdir() if p.name.endswith(".parquet") and _is_index_file(p)]
            if index_dir.exists()
            else []
        )
        if leftovers:
            raise IndexDamagedError(f"{index_dir}: data files but no {MANIFEST}")
        return None
    try:
        manifest: Manifest = json.loads(path.read_text())
        parts = manifest["parts"]
    except (ValueError, KeyError) as exc:
        raise IndexDamagedError(f"{path}: unreadable manifest ({exc})") from exc
    if manifest.get("format_version") != INDEX_FORMAT_VERSION:
        raise IndexDamagedError(f"{path}: unknown format {manifest.get('format_version')}")
    if verify:
        for part in parts:
            for entry in (part["paragraphs"], part["bands"]):
                file = index_dir / entry["file"]
                if not file.exists():
                    raise IndexDamagedError(f"{file}: missing")
                if file.stat().st_size != entry["bytes"] or _sha256(file) != entry["sha256"]:
                    raise IndexDamagedError(f"{file}: checksum mismatch")
                if pq.ParquetFile(file).metadata.num_rows != entry["rows"]:
                    raise IndexDamagedError(f"{file}: row count mismatch")
    return manifest


def _check_hashing(manifest: Manifest, config: DedupConfig, index_dir: Path) -> None:
    if manifest["hashing"] != config.hashing_params():
        raise IndexMismatchError(
            f"{index_dir} was built with {manifest['hashing']}, this config needs "
            f"{config.hashing_params()}; call rebuild_index"
        )


def index_status(index_dir: Path, config: DedupConfig | None = None) -> str:
    """``"missing"`` (no index yet) or ``"ok"``; raises :class:`IndexDamagedError` otherwise.

    With ``config``, also raises :class:`IndexMismatchError` when the index was built with
    other hashing settings (so callers can rebuild before :func:`find_duplicates` refuses it).
    """
    manifest = _read_manifest(Path(index_dir))
    if manifest is None:
        return "missing"
    if config is not None:
        _check_hashing(manifest, config, Path(index_dir))
    return "ok"


def _files(index_dir: Path, manifest: Manifest, kind: str) -> list[str]:
    return [str(index_dir / part[kind]["file"]) for part in manifest["parts"]]


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values by plain sorting (numpy 2's hash-based unique is slower here)."""
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def _arrow(con: object, query: str, params: dict[str, object] | None = None) -> pa.Table:
    """Run ``query`` and return an Arrow table across duckdb 1.x and 2.x method names."""
    relation = con.sql(query, params=params)  # type: ignore[attr-defined]
    fetch = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
    return fetch()


def load_index_candidates(
    index_dir: Path,
    config: DedupConfig,
    prep: Prepared,
    run_ids: pa.Array,
    run_keys: str | None = None,
) -> IndexCandidates:
    """Index rows sharing an exact hash or a band key with this run, joined in DuckDB.

    The run's band keys are ``prep``'s, or the distinct keys (column ``k``) in the Parquet
    file ``run_keys`` when ``prep`` holds none (:mod:`tasks.dedup.candidates`)."""
    import duckdb

    manifest = _read_manifest(index_dir)
    if manifest is None or not manifest["parts"]:
        return empty_index_candidates()
    _check_hashing(manifest, config, index_dir)
    con = duckdb.connect()
    try:
        con.register("run_hashes", pa.table({"h": prep.uniq_hash}))
        if run_keys is None:
            con.register("run_keys", pa.table({"k": _sorted_unique(prep.band_keys.reshape(-1))}))
        else:
            path = run_keys.replace("'", "''")
            con.execute(f"CREATE VIEW run_keys AS SELECT k FROM read_parquet('{path}')")
        con.register("run_ids", pa.table({"id": run_ids}))
        con.execute(
            "CREATE TEMP TABLE hits AS "
            "SELECT b.key, b.paragraph_id FROM read_parquet($bands) b "
            "JOIN run_keys k ON b.key = k.k "
            "WHERE b.paragraph_id NOT IN (SELECT id FROM run_ids)",
            {"bands": _files(index_dir, manifest, "bands")},
        )
        rows = _arrow(
            con,
            "SELECT p.paragraph_id, p.article_id, p.position, p.published_at, p.text_hash, "
            "p.shingles FROM read_parquet($paragraphs) p "
            "WHERE (p.text_hash IN (SELECT h FROM run_hashes) "
            "       OR p.paragraph_id IN (SELECT paragraph_id FROM hits)) "
            "  AND p.paragraph_id NOT IN (SELECT id FROM run_ids)",
            {"paragraphs": _files(index_dir, manifest, "paragraphs")},
        )
        hits = _arrow(con, "SELECT key, paragraph_id FROM hits")
    finally:
        con.close()
    if rows.num_rows == 0:
        return empty_index_candidates()
    rows = rows.cast(PARAGRAPH_INDEX_SCHEMA)
    pids = rows.column("paragraph_id").to_pylist()
    row_of = {pid: i for i, pid in enumerate(pids)}
    shingles = rows.column("shingles").combine_chunks()
    return IndexCandidates(
        paragraph_id=pids,
        article_id=rows.column("article_id").to_pylist(),
        rank=canonical_rank(rows),
        text_hash=rows.column("text_hash").to_numpy(),
        shingle_values=shingles.values.to_numpy(),
        shingle_offsets=shingles.offsets.to_numpy().astype(np.int64),
        band_key=hits.column("key").to_numpy().astype(np.int64),
        band_row=np.fromiter(
            (row_of[p] for p in hits.column("paragraph_id").to_pylist()),
            dtype=np.int64,
            count=hits.num_rows,
        ),
    )


def _index_tables(records: pa.Table, config: DedupConfig) -> tuple[pa.Table, pa.Table]:
    """Paragraph and band index tables for ``records`` (kept paragraphs with text)."""
    prep = prepare(_text_batches(records.column("text"), config.batch_size), config)
    fingerprints, fp_offsets = shingle_fingerprints(prep.shingles, prep.shingle_offsets)
    keep = np.flatnonzero(prep.row_uid >= 0)
    records = records.take(pa.array(keep, pa.int64()))
    uid = prep.row_uid[keep]
    pos = prep.long_position()[uid]
    lengths = np.where(pos >= 0, np.diff(fp_offsets)[np.maximum(pos, 0)], 0)
    offsets = np.zeros(len(uid) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    starts = np.where(pos >= 0, fp_offsets[:-1][np.maximum(pos, 0)], 0)
    gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1], dtype=np.int64)
    shingles = pa.ListArray.from_arrays(
        pa.array(offsets.astype(np.int32)), pa.array(fingerprints[gather], pa.uint32())
    )
    paragraphs = pa.table(
        [
            records.column("paragraph_id").cast(pa.string()),
            records.column("article_id").cast(pa.string()),
            records.column("position").cast(pa.int32()),
            records.column("published_at").cast(pa.timestamp("us", tz="UTC")),
            pa.array(prep.uniq_hash[uid], pa.int64()),
            shingles,
        ],
        schema=PARAGRAPH_INDEX_SCHEMA,
    )
    long_rows = np.flatnonzero(pos >= 0)
    bands = prep.band_keys.shape[1]
    band_table = pa.table(
        [
            pa.array(prep.band_keys[pos[long_rows]].reshape(-1), pa.int64()),
            records.column("paragraph_id").take(pa.array(np.repeat(long_rows, bands))),
        ],
        schema=BAND_INDEX_SCHEMA,
    )
    return paragraphs, band_table


def _kept_records(table: pa.Table) -> pa.Table:
    """Rows an index records: eligible (when the column exists) and not duplicates."""
    mask = np.ones(table.num_rows, dtype=bool)
    if "eligible" in table.column_names:
        mask &= eligible_mask(table)
    if "duplicate_of" in table.column_names:
        mask &= pc.is_null(table.column("duplicate_of")).to_numpy(zero_copy_only=False)
    return table.take(pa.array(np.flatnonzero(mask), pa.int64()))


def _write_part(index_dir: Path, name: str, records: pa.Table, config: DedupConfig) -> Manifest:
    paragraphs, bands = _index_tables(records, config)
    return {
        "paragraphs": _atomic_write_parquet(
            index_dir / f"{name}.paragraphs.parquet", paragraphs, PARAGRAPH_INDEX_SCHEMA
        ),
        "bands": _atomic_write_parquet(
            index_dir / f"{name}.bands.parquet", bands, BAND_INDEX_SCHEMA
        ),
    }


def _write_manifest(
    index_dir: Path, config: DedupConfig, generation: str, parts: list[Manifest]
) -> None:
    manifest = {
        "format_version": INDEX_FORMAT_VERSION,
        "hashing": config.hashing_params(),
        "generation": generation,
        "parts": parts,
        "rows": sum(p["paragraphs"]["rows"] for p in parts),
    }
    write_atomically(index_dir / MANIFEST, json.dumps(manifest, indent=1).encode())


def _chunks(tables: pa.Table | Iterable[pa.Table]) -> Iterator[pa.Table]:
    """The records in tables of at most :data:`PART_ROWS` rows (a table, or a stream)."""
    for table in [tables] if isinstance(tables, pa.Table) else tables:
        for start in range(0, table.num_rows, PART_ROWS):
            yield table.slice(start, PART_ROWS)


def update_index(
    index_dir: Path,
    published: pa.Table | Iterable[pa.Table],
    config: DedupConfig | None = None,
    max_parts: int = 64,
) -> int:
    """Record the kept paragraphs of a run that has just been published; return rows added.

    ``published`` is the run's input joined with its :func:`find_duplicates` output (at least
    ``paragraph_id, article_id, position, text, published_at``; ``eligible`` and
    ``duplicate_of`` are honoured when present), as one table or a stream of tables (hashed
    and written a part at a time, so a run's texts are never in memory at once). Ids already
    in the index are skipped, so a repeated call is harmless. Call only after the run's
    output is published: the index makes these paragraphs win over every later one. One
    writer at a time. The manifest is replaced once, at the end; past ``max_parts`` parts the
    index is compacted (:func:`compact_index`).
    """
    import duckdb

    config = config or DedupConfig()
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(index_dir)
    if manifest is None:
        manifest = {"generation": uuid.uuid4().hex[:12], "parts": []}
    else:
        _check_hashing(manifest, config, index_dir)
    known_files = _files(index_dir, manifest, "paragraphs")
    parts = list(manifest["parts"])
    written = 0
    for chunk in _chunks(published):
        records = _kept_records(chunk)
        if known_files and records.num_rows:
            con = duckdb.connect()
            try:
                con.register("new_ids", pa.table({"id": records.column("paragraph_id")}))
                known = _arrow(
                    con,
                    "SELECT paragraph_id FROM read_parquet($files) "
                    "WHERE paragraph_id IN (SELECT id FROM new_ids)",
                    {"files": known_files},
                )
            finally:
                con.close()
            if known.num_rows:
                fresh = pc.invert(pc.is_in(records.column("paragraph_id"), known.column(0)))
                records = records.filter(fresh)
        if records.num_rows:
            name = f"{manifest['generation']}-{len(parts):06d}"
            parts.append(_write_part(index_dir, name, records, config))
            written += records.num_rows
    if written == 0:
        if not (index_dir / MANIFEST).exists():
            _write_manifest(index_dir, config, manifest["generation"], [])
        return 0
    _write_manifest(index_dir, config, manifest["generation"], parts)
    if len(parts) > max_parts:
        compact_index(index_dir, config)
    return written


def compact_index(index_dir: Path, config: DedupConfig | None = None) -> int:
    """Merge all parts into one pair of files (streamed row group by row group).

    The merged files are a new generation; the manifest is swapped atomically and only then
    the old files are deleted. Returns the number of indexed paragraphs.
    """
    config = config or DedupConfig()
    index_dir = Path(index_dir)
    manifest = _read_manifest(index_dir)
    if manifest is None:
        return 0
    _check_hashing(manifest, config, index_dir)
    generation = uuid.uuid4().hex[:12]

    def stream(kind: str) -> Iterator[pa.Table]:
        for file in _files(index_dir, manifest, kind):
            reader = pq.ParquetFile(file)
            for group in range(reader.num_row_groups):
                yield reader.read_row_group(group)

    part: Manifest = {
        "paragraphs": _atomic_write_parquet(
            index_dir / f"{generation}-000000.paragraphs.parquet",
            stream("paragraphs"),
            PARAGRAPH_INDEX_SCHEMA,
        ),
        "bands": _atomic_write_parquet(
            index_dir / f"{generation}-000000.bands.parquet", stream("bands"), BAND_INDEX_SCHEMA
        ),
    }
    _write_manifest(index_dir, config, generation, [part])
    _remove_unlisted(index_dir, [part])
    return int(part["paragraphs"]["rows"])


def rebuild_index(
    index_dir: Path,
    published_paragraphs: pa.Table | Iterable[pa.Table],
    config: DedupConfig | None = None,
) -> int:
    """Rebuild the index from all published paragraphs (when missing, damaged or stale).

    Same input contract as :func:`update_index` (a table or a stream of tables, hashed and
    written a part at a time). Data files of a new generation are written first, the
    manifest is swapped atomically, and only then files of other generations are deleted.
    The first row of each ``paragraph_id`` is recorded, as with repeated :func:`update_index`
    calls; a stream must bring a paragraph's rows together (e.g. sorted by id). Returns the
    number of rows recorded.
    """
    config = config or DedupConfig()
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    generation = uuid.uuid4().hex[:12]
    parts: list[Manifest] = []
    recorded = 0
    whole = isinstance(published_paragraphs, pa.Table)
    seen: set[str] = set()
    previous: str | None = None  # the last id of the previous chunk of a stream
    for chunk in _chunks(published_paragraphs):
        records = _kept_records(chunk)
        ids = records.column("paragraph_id").to_pylist()
        if not whole:
            seen = set() if previous is None else {previous}
        first = np.fromiter(
            # set.add returns None: false, so a first sighting is kept (and recorded).
            (i for i, p in enumerate(ids) if not (p in seen or seen.add(p))),  # type: ignore[func-returns-value]
            dtype=np.int64,
        )
        if ids:
            previous = ids[-1]
        records = records.take(pa.array(first, pa.int64()))
        if records.num_rows:
            parts.append(_write_part(index_dir, f"{generation}-{len(parts):06d}", records, config))
            recorded += records.num_rows
    _write_manifest(index_dir, config, generation, parts)
    _remove_unlisted(index_dir, parts)
    return recorded


def _text_batches(column: pa.ChunkedArray | pa.Array, size: int) -> Iterator[list[str | None]]:
    """Python strings of ``column`` a slice at a time, so a big table is never one list."""
    for start in range(0, len(column), size):
        yield column.slice(start, size).to_pylist()


__all__ = [
    "BAND_INDEX_SCHEMA",
    "MANIFEST",
    "PARAGRAPH_INDEX_SCHEMA",
    "PART_ROWS",
    "IndexDamagedError",
    "IndexMismatchError",
    "compact_index",
    "index_status",
    "load_index_candidates",
    "rebuild_index",
    "update_index",
]
