"""Scoring functions for main-content extraction, as used by the WCXB evaluation harness.

Two body metrics are computed per page and then aggregated over pages:

* bag of words (WCXB's own metric): lower-cased ``\\w+`` tokens as a multiset. It ignores word
  order, so a text with its paragraphs shuffled or its boilerplate words also present in the
  article still scores well. Corpus P, R and F1 are the averages of the per-page values.
* 4-word shingles over case-sensitive ``\\w+`` tokens, also as multisets (stricter: order,
  case and the context of each word matter). Corpus P and R are the averages of the per-page
  values and the corpus F1 is the F1 of those two averages.

Edge cases, identical for both metrics (they follow WCXB's ``evaluate.py``):

* truth and prediction both empty: P = R = F1 = 1 (nothing to find and nothing returned);
* exactly one of them empty: P = R = F1 = 0 (an empty output scores no precision, so giving up
  is never rewarded; output where no article exists is wrong).

"Empty" means no ``\\w+`` token. A non-empty text shorter than four tokens has one shingle made of
all its tokens, so a short prediction or truth is still compared instead of vanishing.

Snippets, titles and authors are compared after :func:`normalize_for_match`: Unicode NFKC,
typographic quotes and dashes mapped to ASCII, whitespace collapsed, case folded. Case is ignored
because CSS ``text-transform`` and headline styles change case without changing the content;
quotes and dashes because the annotations and the pages disagree on them (``That's`` against
``That’s``), which says nothing about the extraction.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

SHINGLE_SIZE = 4

_WORD = re.compile(r"\w+")
_WHITESPACE = re.compile(r"\s+")
_DATE_PART = re.compile(r"^\s*(\d{4}-\d{2}(?:-\d{2})?)")
_TYPOGRAPHY = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "―": "-",
        "−": "-",
    }
)
# Words that join names in a byline; they are not part of any name.
_AUTHOR_CONNECTORS = frozenset({"and", "by"})


@dataclass(frozen=True, slots=True)
class PRF:
    """Precision, recall and F1 of one page or of a corpus."""

    precision: float
    recall: float
    f1: float


def f1_score(precision: float, recall: float) -> float:
    """Harmonic mean of ``precision`` and ``recall``; 0 when both are 0."""
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


def multiset_prf(predicted: Counter, truth: Counter) -> PRF:
    """P/R/F1 of two multisets: the overlap is the multiset intersection (minimum counts)."""
    predicted_size = sum(predicted.values())
    truth_size = sum(truth.values())
    if not predicted_size or not truth_size:
        score = 1.0 if predicted_size == truth_size else 0.0
        return PRF(score, score, score)
    overlap = sum((predicted & truth).values())
    precision = overlap / predicted_size
    recall = overlap / truth_size
    return PRF(precision, recall, f1_score(precision, recall))


def word_bag(text: str) -> Counter:
    """Lower-cased ``\\w+`` tokens of ``text`` as a multiset."""
    return Counter(_WORD.findall(text.lower()))


def shingle_bag(text: str, size: int = SHINGLE_SIZE) -> Counter:
    """Multiset of ``size``-token shingles over the case-sensitive ``\\w+`` tokens of ``text``."""
    tokens = _WORD.findall(text)
    if not tokens:
        return Counter()
    if len(tokens) < size:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def bag_of_words_prf(predicted: str, truth: str) -> PRF:
    """Per-page bag-of-words precision, recall and F1 (WCXB's metric)."""
    return multiset_prf(word_bag(predicted), word_bag(truth))


def shingle_prf(predicted: str, truth: str) -> PRF:
    """Per-page 4-word-shingle precision, recall and F1."""
    return multiset_prf(shingle_bag(predicted), shingle_bag(truth))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def corpus_bag_of_words(pages: Sequence[PRF]) -> PRF:
    """Corpus bag-of-words score: the plain averages of per-page P, R and F1, as WCXB reports."""
    return PRF(
        _mean([p.precision for p in pages]),
        _mean([p.recall for p in pages]),
        _mean([p.f1 for p in pages]),
    )


def corpus_shingles(pages: Sequence[PRF]) -> PRF:
    """Corpus shingle score: averaged per-page P and R, and the F1 of those two averages."""
    precision = _mean([p.precision for p in pages])
    recall = _mean([p.recall for p in pages])
    return PRF(precision, recall, f1_score(precision, recall))


def normalize_for_match(text: str) -> str:
    """Normalise text for snippet, title and author comparison (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    return _WHITESPACE.sub(" ", text).strip().casefold()


def snippets_present(predicted: str, snippets: Iterable[str]) -> tuple[int, int]:
    """Return (snippets found in ``predicted``, snippets checked), both after normalisation.

    A snippet is found when its normalised text is a substring of the normalised prediction.
    Snippets that normalise to an empty string are not checked.
    """
    haystack = normalize_for_match(predicted)
    needles = [n for n in (normalize_for_match(s) for s in snippets) if n]
    return sum(n in haystack for n in needles), len(needles)


def snippet_share(predicted: str, snippets: Iterable[str]) -> float | None:
    """Share of ``snippets`` present in ``predicted``; None when there is nothing to check.

    Used for both ``with`` snippets (share kept, higher is better) and ``without`` snippets (share
    left in, lower is better). None lets the corpus average skip pages without snippets, where
    WCXB would count a vacuous 100 %.
    """
    found, checked = snippets_present(predicted, snippets)
    return found / checked if checked else None


def mean_defined(values: Iterable[float | None]) -> float | None:
    """Average of the values that are not None; None when there are none."""
    defined = [v for v in values if v is not None]
    return _mean(defined) if defined else None


def is_blank(value: object) -> bool:
    """True for None, empty or whitespace-only strings and empty sequences."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Sequence):
        return all(is_blank(v) for v in value)
    return False


def title_matches(predicted: str | None, truth: str | None) -> bool:
    """Normalised exact match of two titles; a missing title matches only a missing title."""
    if is_blank(predicted) or is_blank(truth):
        return is_blank(predicted) and is_blank(truth)
    return normalize_for_match(predicted) == normalize_for_match(truth)


def author_tokens(authors: str | Sequence[str] | None) -> frozenset[str]:
    """Set of name words in a byline or list of authors, without joining words (and, by).

    Separators (commas, semicolons, ampersands) and order do not matter, so ``"A B and C D"``,
    ``"C D; A B"`` and ``["A B", "C D"]`` are the same authors. Credentials that the truth lists
    (``"MS, RD"``) are part of the byline and must be predicted too.
    """
    if authors is None:
        return frozenset()
    text = authors if isinstance(authors, str) else " , ".join(authors)
    words = _WORD.findall(normalize_for_match(text))
    return frozenset(w for w in words if w not in _AUTHOR_CONNECTORS)


def authors_match(predicted: str | Sequence[str] | None, truth: str | Sequence[str] | None) -> bool:
    """True when both bylines have the same name words (see :func:`author_tokens`)."""
    return author_tokens(predicted) == author_tokens(truth)


def date_part(value: str | date | datetime | None) -> str | None:
    """The calendar date of ``value`` as ``YYYY-MM-DD`` (or ``YYYY-MM`` when only that is known).

    Datetimes are taken as given, without time-zone conversion. Strings must start with an ISO
    date; anything else gives None.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    match = _DATE_PART.match(value)
    return match.group(1) if match else None


def dates_match(
    predicted: str | date | datetime | None, truth: str | date | datetime | None
) -> bool:
    """Compare two dates on their date part.

    A truth known only to the month (``2003-11``) matches any predicted day of that month.
    """
    predicted_part, truth_part = date_part(predicted), date_part(truth)
    if predicted_part is None or truth_part is None:
        return predicted_part is None and truth_part is None
    return predicted_part[: len(truth_part)] == truth_part


@dataclass(frozen=True, slots=True)
class FieldScore:
    """Outcome of one metadata field on one page.

    ``correct`` is None when the truth has no value (the page does not count towards accuracy);
    ``false_value`` is True when the truth has no value but the prediction gives one.
    """

    correct: bool | None
    false_value: bool


def score_field(predicted: object, truth: object, matches: bool) -> FieldScore:
    """Classify one field: accuracy counts pages with a true value, false values the others."""
    if is_blank(truth):
        return FieldScore(correct=None, false_value=not is_blank(predicted))
    return FieldScore(correct=matches, false_value=False)


def accuracy(scores: Iterable[FieldScore]) -> float | None:
    """Share of correct fields among pages whose truth has a value; None if there are none."""
    return mean_defined(None if s.correct is None else float(s.correct) for s in scores)


def false_values(scores: Iterable[FieldScore]) -> int:
    """Number of pages where the truth is empty but a value was predicted."""
    return sum(s.false_value for s in scores)


@dataclass(frozen=True, slots=True)
class SnippetCounts:
    """trafilatura's evaluation counts for one page (its ``evaluate.py``).

    A ``with`` segment found is a true positive, missed a false negative; a ``without`` segment
    found is a false positive, absent a true negative.
    """

    true_positives: int
    false_negatives: int
    false_positives: int
    true_negatives: int


def _collapse(text: str) -> str:
    return " ".join(text.split())


def snippet_counts(predicted: str, with_: Iterable[str], without: Iterable[str]) -> SnippetCounts:
    """Count ``with`` / ``without`` segments in ``predicted`` after collapsing whitespace only.

    trafilatura's own evaluation compares case-sensitively, so this does too: the set's figures
    (F1 0.924 for trafilatura 2.2) stay comparable.
    """
    haystack = _collapse(predicted)
    found_with = [_collapse(s) in haystack for s in with_]
    found_without = [_collapse(s) in haystack for s in without]
    return SnippetCounts(
        sum(found_with),
        len(found_with) - sum(found_with),
        sum(found_without),
        len(found_without) - sum(found_without),
    )


def corpus_snippets(pages: Sequence[SnippetCounts]) -> PRF:
    """Precision, recall and F1 over the counts summed across pages, as trafilatura reports."""
    tp = sum(p.true_positives for p in pages)
    fp = sum(p.false_positives for p in pages)
    fn = sum(p.false_negatives for p in pages)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return PRF(precision, recall, f1_score(precision, recall))


BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 20261202


def _f1_rows(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    total = precision + recall
    f1: np.ndarray = np.divide(
        2 * precision * recall, total, out=np.zeros_like(total), where=total > 0
    )
    return f1


def resampled_f1(columns: np.ndarray, kind: str, rows: np.ndarray) -> np.ndarray:
    """Corpus F1 of each resample: ``rows`` (samples x pages) indexes ``columns``' pages.

    ``kind`` ``"mean"``: columns are per-page precision and recall, corpus F1 is the F1 of
    their averages (WCXB shingles). ``"sum"``: columns are per-page TP, FP, FN counts, corpus
    F1 is that of their sums (trafilatura's snippets).
    """
    picked = columns[rows]  # samples x pages x columns
    if kind == "mean":
        means = picked.mean(axis=1)
        return _f1_rows(means[:, 0], means[:, 1])
    sums = picked.sum(axis=1)
    tp, fp, fn = sums[:, 0], sums[:, 1], sums[:, 2]
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp + fp > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=tp + fn > 0)
    return _f1_rows(precision, recall)


def bootstrap_rows(pages: int, samples: int = BOOTSTRAP_SAMPLES) -> np.ndarray:
    """Page indices of ``samples`` resamples with replacement; the same seed every run."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    return rng.integers(0, pages, size=(samples, pages))


def interval(values: np.ndarray) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of bootstrap values: a 95 % interval."""
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_f1(columns: np.ndarray, kind: str) -> tuple[float, float]:
    """95 % bootstrap interval of the corpus F1, resampling pages."""
    if len(columns) == 0:
        return (0.0, 0.0)
    return interval(resampled_f1(columns, kind, bootstrap_rows(len(columns))))


def paired_difference(a: np.ndarray, b: np.ndarray, kind: str) -> tuple[float, float, float]:
    """Corpus F1 of ``a`` minus that of ``b`` on the same pages, with its 95 % interval.

    Both are resampled with the same page indices, so the interval is that of the per-page
    differences, much narrower than two independent intervals.
    """
    everything = np.arange(len(a))[None, :]
    point = float(resampled_f1(a, kind, everything)[0] - resampled_f1(b, kind, everything)[0])
    if len(a) == 0:
        return (point, point, point)
    rows = bootstrap_rows(len(a))
    low, high = interval(resampled_f1(a, kind, rows) - resampled_f1(b, kind, rows))
    return point, low, high


def _line_words(text: str) -> str:
    return " ".join(normalize_for_match(word) for word in _WORD.findall(text))


def truth_occurrences(line: str, truth_lines: Sequence[str]) -> int:
    """How often the truth holds ``line``: its lines with the same words (case, punctuation
    and bullets aside), or, when none has, the lines that contain those words in a row (a
    sentence repeated inside a paragraph). ``truth_lines`` from :func:`truth_line_words`."""
    words = _line_words(line)
    if not words:
        return 0
    equal = sum(candidate == words for candidate in truth_lines)
    return equal or sum(f" {words} " in f" {candidate} " for candidate in truth_lines)


def truth_line_words(truth: str) -> list[str]:
    """The truth's lines as :func:`truth_occurrences` compares them."""
    return [_line_words(line) for line in truth.splitlines()]


@dataclass(frozen=True, slots=True)
class RepeatCounts:
    """Paragraphs removed as repeats within their article, judged by the truth: ``repeated``
    are lines the truth holds two or more times (its own structure, wrongly removed),
    ``surplus`` lines it lacks or holds once (rightly removed)."""

    repeated: int = 0
    surplus: int = 0

    def __add__(self, other: RepeatCounts) -> RepeatCounts:
        return RepeatCounts(self.repeated + other.repeated, self.surplus + other.surplus)


def repeat_counts(removed: Iterable[str], truth: str) -> RepeatCounts:
    """:class:`RepeatCounts` of the ``removed`` repeats of one page against its truth."""
    lines = truth_line_words(truth)
    held = [truth_occurrences(line, lines) for line in removed]
    twice = sum(count >= 2 for count in held)
    return RepeatCounts(twice, len(held) - twice)
