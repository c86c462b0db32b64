"""The config names every threshold that changes the output, and its fingerprint covers them."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from tasks import config as config_module
from tasks.config import (
    DEFAULTS,
    NOT_OUTPUT_CHANGING,
    CleanConfig,
    PipelineConfig,
    SplitConfig,
    model_digests,
)

CONFIG_DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def _leaves(config: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted path, value)`` of every leaf field of ``config``, nested sections walked."""
    leaves = []
    for spec in dataclasses.fields(config):
        value = getattr(config, spec.name)
        if dataclasses.is_dataclass(value):
            leaves += _leaves(value, f"{prefix}{spec.name}.")
        else:
            leaves.append((f"{prefix}{spec.name}", value))
    return leaves


def _with(config: Any, path: str, value: Any) -> Any:
    """``config`` with the leaf at the dotted ``path`` set to ``value``."""
    name, _, rest = path.partition(".")
    if not rest:
        return replace(config, **{name: value})
    return replace(config, **{name: _with(getattr(config, name), rest, value)})


def _changed(config: PipelineConfig, path: str, value: Any) -> PipelineConfig:
    """``config`` with a different valid value at ``path`` (one the field's checks accept)."""
    if isinstance(value, bool):
        candidates: list[Any] = [not value]
    elif isinstance(value, int):
        candidates = [value + 1, value - 1]
    elif isinstance(value, float):
        candidates = [value / 2, (value + 1) / 2, value + 1]
    else:
        raise AssertionError(f"no changed value for {path} = {value!r}: add one here")
    for candidate in candidates:
        try:
            return _with(config, path, candidate)
        except ValueError:
            continue
    raise AssertionError(f"no valid changed value for {path}")


LEAVES = _leaves(DEFAULTS)
# A folder of suites: test_the_suites_length_limits_are_in_the_fingerprint changes it.
SCALAR_LEAVES = [(path, value) for path, value in LEAVES if not isinstance(value, Path)]


@pytest.mark.parametrize(("path", "value"), SCALAR_LEAVES, ids=[path for path, _ in SCALAR_LEAVES])
def test_every_output_changing_option_changes_the_fingerprint(path: str, value: Any) -> None:
    """Generic over the dataclasses: a field added to any section is covered with no edit."""
    changed = _changed(DEFAULTS, path, value)
    if path in NOT_OUTPUT_CHANGING:
        assert changed.fingerprint() == DEFAULTS.fingerprint()
    else:
        assert changed.fingerprint() != DEFAULTS.fingerprint()


def test_the_options_left_out_are_named_and_exist() -> None:
    assert {path for path, _ in LEAVES} >= NOT_OUTPUT_CHANGING
    assert {
        "shard_size",
        "dedup.batch_size",
        "expectations_dir",
        "compact_after_parts",
    } == NOT_OUTPUT_CHANGING


def test_fingerprint_names_options_models_and_library_versions() -> None:
    identity = json.loads(DEFAULTS.fingerprint())

    assert identity["options"]["read"]["max_input_bytes"] == DEFAULTS.read.max_input_bytes
    assert identity["options"]["clean"]["menu_run"] == DEFAULTS.clean.menu_run
    assert identity["options"]["dedup"]["threshold"] == DEFAULTS.dedup.threshold
    assert identity["length_limits"]["articles.title"] > 0
    assert identity["libraries"]["trafilatura"] == version("trafilatura")
    assert identity["libraries"]["lxml"] == version("lxml")
    assert identity["models"] == model_digests()
    assert identity["models"], "the cleaning step's model files are covered"


def test_the_suites_length_limits_are_in_the_fingerprint(tmp_path: Path) -> None:
    """Where the suites live is not, but the limits read from them change titles and
    quarantine: a suite with a shorter title limit is another fingerprint."""
    suites = tmp_path / "suites"
    suites.mkdir()
    for path in config_module.EXPECTATIONS_DIR.glob("*.json"):
        (suites / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    moved = replace(DEFAULTS, expectations_dir=suites)
    assert moved.fingerprint() == DEFAULTS.fingerprint()
    articles = json.loads((suites / "articles.json").read_text(encoding="utf-8"))
    for expectation in articles["expectations"]:
        kwargs = expectation["kwargs"]
        if kwargs.get("column") == "title" and kwargs.get("max_value") is not None:
            kwargs["max_value"] = 12
    stricter = tmp_path / "stricter"
    stricter.mkdir()
    for path in suites.glob("*.json"):
        (stricter / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (stricter / "articles.json").write_text(json.dumps(articles), encoding="utf-8")
    assert replace(DEFAULTS, expectations_dir=stricter).fingerprint() != DEFAULTS.fingerprint()


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


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CleanConfig(not_article_link_share=1.5), "not_article_link_share must be in"),
        (lambda: CleanConfig(link_list_min_run=0), "link_list_min_run must be >= 1, not 0"),
        (lambda: SplitConfig(wrap_min_width=0), "wrap_min_width must be >= 1"),
        (lambda: PipelineConfig(shard_size=0), "shard_size must be >= 1"),
        (lambda: SplitConfig(wrap_min_share=float("nan")), "wrap_min_share must be in"),
    ],
)
def test_an_out_of_range_option_is_refused_naming_it(build, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()


def test_the_configuration_table_lists_every_option_with_its_default() -> None:
    """docs/configuration.md names each key with the default in the code."""
    readme = CONFIG_DOC.read_text(encoding="utf-8")
    row = re.compile(r"^\| (?:`\[(\w+)\]`|\(top level\)) \| `(\w+)` \| `([^`]*)` \|", re.M)
    rows = {(match[1] or "", match[2]): match[3] for match in row.finditer(readme)}
    for path, value in LEAVES:
        section, _, key = path.rpartition(".")
        if path in {"expectations_dir"}:
            continue  # set with --expectations, not a key
        shown = rows.get((section, key))
        assert shown is not None, f"docs/configuration.md has no row for [{section}] {key}"
        expected = json.dumps(value) if isinstance(value, bool) else repr(value)
        assert shown.replace("_", "") == expected.replace("_", ""), (path, shown, value)
