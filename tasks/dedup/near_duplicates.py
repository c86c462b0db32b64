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
3. **MinHash/LSH** for representatives with at least ``min_tokens`` words: words hashed to
   u64 (vectorised, stable across processes), word ``shingle_words``-grams folded into u64
   shingle hashes, ``rensa`` MinHash signatures computed a batch at a time and cut into
   ``bands`` band keys of ``rows`` values each (:func:`optimal_bands_rows`). Signatures are
   dropped after each batch; what stays is numpy arrays of band keys and 32-bit shingle
   fingerprints, a few hundred bytes per distinct paragraph and no Python object per row.
4. **Scope**: paragraphs of at most ``scope_max_words`` words (headings, list items, table
   rows, short sentences) never get a leader in steps 5-6 (they may be kept copies); they
   are settled after them (:func:`_scoped_copies`): a copy only of the same line in their
   own article or in the article their article copies (``copy_share``), never of an
   unrelated article's line.
5. **Verification**: a bucket collision is only a candidate. A pair is a duplicate only when the
   exact Jaccard similarity of the two shingle (fingerprint) sets is ``>= threshold``.
6. **Clustering: "similar to the kept copy"**, not connected components. Paragraphs are visited
   in canonical order (:data:`CANONICAL_ORDER`); a paragraph becomes a duplicate of the earliest
   kept paragraph it is identical to (after normalisation) or, failing that, the earliest kept
   paragraph it is verified similar to; otherwise it is kept itself. So in a chain A~B~C where
   A and C are not similar, B is a duplicate of A and C is kept: a duplicate is always similar
   to the copy it points at, and edits never accumulate along a chain.

The canonical (kept) copy is decided by order, never by processing order: paragraphs already
recorded in the persistent index come first (they are published), then earliest
``published_at`` (nulls last), smallest ``article_id``, smallest ``position``, smallest
``paragraph_id``.

The persistent index of earlier published runs (their kept paragraphs' exact hashes, band
keys and shingle fingerprints) is :mod:`tasks.dedup.index_store`; :func:`find_duplicates` reads
from it only the rows that share a hash or a band key with the run.
"""

from __future__ import annotations

import array
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rensa import RMinHash

NORMALISATION_VERSION = 1
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
      are duplicates (verified exactly, not estimated). On the labelled reprints 0.7 gives
      precision 0.994 / recall 0.997 on near-identical copies; 0.6 gains 0.2 points of recall
      for 0.4 of precision, 0.8 loses 0.4 points of recall for 0.3 of precision.
    * ``num_perm``: MinHash permutations; the banding uses ``bands * rows <= num_perm`` of them.
    * ``shingle_words``: words per shingle. 2-grams keep one changed word from costing more
      than two shingles in a short paragraph; 1-grams would merge reworded same-topic text.
    * ``seed``: MinHash seed. Changing it (or any hashing setting) invalidates an index.
    * ``min_tokens``: paragraphs with fewer normalised words are matched exactly only; a short
      title differing by one word is a different title.
    * ``false_positive_weight`` / ``false_negative_weight``: weights of the LSH error areas in
      :func:`optimal_bands_rows`. Candidates are verified, so a false positive only costs a
      Jaccard computation while a false negative loses a duplicate: recall is weighted 9:1.
      At 0.7 this gives 20 bands of 6 rows: a pair at J = 0.7 becomes a candidate with
      probability 0.92 (0.61 with 16x8 from weights 3:7, 0.44 with 14x9 from 1:1), at
      J = 0.8 with 0.998, while a pair at J = 0.3 does with 0.014.
    * ``batch_size``: paragraphs per MinHash batch (bounds peak memory of signatures).
    * ``scope_max_words``: the dedup scope. A paragraph of at most this many normalised words
      (a heading, list item, table row or short sentence) is a copy only of an identical line
      of its own article or of the article its article copies; longer paragraphs carry
      content and are copies of any earlier paragraph. 12 is the length of the lines the
      site-chrome rule counts (``tasks.dedup.index_sync.SITE_REPEAT_MAX_WORDS``); the structure
      lost to
      unrelated articles before this rule (issue #18) was under 6 words; and a line of 12
      words (11 shingles) cannot reach J = 0.7 with a paragraph of 17 or more.
    * ``copy_share``: an article copies another when more than this share of its normalised
      words is in paragraphs marked duplicates of that one article's paragraphs, its short
      lines that the other article also has included ("most of its body"). 0.5, the rule of
      ``duplicate_of_article``: on the labelled reprints article precision 1.000, recall
      0.997 (a reprint keeps far more than half of its source; two unrelated articles share
      far less). Derived: which articles' short lines may be removed (:func:`_scoped_copies`).

    Buckets (not a setting: the answer does not depend on them). Over the shards' staged
    inputs (:mod:`tasks.dedup.candidates`) the band entries, ``bands`` per distinct paragraph
    of at least ``min_tokens`` words (20 at the defaults), are grouped in
    ``B = ceil(entries / BUCKET_ENTRIES)`` buckets by ``hash(key) % B``, one DuckDB query each;
    with ``BUCKET_ENTRIES = 4,000,000`` (about 64 MB of hash table per query) a run of
    1,000,000 pages of ~30 distinct long paragraphs (6e8 entries) takes 150 buckets, one of
    10,000 pages 2. A key's entries all fall in one bucket, so only the entries of keys shared
    by two groups (or a group and an index row) leave DuckDB.
    """

    threshold: float = 0.7
    num_perm: int = 128
    shingle_words: int = 2
    seed: int = 42
    min_tokens: int = 6
    false_positive_weight: float = 0.1
    false_negative_weight: float = 0.9
    batch_size: int = 8192
    scope_max_words: int = 12
    copy_share: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("threshold must be in (0, 1)")
        if not 0.0 <= self.copy_share < 1.0 or self.scope_max_words < 0:
            raise ValueError("copy_share must be in [0, 1) and scope_max_words >= 0")
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

_APOSTROPHES = ("'", "’", "‘", "ʼ", "`", "´")
_WORD = re.compile(r"[^\W_]+")
# ASCII fast path: bytes.translate maps letters to lower case, digits to themselves and every
# other byte to a space; apostrophes are deleted. Same result as the Unicode path on ASCII.
_ASCII_TABLE = bytes(
    c + 32 if 65 <= c <= 90 else c if (97 <= c <= 122 or 48 <= c <= 57) else 32 for c in range(256)
)
_ASCII_DELETE = b"'`"


# Common non-ASCII characters whose treatment is known: apostrophes are deleted, the rest
# separate words (exactly what the Unicode path does with them). A text that is ASCII once
# these are replaced takes the fast byte path; tests check both paths agree.
_COMMON_NON_ASCII = {
    **dict.fromkeys("’‘ʼ", ""),
    **dict.fromkeys("“”„‟«»‹›—–‐‑‒―−…•·″′\xa0\u2009\u200a\u200b\u202f\u2002\u2003", " "),
}


def _normalised_unicode(text: str) -> bytes:
    """General path of :func:`_normalised`: NFKC, case-fold, apostrophes out, word regex."""
    text = unicodedata.normalize("NFKC", text).casefold()
    for mark in _APOSTROPHES:
        if mark in text:
            text = text.replace(mark, "")
    return " ".join(_WORD.findall(text)).encode()


def _normalised(text: str) -> bytes:
    """Normalised words as UTF-8 joined by single spaces (what every hash sees).

    See :func:`normalise_words`; ``b""`` when the text has no words.
    """
    if not text.isascii():
        for char, replacement in _COMMON_NON_ASCII.items():
            if char in text:
                text = text.replace(char, replacement)
        if not text.isascii():
            return _normalised_unicode(text)
    return b" ".join(text.encode().translate(_ASCII_TABLE, _ASCII_DELETE).split())


def normalise_words(text: str) -> list[str]:
    """Words of ``text`` with case, punctuation, quote/dash styles and whitespace ignored.

    Apostrophes are deleted (``don’t`` == ``don't`` == ``dont``) rather than split on, so the
    quote style inside a word never changes the words; every other non-alphanumeric run
    (quotes, dashes, punctuation, whitespace, underscores) separates words. NFKC folds
    full-width forms and ligatures and the text is case-folded; pure ASCII text takes a
    byte-table fast path with the same result.
    """
    return _normalised(text).decode().split()


def _text_digest(normalised: bytes) -> bytes:
    """64-bit BLAKE2b of the normalised text (stable across processes and runs).

    Stored as the little-endian signed int64 ``text_hash``.
    """
    return hashlib.blake2b(normalised, digest_size=8).digest()


_WORD_PRIME = _U64(0x9E3779B97F4A7C15)
_WORD_PRIME_INVERSE = _U64(pow(int(_WORD_PRIME), -1, 2**64))  # exists: the prime is odd
_pow_cache: dict[str, np.ndarray] = {}


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``P^i`` and ``P^-i`` mod 2^64 for ``i < n`` at least, ``P = _WORD_PRIME`` (cached)."""
    if len(_pow_cache.get("up", ())) < n:
        size = max(n, 2 * len(_pow_cache.get("up", ())))
        for name, base in (("up", _WORD_PRIME), ("down", _WORD_PRIME_INVERSE)):
            table = np.full(size, base, dtype=np.uint64)
            table[0] = 1
            _pow_cache[name] = np.cumprod(table, dtype=np.uint64)
    return _pow_cache["up"], _pow_cache["down"]


def _word_hashes(texts: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """uint64 hash of every word of every normalised text, vectorised over one byte buffer.

    A word's hash is ``splitmix64(sum((byte_k + 1) * P^k) ^ len * C)`` mod 2^64: stable across
    processes (the index stores hashes derived from it) and with no Python object per word.
    The sums come from one prefix sum over the joined buffer: a word at bytes ``[s, e)`` has
    ``sum_k (b_{s+k} + 1) P^k = P^-s * (S[e] - S[s])`` with ``S[j] = sum_{i<j} (b_i + 1) P^i``
    (all mod 2^64; ``P`` is odd, so ``P^-1`` exists). Returns flat hashes and int64 row
    offsets.
    """
    buf = np.frombuffer(b" ".join(texts) + b" ", dtype=np.uint8)
    ends = np.flatnonzero(buf == 32)  # the space after every word
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    up, down = _powers(len(buf))
    prefix = np.zeros(len(buf) + 1, dtype=np.uint64)
    np.cumsum((buf + _U64(1)) * up[: len(buf)], out=prefix[1:])
    hashes = (prefix[ends] - prefix[starts]) * down[starts]
    hashes ^= (ends - starts).astype(np.uint64) * _U64(0xD6E8FEB86659FD93)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    offsets[1:] = np.searchsorted(ends, np.cumsum(lengths + 1) - 1) + 1
    return _splitmix64(hashes), offsets


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """Finaliser of splitmix64: a bijective avalanche mix on uint64 arrays (wraps mod 2^64)."""
    x = x ^ (x >> _U64(30))
    x = x * _U64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> _U64(27))
    x = x * _U64(0x94D049BB133111EB)
    mixed: np.ndarray = x ^ (x >> _U64(31))
    return mixed


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

    rensa returns nested Python lists (no buffer export), the dominant cost. ``array.fromlist``
    per row copies them at C speed, about twice as fast as ``np.fromiter`` over the chained
    rows. 256 rows at a time (32k Python ints, about 1 MB) stay in the CPU cache while they
    are created, copied and freed: twice as fast as 4096 rows at a time.
    """
    n = len(offsets) - 1
    out = np.empty((n, config.num_perm), dtype=np.uint32)
    step = 256
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        a, b = int(offsets[lo]), int(offsets[hi])
        matrix = RMinHash.digest_matrix_from_flat_token_hashes(
            shingles[a:b],
            (offsets[lo : hi + 1] - a).astype(np.uint64),
            config.num_perm,
            config.seed,
        )
        values = array.array("I")  # C unsigned int: 32 bits, as rensa's u32 digests
        for row in matrix.to_rows():
            values.fromlist(row)
        out[lo:hi] = np.frombuffer(values, dtype=np.uintc).reshape(hi - lo, config.num_perm)
    return out


@dataclass
class Prepared:
    """Hashes of a sequence of texts, MinHash work done once per distinct normalised text.

    ``row_uid`` maps each input text to its distinct text (``-1`` when it has no words). For
    distinct texts with at least ``min_tokens`` words (``long_uids``, increasing) it holds their
    32-bit shingle fingerprints in text order (verification compares them as sets; only the
    index needs them sorted and unique, :func:`shingle_fingerprints`) and band keys.
    """

    row_uid: np.ndarray  # int64 per input text
    uniq_hash: np.ndarray  # int64 per distinct text
    uniq_words: np.ndarray  # int64 normalised word count per distinct text
    long_uids: np.ndarray  # int64 ids of the MinHashed distinct texts
    shingles: np.ndarray  # uint32 flat, per long uid, as shingled
    shingle_offsets: np.ndarray  # int64, len(long_uids) + 1
    band_keys: np.ndarray  # int64 (len(long_uids), bands)

    def long_position(self) -> np.ndarray:
        """Position in ``long_uids`` of every distinct text, ``-1`` for short ones."""
        pos = np.full(len(self.uniq_hash), -1, dtype=np.int64)
        pos[self.long_uids] = np.arange(len(self.long_uids), dtype=np.int64)
        return pos


def shingle_fingerprints(
    shingles: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique 32-bit fingerprints of each row's shingles (the sets the index stores).

    32 bits halve memory and index size; a spurious collision between two sets of 50 shingles
    has probability ~50²/2³² ≈ 6e-7 and can only move Jaccard by 1/|union|.
    """
    n = len(offsets) - 1
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    combined = (row.astype(np.uint64) << _U64(32)) | (shingles & _U64(0xFFFFFFFF))
    combined.sort()
    if len(combined):
        keep = np.empty(len(combined), dtype=bool)
        keep[0] = True
        np.not_equal(combined[1:], combined[:-1], out=keep[1:])
        combined = combined[keep]
    rows_of = (combined >> _U64(32)).astype(np.int64)
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows_of, minlength=n), out=out_offsets[1:])
    return (combined & _U64(0xFFFFFFFF)).astype(np.uint32), out_offsets


def prepare(batches: Iterable[Sequence[str | None]], config: DedupConfig) -> Prepared:
    """Normalise and hash texts batch by batch; shingle and MinHash each distinct text once."""
    bands, rows = config.bands_rows
    uid_of: dict[bytes, int] = {}  # text digest -> uid, in uid order
    row_uid: list[np.ndarray] = []
    word_counts: list[int] = []  # per uid
    long_uids: list[int] = []
    shingle_parts: list[np.ndarray] = []
    shingle_counts: list[np.ndarray] = []
    key_parts: list[np.ndarray] = []
    min_spaces = config.min_tokens - 1
    for batch in batches:
        # One C-level pass per step; uids are given in order of first appearance.
        normalised = [_normalised(text) if text else b"" for text in batch]
        before = len(uid_of)
        uids = np.array(
            [uid_of.setdefault(_text_digest(t), len(uid_of)) if t else -1 for t in normalised],
            dtype=np.int64,
        )
        row_uid.append(uids)
        new_uids, first_row = np.unique(uids[uids >= before], return_index=True)
        first_row = np.flatnonzero(uids >= before)[first_row]
        new_texts: list[bytes] = []
        for uid, row in zip(new_uids.tolist(), first_row.tolist(), strict=True):
            spaces = normalised[row].count(b" ")
            word_counts.append(spaces + 1)
            if spaces >= min_spaces:
                long_uids.append(uid)
                new_texts.append(normalised[row])
        if new_texts:
            word_hashes, offsets = _word_hashes(new_texts)
            sh, sh_off = _shingles(word_hashes, offsets, config.shingle_words)
            key_parts.append(_band_keys(_minhash(sh, sh_off, config), bands, rows))
            shingle_parts.append(sh.astype(np.uint32))  # low 32 bits, see shingle_fingerprints
            shingle_counts.append(np.diff(sh_off))
    counts = np.concatenate(shingle_counts) if shingle_counts else np.zeros(0, np.int64)
    shingle_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=shingle_offsets[1:])
    return Prepared(
        row_uid=np.concatenate(row_uid) if row_uid else np.zeros(0, np.int64),
        uniq_hash=np.frombuffer(b"".join(uid_of), dtype="<i8").astype(np.int64),
        uniq_words=np.asarray(word_counts, dtype=np.int64),
        long_uids=np.asarray(long_uids, dtype=np.int64),
        shingles=np.concatenate(shingle_parts) if shingle_parts else np.zeros(0, np.uint32),
        shingle_offsets=shingle_offsets,
        band_keys=np.concatenate(key_parts) if key_parts else np.zeros((0, bands), np.int64),
    )


DEDUP_INPUT_FIELDS = (
    # 64-bit hash of the normalised words (little-endian BLAKE2b); null when it has none.
    pa.field("text_hash", pa.int64()),
    # Normalised words (the scope and "most of its words" count them).
    pa.field("norm_words", pa.int32()),
    # Sorted distinct 32-bit shingle fingerprints; null below ``min_tokens`` words.
    pa.field("shingles", pa.list_(pa.uint32())),
    # The ``bands`` LSH band keys; null below ``min_tokens`` words.
    pa.field("band_keys", pa.list_(pa.int64())),
)


def dedup_inputs(texts: Sequence[str | None], config: DedupConfig) -> pa.Table:
    """What the dedup needs of each text, computed where the texts are (a clean shard), so
    the run-wide step never hashes, shingles or MinHashes them: :data:`DEDUP_INPUT_FIELDS`,
    one row per text (all null for ``None``)."""
    batches = (texts[i : i + config.batch_size] for i in range(0, len(texts), config.batch_size))
    prep = prepare(batches, config)
    fingerprints, fp_offsets = shingle_fingerprints(prep.shingles, prep.shingle_offsets)
    valid = prep.row_uid >= 0
    uid = prep.row_uid[valid]
    pos = np.full(len(valid), -1, dtype=np.int64)
    pos[valid] = prep.long_position()[uid]
    long = pos >= 0

    def per_row(values: np.ndarray, kind: pa.DataType) -> pa.Array:
        out = np.zeros(len(valid), dtype=values.dtype)
        out[valid] = values[uid]
        return pa.array(out, kind, mask=~valid)

    def lists(values: np.ndarray, value_offsets: np.ndarray, kind: pa.DataType) -> pa.Array:
        lengths = np.zeros(len(pos), dtype=np.int64)
        lengths[long] = np.diff(value_offsets)[pos[long]]
        starts = np.zeros(len(pos), dtype=np.int64)
        starts[long] = value_offsets[:-1][pos[long]]
        offsets = np.zeros(len(pos) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        take = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1], dtype=np.int64)
        return pa.ListArray.from_arrays(
            pa.array(offsets.astype(np.int32)), pa.array(values[take], kind), mask=pa.array(~long)
        )

    bands = prep.band_keys.shape[1]
    band_offsets = np.arange(len(prep.long_uids) + 1, dtype=np.int64) * bands
    return pa.table(
        [
            per_row(prep.uniq_hash, pa.int64()),
            per_row(prep.uniq_words, pa.int32()),
            lists(fingerprints, fp_offsets, pa.uint32()),
            lists(prep.band_keys.reshape(-1), band_offsets, pa.int64()),
        ],
        schema=pa.schema(DEDUP_INPUT_FIELDS),
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


def canonical_rank(table: pa.Table) -> np.ndarray:
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
class IndexCandidates:
    """Kept paragraphs of earlier runs that can matter for this run (loaded from the index).

    Only rows sharing an exact hash or a band key with this run are loaded, so memory follows
    the size of the run, not of the index.
    """

    paragraph_id: list[str]
    article_id: list[str]
    rank: np.ndarray  # canonical order among the loaded index rows (all before new rows)
    text_hash: np.ndarray  # int64
    shingle_values: np.ndarray  # uint32 fingerprints of all loaded rows ...
    shingle_offsets: np.ndarray  # ... and their row offsets (empty row: exact-only)
    band_key: np.ndarray  # int64 band keys shared with this run ...
    band_row: np.ndarray  # ... and the loaded row each belongs to


def empty_index_candidates() -> IndexCandidates:
    empty = np.zeros(0, np.int64)
    return IndexCandidates(
        [], [], empty, empty, np.zeros(0, np.uint32), np.zeros(1, np.int64), empty, empty
    )


def _equal_to_a_neighbour(equal_to_next: np.ndarray, size: int) -> np.ndarray:
    """Per entry of a sorted sequence of ``size``: equal to the one before or after it.

    ``equal_to_next[i]`` says whether entry ``i`` equals entry ``i + 1``.
    """
    flags = np.zeros(size, dtype=bool)
    flags[1:] = equal_to_next
    flags[:-1] |= equal_to_next
    return flags


def _shared_buckets(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entries of ``keys`` whose value occurs at least twice, grouped by value.

    Returns the entry numbers and a bucket id (0, 1, ... in key order) for each. An indirect
    sort (argsort) of the tens of millions of band keys of a large run was its slowest step,
    and superlinear; sorting plain values is 2-3x faster. So the low ``bits`` of every key,
    ``2^bits >= n``, are replaced by its entry number and these packed values are sorted in
    place. Equal keys have equal high bits, so every repeated key lands in a run of equal
    high bits; of ``n`` random keys only about ``n^2 / 2^(65 - bits)`` unrelated pairs also
    do (some hundred for 18M keys). Only the entries of such runs, a small share, are then
    argsorted by their full key, and those whose full key is single are dropped.
    """
    n = len(keys)
    bits = max(1, (n - 1).bit_length())
    low = _U64((1 << bits) - 1)
    packed = keys.view(np.uint64) & ~low
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    repeated = _equal_to_a_neighbour((packed[1:] ^ packed[:-1]) <= low, n)
    entry = (packed[repeated] & low).astype(np.int64)
    del packed, repeated
    full = keys[entry]
    by_key = np.argsort(full, kind="stable")
    entry, full = entry[by_key], full[by_key]
    same = full[1:] == full[:-1]
    keep = _equal_to_a_neighbour(same, len(entry))
    new_bucket = np.ones(len(entry), dtype=bool)
    new_bucket[1:] = ~same
    bucket = np.cumsum(new_bucket) - 1
    entry, bucket = entry[keep], bucket[keep]
    return entry, bucket


@dataclass
class SharedBands:
    """Band entries whose key at least one other entry has: ``owner`` node (a group, or
    ``g +`` a loaded index row) and ``bucket`` (any id equal for equal keys, e.g. the key)."""

    owner: np.ndarray  # int64
    bucket: np.ndarray  # int64


def exact_index_leaders(
    uniq_hash: np.ndarray, index: IndexCandidates, scoped: np.ndarray
) -> np.ndarray:
    """Per group, the node it is a copy of by an identical index row (the earliest one),
    else the group itself; scoped groups are never settled here."""
    g = len(uniq_hash)
    leader = np.arange(g, dtype=np.int64)
    if len(index.paragraph_id):
        by_rank = np.argsort(index.rank, kind="stable")
        ordered = index.text_hash[by_rank]
        first = np.argsort(ordered, kind="stable")  # stable: earliest rank first per hash
        keep = np.ones(len(first), dtype=bool)
        keep[1:] = ordered[first[1:]] != ordered[first[:-1]]
        first = first[keep]
        hashes = ordered[first]
        at = np.minimum(np.searchsorted(hashes, uniq_hash), len(hashes) - 1)
        hit = (hashes[at] == uniq_hash) & ~scoped
        leader[hit] = g + by_rank[first[at[hit]]]
    return leader


def _shared_bands(prep: Prepared, index: IndexCandidates, settled: np.ndarray) -> SharedBands:
    """The shared band entries of the open long groups and the index rows, in memory."""
    g = len(prep.uniq_hash)
    empty = SharedBands(np.zeros(0, np.int64), np.zeros(0, np.int64))
    open_long = ~settled[prep.long_uids]
    if not open_long.any():
        return empty
    bands = prep.band_keys.shape[1]
    open_rows = np.flatnonzero(open_long)
    keys = prep.band_keys[open_rows].reshape(-1)
    run_entries = len(keys)
    if len(index.band_key):
        idx_use = np.flatnonzero(np.isin(index.band_key, keys, kind="sort"))
        keys = np.concatenate([keys, index.band_key[idx_use]])
    entry, s_bucket = _shared_buckets(keys)
    del keys
    if not len(entry):
        return empty
    # Entry number -> node: this run's entries are (open row, band) in row-major order, then
    # the index entries in use.
    in_run = entry < run_entries
    s_owner = np.empty(len(entry), dtype=np.int64)
    s_owner[in_run] = prep.long_uids[open_rows[entry[in_run] // bands]]
    if not in_run.all():
        s_owner[~in_run] = g + index.band_row[idx_use[entry[~in_run] - run_entries]]
    return SharedBands(s_owner, s_bucket)


def _cluster(
    group_rank: np.ndarray,
    prep: Prepared,
    config: DedupConfig,
    index: IndexCandidates,
    scoped: np.ndarray,
    shared: SharedBands | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Give each distinct text (group) a leader, the kept copy, by the module docstring rule.

    Nodes ``0..g-1`` are this run's groups (``prep`` distinct texts); nodes ``g..g+q-1`` are
    loaded index rows. Returns ``(leader, similarity)`` per group; ``leader[i] == i`` when the
    group is kept. Groups are visited in canonical order and a kept group registers itself in
    its LSH buckets, so each group is compared only with kept copies that share a bucket.
    ``scoped`` groups (short or structural lines) are never given a leader here, only serve
    as kept copies of longer paragraphs: :func:`_scoped_copies` settles them. ``shared``, when
    given, are the shared band entries already found (:mod:`tasks.dedup.candidates`, over
    files); ``prep`` then holds the shingles of their groups only, and no band keys.
    """
    g = len(group_rank)
    q = len(index.paragraph_id)
    similarity = np.ones(g, dtype=np.float64)
    # Sort key of every node: index rows first (by their own rank), then groups by rank.
    node_order = np.concatenate([group_rank + q, index.rank])

    # 1. Identical to a kept paragraph of an earlier run: the earliest such row.
    leader = exact_index_leaders(prep.uniq_hash, index, scoped)

    # 2. Near duplicates through shared band keys, verified by exact Jaccard. Groups settled
    # by an exact index match take no part; index rows only matter in buckets they share
    # with a group still open.
    if shared is None:
        shared = _shared_bands(prep, index, leader != np.arange(g))
    s_owner, s_bucket = shared.owner, shared.bucket
    if not len(s_owner):
        return leader, similarity
    order = np.lexsort((s_bucket, node_order[s_owner]))
    s_owner, s_bucket = s_owner[order], s_bucket[order]
    cut = np.flatnonzero(np.diff(s_owner)) + 1
    starts = np.concatenate([[0], cut]).tolist()
    ends = np.concatenate([cut, [len(s_owner)]]).tolist()

    long_pos = prep.long_position()
    cache: dict[int, frozenset[int]] = {}

    def shingle_set(node: int) -> frozenset[int]:
        found = cache.get(node)
        if found is None:
            if node >= g:
                lo, hi = index.shingle_offsets[node - g], index.shingle_offsets[node - g + 1]
                found = frozenset(index.shingle_values[lo:hi].tolist())
            else:
                p = long_pos[node]
                lo, hi = prep.shingle_offsets[p], prep.shingle_offsets[p + 1]
                found = frozenset(prep.shingles[lo:hi].tolist())
            cache[node] = found
        return found

    leaders_in: dict[int, list[int]] = {}
    threshold = config.threshold
    for lo, hi in zip(starts, ends, strict=True):
        node = int(s_owner[lo])
        node_buckets = s_bucket[lo:hi].tolist()
        if node >= g or scoped[node]:  # index rows are kept copies already
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
                    found, similarity[node] = other, sim
                    break
        if found >= 0:
            leader[node] = found
        else:
            for bucket in node_buckets:
                leaders_in.setdefault(bucket, []).append(node)
    return leader, similarity


# --------------------------------------------------------------------------------------------
# find_duplicates
# --------------------------------------------------------------------------------------------


def eligible_mask(paragraphs: pa.Table) -> np.ndarray:
    eligible = pc.fill_null(paragraphs.column("eligible").cast(pa.bool_()), False)
    mask: np.ndarray = eligible.to_numpy(zero_copy_only=False).astype(bool)
    return mask


def find_duplicates(
    paragraphs: pa.Table,
    config: DedupConfig | None = None,
    index_dir: Path | None = None,
) -> pa.Table:
    """Mark duplicate paragraphs; one output row per input row, in input order.

    Input columns: ``paragraph_id`` (unique), ``article_id``, ``position``, ``text``,
    ``published_at`` (nullable), ``eligible``. Ineligible rows, and rows whose text has no
    words, are never duplicates nor kept copies. With ``index_dir`` the kept paragraphs of
    earlier published runs (recorded by :func:`~tasks.dedup.index_store.update_index`) take
    part and always win; index rows whose ``paragraph_id`` is in this run are ignored, so
    re-running a published batch gives the same answer as its first run. A missing or empty
    ``index_dir`` is an empty index; a damaged one raises
    :class:`~tasks.dedup.index_store.IndexDamagedError`.

    Output: ``paragraph_id``, ``duplicate_of`` (kept copy's id, null unless a duplicate),
    ``cluster_id`` (the kept copy's paragraph_id for every member of a cluster of two or more,
    the kept copy included), ``similarity`` (float32 Jaccard of the shingle sets with the kept
    copy, 1.0 for an identical normalised text, null unless a duplicate).
    """
    config = config or DedupConfig()
    n = paragraphs.num_rows
    ids = paragraphs.column("paragraph_id").cast(pa.string()).combine_chunks()
    if n and pc.count_distinct(ids).as_py() != n:
        raise ValueError("paragraph_id must be unique")
    eligible = eligible_mask(paragraphs)
    slices = _slices(paragraphs.column("text"), config.batch_size)
    prep = prepare(_eligible_texts(slices, eligible), config)
    index = empty_index_candidates()
    if index_dir is not None:
        from tasks.dedup.index_store import load_index_candidates  # the store imports this

        index = load_index_candidates(Path(index_dir), config, prep, ids)
    return decide_duplicates(paragraphs, prep, config, index)


def decide_duplicates(
    paragraphs: pa.Table,
    prep: Prepared,
    config: DedupConfig,
    index: IndexCandidates,
    shared: SharedBands | None = None,
) -> pa.Table:
    """:func:`find_duplicates` once the texts are hashed (``prep``, one row per eligible row)
    and the index rows that matter are loaded; ``shared`` as in :func:`_cluster`."""
    n = paragraphs.num_rows
    ids = paragraphs.column("paragraph_id").cast(pa.string()).combine_chunks()
    rank = canonical_rank(paragraphs)
    rows = np.flatnonzero(eligible_mask(paragraphs))

    # Exact groups = distinct normalised texts; a group's rank is its earliest member's.
    valid = prep.row_uid >= 0
    member_rows, member_uid = rows[valid], prep.row_uid[valid]
    g = len(prep.uniq_hash)
    group_rank = np.full(g, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(group_rank, member_uid, rank[member_rows])
    row_of_rank = np.empty(n, dtype=np.int64)
    row_of_rank[rank] = np.arange(n, dtype=np.int64)
    rep_rows = row_of_rank[group_rank] if g else np.zeros(0, np.int64)

    scoped = prep.uniq_words <= config.scope_max_words
    leader, sim = _cluster(group_rank, prep, config, index, scoped, shared)
    kept_row, kept_index, row_sim = _row_leaders(n, member_rows, member_uid, rep_rows, leader, sim)
    row_uid = np.full(n, -1, dtype=np.int64)
    row_uid[member_rows] = member_uid
    _scoped_copies(
        paragraphs.column("article_id"),
        rank,
        row_uid,
        prep,
        scoped,
        index,
        config,
        kept_row,
        kept_index,
        row_sim,
    )
    return _assemble(ids, kept_row, kept_index, row_sim, index)


def _slices(column: pa.ChunkedArray, size: int) -> Iterator[pa.ChunkedArray]:
    for start in range(0, len(column), size):
        yield column.slice(start, size)


def _eligible_texts(
    slices: Iterable[pa.Array | pa.ChunkedArray], eligible: np.ndarray
) -> Iterator[list[str | None]]:
    """The eligible rows' texts of each slice, as Python strings (one slice at a time)."""
    start = 0
    for texts in slices:
        mask = eligible[start : start + len(texts)]
        start += len(texts)
        yield texts.filter(pa.array(mask)).to_pylist()
    if start != len(eligible):
        raise ValueError(f"texts has {start} rows, the table {len(eligible)}")


def _row_leaders(
    n: int,
    member_rows: np.ndarray,
    member_uid: np.ndarray,
    rep_rows: np.ndarray,
    leader: np.ndarray,
    sim: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per input row: the kept copy's row (itself when kept, -1 when not taking part), the
    loaded index row of the kept copy (-1 when none) and the similarity with it."""
    g = len(rep_rows)
    lead = leader[member_uid]
    in_run = lead < g
    kept_row = np.full(n, -1, dtype=np.int64)
    kept_index = np.full(n, -1, dtype=np.int64)
    kept_row[member_rows[in_run]] = rep_rows[lead[in_run]]
    kept_index[member_rows[~in_run]] = lead[~in_run] - g
    row_sim = np.full(n, np.nan)
    row_sim[member_rows] = np.where(lead == member_uid, 1.0, sim[member_uid])
    return kept_row, kept_index, row_sim


def _copied_articles(
    article: np.ndarray,
    index_article: np.ndarray,
    row_words: np.ndarray,
    kept_row: np.ndarray,
    kept_index: np.ndarray,
    share: float,
    shared_lines: Callable[[int, int], int],
) -> np.ndarray:
    """Per article code, the article it is a copy of (code, -1 for none).

    An article copies another when more than ``share`` of its words (every eligible row's
    normalised words) are in paragraphs marked duplicates of that one article's paragraphs,
    or in short lines that article also has (``shared_lines(copier, original)`` words; asked
    only for articles whose longer paragraphs copy some of the other's). Ties go to the
    smaller code (codes follow article ids in sorted order).
    """
    codes = int(max(article.max(initial=-1), index_article.max(initial=-1))) + 1
    out = np.full(codes, -1, dtype=np.int64)
    if not codes:
        return out
    rows = np.arange(len(kept_row))
    from_run = (kept_row >= 0) & (kept_row != rows)
    from_index = kept_index >= 0
    dup = from_run | from_index
    if not dup.any():
        return out
    source = np.full(len(kept_row), -1, dtype=np.int64)
    source[from_run] = article[kept_row[from_run]]
    source[from_index] = index_article[kept_index[from_index]]
    pair_rows = np.flatnonzero(dup & (source != article))
    if not len(pair_rows):
        return out
    totals = np.bincount(article[article >= 0], weights=row_words[article >= 0], minlength=codes)
    key = article[pair_rows] * codes + source[pair_rows]
    pairs, inverse = np.unique(key, return_inverse=True)
    words = np.bincount(inverse, weights=row_words[pair_rows])
    best = np.zeros(codes)
    for pair, count in zip(pairs.tolist(), words.tolist(), strict=True):
        copier, original = divmod(pair, codes)
        count += shared_lines(copier, original)
        if count > best[copier]:  # pairs are sorted: the first of equal counts wins
            best[copier], out[copier] = count, original
    out[best <= share * totals] = -1
    return out


def _scoped_copies(
    article_ids: pa.ChunkedArray | pa.Array,
    rank: np.ndarray,
    row_uid: np.ndarray,
    prep: Prepared,
    scoped: np.ndarray,
    index: IndexCandidates,
    config: DedupConfig,
    kept_row: np.ndarray,
    kept_index: np.ndarray,
    row_sim: np.ndarray,
) -> None:
    """Settle the short and structural lines (``scoped`` groups), in place.

    Such a line is a copy only of an identical (normalised) line of its own article, or of the
    article its article copies (:func:`_copied_articles`, from the longer paragraphs):
    "Table of Contents", "- Unlimited contacts" or "| Interface | Bluetooth |" in two
    unrelated articles are both kept. Rows are visited in canonical order; a copied article's
    line is preferred to an earlier line of the same article.
    """
    scoped_rows = np.flatnonzero(row_uid >= 0)
    scoped_rows = scoped_rows[scoped[row_uid[scoped_rows]]]
    if not len(scoped_rows):
        return
    # Article codes in sorted id order, the index's articles included.
    run_names = pc.cast(article_ids, pa.string())
    names = sorted(set(pc.unique(run_names).to_pylist()) | set(index.article_id))
    code_of = {name: code for code, name in enumerate(names)}
    article = pc.index_in(run_names, pa.array(names, pa.string())).to_numpy(zero_copy_only=False)
    article = np.where(row_uid >= 0, article, -1).astype(np.int64)
    index_article = np.fromiter(
        (code_of[a] for a in index.article_id), np.int64, len(index.article_id)
    )
    row_words = np.where(row_uid >= 0, prep.uniq_words[np.maximum(row_uid, 0)], 0)
    # Scoped rows carry no evidence of copying (pass 1 left them unsettled).
    kept_row[scoped_rows] = scoped_rows
    kept_index[scoped_rows] = -1
    # Only a line another row of the run or the index also has can be or have a copy: the
    # rest (most short lines) are kept without a Python step each.
    uids = row_uid[scoped_rows]
    repeated = np.bincount(uids, minlength=len(prep.uniq_hash))[uids] >= 2
    repeated |= np.isin(prep.uniq_hash[uids], index.text_hash)
    scoped_rows = scoped_rows[repeated]
    # Index lines by (article, text hash), earliest first: the copied article may be published.
    in_index: dict[tuple[int, int], int] = {}
    for row in np.argsort(index.rank, kind="stable").tolist():
        in_index.setdefault((int(index_article[row]), int(index.text_hash[row])), row)
    lines_of: dict[int, list[int]] = {}  # article -> its scoped rows
    for row in scoped_rows.tolist():
        lines_of.setdefault(int(article[row]), []).append(row)
    uids_of = {a: {int(row_uid[r]) for r in rows} for a, rows in lines_of.items()}

    def shared_lines(copier: int, original: int) -> int:
        """Words of ``copier``'s short lines that ``original`` has too (run or index)."""
        theirs = uids_of.get(original, set())
        return sum(
            int(row_words[r])
            for r in lines_of.get(copier, ())
            if int(row_uid[r]) in theirs or (original, int(prep.uniq_hash[row_uid[r]])) in in_index
        )

    copies = _copied_articles(
        article, index_article, row_words, kept_row, kept_index, config.copy_share, shared_lines
    )
    first: dict[tuple[int, int], tuple[int, int]] = {}  # (article, uid) -> (row, index row)
    for row in scoped_rows[np.argsort(rank[scoped_rows], kind="stable")].tolist():
        own, uid = int(article[row]), int(row_uid[row])
        original = int(copies[own])
        target = first.get((original, uid)) if original >= 0 else None
        if target is None and original >= 0:
            hit = in_index.get((original, int(prep.uniq_hash[uid])))
            target = None if hit is None else (-1, hit)
        if target is None:
            target = first.get((own, uid))
        if target is None:
            first[own, uid] = (row, -1)
            continue
        first.setdefault((own, uid), target)
        kept_row[row], kept_index[row] = target
        row_sim[row] = 1.0
    # A longer paragraph that is a near copy of a scoped line points at that line's kept copy.
    points_at_scoped = np.flatnonzero((kept_row >= 0) & (kept_row != np.arange(len(kept_row))))
    moved = points_at_scoped[kept_row[kept_row[points_at_scoped]] != kept_row[points_at_scoped]]
    if len(moved):
        via = kept_row[moved]
        kept_row[moved], kept_index[moved] = kept_row[via], kept_index[via]


def _assemble(
    ids: pa.Array,
    kept_row: np.ndarray,
    kept_index: np.ndarray,
    row_sim: np.ndarray,
    index: IndexCandidates,
) -> pa.Table:
    """Turn per-row kept copies (:func:`_row_leaders`) into the per-row output table."""
    n = len(ids)
    rows = np.arange(n)
    is_dup = (kept_index >= 0) | ((kept_row >= 0) & (kept_row != rows))
    pointed = np.zeros(n, dtype=bool)
    pointed[kept_row[is_dup & (kept_row >= 0)]] = True
    in_cluster = is_dup | pointed

    # Kept ids come from one array: this run's ids followed by the loaded index ids.
    pool = pa.concat_arrays([ids, pa.array(index.paragraph_id, pa.string())])
    pick = np.where(kept_index >= 0, n + kept_index, np.maximum(kept_row, 0))
    cluster_id = pool.take(pa.array(pick, pa.int64(), mask=~in_cluster))
    duplicate_of = pool.take(pa.array(pick, pa.int64(), mask=~is_dup))
    similarity = pa.array(row_sim.astype(np.float32), pa.float32(), mask=~is_dup)
    return pa.table([ids, duplicate_of, cluster_id, similarity], schema=OUTPUT_SCHEMA)


__all__ = [
    "CANONICAL_ORDER",
    "DEDUP_INPUT_FIELDS",
    "OUTPUT_SCHEMA",
    "DedupConfig",
    "IndexCandidates",
    "Prepared",
    "SharedBands",
    "canonical_rank",
    "decide_duplicates",
    "dedup_inputs",
    "eligible_mask",
    "empty_index_candidates",
    "exact_index_leaders",
    "find_duplicates",
    "jaccard",
    "normalise_words",
    "optimal_bands_rows",
    "prepare",
    "shingle_fingerprints",
]
