"""The config fingerprint names everything besides the input that decides the output."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

from tasks import config as config_module
from tasks.config import PipelineConfig, model_digests


def test_fingerprint_names_options_models_and_library_versions() -> None:
    identity = json.loads(PipelineConfig().fingerprint())

    assert identity["options"]["max_input_bytes"] == PipelineConfig().max_input_bytes
    assert identity["options"]["dedup"]["threshold"] == PipelineConfig().dedup.threshold
    assert identity["libraries"]["trafilatura"] == version("trafilatura")
    assert identity["libraries"]["lxml"] == version("lxml")
    assert identity["models"] == model_digests()
    assert identity["models"], "the cleaning step's model files are covered"


def test_fingerprint_leaves_out_what_never_changes_the_output() -> None:
    base = PipelineConfig()
    resharded = replace(
        base,
        shard_size=7,
        expectations_dir=Path("/elsewhere"),
        dedup=replace(base.dedup, batch_size=3),
    )

    assert resharded.fingerprint() == base.fingerprint()
    assert replace(base, max_input_bytes=1).fingerprint() != base.fingerprint()


def test_a_changed_model_file_changes_the_fingerprint(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "pagetext_model.json").write_text('{"weights": [1]}')
    monkeypatch.setattr(config_module, "MODELS_DIR", tmp_path)
    before = PipelineConfig().fingerprint()
    (tmp_path / "pagetext_model.json").write_text('{"weights": [2]}')

    assert PipelineConfig().fingerprint() != before


def test_an_absent_library_is_named_absent() -> None:
    assert config_module.library_versions(("no-such-distribution-xyz",)) == {
        "no-such-distribution-xyz": "absent"
    }
