"""The step contract: every step counts in one unit, kept or dropped with a registered reason."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tasks.clean.classify import ClassifyStep
from tasks.clean.document import process_document, process_shard
from tasks.config import PipelineConfig
from tasks.models import InputRef
from tasks.reasons import BY_NAME, KEPT_LABELS, Stage
from tasks.stats import StepStats, Unit, merge_stats

from .pages import PROSE


def test_stats_carry_their_unit_into_the_summary_row():
    stats = StepStats("classify", Unit.PARAGRAPHS)
    stats.keep(3)
    stats.drop("ad_marker", 2)
    row = stats.as_dict()
    assert row["unit"] == "paragraphs"
    assert (row["total"], row["kept"], row["dropped"]) == (5, 3, {"ad_marker": 2})


def test_stats_of_one_step_add_up_across_shards_and_never_across_units():
    shards = [
        [StepStats("clean", Unit.DOCUMENTS, 2, 1, Counter({"extract": 1}), 0.5)],
        [StepStats("clean", Unit.DOCUMENTS, 3, 3, Counter(), 0.25)],
    ]
    (merged,) = merge_stats(shards)
    assert (merged.unit, merged.total, merged.kept, merged.seconds) == (Unit.DOCUMENTS, 5, 4, 0.75)
    assert merged.dropped == {"extract": 1}
    with pytest.raises(ValueError, match="paragraphs"):
        merged.merge(StepStats("clean", Unit.PARAGRAPHS, 1, 1))


def _page(title: str) -> bytes:
    return "\n\n".join([title, "Advertisement", "By Jane Doe", *PROSE]).encode()


def test_the_classify_step_counts_every_paragraph_once_by_its_reason():
    stats = StepStats(ClassifyStep.name, ClassifyStep.unit)
    article = process_document(_page("Harbour bridge to reopen"), "a.txt", classify_stats=stats)
    assert stats.unit == Unit.PARAGRAPHS
    assert stats.total == len(article.paragraphs) == article.paragraphs_in
    assert stats.kept == sum(p.label in KEPT_LABELS for p in article.paragraphs)
    removed = Counter(p.reason for p in article.paragraphs if p.label not in KEPT_LABELS)
    assert stats.dropped == removed and {"ad_marker", "byline"} <= set(removed)
    assert all(BY_NAME[reason].label not in KEPT_LABELS for reason in stats.dropped)
    assert stats.seconds > 0


def test_a_shard_counts_documents_and_paragraphs_in_separate_steps(tmp_path: Path):
    files = {"a.txt": _page("Bridge to reopen"), "b.txt": _page("Ferry returns"), "c.txt": b""}
    refs = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        refs.append(InputRef(name, str(tmp_path / name)))
    result = process_shard(refs, PipelineConfig())
    steps = {s.name: s for s in result.stats}
    assert {name: s.unit for name, s in steps.items()} == {
        "read": Unit.DOCUMENTS,
        "clean": Unit.DOCUMENTS,
        "classify": Unit.PARAGRAPHS,
    }
    assert (steps["read"].total, steps["read"].dropped) == (3, {Stage.READ: 1})
    assert (steps["clean"].total, steps["clean"].kept) == (2, 2)
    assert steps["classify"].total == sum(len(a.paragraphs) for a in result.articles) > 2
