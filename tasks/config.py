"""All pipeline options in one typed object; the defaults live here and nowhere else."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tasks.dedup import DedupConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
MODELS_DIR = Path(__file__).resolve().parent
# Distributions whose release changes the text, metadata or ids a run publishes: the
# extractors and their parsers, the date reader, decoding, the dedup hashes. A release of any
# of them can change the output with the same options, so the fingerprint names them.
OUTPUT_SHAPING_LIBRARIES = (
    "newsclean",
    "trafilatura",
    "htmldate",
    "courlan",
    "justext",
    "lxml",
    "lxml_html_clean",
    "beautifulsoup4",
    "html-text",
    "charset-normalizer",
    "fastwarc",
    "rensa",
)


def library_versions(names: tuple[str, ...] = OUTPUT_SHAPING_LIBRARIES) -> dict[str, str]:
    """Installed version of each library in ``names`` (``"absent"`` when not installed)."""
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "absent"
    return versions


def model_digests() -> dict[str, str]:
    """SHA-256 of every model file the cleaning step loads (``*_model.json`` in ``tasks/``)."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(MODELS_DIR.glob("*_model.json"))
    }


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
        """What decides the output besides the input, as canonical JSON (in the run report).

        Two runs with equal fingerprints on the same input publish the same bytes: the options,
        the digests of the model files the cleaning step loads and the versions of the
        libraries that shape the text. Sharding and batch sizes never change the output and
        are left out, and so is where the suites live (validation decides only *whether* a run
        publishes).
        """
        options = asdict(self)
        options.pop("expectations_dir")
        options.pop("shard_size")  # sharding never changes the output
        options["dedup"].pop("batch_size", None)  # a memory bound; same duplicates at any size
        identity = {
            "options": options,
            "models": model_digests(),
            "libraries": library_versions(),
        }
        return json.dumps(identity, sort_keys=True, default=str)


def load_suite(expectations_dir: Path, table: str) -> dict[str, Any]:
    """The Great Expectations suite of ``table`` (``expectations/<table>.json``)."""
    suite: dict[str, Any] = json.loads(
        (expectations_dir / f"{table}.json").read_text(encoding="utf-8")
    )
    return suite


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
