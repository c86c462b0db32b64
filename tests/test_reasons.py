"""The one vocabulary of labels and reasons: complete, used, documented, and what runs emit."""

from __future__ import annotations

import ast
import gzip
import json
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from tasks import reasons
from tasks.clean.document import process_document
from tasks.dedup.near_duplicates import DedupConfig
from tasks.dedup.runwide import label_articles
from tasks.models import Article, Rejected
from tasks.reasons import (
    BY_NAME,
    KEPT_LABELS,
    REASONS,
    REMOVED_LABELS,
    Label,
    Reason,
    Stage,
    markdown_table,
)
from tasks.report.run_report import LABEL_COLOURS

from .pages import PAGE, PROSE

ROOT = Path(__file__).resolve().parents[1]
# Where reasons are given: everything that runs in a pipeline run.
SOURCES = sorted([*(ROOT / "tasks").rglob("*.py"), *(ROOT / "flows").glob("*.py")])
STEPS = {
    reasons.DOM_FILTER,
    reasons.RULES,
    reasons.STRUCTURE,
    reasons.TITLE,
    reasons.MAIN_CONTENT,
    reasons.BODY,
    reasons.DEDUP,
    reasons.REPEATS,
    reasons.SITE_CHROME,
}


def test_every_reason_has_a_label_a_step_and_a_one_line_meaning():
    assert len(BY_NAME) == len(REASONS), "a reason is registered twice"
    for reason in REASONS:
        assert re.fullmatch(r"[a-z]+(?:_[a-z]+)*", reason.name), reason
        assert isinstance(reason.label, Label), reason
        assert reason.step in STEPS, reason
        meaning = reason.meaning
        assert meaning.endswith(".") and "\n" not in meaning and 10 < len(meaning) <= 100, reason


def test_every_label_is_given_by_some_reason():
    assert {reason.label for reason in REASONS} == set(Label)


def test_labels_are_kept_or_removed_and_the_suite_allows_exactly_them():
    assert {"title", "body"} == KEPT_LABELS
    assert set(REMOVED_LABELS) == set(Label) - KEPT_LABELS
    suite = json.loads((ROOT / "expectations" / "paragraphs.json").read_text(encoding="utf-8"))
    allowed = next(
        e["kwargs"]["value_set"]
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == "label"
    )
    assert allowed == [str(label) for label in Label]
    assert set(LABEL_COLOURS) == set(REMOVED_LABELS)  # the report draws every removed label


def _registry_constants() -> dict[str, Reason]:
    return {name: value for name, value in vars(reasons).items() if isinstance(value, Reason)}


def test_the_registry_tuple_holds_every_constant():
    assert set(_registry_constants().values()) == set(REASONS)


def _referenced_constants(path: Path) -> set[str]:
    """Names ``path`` imports from ``tasks.reasons`` or reads as ``reasons.NAME``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "tasks.reasons":
            found.update(alias.name for alias in node.names)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "reasons"
        ):
            found.add(node.attr)
    return found


def test_every_registered_reason_is_given_by_code():
    used = set().union(*(_referenced_constants(p) for p in SOURCES if p.name != "reasons.py"))
    dead = sorted(name for name in _registry_constants() if name not in used)
    assert dead == [], f"registered but no code refers to them: {dead}"


def _string_constants(path: Path) -> Iterable[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    for node in ast.walk(tree):
        is_string = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_string and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_code_spells_a_reason_itself():
    spelled = [
        f"{path.relative_to(ROOT)}:{line} {value!r}"
        for path in SOURCES
        if path.name != "reasons.py"
        for line, value in _string_constants(path)
        if value in BY_NAME
    ]
    assert spelled == []


def test_every_quarantine_stage_is_registered():
    stages = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Rejected"
            ):
                stage = node.args[0]
                if isinstance(stage, ast.Constant):
                    stages.append(stage.value)
                else:
                    assert isinstance(stage, ast.Attribute), ast.dump(stage)
                    assert isinstance(stage.value, ast.Name) and stage.value.id == "Stage"
                    stages.append(Stage[stage.attr].value)
    assert len(stages) > 10
    assert set(stages) == {str(stage) for stage in Stage}


def test_the_reasons_page_lists_exactly_the_registered_reasons():
    readme = (ROOT / "docs" / "reasons.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "docs/reasons.md is stale: python -m tasks.reasons"
    documented = re.findall(r"^\| `([a-z_]+)` \| `([a-z]+)` \|", readme, re.M)
    assert documented == [(r.name, str(r.label)) for r in REASONS]


def _assert_registered(articles: Iterable[Article]) -> set[str]:
    """Every paragraph's reason is registered, with the label the paragraph got."""
    emitted = {(p.reason, str(p.label)) for a in articles for p in a.paragraphs}
    unknown = sorted(pair for pair in emitted if pair[0] not in BY_NAME)
    assert unknown == [], f"emitted but not registered: {unknown}"
    mislabelled = sorted(pair for pair in emitted if BY_NAME[pair[0]].label != pair[1])
    assert mislabelled == [], f"emitted with another label than registered: {mislabelled}"
    return {reason for reason, _ in emitted}


def _run_wide(articles: list[Article]) -> list[Article]:
    """The run-wide steps a flow runs after the clean shards (dedup, repeats, site chrome)."""
    label_articles(articles, DedupConfig(), None)
    return articles


def _dump(n: int, extra: list[str]) -> bytes:
    """A whole-page text dump of a site's story ``n``: a menu, an ad, a byline, widgets."""
    menu = "Skip to content\nHome\nNews\nWorld\nPolitics\nBusiness\nSport"
    lines = [
        f"Harbour bridge to reopen, part {n}",
        menu,
        "Advertisement",
        "By Jane Doe and John Roe",
        *PROSE,
        *extra,
        "Share this article",
        "Sign in to read more",
        "Related:",
        "- Bridge works delayed again\n- Harbour ferry returns",
        "Copyright 2025 The Harbour Times. All rights reserved.",
    ]
    return "\n\n".join(lines).encode()


def test_reasons_emitted_on_small_pages_are_registered_with_their_label():
    extras = [[], [f"{PROSE[0]} More words follow in this longer copy of it."], []]
    articles = [process_document(_dump(n, e), f"site/{n}.txt") for n, e in enumerate(extras)]
    articles.append(process_document(PAGE.encode(), "other/page.html"))
    emitted = _assert_registered(_run_wide(articles))
    assert len(emitted) >= 10, emitted  # the pages exercise many steps, dedup among them
    assert {"menu_run", "ad_marker", "exact_duplicate", "near_duplicate"} <= emitted


def _pinned_pages() -> list[tuple[str, bytes]]:
    paths = [
        *sorted((ROOT / "seeds").glob("*.txt")),
        *sorted((ROOT / "tests" / "data").glob("*/html/*.html.gz")),
        *sorted((ROOT / "tests" / "data" / "readability_subset").glob("*/source.html.gz")),
    ]
    pages = []
    for path in paths:
        data = path.read_bytes()
        name = str(path.relative_to(ROOT))
        if name.endswith(".gz"):
            data, name = gzip.decompress(data), name.removesuffix(".gz")
        pages.append((name, data))
    return pages


@pytest.mark.slow
def test_reasons_emitted_on_the_pinned_pages_are_registered_with_their_label():
    pages = _pinned_pages()
    assert len(pages) > 100
    articles = []
    for name, data in pages:
        try:
            articles.append(process_document(data, name))
        except Rejected:
            continue
    emitted = _assert_registered(_run_wide(articles))
    assert len(emitted) >= 25, emitted
