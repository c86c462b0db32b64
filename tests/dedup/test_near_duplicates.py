"""Tests of tasks.dedup.near_duplicates with real rensa MinHash, no mocks (the index's own
tests are in test_index_store.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from tasks.dedup.index_store import update_index
from tasks.dedup.near_duplicates import (
    DedupConfig,
    find_duplicates,
    normalise_words,
    optimal_bands_rows,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# A wire story (fictional), one paragraph per entry; the first one is its headline.
WIRE = [
    "Iran launches strikes on US troops in Iraq",
    "Iran fired more than a dozen ballistic missiles at two military bases in Iraq that house "
    "American troops early Wednesday, the Pentagon said, in what Tehran called retaliation for "
    "the killing of its top general last week.",
    "The missiles struck the Ain al-Asad air base in western Iraq and a second facility in "
    "Irbil, officials said. There was no immediate word on casualties, and the Pentagon said "
    "it was still assessing the damage to both bases.",
    "“We are aware of the reports of attacks on US facilities in Iraq,” White House spokeswoman "
    "Stephanie Grisham said in a statement. “The president has been briefed and is monitoring "
    "the situation closely and consulting with his national security team.”",
    "Oil prices jumped more than 4% in Asian trading after the attack, and stocks fell across "
    "the region as investors braced for a wider conflict in the Middle East. Gold rose to its "
    "highest level in almost seven years. Analysts expect volatility to continue.",
]

# Same topic, different reporting: these must not be merged with WIRE paragraphs.
OTHER_REPORT = [
    "Tehran strikes back at American forces",
    "Iranian state television said the Revolutionary Guard had launched missiles at US "
    "positions in Iraq overnight, describing the operation as the first stage of its revenge "
    "and warning Washington against any response on Iranian soil.",
    "Iraqi officials said the bases at Ain al-Asad and Irbil had been hit, but gave no details "
    "about casualties. Iraq's prime minister said his government had been told of the attack "
    "in advance by Tehran shortly after midnight.",
    "Markets in Asia fell sharply on Wednesday as oil rose and investors sought safety in gold "
    "and government bonds, fearing that the confrontation between Washington and Tehran could "
    "spiral into open war across the Gulf region.",
]


def make_table(rows: list[dict]) -> pa.Table:
    """Build an input table; rows give article, position, text and optional extras."""
    return pa.table(
        {
            "paragraph_id": pa.array([r["id"] for r in rows], pa.string()),
            "article_id": pa.array([r["article"] for r in rows], pa.string()),
            "position": pa.array([r["position"] for r in rows], pa.int32()),
            "text": pa.array([r["text"] for r in rows], pa.string()),
            "published_at": pa.array(
                [r.get("published") for r in rows], pa.timestamp("us", tz="UTC")
            ),
            "eligible": pa.array([r.get("eligible", True) for r in rows], pa.bool_()),
        }
    )


def article(
    article_id: str, paragraphs: list[str], published: datetime | None = T0, **extra: object
) -> list[dict]:
    return [
        {
            "id": f"{article_id}-{i}",
            "article": article_id,
            "position": i,
            "text": text,
            "published": published,
            **extra,
        }
        for i, text in enumerate(paragraphs)
    ]


def result_map(table: pa.Table) -> dict[str, dict]:
    return {r["paragraph_id"]: r for r in table.to_pylist()}


# ------------------------------------------------------------------------------------ basics


def test_normalisation_ignores_case_punctuation_quotes_dashes_and_whitespace() -> None:
    a = "“It’s over,” she said — finally.\n  Don't   WAIT!"
    b = '"it\'s over" she said -- finally dont wait'
    assert normalise_words(a) == normalise_words(b)
    assert normalise_words("ＦＵＬＬ width") == ["full", "width"]


def test_fast_normalisation_paths_agree_with_the_unicode_path() -> None:
    # _normalised takes byte-level shortcuts for ASCII and common punctuation; the reference
    # is the general NFKC + casefold + regex path.
    from tasks.dedup.near_duplicates import _COMMON_NON_ASCII, _normalised, _normalised_unicode

    alphabet = [*_COMMON_NON_ASCII, *"aZ9 _'`-\"!.,\u00b4\u00e9\u00df\u0130\u00bd\t\n"]
    rng = random.Random(0)
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30)))
        assert _normalised(text) == _normalised_unicode(text), repr(text)


def test_word_hashes_follow_their_definition() -> None:
    # The vectorised prefix-sum form must equal the per-word definition the index relies on:
    # splitmix64(sum((byte_k + 1) * P^k) ^ len * C) mod 2^64.
    import numpy as np

    from tasks.dedup.near_duplicates import _WORD_PRIME, _splitmix64, _word_hashes

    def reference(word: bytes) -> int:
        total = sum((b + 1) * int(_WORD_PRIME) ** k for k, b in enumerate(word)) % 2**64
        return total ^ (len(word) * 0xD6E8FEB86659FD93 % 2**64)

    rng = random.Random(0)
    texts = [
        b" ".join(
            bytes(rng.choice(b"az09\xc3\xa9") for _ in range(rng.randrange(1, 25)))
            for _ in range(rng.randrange(1, 12))
        )
        for _ in range(300)
    ]
    hashes, offsets = _word_hashes(texts)
    words = [w for t in texts for w in t.split(b" ")]
    expected = _splitmix64(np.array([reference(w) for w in words], dtype=np.uint64))
    assert np.array_equal(hashes, expected)
    assert offsets.tolist() == [0, *np.cumsum([len(t.split(b" ")) for t in texts]).tolist()]


def test_shared_buckets_are_exact_when_high_bits_collide() -> None:
    # _shared_buckets sorts keys whose low bits were replaced by the entry number; keys that
    # differ only in those low bits must still land in different buckets.
    from collections import Counter

    import numpy as np

    from tasks.dedup.near_duplicates import _shared_buckets

    rng = np.random.default_rng(0)
    base = rng.integers(-(2**63), 2**63 - 1, 50, dtype=np.int64)
    keys = np.concatenate([base, base[:20], base[:10] ^ 1, base[:10] ^ 2, base[5:8]])
    rng.shuffle(keys)
    entry, bucket = _shared_buckets(keys)
    counts = Counter(keys.tolist())
    assert sorted(entry.tolist()) == [i for i, k in enumerate(keys.tolist()) if counts[k] >= 2]
    for b in np.unique(bucket):
        assert len(set(keys[entry[bucket == b]].tolist())) == 1
    assert len(np.unique(bucket)) == sum(c >= 2 for c in counts.values())


def test_bands_rows_follow_the_optimal_parameter_search() -> None:
    # Same values as datasketch's _optimal_param for equal weights.
    assert optimal_bands_rows(0.5, 128) == (25, 5)
    assert optimal_bands_rows(0.7, 128) == (14, 9)
    bands, rows = DedupConfig().bands_rows
    assert bands * rows <= DedupConfig().num_perm
    # Weighting false negatives higher moves towards more, shorter bands (higher recall).
    assert optimal_bands_rows(0.7, 128, 0.3, 0.7) == (16, 8)
    assert DedupConfig().bands_rows == optimal_bands_rows(0.7, 128, 0.1, 0.9) == (20, 6)


def test_output_schema_and_order() -> None:
    rows = article("a", WIRE) + article("b", OTHER_REPORT)
    out = find_duplicates(make_table(rows), DedupConfig())
    assert out.column_names == ["paragraph_id", "duplicate_of", "cluster_id", "similarity"]
    assert out.schema.field("similarity").type == pa.float32()
    assert out.column("paragraph_id").to_pylist() == [r["id"] for r in rows]


def test_repeated_title_within_an_article_is_caught() -> None:
    rows = article("a", [WIRE[0], WIRE[0].upper() + ".", *WIRE[1:]])
    out = result_map(find_duplicates(make_table(rows), DedupConfig()))
    assert out["a-1"]["duplicate_of"] == "a-0"
    assert out["a-1"]["similarity"] == 1.0
    assert out["a-0"]["duplicate_of"] is None
    assert out["a-0"]["cluster_id"] == out["a-1"]["cluster_id"] is not None
    assert all(out[f"a-{i}"]["cluster_id"] is None for i in range(2, len(WIRE) + 1))


# ------------------------------------------------------------------------------- reprints


def _reprint_edits() -> dict[str, tuple[list[str], list[int]]]:
    """Reprint variants of WIRE: name -> (paragraphs, index of the WIRE paragraph each copies,
    -1 for a new paragraph that must not be marked)."""
    body = WIRE[1:]
    return {
        "headline_swap": (["Missiles hit two Iraqi bases", *body], [-1, 1, 2, 3, 4]),
        "dateline": (
            [WIRE[0], "WASHINGTON (AP) — " + body[0], *body[1:]],
            [0, 1, 2, 3, 4],
        ),
        "trimmed_last_sentence": (
            [*WIRE[:-1], WIRE[-1].rsplit(". ", 1)[0] + "."],
            [0, 1, 2, 3, 4],
        ),
        "merged_short_paragraph": (
            # The one-sentence follow-up of paragraph 2 is folded into it by the reprinter.
            [WIRE[0], body[0], body[1] + " Two drones were also shot down.", *body[2:]],
            [0, 1, 2, 3, 4],
        ),
        "typo_and_word_edits": (
            [
                WIRE[0],
                body[0].replace("more than a dozen", "at least a dozen"),
                body[1].replace("Irbil", "Erbil"),
                body[2].replace("closely", "closly"),
                body[3],
            ],
            [0, 1, 2, 3, 4],
        ),
        "rewrapped_whitespace": (
            [p.replace(" ", "\n", 3).replace(", ", ",   ") for p in WIRE],
            [0, 1, 2, 3, 4],
        ),
        "straight_quotes_and_dashes": (
            [p.replace("“", '"').replace("”", '"').replace("—", "--") for p in WIRE],
            [0, 1, 2, 3, 4],
        ),
    }


@pytest.mark.parametrize("edit", sorted(_reprint_edits()))
def test_reprint_with_edit_is_caught(edit: str) -> None:
    paragraphs, source = _reprint_edits()[edit]
    rows = article("src", WIRE, T0) + article("rep", paragraphs, T0 + timedelta(hours=2))
    out = result_map(find_duplicates(make_table(rows), DedupConfig()))
    for i, j in enumerate(source):
        got = out[f"rep-{i}"]
        if j < 0:
            assert got["duplicate_of"] is None, (edit, i)
        else:
            assert got["duplicate_of"] == f"src-{j}", (edit, i, got)
            assert 0.0 < got["similarity"] <= 1.0
            assert got["cluster_id"] == out[f"src-{j}"]["cluster_id"] == f"src-{j}"
    assert all(out[f"src-{j}"]["duplicate_of"] is None for j in range(len(WIRE)))


def test_distinct_same_topic_paragraphs_are_not_merged() -> None:
    rows = article("a", WIRE) + article("b", OTHER_REPORT)
    out = find_duplicates(make_table(rows), DedupConfig())
    assert out.column("duplicate_of").null_count == out.num_rows
    assert out.column("cluster_id").null_count == out.num_rows


def test_split_paragraph_halves_are_not_duplicates_by_design() -> None:
    # Jaccard of a half with the whole is about 0.5: a split is a known blind spot.
    half = WIRE[2].split(". ", 1)
    rows = article("src", WIRE) + article("rep", [WIRE[0], WIRE[1], *half], T0 + timedelta(1))
    out = result_map(find_duplicates(make_table(rows), DedupConfig()))
    assert out["rep-2"]["duplicate_of"] is None
    assert out["rep-1"]["duplicate_of"] == "src-1"


# ------------------------------------------------------------------- canonical copy rules


def _mixed_rows() -> list[dict]:
    paragraphs, _ = _reprint_edits()["typo_and_word_edits"]
    return (
        article("late", WIRE, T0 + timedelta(days=1))
        + article("early", paragraphs, T0)
        + article("nodate", WIRE, None)
        + article("same-time", WIRE, T0)
        + article("other", OTHER_REPORT, T0 - timedelta(days=3))
    )


def test_earliest_published_wins_nulls_last() -> None:
    out = result_map(find_duplicates(make_table(_mixed_rows()), DedupConfig()))
    for i in range(len(WIRE)):
        assert out[f"early-{i}"]["duplicate_of"] is None
        assert out[f"late-{i}"]["duplicate_of"] == f"early-{i}"
        assert out[f"nodate-{i}"]["duplicate_of"] == f"early-{i}"
        # Same timestamp as "early"; "early" < "same-time" by article_id.
        assert out[f"same-time-{i}"]["duplicate_of"] == f"early-{i}"
    assert all(out[f"other-{i}"]["cluster_id"] is None for i in range(len(OTHER_REPORT)))


def test_ties_broken_by_article_id_then_position() -> None:
    rows = article("b", WIRE) + article("a", WIRE)
    rows.append({"id": "a-9", "article": "a", "position": 9, "text": WIRE[1], "published": T0})
    out = result_map(find_duplicates(make_table(rows), DedupConfig()))
    assert out["b-1"]["duplicate_of"] == "a-1"
    assert out["a-9"]["duplicate_of"] == "a-1"
    assert out["a-1"]["duplicate_of"] is None


def test_kept_copy_is_independent_of_row_order_and_chunking() -> None:
    rows = _mixed_rows()
    expected = result_map(find_duplicates(make_table(rows), DedupConfig()))
    rng = random.Random(7)
    for _ in range(5):
        shuffled = rows[:]
        rng.shuffle(shuffled)
        table = make_table(shuffled)
        chunked = pa.concat_tables([table.slice(0, 7), table.slice(7)])
        for candidate in (table, chunked):
            got = find_duplicates(candidate, DedupConfig())
            assert got.column("paragraph_id").to_pylist() == [r["id"] for r in shuffled]
            assert result_map(got) == expected


def test_every_duplicate_points_at_a_kept_copy() -> None:
    out = find_duplicates(make_table(_mixed_rows()), DedupConfig()).to_pylist()
    kept = {r["paragraph_id"] for r in out if r["duplicate_of"] is None}
    for r in out:
        if r["duplicate_of"] is not None:
            assert r["duplicate_of"] in kept
            assert r["cluster_id"] == r["duplicate_of"]


def test_chain_is_not_transitive() -> None:
    # A~B and B~C above the threshold but A and C below it: C stays a kept copy.
    words = [f"w{i}" for i in range(40)]
    a = " ".join(words)
    b = " ".join(words[:34] + [f"x{i}" for i in range(6)])
    c = " ".join(words[:28] + [f"x{i}" for i in range(12)])
    rows = [
        {"id": "A", "article": "1", "position": 0, "text": a, "published": T0},
        {"id": "B", "article": "2", "position": 0, "text": b, "published": T0 + timedelta(1)},
        {"id": "C", "article": "3", "position": 0, "text": c, "published": T0 + timedelta(2)},
    ]
    config = DedupConfig(threshold=0.7, shingle_words=2)
    out = result_map(find_duplicates(make_table(rows), config))
    assert out["B"]["duplicate_of"] == "A"
    assert out["C"]["duplicate_of"] is None
    assert out["C"]["cluster_id"] is None


def test_ineligible_rows_are_untouched() -> None:
    rows = article("a", WIRE) + article("b", WIRE, T0 - timedelta(1), eligible=False)
    rows += article("c", WIRE, T0 + timedelta(1))
    out = result_map(find_duplicates(make_table(rows), DedupConfig()))
    for i in range(len(WIRE)):
        assert out[f"b-{i}"] == {
            "paragraph_id": f"b-{i}",
            "duplicate_of": None,
            "cluster_id": None,
            "similarity": None,
        }
        assert out[f"c-{i}"]["duplicate_of"] == f"a-{i}"


def test_empty_and_punctuation_only_texts_are_ignored() -> None:
    rows = [
        {"id": "x", "article": "1", "position": 0, "text": "* * *", "published": T0},
        {"id": "y", "article": "1", "position": 1, "text": "— — —", "published": T0},
        {"id": "z", "article": "1", "position": 2, "text": "", "published": T0},
    ]
    out = find_duplicates(make_table(rows), DedupConfig())
    assert out.column("duplicate_of").null_count == 3


def test_batch_size_does_not_change_the_result() -> None:
    table = make_table(_mixed_rows() + article("a", WIRE) + article("b", [WIRE[0]] * 3))
    expected = find_duplicates(table, DedupConfig())
    assert find_duplicates(table, DedupConfig(batch_size=3)).equals(expected)


def test_empty_table() -> None:
    out = find_duplicates(make_table([]), DedupConfig())
    assert out.num_rows == 0
    assert out.schema.names == ["paragraph_id", "duplicate_of", "cluster_id", "similarity"]


# ------------------------------------------------------------------------ persistent index


def with_results(table: pa.Table, out: pa.Table) -> pa.Table:
    """The run's input joined with its output, as the flow hands it to update_index."""
    for name in ("duplicate_of", "cluster_id", "similarity"):
        table = table.append_column(name, out.column(name))
    return table


def _publish(index_dir: Path, rows: list[dict], config: DedupConfig) -> pa.Table:
    """Dedup one run against the index, then record it as published; return its output."""
    table = make_table(rows)
    out = find_duplicates(table, config, index_dir)
    update_index(index_dir, with_results(table, out), config)
    return out


# ------------------------------------------------------------------- scope (issue #18)

STRUCTURE = [
    "Table of Contents",
    "FAQs",
    "Cons:",
    "- Unlimited contacts",
    "| Interface | Bluetooth |",
]


def test_short_and_structural_lines_of_unrelated_articles_are_kept(tmp_path: Path) -> None:
    """Headings, list items and table rows shared by two unrelated articles are content of
    both (the old rule removed them from the later one), in one run and across runs."""
    first = article("a", [WIRE[1], *STRUCTURE, WIRE[2]])
    second = article("b", [OTHER_REPORT[1], *STRUCTURE, OTHER_REPORT[2]], T0 + timedelta(1))
    out = find_duplicates(make_table(first + second))
    assert out.column("duplicate_of").null_count == out.num_rows
    _publish(tmp_path, first, DedupConfig())
    later = find_duplicates(make_table(second), DedupConfig(), tmp_path)
    assert later.column("duplicate_of").null_count == later.num_rows


def test_short_lines_are_copies_within_an_article_and_in_a_copied_article() -> None:
    """In a reprint (most of its words copy one article), its short lines are copies too; an
    unrelated article's same short line stays; a short line repeated in one article is a
    copy of its first occurrence."""
    original = [WIRE[0], "Here, in IT, we all love podcasts.", *WIRE[1:], "FAQs", "FAQs"]
    reprint = [WIRE[0], "Here, in IT, we all love podcasts!", *WIRE[1:4], "FAQs"]
    other = [OTHER_REPORT[0], "FAQs", *OTHER_REPORT[1:]]
    rows = (
        article("src", original)
        + article("rep", reprint, T0 + timedelta(hours=1))
        + article("other", other, T0 + timedelta(hours=2))
    )
    got = {k: v["duplicate_of"] for k, v in result_map(find_duplicates(make_table(rows))).items()}
    assert got["src-7"] == "src-6"  # repeated within its article
    assert [got[f"rep-{i}"] for i in range(6)] == [f"src-{i}" for i in range(5)] + ["src-6"]
    assert got["other-1"] is None


def test_a_long_paragraph_near_a_short_line_points_at_its_kept_copy() -> None:
    """A 13-word paragraph near-identical to a 12-word line of a copied article points at
    that line's kept copy, never at a paragraph that is itself a duplicate."""
    line = "The talks will resume next week in Geneva, the ministry said today."
    rows = (
        article("src", [line, *WIRE[1:]])
        + article("rep", [line, *WIRE[1:]], T0 + timedelta(hours=1))
        + article("ext", ["GENEVA: " + line, *OTHER_REPORT], T0 + timedelta(hours=2))
    )
    got = result_map(find_duplicates(make_table(rows)))
    assert got["rep-0"]["duplicate_of"] == "src-0"
    for row in got.values():
        if row["duplicate_of"] is not None:
            assert got[row["duplicate_of"]]["duplicate_of"] is None
