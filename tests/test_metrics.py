"""Hand-checked cases for the benchmark metrics; expected values are worked out in comments."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from benchmarks import metrics
from benchmarks.metrics import PRF
from benchmarks.wcxb import SUBSET_DIR, build_manifest, verify_manifest


def assert_prf(actual: PRF, precision: float, recall: float, f1: float) -> None:
    assert actual.precision == pytest.approx(precision)
    assert actual.recall == pytest.approx(recall)
    assert actual.f1 == pytest.approx(f1)


# --- bag of words -------------------------------------------------------------------------------


def test_word_bag_is_lower_cased_multiset_of_word_tokens() -> None:
    # "The", "the" -> the x2; "cat", "CAT" -> cat x2; punctuation is not a token.
    assert metrics.word_bag("The cat, the CAT!") == Counter({"the": 2, "cat": 2})


def test_bag_of_words_extra_word_costs_precision_only() -> None:
    # pred: the cat sat on the mat today (7 tokens); truth: the cat sat on the mat (6).
    # overlap = the 2 + cat + sat + on + mat = 6 -> P = 6/7, R = 6/6 = 1,
    # F1 = 2 * 6/7 * 1 / (6/7 + 1) = (12/7) / (13/7) = 12/13.
    result = metrics.bag_of_words_prf("the cat sat on the mat today", "The cat sat on the mat")
    assert_prf(result, 6 / 7, 1.0, 12 / 13)


def test_bag_of_words_counts_repeats_with_minimum_counts() -> None:
    # pred {a: 3, b: 1} (4 tokens), truth {a: 1, b: 2} (3 tokens): overlap = min(3,1) + min(1,2)
    # = 2 -> P = 2/4 = 0.5, R = 2/3, F1 = 2 * 0.5 * 2/3 / (0.5 + 2/3) = (2/3) / (7/6) = 4/7.
    assert_prf(metrics.bag_of_words_prf("a a a b", "a b b"), 0.5, 2 / 3, 4 / 7)


def test_bag_of_words_ignores_order_and_case() -> None:
    # Same multiset {hello: 1, world: 1} on both sides.
    assert_prf(metrics.bag_of_words_prf("World hello", "hello world"), 1.0, 1.0, 1.0)


# --- shingles -----------------------------------------------------------------------------------


def test_shingle_bag_windows_of_four_and_short_texts() -> None:
    # 5 tokens -> windows starting at token 1 and 2.
    assert metrics.shingle_bag("one two three four five") == Counter(
        {("one", "two", "three", "four"): 1, ("two", "three", "four", "five"): 1}
    )
    # Fewer than 4 tokens: one shingle of all of them; no token: no shingle.
    assert metrics.shingle_bag("one two") == Counter({("one", "two"): 1})
    assert metrics.shingle_bag(" ... ") == Counter()


def test_shingles_prefix_of_truth() -> None:
    # truth alpha..zeta (6 tokens) -> 3 shingles: abgd, bgde, gdez.
    # pred alpha..epsilon (5 tokens) -> 2 shingles: abgd, bgde, both in truth.
    # P = 2/2 = 1, R = 2/3, F1 = 2 * 1 * 2/3 / (1 + 2/3) = (4/3) / (5/3) = 0.8.
    truth = "alpha beta gamma delta epsilon zeta"
    assert_prf(metrics.shingle_prf("alpha beta gamma delta epsilon", truth), 1.0, 2 / 3, 0.8)


def test_shingles_punish_reordering_that_bag_of_words_ignores() -> None:
    # Rotated text: shingles (delta epsilon zeta alpha), (epsilon zeta alpha beta),
    # (zeta alpha beta gamma) - none is in the truth -> all zero; the bags of words are equal.
    truth = "alpha beta gamma delta epsilon zeta"
    rotated = "delta epsilon zeta alpha beta gamma"
    assert_prf(metrics.shingle_prf(rotated, truth), 0.0, 0.0, 0.0)
    assert_prf(metrics.bag_of_words_prf(rotated, truth), 1.0, 1.0, 1.0)


def test_shingles_are_case_sensitive() -> None:
    # ("Apple", "pie", "is", "good") != ("apple", "pie", "is", "good").
    assert_prf(metrics.shingle_prf("Apple pie is good", "apple pie is good"), 0.0, 0.0, 0.0)


@pytest.mark.parametrize("score", [metrics.bag_of_words_prf, metrics.shingle_prf])
def test_empty_edge_cases(score) -> None:
    # Both empty: perfect. One side empty: zero, whichever side it is.
    # Text without any \w token ("— ...") counts as empty.
    assert_prf(score("", ""), 1.0, 1.0, 1.0)
    assert_prf(score("— ...", ""), 1.0, 1.0, 1.0)
    assert_prf(score("", "some article text here"), 0.0, 0.0, 0.0)
    assert_prf(score("menu login subscribe now", ""), 0.0, 0.0, 0.0)


def test_corpus_aggregation_differs_between_metrics() -> None:
    # Page 1: P=1, R=0.2, F1 = 2*0.2/1.2 = 1/3. Page 2: P=0.2, R=1, F1 = 1/3.
    # Averages: P = 0.6, R = 0.6.
    # Bag of words (WCXB): F1 = mean(1/3, 1/3) = 1/3.
    # Shingles: F1 of the averages = 2*0.6*0.6/1.2 = 0.6.
    pages = [PRF(1.0, 0.2, 1 / 3), PRF(0.2, 1.0, 1 / 3)]
    assert_prf(metrics.corpus_bag_of_words(pages), 0.6, 0.6, 1 / 3)
    assert_prf(metrics.corpus_shingles(pages), 0.6, 0.6, 0.6)


# --- snippets -----------------------------------------------------------------------------------


def test_snippets_match_after_whitespace_case_and_typography_normalisation() -> None:
    prediction = "Hello   World.\nThe “quick” fox — jumps."
    # Normalised prediction: 'hello world. the "quick" fox - jumps.'
    # "hello\tworld" -> found; 'The "Quick" fox - jumps' -> found; "lazy dog" -> not found.
    snippets = ["hello\tworld", 'The "Quick" fox - jumps', "lazy dog"]
    assert metrics.snippets_present(prediction, snippets) == (2, 3)
    assert metrics.snippet_share(prediction, snippets) == pytest.approx(2 / 3)


def test_snippet_share_is_undefined_without_snippets() -> None:
    # No snippet (or only blank ones) -> nothing to check -> None, skipped by mean_defined.
    assert metrics.snippet_share("text", []) is None
    assert metrics.snippet_share("text", ["  \n"]) is None
    # mean of the defined values 0.5 and 1.0 = 0.75.
    assert metrics.mean_defined([0.5, None, 1.0]) == pytest.approx(0.75)
    assert metrics.mean_defined([None]) is None


# --- titles, authors, dates ---------------------------------------------------------------------


def test_title_normalised_exact_match() -> None:
    assert metrics.title_matches("  The  ‘Best’ Title ", "the 'best' title")
    # A site-name suffix is a different title.
    assert not metrics.title_matches("The Best Title | Example News", "The Best Title")
    assert not metrics.title_matches(None, "The Best Title")
    assert metrics.title_matches(None, "")


def test_authors_match_ignores_separators_order_and_joining_words() -> None:
    assert metrics.authors_match(["John Smith", "Jane Doe"], "Jane Doe and John Smith")
    assert metrics.authors_match("Jane Doe; John Smith", "Jane Doe, John Smith")
    assert metrics.authors_match("By Jane Doe", "jane doe")
    # A missing co-author or a missing credential is a mismatch.
    assert not metrics.authors_match("Jane Doe", "Jane Doe, John Smith")
    assert not metrics.authors_match(["Dylan Bailey"], "Dylan Bailey, MS, RD")
    assert not metrics.authors_match([], "Jane Doe")


def test_date_part() -> None:
    # 23:30 at UTC+10 is still 4 September in the datetime's own zone: no conversion.
    late = datetime(2025, 9, 4, 23, 30, tzinfo=timezone(timedelta(hours=10)))
    assert metrics.date_part(late) == "2025-09-04"
    assert metrics.date_part(date(2025, 9, 4)) == "2025-09-04"
    assert metrics.date_part("2025-09-04T10:00:00Z") == "2025-09-04"
    assert metrics.date_part("2003-11") == "2003-11"
    assert metrics.date_part("September 4, 2025") is None


def test_dates_match_on_date_part() -> None:
    assert metrics.dates_match(datetime(2025, 9, 4, 5, 50), "2025-09-04")
    assert not metrics.dates_match("2025-09-05", "2025-09-04")
    # Truth known to the month only: any day of that month matches, another month does not.
    assert metrics.dates_match("2003-11-05", "2003-11")
    assert not metrics.dates_match("2003-12-05", "2003-11")
    assert not metrics.dates_match(None, "2025-09-04")


def test_field_accuracy_and_false_values() -> None:
    scores = [
        # truth "A", predicted "A": counts for accuracy, correct.
        metrics.score_field("A", "A", metrics.authors_match("A", "A")),
        # truth "A", nothing predicted: counts for accuracy, wrong.
        metrics.score_field(None, "A", metrics.authors_match(None, "A")),
        # truth empty, "B" predicted: not in accuracy, one false value.
        metrics.score_field("B", None, metrics.authors_match("B", None)),
        # truth empty, nothing predicted ([] is blank): neither.
        metrics.score_field([], "", metrics.authors_match([], "")),
    ]
    # accuracy = 1 correct / 2 pages with a true value = 0.5; false values = 1.
    assert metrics.accuracy(scores) == pytest.approx(0.5)
    assert metrics.false_values(scores) == 1
    assert metrics.accuracy(scores[2:]) is None


# --- subset manifest ----------------------------------------------------------------------------


def test_verify_manifest_reports_changed_missing_and_extra_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("two")
    manifest = {"files": build_manifest(tmp_path)}
    (tmp_path / "MANIFEST.json").write_text(json.dumps(manifest))
    assert verify_manifest(tmp_path) == []

    (tmp_path / "a.txt").write_text("changed")
    (tmp_path / "sub" / "b.txt").unlink()
    (tmp_path / "c.txt").write_text("new")
    assert verify_manifest(tmp_path) == [
        "missing: sub/b.txt",
        "not in manifest: c.txt",
        "digest mismatch: a.txt",
    ]


def test_pinned_subset_matches_its_manifest() -> None:
    assert verify_manifest(SUBSET_DIR) == []


# --- trafilatura's snippet scoring and the bootstrap --------------------------------------------


def test_snippet_counts_collapse_whitespace_and_keep_case() -> None:
    counts = metrics.snippet_counts(
        "The  pier\nreopens today. Menu Home", ["The pier reopens", "the pier"], ["Menu", "Footer"]
    )
    # "the pier" is not found: trafilatura's evaluation is case-sensitive.
    assert counts == metrics.SnippetCounts(1, 1, 1, 1)


def test_corpus_snippets_sum_counts_before_dividing() -> None:
    pages = [metrics.SnippetCounts(3, 1, 0, 2), metrics.SnippetCounts(0, 2, 2, 0)]
    # TP 3, FN 3, FP 2: P = 3/5, R = 3/6, F1 = 2 * .6 * .5 / 1.1
    assert_prf(metrics.corpus_snippets(pages), 0.6, 0.5, 0.6 / 1.1)


def test_bootstrap_interval_holds_the_point_and_is_reproducible() -> None:
    columns = [[0.9, 0.8], [0.5, 0.6], [1.0, 1.0], [0.7, 0.9]] * 5

    matrix = np.array(columns)
    low, high = metrics.bootstrap_f1(matrix, "mean")
    point = metrics.corpus_shingles([PRF(p, r, 0) for p, r in columns]).f1
    assert low < point < high
    assert metrics.bootstrap_f1(matrix, "mean") == (low, high)


def test_paired_difference_of_identical_systems_is_exactly_zero() -> None:

    counts = np.array([[3, 0, 1], [1, 2, 0], [4, 1, 1]], dtype=float)
    assert metrics.paired_difference(counts, counts, "sum") == (0.0, 0.0, 0.0)
    better = counts + np.array([1, -0.0, -1])
    point, low, high = metrics.paired_difference(better, counts, "sum")
    assert point > 0 and low <= point <= high
