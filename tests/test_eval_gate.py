"""CI evaluation gate: newsclean on the pinned subsets must stay above their floors.

The 40-page WCXB subset (html and text modes), and 30 pages each of trafilatura's evaluation
set and of Readability's test pages (html mode, scored as ``benchmarks.extraction`` scores the
full sets).

The floors below were set from a measured run minus a small margin (see the comment on each
table). Lowering a floor is an explicit, reviewed change: say in the commit which change made
the numbers drop and why that is acceptable. Raising one after an improvement is encouraged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest

from benchmarks.extraction import (
    Prediction,
    SetResult,
    SystemResult,
    corpus_prf,
    newsclean_system,
    run_set,
)
from benchmarks.wcxb import (
    READABILITY,
    READABILITY_SUBSET_DIR,
    SUBSET_DIR,
    TRAFILATURA_EVAL,
    TRAFILATURA_SUBSET_DIR,
    Page,
    iter_pages,
    iter_set,
    make_dump,
    verify_manifest,
)

# --- Floors (lowering one is an explicit reviewed change) ---------------------------------
# html mode, measured 2026-11-22 with the DOM-position filter (tasks.extract.domblocks; trafilatura
# 2.3.1): shingle F1 .959, P .960, with kept .921, without left .031, author 22/27 = .815,
# date 28/34 = .824, false values 0/13 and 4/6. (Before the filter: P .955, with kept .931,
# without left .071; the filter trades a little "with" for far less chrome, so the "with"
# floor moved down .01 and the precision floor and chrome ceiling tightened.)
# Margins: ~.015 on body scores, one page on metadata accuracy and false values.
HTML_FLOORS: dict[str, float] = {
    "shingle_f1": 0.945,
    "shingle_precision": 0.945,
    "with_kept": 0.905,
    "author_accuracy": 0.77,
    "date_accuracy": 0.79,
}
# text mode (whole-page dumps made with html_text; the text path of issue 4), measured the
# same day: shingle F1 .935, P .901, with kept .943, without left .064.
TEXT_FLOORS: dict[str, float] = {
    "shingle_f1": 0.920,
    "shingle_precision": 0.885,
    "with_kept": 0.925,
}
# Lower is better for these: share of "without" snippets (chrome) left in the output, and
# metadata values given where the truth has none.
# without_left: .031 with the DOM filter's WCXB-chosen cutoff; .046 since the filter drops a
# paragraph only below a 0.2 article-text probability (2026-12-02; ExtractConfig.chrome_below),
# which keeps article text it dropped on the two other development sets.
HTML_CEILINGS: dict[str, float] = {
    "without_left": 0.06,
    "author_false_values": 1,
    "date_false_values": 5,
}
TEXT_CEILINGS: dict[str, float] = {"without_left": 0.08}


def gate_failures(
    summary: dict[str, Any], floors: dict[str, float], ceilings: dict[str, float]
) -> list[str]:
    """The broken floors and ceilings of ``summary`` (a ``SystemResult.summary()``), by name."""
    failures = []
    for name, floor in floors.items():
        value = summary[name]
        if value is None or value < floor:
            failures.append(f"{name} = {value} is below its floor {floor}")
    for name, ceiling in ceilings.items():
        value = summary[name]
        if value is None or value > ceiling:
            failures.append(f"{name} = {value} is above its ceiling {ceiling}")
    return failures


Predictions = list[tuple[Page, Prediction]]


def _predict(mode: str) -> Predictions:
    from tasks.clean.document import process_document

    system = newsclean_system(process_document, mode)
    pages = list(iter_pages(SUBSET_DIR))
    return [
        (page, system.predict(page, make_dump(page.html_text) if mode == "text" else None))
        for page in pages
    ]


Transform = Callable[[Page, Prediction], Prediction]


def score(predictions: Predictions, transform: Transform | None = None) -> dict[str, Any]:
    """Summary of ``predictions`` as the harness computes it (optionally transformed first)."""
    result = SystemResult("newsclean", predicts_metadata=True)
    for page, prediction in predictions:
        result.add(page, transform(page, prediction) if transform else prediction)
    return result.summary()


@pytest.fixture(scope="module")
def subset_intact() -> None:
    problems = verify_manifest(SUBSET_DIR)
    assert problems == [], f"pinned subset differs from its MANIFEST.json: {problems[:5]}"


@pytest.fixture(scope="module")
def html_predictions(subset_intact: None) -> Predictions:
    return _predict("html")


@pytest.fixture(scope="module")
def text_predictions(subset_intact: None) -> Predictions:
    return _predict("text")


def test_subset_matches_its_manifest(subset_intact: None) -> None:
    assert len(list(iter_pages(SUBSET_DIR))) == 40


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_html_mode_stays_above_its_floors(html_predictions: Predictions) -> None:
    summary = score(html_predictions)
    assert summary["errors"] == 0
    assert gate_failures(summary, HTML_FLOORS, HTML_CEILINGS) == []


@pytest.mark.slow
def test_text_mode_stays_above_its_floors(text_predictions: Predictions) -> None:
    summary = score(text_predictions)
    assert summary["errors"] == 0
    assert gate_failures(summary, TEXT_FLOORS, TEXT_CEILINGS) == []


def _first_half(page: Page, prediction: Prediction) -> Prediction:
    words = prediction.text.split(" ")
    return replace(prediction, text=" ".join(words[: len(words) // 2]))


def _broken(failures: Sequence[str]) -> set[str]:
    return {failure.split(" = ")[0] for failure in failures}


@pytest.mark.slow
def test_gate_fails_when_the_text_loses_its_second_half(html_predictions: Predictions) -> None:
    failures = gate_failures(score(html_predictions, _first_half), HTML_FLOORS, HTML_CEILINGS)
    assert {"shingle_f1", "with_kept"} <= _broken(failures)


@pytest.mark.slow
def test_gate_fails_when_metadata_is_dropped_or_chrome_kept(html_predictions: Predictions) -> None:
    def no_metadata(page: Page, prediction: Prediction) -> Prediction:
        return replace(prediction, authors=None, published=None)

    assert {"author_accuracy", "date_accuracy"} <= _broken(
        gate_failures(score(html_predictions, no_metadata), HTML_FLOORS, HTML_CEILINGS)
    )

    def whole_page(page: Page, prediction: Prediction) -> Prediction:
        return replace(prediction, text=make_dump(page.html_text))

    assert {"shingle_precision", "without_left"} <= _broken(
        gate_failures(score(html_predictions, whole_page), HTML_FLOORS, HTML_CEILINGS)
    )


# --- The two other development sets (pinned 30-page subsets, attribution in their READMEs) ---
# html mode, measured 2026-12-02 (trafilatura 2.3.1): snippet F1 .946 (P .936, R .957) on
# trafilatura-eval, shingle F1 .933 (P .974, R .895) on Readability; floors ~.02 below.
OTHER_SET_FLOORS: dict[str, float] = {
    TRAFILATURA_EVAL: 0.925,
    READABILITY: 0.91,
}
OTHER_SUBSETS = {TRAFILATURA_EVAL: TRAFILATURA_SUBSET_DIR, READABILITY: READABILITY_SUBSET_DIR}


def _other_set(name: str) -> SetResult:
    from tasks.clean.document import process_document

    directory = OTHER_SUBSETS[name]
    problems = verify_manifest(directory)
    assert problems == [], f"pinned subset differs from its MANIFEST.json: {problems[:5]}"
    system = newsclean_system(process_document, "html")
    return run_set(name, "html", iter_set(name, directory), [system])[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(OTHER_SET_FLOORS))
def test_other_sets_stay_above_their_floors(name: str) -> None:
    result = _other_set(name)
    assert result.pages == 30 and result.errors == []
    f1 = corpus_prf(name, result.matrix()).f1
    assert f1 >= OTHER_SET_FLOORS[name], f"{name}: F1 {f1:.3f} below {OTHER_SET_FLOORS[name]}"
    if name == READABILITY:
        # The subset's one page that is not an article is quarantined, not published.
        assert result.non_articles == 1 and result.non_article_quarantined == 1
