"""All pipeline options in one typed object; the defaults live here and nowhere else."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from tasks.dedup import DedupConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
EXPECTATIONS_DIR = REPO_ROOT / "expectations"


@dataclass(frozen=True)
class PipelineConfig:
    """Options of one run. Same inputs and the same config give the same dataset."""

    # Inputs larger than this are quarantined unread: a page dump is rarely over 1 MB.
    max_input_bytes: int = 20 * 1024 * 1024
    # Inputs per Prefect task: large enough that orchestration (~90 ms a task) stays a
    # small fraction of the work (~5-20 ms an input).
    shard_size: int = 500
    # Run the whole-page main-content selector on plain-text input.
    select_main_content: bool = True
    dedup: DedupConfig = field(default_factory=DedupConfig)
    expectations_dir: Path = EXPECTATIONS_DIR

    def __post_init__(self) -> None:
        # A shard size of 0 or less used to run "0 shards", publish nothing and succeed.
        if self.shard_size < 1 or self.max_input_bytes < 1:
            raise ValueError("shard_size and max_input_bytes must be >= 1")

    def fingerprint(self) -> str:
        """Options that change the output, as canonical JSON (recorded in the run report)."""
        options = asdict(self)
        options.pop("expectations_dir")
        options.pop("shard_size")  # sharding never changes the output
        return json.dumps(options, sort_keys=True, default=str)


def load_suite(expectations_dir: Path, table: str) -> dict:
    """The Great Expectations suite of ``table`` (``expectations/<table>.json``)."""
    return json.loads((expectations_dir / f"{table}.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=8)
def length_limits(expectations_dir: Path) -> dict[tuple[str, str], int]:
    """The longest value each suite allows a string column, as ``{(table, column): max}``.

    Read from the suites themselves (``expect_column_value_lengths_to_be_between``), so that
    the cleaning boundary applies the same bounds as validation: an input that breaks one (a
    900-character ``<title>``, a 300,000-character line) is handled on its own there, instead
    of failing validation, and so publishing, for the whole run.
    """
    limits: dict[tuple[str, str], int] = {}
    for table in ("articles", "paragraphs"):
        for expectation in load_suite(expectations_dir, table)["expectations"]:
            kwargs = expectation["kwargs"]
            if expectation["type"] == "expect_column_value_lengths_to_be_between" and (
                kwargs.get("max_value") is not None
            ):
                limits[(table, kwargs["column"])] = int(kwargs["max_value"])
    return limits
