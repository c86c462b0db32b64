"""All pipeline options in one typed object; the defaults live here and nowhere else."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
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

    def fingerprint(self) -> str:
        """Options that change the output, as canonical JSON (recorded in the run report)."""
        options = asdict(self)
        options.pop("expectations_dir")
        options.pop("shard_size")  # sharding never changes the output
        return json.dumps(options, sort_keys=True, default=str)
