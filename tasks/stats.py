"""The step contract, after datatrove's ``PipelineStep``: records in, records out, and one
``StepStats`` per step that counts every record it was given, in one unit, as kept or as
dropped with a reason, and adds up the step's time. The run report's stage table is these
stats, one row per step, with its unit.

A step may be per document (run in the clean shards, its stats summed over shards with
``merge_stats``) or run-wide; either way it has the shape of ``Step``. "Dropped" means what
the step takes out of its output: a quarantined or skipped document, a paragraph labelled
as removed (it is still a row of the paragraphs table, with its label and reason).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypeVar

# typing_extensions': pydantic, which builds Prefect's parameter schemas (a flow taking a
# RunSummary), refuses typing.TypedDict before Python 3.12.
from typing_extensions import TypedDict


class Unit(StrEnum):
    """What a step counts: one unit per step, so that no row of the stage table adds up
    pages and paragraphs."""

    DOCUMENTS = "documents"  # input documents: a file, or one record of a WARC
    ARTICLES = "articles"
    PARAGRAPHS = "paragraphs"


@dataclass(slots=True)
class StepStats:
    """What one step saw, in ``unit``: every record is either kept or dropped with a reason."""

    name: str
    unit: Unit
    total: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def keep(self, n: int = 1) -> None:
        self.total += n
        self.kept += n

    def drop(self, reason: str, n: int = 1) -> None:
        self.total += n
        self.dropped[reason] += n

    @contextmanager
    def timed(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start

    def merge(self, other: StepStats) -> None:
        """Add ``other``'s counts: the same step's stats from another shard."""
        if (other.name, other.unit) != (self.name, self.unit):
            raise ValueError(f"cannot add {other.name} ({other.unit}) to {self.name} ({self.unit})")
        self.total += other.total
        self.kept += other.kept
        self.dropped.update(other.dropped)
        self.seconds += other.seconds

    def as_dict(self) -> StageRow:
        return {
            "name": self.name,
            "unit": str(self.unit),
            "total": self.total,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "seconds": round(self.seconds, 4),
        }


class StageRow(TypedDict):
    """One step's counts in the run summary and report."""

    name: str
    unit: str
    total: int
    kept: int
    dropped: dict[str, int]
    seconds: float


RecordsIn = TypeVar("RecordsIn", contravariant=True)
RecordsOut = TypeVar("RecordsOut", covariant=True)


class Step(Protocol[RecordsIn, RecordsOut]):
    """One step: ``name`` and ``unit`` name its stats; a call takes the records and the stats
    to count them in (``StepStats(step.name, step.unit)``, or one summed over shards) and
    returns the records it passes on.

    A call counts each record it was given once, in ``unit``: ``stats.keep()``, or
    ``stats.drop(reason)`` with a reason registered in ``tasks.reasons`` (paragraphs), or the
    quarantine ``Stage`` or skip of a document; its work runs inside ``stats.timed()``.
    """

    @property
    def name(self) -> str: ...

    @property
    def unit(self) -> Unit: ...

    def __call__(self, records: RecordsIn, stats: StepStats, /) -> RecordsOut: ...


def merge_stats(groups: list[list[StepStats]]) -> list[StepStats]:
    """Sum the stats of the same step across shards, keeping the order steps first appear in."""
    merged: dict[str, StepStats] = {}
    for group in groups:
        for stats in group:
            merged.setdefault(stats.name, StepStats(stats.name, stats.unit)).merge(stats)
    return list(merged.values())
