"""Per-step counters in the spirit of datatrove: total, kept, dropped by reason, and time."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# typing_extensions': pydantic, which builds Prefect's parameter schemas (a flow taking a
# RunSummary), refuses typing.TypedDict before Python 3.12.
from typing_extensions import TypedDict


@dataclass(slots=True)
class StepStats:
    """What one step saw: every record is either kept or dropped with a reason."""

    name: str
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
        self.total += other.total
        self.kept += other.kept
        self.dropped.update(other.dropped)
        self.seconds += other.seconds

    def as_dict(self) -> StageRow:
        return {
            "name": self.name,
            "total": self.total,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "seconds": round(self.seconds, 4),
        }


class StageRow(TypedDict):
    """One step's counts in the run summary and report."""

    name: str
    total: int
    kept: int
    dropped: dict[str, int]
    seconds: float


def merge_stats(groups: list[list[StepStats]]) -> list[StepStats]:
    """Sum the stats of the same step across shards, keeping the order steps first appear in."""
    merged: dict[str, StepStats] = {}
    for group in groups:
        for stats in group:
            merged.setdefault(stats.name, StepStats(stats.name)).merge(stats)
    return list(merged.values())
