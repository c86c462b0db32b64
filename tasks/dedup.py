"""Near-duplicate paragraph detection: exact hashes plus MinHash/LSH, verified by Jaccard.

News is full of reprints (one wire story on many sites with a new headline, a dateline, a
trimmed ending, a fixed typo, re-wrapped lines) and of paragraphs repeated inside one page (a
title echoed as the first line). This module marks every eligible paragraph that repeats an
earlier one and points it at the kept copy.

Pipeline, all of it deterministic and independent of input row order:

1. **Normalise** (:func:`normalise_words`): NFKC, case-fold, apostrophes of any style dropped
   inside words, every other non-alphanumeric character (punctuation, quotes, dashes,
   whitespace) is a word separator. Two texts that differ only in those are identical.
2. **Exact groups**: a 64-bit BLAKE2b hash of the normalised word sequence groups identical
   paragraphs, however short. Only one representative per group goes on.
3. **MinHash/LSH** for representatives with at least ``min_tokens`` words: word
   ``shingle_words``-grams hashed to u64, ``rensa`` MinHash signatures computed in batches, and
   cut into ``bands`` band keys of ``rows`` values each (:func:`optimal_bands_rows`). Only band
   keys are kept, never the signatures, so memory is a few integers per paragraph.
4. **Verification**: a bucket collision is only a candidate. A pair is a duplicate only when the
   exact Jaccard similarity of the two shingle sets is ``>= threshold``.
5. **Clustering: "similar to the kept copy"**, not connected components. Paragraphs are visited
   in canonical order (:data:`CANONICAL_ORDER`); a paragraph becomes a duplicate of the earliest
   kept paragraph it is identical to (after normalisation) or, failing that, the earliest kept
   paragraph it is verified similar to; otherwise it is kept itself. So in a chain A~B~C where
   A and C are not similar, B is a duplicate of A and C is kept: a duplicate is always similar
   to the copy it points at, and edits never accumulate along a chain.

The canonical (kept) copy is decided by order, never by processing order: paragraphs already
recorded in the persistent index come first (they are published), then earliest
``published_at`` (nulls last), smallest ``article_id``, smallest ``position``, smallest
``paragraph_id``.

The persistent index (``index_dir``) holds the kept paragraphs of earlier published runs:
their exact hashes, band keys and shingle hashes (for verification). See :func:`update_index`,
:func:`rebuild_index` and :class:`IndexError_`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rensa import RMinHash

NORMALISATION_VERSION = 1
INDEX_FORMAT_VERSION = 1
CANONICAL_ORDER = ("index first", "published_at (nulls last)", "article_id", "position", "id")

OUTPUT_SCHEMA = pa.schema(
    [
        pa.field("paragraph_id", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string()),
        pa.field("cluster_id", pa.string()),
        pa.field("similarity", pa.float32()),
    ]
)

_U64 = np.uint64
_MIX_PRIME = _U64(0x100000001B3)  # FNV-1a 64-bit prime, used to fold values together
_MASK64 = (1 << 64) - 1


# --------------------------------------------------------------------------------------------
# Configuration and the LSH maths
# --------------------------------------------------------------------------------------------


def _collision_probability(s: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """P(two sets with Jaccard ``s`` share at least one band) = 1 - (1 - s^r)^b."""
    return 1.0 - (1.0 - s**rows) ** bands


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    """Trapezoid-rule integral of samples ``y`` over points ``x`` (numpy-version independent)."""
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)


@lru_cache(maxsize=64)
def optimal_bands_rows(
    threshold: float,
    num_perm: int,
    false_positive_weight: float = 0.5,
    false_negative_weight: float = 0.5,
    grid_points: int = 2001,
) -> tuple[int, int]:
    """Pick ``(bands, rows)`` with ``bands * rows <= num_perm`` minimising the weighted error.

    As in datasketch's ``_optimal_param`` (and text-dedup): the false-positive area is
    ``FP = ∫_0^t P(s) ds`` and the false-negative area ``FN = ∫_t^1 (1 - P(s)) ds`` with
    ``P(s) = 1 - (1 - s^r)^b``; minimise ``w_fp * FP + w_fn * FN``. Integrals use the
    trapezoid rule on ``grid_points`` points (no scipy). Ties keep the first pair found
    (fewer bands), like datasketch.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError("threshold must be in (0, 1)")
    s_fp = np.linspace(0.0, threshold, grid_points)
    s_fn = np.linspace(threshold, 1.0, grid_points)
    best, best_err = (1, num_perm), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = _trapezoid(_collision_probability(s_fp, bands, rows), s_fp)
            fn = _trapezoid(1.0 - _collision_probability(s_fn, bands, rows), s_fn)
            err = false_positive_weight * fp + false_negative_weight * fn
            if err < best_err:
                best, best_err = (bands, rows), err
    return best


@dataclass(frozen=True)
class DedupConfig:
    """Typed dedup settings; defaults chosen from the benchmark curve (benchmarks/dedup.py).

    * ``threshold``: Jaccard similarity of word-shingle sets at or above which two paragraphs
      are duplicates (verified exactly, not estimated).
    * ``num_perm``: MinHash permutations; the banding uses ``bands * rows <= num_perm`` of them.
    * ``shingle_words``: words per shingle. 2-grams keep one changed word from costing more
      than two shingles in a short paragraph; 1-grams would merge reworded same-topic text.
    * ``seed``: MinHash seed. Changing it (or any hashing setting) invalidates an index.
    * ``min_tokens``: paragraphs with fewer normalised words are matched exactly only; a short
      title differing by one word is a different title.
    * ``false_positive_weight`` / ``false_negative_weight``: weights of the LSH error areas in
      :func:`optimal_bands_rows`. Candidates are verified, so a false positive only costs a
      Jaccard computation while a false negative loses a duplicate: recall is weighted higher.
    * ``batch_size``: paragraphs per MinHash batch (bounds peak memory of signatures).
    """

    threshold: float = 0.7
    num_perm: int = 128
    shingle_words: int = 2
    seed: int = 42
    min_tokens: int = 6
    false_positive_weight: float = 0.3
    false_negative_weight: float = 0.7
    batch_size: int = 8192

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("threshold must be in (0, 1)")
        if self.num_perm < 1 or self.shingle_words < 1 or self.batch_size < 1:
            raise ValueError("num_perm, shingle_words and batch_size must be >= 1")
        if self.min_tokens < self.shingle_words:
            raise ValueError("min_tokens must be >= shingle_words")

    @property
    def bands_rows(self) -> tuple[int, int]:
        """``(bands, rows)`` from :func:`optimal_bands_rows` for this threshold and weights."""
        return optimal_bands_rows(
            self.threshold, self.num_perm, self.false_positive_weight, self.false_negative_weight
        )

    def hashing_params(self) -> dict[str, object]:
        """Settings an index depends on: if any differs, stored keys are meaningless."""
        bands, rows = self.bands_rows
        return {
            "normalisation_version": NORMALISATION_VERSION,
            "rensa_algorithm_version": int(RMinHash.ALGORITHM_VERSION),
            "num_perm": self.num_perm,
            "shingle_words": self.shingle_words,
            "seed": self.seed,
            "min_tokens": self.min_tokens,
            "bands": bands,
            "rows": rows,
        }


# --------------------------------------------------------------------------------------------
# Normalisation and hashing
# --------------------------------------------------------------------------------------------

_APOSTROPHES = str.maketrans("", "", "'’‘ʼ`´")
_WORD = re.compile(r"[^\W_]+")


def normalise_words(text: str) -> list[str]:
    """Words of ``text`` with case, punctuation, quote/dash styles and whitespace ignored.

    Apostrophes are deleted (``don’t`` == ``don't`` == ``dont``) rather than split on, so the
    quote style inside a word never changes the words; every other non-alphanumeric run
    (quotes, dashes, punctuation, whitespace) separates words. NFKC folds full-width forms and
    ligatures; it is skipped for ASCII text, which it cannot change.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _WORD.findall(text.casefold().translate(_APOSTROPHES))


def _text_hash(words: Sequence[str]) -> int:
    """Signed 64-bit BLAKE2b of the normalised word sequence (stable across processes)."""
    digest = hashlib.blake2b(" ".join(words).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """Finaliser of splitmix64: a bijective avalanche mix on uint64 arrays (wraps mod 2^64)."""
    x = x ^ (x >> _U64(30))
    x = x * _U64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> _U64(27))
    x = x * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


def _flatten(lists: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Flat uint64 values and int64 row offsets (length ``len(lists) + 1``) of a ragged list."""
    lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.fromiter(
        itertools.chain.from_iterable(lists), dtype=np.uint64, count=int(offsets[-1])
    )
    return flat, offsets


def _shingles(
    word_hashes: np.ndarray, offsets: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Hash every run of ``k`` consecutive words of each row into one uint64 (vectorised).

    Rows shorter than ``k`` words get no shingles (callers only shingle rows with at least
    ``min_tokens >= k`` words). Returns flat shingle hashes and their row offsets.
    """
    lengths = np.diff(offsets)
    counts = np.maximum(lengths - (k - 1), 0)
    out_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out_offsets[1:])
    total = int(out_offsets[-1])
    starts = np.repeat(offsets[:-1] - out_offsets[:-1], counts) + np.arange(total, dtype=np.int64)
    acc = np.full(total, _U64(0xCBF29CE484222325), dtype=np.uint64)
    for j in range(k):
        acc = (acc ^ word_hashes[starts + j]) * _MIX_PRIME
    return _splitmix64(acc), out_offsets


def _band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Fold each band of ``rows`` signature values into one signed 64-bit key per band.

    The band number is mixed in, so equal values in different bands never share a bucket.
    Returns an ``(n, bands)`` int64 array.
    """
    n = signatures.shape[0]
    sig = signatures[:, : bands * rows].astype(np.uint64).reshape(n, bands, rows)
    acc = np.broadcast_to(_splitmix64(np.arange(1, bands + 1, dtype=np.uint64)), (n, bands)).copy()
    for r in range(rows):
        acc = (acc ^ sig[:, :, r]) * _MIX_PRIME
    return _splitmix64(acc).view(np.int64)


def _minhash(shingles: np.ndarray, offsets: np.ndarray, config: DedupConfig) -> np.ndarray:
    """``(n, num_perm)`` uint32 rensa MinHash signatures, computed in batches.

    rensa returns nested Python lists; converting a few thousand rows at a time is ~3x faster
    than one big conversion and keeps the transient Python objects bounded.
    """
    n = len(offsets) - 1
    out = np.empty((n, config.num_perm), dtype=np.uint32)
    step = min(config.batch_size, 4096)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        a, b = int(offsets[lo]), int(offsets[hi])
        matrix = RMinHash.digest_matrix_from_flat_token_hashes(
            shingles[a:b],
            (offsets[lo : hi + 1] - a).astype(np.uint64),
            config.num_perm,
            config.seed,
        )
        out[lo:hi] = np.fromiter(
            itertools.chain.from_iterable(matrix.to_rows()),
            dtype=np.uint32,
            count=(hi - lo) * config.num_perm,
        ).reshape(hi - lo, config.num_perm)
    return out


@dataclass
class _Prepared:
    """Hashes of a set of texts: one entry per text (``text_hash``), and for the texts long
    enough for MinHash (``long_rows``) their shingles and band keys."""

    text_hash: np.ndarray  # int64 per text
    empty: np.ndarray  # bool per text: no words after normalisation
    long_rows: np.ndarray  # int64 positions (into the texts) of MinHashed texts
    shingles: np.ndarray  # uint64 flat, per long row
    shingle_offsets: np.ndarray  # int64, len(long_rows) + 1
    band_keys: np.ndarray  # int64 (len(long_rows), bands)


def _prepare(texts: Iterable[str | None], config: DedupConfig) -> _Prepared:
    """Normalise, hash and MinHash ``texts`` in batches of ``config.batch_size``."""
    bands, rows = config.bands_rows
    text_hash: list[np.ndarray] = []
    empty: list[np.ndarray] = []
    long_rows: list[np.ndarray] = []
    shingle_parts: list[np.ndarray] = []
    shingle_counts: list[np.ndarray] = []
    key_parts: list[np.ndarray] = []
    base = 0
    iterator = iter(texts)
    while True:
        batch = list(itertools.islice(iterator, config.batch_size))
        if not batch:
            break
        words = [normalise_words(t) if t else [] for t in batch]
        text_hash.append(np.fromiter((_text_hash(w) for w in words), np.int64, len(words)))
        empty.append(np.fromiter((not w for w in words), bool, len(words)))
        long_idx = [i for i, w in enumerate(words) if len(w) >= config.min_tokens]
        long_rows.append(np.asarray(long_idx, dtype=np.int64) + base)
        if long_idx:
            word_hashes, offsets = _flatten(RMinHash.hash_token_sets([words[i] for i in long_idx]))
            sh, sh_off = _shingles(word_hashes, offsets, config.shingle_words)
            signatures = _minhash(sh, sh_off, config)
            key_parts.append(_band_keys(signatures, bands, rows))
            shingle_parts.append(sh)
            shingle_counts.append(np.diff(sh_off))
        base += len(batch)
    counts = np.concatenate(shingle_counts) if shingle_counts else np.zeros(0, np.int64)
    shingle_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=shingle_offsets[1:])
    return _Prepared(
        text_hash=np.concatenate(text_hash) if text_hash else np.zeros(0, np.int64),
        empty=np.concatenate(empty) if empty else np.zeros(0, bool),
        long_rows=np.concatenate(long_rows) if long_rows else np.zeros(0, np.int64),
        shingles=np.concatenate(shingle_parts) if shingle_parts else np.zeros(0, np.uint64),
        shingle_offsets=shingle_offsets,
        band_keys=np.concatenate(key_parts) if key_parts else np.zeros((0, bands), np.int64),
    )


def jaccard(a: set[int] | frozenset[int], b: set[int] | frozenset[int]) -> float:
    """Exact Jaccard similarity of two shingle sets (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


# --------------------------------------------------------------------------------------------
# Ordering
# --------------------------------------------------------------------------------------------


def _canonical_rank(table: pa.Table) -> np.ndarray:
    """Rank of each row in canonical order: published_at (nulls last), article_id, position,
    paragraph_id. Independent of row order because paragraph_id is unique."""
    published = table.column("published_at")
    keys = pa.table(
        {
            "null": pc.is_null(published),
            "published": published,
            "article": table.column("article_id"),
            "position": table.column("position"),
            "id": table.column("paragraph_id"),
        }
    )
    order = pc.sort_indices(
        keys,
        sort_keys=[(name, "ascending") for name in keys.column_names],
    ).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank


# --------------------------------------------------------------------------------------------
# Clustering
# --------------------------------------------------------------------------------------------


@dataclass
class _IndexCandidates:
    """Kept paragraphs of earlier runs that can matter for this run (loaded from the index)."""

    paragraph_id: list[str]
    rank: np.ndarray  # canonical order among the loaded index rows (all before new rows)
    text_hash: np.ndarray  # int64
    shingles: list[frozenset[int] | None]
    band_keys: list[tuple[int, int]]  # (key, loaded row) pairs


def _empty_index_candidates() -> _IndexCandidates:
    return _IndexCandidates([], np.zeros(0, np.int64), np.zeros(0, np.int64), [], [])


def _cluster(
    group_rank: np.ndarray,
    group_hash: np.ndarray,
    prep: _Prepared,
    config: DedupConfig,
    index: _IndexCandidates,
) -> tuple[np.ndarray, np.ndarray]:
    """Assign each exact group a leader ("kept copy") by the rule in the module docstring.

    Nodes ``0..g-1`` are this run's exact groups (their representative texts are ``prep`` row
    ``i``); nodes ``g..g+q-1`` are loaded index rows. Returns ``(leader, similarity)`` per
    group: ``leader[i] == i`` for a kept group.
    """
    g = len(group_rank)
    q = len(index.paragraph_id)
    leader = np.arange(g, dtype=np.int64)
    similarity = np.ones(g, dtype=np.float64)
    # Sort key of every node: index rows first (by their own rank), then groups by rank.
    node_order = np.concatenate([group_rank + q, index.rank])

    # 1. Exact match against the index: the earliest index row with the same text.
    if q:
        earliest: dict[int, int] = {}
        for row in np.argsort(index.rank, kind="stable"):
            earliest.setdefault(int(index.text_hash[row]), g + int(row))
        for i in range(g):
            hit = earliest.get(int(group_hash[i]))
            if hit is not None:
                leader[i] = hit
    exact_done = leader != np.arange(g)

    # 2. Near duplicates among MinHashed groups through shared band keys.
    long_groups = prep.long_rows
    if len(long_groups) == 0:
        return leader, similarity
    bands = prep.band_keys.shape[1]
    keys = prep.band_keys.reshape(-1)
    owners = np.repeat(long_groups, bands)
    if index.band_keys:
        idx_keys = np.fromiter((k for k, _ in index.band_keys), np.int64, len(index.band_keys))
        idx_owner = np.fromiter((g + r for _, r in index.band_keys), np.int64, len(idx_keys))
        keys = np.concatenate([keys, idx_keys])
        owners = np.concatenate([owners, idx_owner])
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    shared = counts[inverse] >= 2
    if not shared.any():
        return leader, similarity
    s_owner = owners[shared]
    s_bucket = inverse[shared]
    # Group the shared buckets by owner node, owners visited in canonical order.
    order = np.lexsort((s_bucket, node_order[s_owner]))
    s_owner, s_bucket = s_owner[order], s_bucket[order]
    cut = np.flatnonzero(np.diff(s_owner)) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [len(s_owner)]])

    long_pos = np.full(g, -1, dtype=np.int64)
    long_pos[long_groups] = np.arange(len(long_groups))
    cache: dict[int, frozenset[int]] = {}

    def shingle_set(node: int) -> frozenset[int]:
        found = cache.get(node)
        if found is None:
            if node >= g:
                found = index.shingles[node - g] or frozenset()
            else:
                p = long_pos[node]
                a, b = prep.shingle_offsets[p], prep.shingle_offsets[p + 1]
                found = frozenset(prep.shingles[a:b].tolist())
            cache[node] = found
        return found

    leaders_in: dict[int, list[int]] = {}
    threshold = config.threshold
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        node = int(s_owner[a])
        node_buckets = s_bucket[a:b].tolist()
        if node >= g or exact_done[node]:
            # Index rows are kept copies already; exact index matches are settled. An exactly
            # matched group is not a leader (its leader, the index row, is).
            if node >= g:
                for bucket in node_buckets:
                    leaders_in.setdefault(bucket, []).append(node)
            continue
        candidates: set[int] = set()
        for bucket in node_buckets:
            candidates.update(leaders_in.get(bucket, ()))
        found = -1
        if candidates:
            mine = shingle_set(node)
            for other in sorted(candidates, key=node_order.__getitem__):
                sim = jaccard(mine, shingle_set(other))
                if sim >= threshold:
                    found = other
                    similarity[node] = sim
                    break
        if found >= 0:
            leader[node] = found
        else:
            for bucket in node_buckets:
                leaders_in.setdefault(bucket, []).append(node)
    return leader, similarity


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _column_list(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist()


def find_duplicates(
    paragraphs: pa.Table, config: DedupConfig | None = None, index_dir: Path | None = None
) -> pa.Table:
    """Mark duplicate paragraphs; one output row per input row, in input order.

    Input columns: ``paragraph_id`` (unique), ``article_id``, ``position``, ``text``,
    ``published_at`` (nullable), ``eligible``. Ineligible rows, and rows whose text has no
    words, are never duplicates nor kept copies. With ``index_dir`` the kept paragraphs of
    earlier published runs (see :func:`update_index`) take part and always win.

    Output: ``paragraph_id``, ``duplicate_of`` (kept copy's id, null unless a duplicate),
    ``cluster_id`` (the kept copy's paragraph_id for every member of a cluster of two or more,
    the kept copy included), ``similarity`` (float32 Jaccard with the kept copy, 1.0 for an
    identical text, null unless a duplicate).
    """
    config = config or DedupConfig()
    n = paragraphs.num_rows
    ids = _column_list(paragraphs, "paragraph_id")
    if len(set(ids)) != n:
        raise ValueError("paragraph_id must be unique")
    eligible = pc.fill_null(paragraphs.column("eligible").cast(pa.bool_()), False)
    eligible = eligible.to_numpy(zero_copy_only=False).astype(bool)
    rank = _canonical_rank(paragraphs)

    rows = np.flatnonzero(eligible)
    texts = paragraphs.column("text").take(pa.array(rows, pa.int64())).to_pylist()
    text_hash = _prepare_hashes_only(texts)
    words_nonempty = text_hash != _EMPTY_HASH
    rows = rows[words_nonempty]
    text_hash = text_hash[words_nonempty]

    # Exact groups: the member with the smallest rank represents the group.
    order = np.lexsort((rank[rows], text_hash))
    sorted_rows, sorted_hash = rows[order], text_hash[order]
    new_group = np.ones(len(sorted_rows), dtype=bool)
    new_group[1:] = sorted_hash[1:] != sorted_hash[:-1]
    group_of_sorted = np.cumsum(new_group) - 1
    rep_rows = sorted_rows[new_group]
    group_of_row = np.full(n, -1, dtype=np.int64)
    group_of_row[sorted_rows] = group_of_sorted

    rep_texts = paragraphs.column("text").take(pa.array(rep_rows, pa.int64())).to_pylist()
    prep = _prepare(rep_texts, config)
    index = _load_index_candidates(index_dir, config, prep) if index_dir is not None else None
    leader, sim = _cluster(
        rank[rep_rows], prep.text_hash, prep, config, index or _empty_index_candidates()
    )
    return _assemble(ids, group_of_row, rep_rows, leader, sim, index)


_EMPTY_HASH = _text_hash([])


def _prepare_hashes_only(texts: Sequence[str | None]) -> np.ndarray:
    """Exact-match hash of each text (``_EMPTY_HASH`` for a text with no words)."""
    return np.fromiter(
        (_text_hash(normalise_words(t)) if t else _EMPTY_HASH for t in texts),
        dtype=np.int64,
        count=len(texts),
    )


def _assemble(
    ids: list[str],
    group_of_row: np.ndarray,
    rep_rows: np.ndarray,
    leader: np.ndarray,
    sim: np.ndarray,
    index: _IndexCandidates | None,
) -> pa.Table:
    """Turn per-group leaders into the per-row output table."""
    n = len(ids)
    g = len(rep_rows)
    # Resolve each row to (kept paragraph id, similarity): the group's leader group / index row.
    kept_row = np.full(n, -1, dtype=np.int64)  # input row of the kept copy, or -1
    kept_index = np.full(n, -1, dtype=np.int64)  # loaded index row of the kept copy, or -1
    member = group_of_row >= 0
    grp = group_of_row[member]
    lead = leader[grp]
    in_run = lead < g
    rows_member = np.flatnonzero(member)
    kept_row[rows_member[in_run]] = rep_rows[lead[in_run]]
    kept_index[rows_member[~in_run]] = lead[~in_run] - g
    row_sim = np.full(n, np.nan)
    row_sim[rows_member] = np.where(lead == grp, 1.0, sim[grp])

    is_dup = np.zeros(n, dtype=bool)
    is_dup[rows_member] = True
    is_dup &= kept_row != np.arange(n)
    # Cluster size >= 2: kept copies that some other row points at.
    in_cluster = is_dup.copy()
    pointed = np.zeros(n, dtype=bool)
    pointed[kept_row[is_dup & (kept_row >= 0)]] = True
    in_cluster |= pointed

    duplicate_of: list[str | None] = [None] * n
    cluster_id: list[str | None] = [None] * n
    similarity: list[float | None] = [None] * n
    for i in np.flatnonzero(in_cluster).tolist():
        if kept_index[i] >= 0:
            assert index is not None
            kept_id = index.paragraph_id[kept_index[i]]
        else:
            kept_id = ids[kept_row[i]]
        cluster_id[i] = kept_id
        if is_dup[i]:
            duplicate_of[i] = kept_id
            similarity[i] = float(row_sim[i])
    return pa.table(
        [
            pa.array(ids, pa.string()),
            pa.array(duplicate_of, pa.string()),
            pa.array(cluster_id, pa.string()),
            pa.array(similarity, pa.float32()),
        ],
        schema=OUTPUT_SCHEMA,
    )


def _load_index_candidates(
    index_dir: Path, config: DedupConfig, prep: _Prepared
) -> _IndexCandidates | None:
    """Placeholder until the persistent index lands."""
    raise NotImplementedError("persistent index not implemented yet")


__all__ = [
    "CANONICAL_ORDER",
    "OUTPUT_SCHEMA",
    "DedupConfig",
    "find_duplicates",
    "jaccard",
    "normalise_words",
    "optimal_bands_rows",
]

_ = (asdict, json, os, shutil, tempfile, pq)
