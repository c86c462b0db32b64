"""The config file: ``newsclean.toml``, ``[tool.newsclean]`` in ``pyproject.toml``, or ``--config``.

Top-level keys are the command line's options (``inputs``, ``output``, ``runner``,
``workers``, ``cron``, ``shard_size``...; a command ignores the ones it does not have); the
pipeline's options are the fields of :class:`tasks.config.PipelineConfig`, read from the
dataclass itself, so a field added there is a key here with no change to this module. Each
stage's section is a table of its own (``[read]``, ``[extract]``, ``[metadata]``,
``[split]``, ``[clean]``, ``[dedup]``); the keys that were top-level before the sections
(``max_input_bytes``, ``select_main_content``) are still read there (:data:`MOVED_KEYS`).
``expectations`` names a folder of extra expectations, added to the built-in suites
(:func:`merge_expectations`).

Values are checked as strictly as flags: the command line's own argument types and choices for
its options; for the pipeline's, pydantic validates the table against the dataclasses
themselves (their type hints, then their ``__post_init__``). Unknown keys and wrong values are
a :class:`SettingsError` naming each key and the file in one line. Paths in the file are
relative to the file's folder; flags given on the command line win over the file.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import functools
import json
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FILE = "newsclean.toml"
PYPROJECT = "pyproject.toml"
# PipelineConfig fields a config file does not set directly: ``expectations`` (extra checks
# added to the built-in suites) replaces ``expectations_dir`` (a whole replacement folder).
NOT_IN_FILE = frozenset({"expectations_dir"})
# Pipeline options that were top-level keys before the config had a section per stage, and
# the section they moved to: old config files and old deployments' parameters still work.
MOVED_KEYS = {"max_input_bytes": "read", "select_main_content": "clean"}
# Keys whose values are paths, resolved against the config file's folder.
PATH_OPTIONS = frozenset({"inputs", "output", "expectations"})


class SettingsError(ValueError):
    """A config file, or an option in it, that cannot be used; the message is one line."""


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """Where the settings came from (``None``: no file) and its checked values.

    ``options`` holds the command line's options, converted as the flag would be;
    ``pipeline`` the pipeline's options, ready for :func:`pipeline_config`.
    """

    path: Path | None
    label: str
    options: dict[str, Any]
    pipeline: dict[str, Any]


def find_config_file(folder: Path) -> tuple[Path, str] | None:
    """``newsclean.toml`` in ``folder``, else its ``pyproject.toml`` with ``[tool.newsclean]``."""
    candidate = folder / CONFIG_FILE
    if candidate.is_file():
        return candidate, CONFIG_FILE
    pyproject = folder / PYPROJECT
    if pyproject.is_file():
        try:
            document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None  # not ours to judge: only a [tool.newsclean] table makes it a config
        if isinstance(document.get("tool"), dict) and "newsclean" in document["tool"]:
            return pyproject, f"{PYPROJECT} [tool.newsclean]"
    return None


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings table of ``path``: the whole file, or ``[tool.newsclean]`` of a pyproject."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise SettingsError(f"config file not found: {path}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"config file {path} cannot be read: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"config file {path} is not valid TOML: {error}") from error
    if path.name == PYPROJECT:
        table = document.get("tool", {}).get("newsclean", {})
        if not isinstance(table, dict):
            raise SettingsError(f"{path}: [tool.newsclean] must be a table")
        return table
    return document


def load_settings(
    explicit: Path | None, folder: Path, options: Mapping[str, argparse.Action]
) -> ConfigFile:
    """The config file (``explicit``, else the one found in ``folder``), checked.

    ``options`` maps each command-line option's name (its ``dest``) to its argparse action,
    whose ``type`` and ``choices`` check the file's value exactly as they check a flag.
    """
    if explicit is not None:
        path, label = explicit, str(explicit)
    else:
        found = find_config_file(folder)
        if found is None:
            return ConfigFile(None, "", {}, {})
        path, label = found
    table = _moved_keys(read_config_file(path), label)
    base = path.resolve().parent
    converted: dict[str, Any] = {}
    pipeline: dict[str, Any] = {}
    fields = pipeline_fields()
    for key, value in table.items():
        if key in options:
            converted[key] = _option_value(options[key], key, value, base, label)
        elif key in fields:
            pipeline[key] = value
        else:
            raise SettingsError(f"{label}: unknown key {key!r}")
    if pipeline:
        validated_config(pipeline, label)
    return ConfigFile(path, label, converted, pipeline)


def _moved_keys(table: Mapping[str, Any], label: str) -> dict[str, Any]:
    """``table`` with its old top-level pipeline keys (:data:`MOVED_KEYS`) in their sections."""
    moved = dict(table)
    for key, section in MOVED_KEYS.items():
        if key not in moved:
            continue
        own = moved.get(section, {})
        if not isinstance(own, Mapping):
            continue  # reported as "must be a table" by the checks
        if key in own:
            raise SettingsError(f"{label}: {key} is set twice: at the top and in [{section}]")
        moved[section] = {**own, key: moved.pop(key)}
    return moved


def pipeline_fields() -> frozenset[str]:
    """The pipeline options a config file may set, from ``PipelineConfig`` itself."""
    from tasks.config import PipelineConfig

    return frozenset(f.name for f in dataclasses.fields(PipelineConfig)) - NOT_IN_FILE


def pipeline_config(values: Mapping[str, Any], **overrides: Any) -> Any:
    """A ``PipelineConfig`` from a config file's values (nested tables included) and overrides
    (top-level fields, e.g. ``shard_size`` or ``expectations_dir`` from the command line).

    A value the dataclasses refuse is a :class:`SettingsError`.
    """
    config = validated_config(values, "")
    try:
        return dataclasses.replace(config, **overrides)
    except (TypeError, ValueError) as error:
        raise SettingsError(f"invalid pipeline option: {error}") from error


def validated_config(values: Mapping[str, Any], label: str) -> Any:
    """``values`` as a ``PipelineConfig``, validated by pydantic against the dataclasses.

    Strict, as a flag is: ``"3"`` is no integer and ``true`` no number, a section must be a
    table, a key must be a field; then the dataclasses' own checks (``__post_init__``:
    ranges, combinations). Every problem is named, in one line, prefixed with ``label``.
    """
    from tasks.config import PipelineConfig

    if not values:
        return PipelineConfig()
    problems = [f"unknown key {key!r}" for key in values if key not in pipeline_fields()]
    if not problems:
        import pydantic

        # JSON mode: strict types, yet tables may stand for dataclasses (never in Python mode).
        document = json.dumps(dict(values), default=str)
        try:
            return _config_adapter().validate_json(document, strict=True, extra="forbid")
        except pydantic.ValidationError as error:
            problems = [_problem(found) for found in error.errors()]
    raise SettingsError(f"{label}: " * bool(label) + "; ".join(problems))


@functools.cache
def _config_adapter() -> Any:
    import pydantic

    from tasks.config import PipelineConfig

    return pydantic.TypeAdapter(PipelineConfig)


# What a field of each type wants, by pydantic's error type for a value of another type.
_WANTED = {
    "bool_type": "true or false",
    "int_type": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "path_type": "a path (a string)",
}


def _problem(error: Any) -> str:
    """One pydantic error as the config file's words: the dotted key and what it must be."""
    key = ".".join(map(str, error["loc"]))
    kind = error["type"]
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"unknown key {key!r}"
    if kind == "dataclass_type":
        return f"{key} must be a table ([{key}])"
    if kind == "value_error":  # a dataclass's __post_init__ refused the section
        where = f" in [{key}]" if key else ""
        return f"invalid pipeline option{where}: {error['ctx']['error']}"
    if kind in _WANTED:
        return f"{key} must be {_WANTED[kind]}, not {error['input']!r}"
    return f"{key}: {error['msg']}"


def _option_value(
    action: argparse.Action, key: str, value: object, base: Path, label: str
) -> object:
    """A command-line option's value from the file, converted and checked like the flag."""
    if action.nargs == 0:  # a switch such as --verbose
        if not isinstance(value, bool):
            raise SettingsError(f"{label}: {key} must be true or false")
        return value
    if action.nargs in ("*", "+"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{label}: {key} must be a list of strings")
        items = [_scalar(action, key, item, base, label) for item in value]
        if action.nargs == "+" and not items:
            raise SettingsError(f"{label}: {key} must not be empty")
        return items
    if isinstance(value, list | dict | bool):
        raise SettingsError(f"{label}: {key} must be a single value")
    return _scalar(action, key, value, base, label)


def _scalar(action: argparse.Action, key: str, value: object, base: Path, label: str) -> object:
    text = str(value)
    if key in PATH_OPTIONS:
        text = str(base / text)
    converted: object = text
    if callable(action.type):
        try:
            converted = action.type(text)
        except (argparse.ArgumentTypeError, TypeError, ValueError) as error:
            raise SettingsError(f"{label}: {key}: {error}") from error
    if action.choices is not None and converted not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise SettingsError(f"{label}: {key} must be one of {choices}, not {value!r}")
    return converted


@contextlib.contextmanager
def run_config(config: Any) -> Iterator[Any]:
    """The run's ``PipelineConfig`` from what the flow was given.

    ``None``: the defaults. A dict: the JSON form a deployment's parameters carry
    (:func:`config_parameter`, for ``newsclean serve``), whose ``expectations`` folder is
    merged with the built-in suites for the length of the run.
    """
    from tasks.config import PipelineConfig

    if config is None:
        yield PipelineConfig()
        return
    if not isinstance(config, Mapping):
        yield config
        return
    label = "the deployment's config parameter"
    options = _moved_keys(copy.deepcopy(dict(config)), label)
    extra = options.pop("expectations", None)
    built = validated_config(options, label)
    with tempfile.TemporaryDirectory(prefix="newsclean-") as scratch:
        if extra:
            merged = merge_expectations(Path(extra), Path(scratch))
            built = dataclasses.replace(built, expectations_dir=merged)
        yield built


def config_parameter(pipeline: Mapping[str, Any], expectations: str | None) -> dict[str, Any]:
    """The pipeline options as a deployment parameter (JSON: paths as absolute strings)."""
    options: dict[str, Any] = json.loads(json.dumps(dict(pipeline), default=str))
    if expectations:
        options["expectations"] = str(Path(expectations).resolve())
    return options


# --- extra expectations -------------------------------------------------------------------


def merge_expectations(extra: Path, into: Path, builtin: Path | None = None) -> Path:
    """Write the built-in suites plus the user's extra expectations into ``into``; return it.

    ``extra`` holds ``<table>.json`` files for some of the built-in tables, each a suite or
    just ``{"expectations": [...]}``; their expectations are appended to the built-in suite
    of that table, and their ``meta.derived_columns`` (DuckDB expressions the expectations
    may check, see tasks/output/validate.py) added to the built-in ones. A table without a file
    keeps the built-in suite. So users add checks; they never lose the built-in ones.
    """
    from tasks.config import EXPECTATIONS_DIR

    builtin = builtin or EXPECTATIONS_DIR
    if not extra.is_dir():
        raise SettingsError(f"expectations folder not found: {extra}")
    tables = {p.stem for p in builtin.glob("*.json")}
    into.mkdir(parents=True, exist_ok=True)
    suites = {
        table: json.loads((builtin / f"{table}.json").read_text(encoding="utf-8"))
        for table in sorted(tables)
    }
    found = sorted(extra.glob("*.json"))
    if not found:
        raise SettingsError(f"no <table>.json suites in the expectations folder {extra}")
    for path in found:
        if path.stem not in tables:
            names = ", ".join(f"{t}.json" for t in sorted(tables))
            raise SettingsError(f"{path}: not a newsclean table (expected one of {names})")
        try:
            added = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SettingsError(f"{path}: not a readable JSON suite: {error}") from error
        expectations = added.get("expectations") if isinstance(added, dict) else None
        if not isinstance(expectations, list) or not all(
            isinstance(e, dict) and isinstance(e.get("type"), str) for e in expectations
        ):
            raise SettingsError(f'{path}: needs an "expectations" list of {{"type", "kwargs"}}')
        check_supported(path, expectations)
        suite = suites[path.stem]
        suite["expectations"] = [*suite["expectations"], *expectations]
        derived = added.get("meta", {}).get("derived_columns", {})
        if derived:
            own = suite.setdefault("meta", {}).setdefault("derived_columns", {})
            clash = sorted(set(own) & set(derived))
            if clash:
                raise SettingsError(f"{path}: derived column {clash[0]!r} is built in already")
            own.update(derived)
    for table, suite in suites.items():
        (into / f"{table}.json").write_text(json.dumps(suite, indent=1), encoding="utf-8")
    return into


def check_supported(path: Path, expectations: list[dict[str, Any]]) -> None:
    """Refuse, before any work, an expectation the batched validation cannot run (its type,
    or ``mostly``): the run would otherwise clean everything and then fail."""
    from tasks.output.validate import SUPPORTED_EXPECTATIONS, unsupported_expectation

    for expectation in expectations:
        problem = unsupported_expectation(expectation)
        if problem:
            supported = ", ".join(sorted(SUPPORTED_EXPECTATIONS))
            raise SettingsError(f"{path}: {problem}; supported: {supported}")
