"""The command line as a data team meets it (issue #19): what it refuses, and how, and where
it keeps its state. Each test names the finding it covers."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import duckdb
import pytest

from flows import cli, preflight
from flows.cli import main
from flows.pipeline import PublishFailed, newsclean_flow
from flows.settings import SettingsError, merge_expectations
from tasks.config import EXPECTATIONS_DIR, PipelineConfig
from tasks.inputs.read import discover_inputs
from tasks.output.publish import LOCK_FILE, output_lock

from .conftest import REPO, SEEDS

RUN = (sys.executable, "-m", "flows.cli", "run")
PROGRESS = re.compile(r"^\d\d:\d\d:\d\d newsclean: ")


def _messages(stderr: str) -> list[str]:
    """stderr without the progress lines: what the command says to the person."""
    return [line for line in stderr.splitlines() if line and not PROGRESS.match(line)]


def _fresh_env(**extra: str) -> dict[str, str]:
    """A user's environment: no PREFECT_HOME or API URL of the test session's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PYTHONPATH=str(REPO), DO_NOT_TRACK="1", **extra)
    return env


def _disk_full(*_args: object) -> None:
    """Stands in for a step that writes to a disk that filled up."""
    raise OSError(errno.ENOSPC, "No space left on device")


def _two_seeds(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for seed in sorted(SEEDS.iterdir())[:2]:
        shutil.copy(seed, folder / seed.name)
    return folder


def _sources(output: Path) -> list[str]:
    files = sorted(str(f) for f in (output / "articles").glob("*.parquet"))
    return [r[0] for r in duckdb.sql(f"SELECT source FROM read_parquet({files!r})").fetchall()]


# --- finding 1: the run reads its own output ----------------------------------------------


@pytest.mark.slow
def test_a_run_never_reads_its_own_output_and_prefect_stays_out_of_the_cwd(tmp_path):
    """``newsclean run in/ --output in/out`` twice: the second run finds the two inputs and
    nothing of its own reports, Data Docs or vendored licences (finding 1); and Prefect's
    home is under the output folder, not in the folder the command ran from (finding 10)."""
    inputs = _two_seeds(tmp_path / "in")
    output = inputs / "out"
    first = subprocess.run(
        [*RUN, "in", "--output", "in/out"],
        cwd=tmp_path,
        env=_fresh_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert first.returncode == 0, first.stderr
    assert not (tmp_path / ".prefect").exists()
    assert (output / ".prefect").is_dir()
    assert (output / "reports" / "latest.html").is_file()

    second = newsclean_flow(inputs=[str(inputs)], output=str(output))
    assert second.published
    assert second.summary.inputs["total"] == 2
    assert second.summary.inputs["published"] == 0
    assert sorted(Path(s).name for s in _sources(output)) == sorted(
        p.name for p in inputs.iterdir() if p.is_file()
    )


def test_discovery_leaves_out_the_output_folder_through_symlinks(tmp_path):
    inputs = _two_seeds(tmp_path / "in")
    output = tmp_path / "elsewhere"
    (output / "reports").mkdir(parents=True)
    (output / "reports" / "latest.html").write_text("<p>report</p>")
    (output / "page.txt").write_text("a page of the output")
    (inputs / "out").symlink_to(output, target_is_directory=True)
    (inputs / "linked.txt").symlink_to(output / "page.txt")
    found = [Path(r.path).name for r in discover_inputs([str(inputs)], exclude=[output])]
    assert sorted(found) == sorted(p.name for p in sorted(SEEDS.iterdir())[:2])


@pytest.mark.parametrize("given", ["out", "out/reports", "link"])
def test_an_input_equal_to_or_inside_the_output_is_refused(given, tmp_path, capsys):
    output = tmp_path / "out"
    (output / "reports").mkdir(parents=True)
    (tmp_path / "link").symlink_to(output, target_is_directory=True)
    code = main(["run", str(tmp_path / given), "--output", str(output)])
    messages = _messages(capsys.readouterr().err)
    assert code == 2
    assert len(messages) == 1 and "inside the output folder" in messages[0], messages


# --- finding 2: nonsense options ----------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        ["--shard-size", "-5"],
        ["--shard-size", "0"],
        ["--shard-size", "many"],
        ["--runner", "dask", "--workers", "0"],
        ["--runner", "threads"],
        ["--output", ""],
        ["--workers", "2"],  # needs --runner dask
    ],
)
def test_nonsense_options_are_refused_in_one_line(options, tmp_path, capsys):
    code = main(["run", str(SEEDS), "--output", str(tmp_path / "out"), *options])
    messages = _messages(capsys.readouterr().err)
    assert code == 2
    assert len(messages) == 1, messages
    assert not (tmp_path / "out" / "articles").exists()


def test_a_pipeline_config_refuses_a_shard_size_below_one():
    with pytest.raises(ValueError, match="shard_size"):
        PipelineConfig(shard_size=0)


# --- findings 3 and 4: exit codes and one-line messages -----------------------------------


def test_a_missing_input_is_one_line_before_any_server_starts(tmp_path):
    done = subprocess.run(
        [*RUN, "does/not/exist", "--output", "out"],
        cwd=tmp_path,
        env=_fresh_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["newsclean: input not found: does/not/exist"]
    assert not (tmp_path / "out").exists() and not (tmp_path / ".prefect").exists()


def test_a_busy_output_is_exit_3_in_one_line(tmp_path):
    output = tmp_path / "out"
    with output_lock(output):
        done = subprocess.run(
            [*RUN, str(SEEDS), "--output", str(output)],
            cwd=tmp_path,
            env=_fresh_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 3
    assert done.stderr.splitlines() == [f"newsclean: another newsclean run is writing to {output}"]


def test_the_lock_probe_uses_the_publish_lock_file():
    assert preflight.LOCK_FILE == LOCK_FILE


def _read_only(folder: Path) -> bool:
    """Make ``folder`` unwritable even for root (chmod, else the immutable attribute)."""
    folder.chmod(0o555)
    try:
        with open(folder / ".probe", "w"):
            pass
    except OSError:
        return True
    (folder / ".probe").unlink()
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    return done.returncode == 0


def test_a_read_only_output_is_one_line(tmp_path, capsys):
    output = tmp_path / "out"
    output.mkdir()
    if not _read_only(output):
        pytest.skip("cannot make a folder read-only here")
    try:
        code = main(["run", str(SEEDS), "--output", str(output)])
    finally:
        subprocess.run(["chattr", "-i", str(output)], capture_output=True, check=False)
        output.chmod(0o755)
    messages = _messages(capsys.readouterr().err)
    assert code == 2
    assert len(messages) == 1 and "not writable" in messages[0], messages


def test_an_unreachable_dask_scheduler_is_one_line(tmp_path, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        code = main(
            [
                "run",
                str(SEEDS),
                "--output",
                str(tmp_path / "out"),
                "--runner",
                "dask",
                "--dask-address",
                f"tcp://127.0.0.1:{port}",
            ]
        )
    messages = _messages(capsys.readouterr().err)
    assert code == 2
    assert len(messages) == 1 and "cannot reach the Dask scheduler" in messages[0], messages


@pytest.mark.slow
def test_a_full_disk_while_the_index_updates_is_exit_4_with_a_report(tmp_path, capsys, monkeypatch):
    """After the renames the articles are visible: the run says so, writes its report, and
    the next run rebuilds the dedup index from the published Parquet."""
    inputs = _two_seeds(tmp_path / "in")
    output = tmp_path / "out"

    monkeypatch.setattr("flows.pipeline.record_published_run", _disk_full)
    code = main(["run", str(inputs), "--output", str(output)])
    messages = _messages(capsys.readouterr().err)
    assert code == 4
    assert len(messages) == 1, messages
    assert "articles are visible" in messages[0]
    assert "the next run rebuilds the index" in messages[0]
    log = Path(messages[0].rsplit("traceback: ", 1)[1].rstrip(")"))
    assert "No space left on device" in log.read_text(encoding="utf-8")
    assert len(_sources(output)) == 2
    report = json.loads((output / "reports" / "latest.json").read_text(encoding="utf-8"))
    assert report["published"] is True
    assert "No space left on device" in report["dedup_index"]

    monkeypatch.undo()
    rerun = newsclean_flow(inputs=[str(inputs)], output=str(output))
    assert rerun.summary.dedup_index.startswith("rebuilt")
    assert rerun.summary.inputs["published"] == 0


@pytest.mark.slow
def test_a_failure_before_publishing_says_nothing_was_published(tmp_path, capsys, monkeypatch):
    inputs = _two_seeds(tmp_path / "in")
    output = tmp_path / "out"

    monkeypatch.setattr("tasks.dedup.runwide.write_staged_table", _disk_full)
    code = main(["run", str(inputs), "--output", str(output)])
    stderr = capsys.readouterr().err
    messages = _messages(stderr)
    assert code == 4
    assert len(messages) == 1, messages
    assert "nothing was published, the dataset is as it was" in messages[0]
    assert "Traceback" not in stderr and "Error logging to API" not in stderr
    assert not (output / "articles").exists()


@pytest.mark.slow
def test_a_commit_that_fails_midway_is_described_and_reported(tmp_path, monkeypatch):
    inputs = _two_seeds(tmp_path / "in")
    output = tmp_path / "out"
    real_replace = os.replace

    def rename_fails_after_articles(source: str, target: str) -> None:
        if Path(target).parent.name == "paragraphs" and str(target).endswith(".parquet"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr("tasks.output.publish.os.replace", rename_fails_after_articles)
    with pytest.raises(PublishFailed, match="the next run completes it") as failed:
        newsclean_flow(inputs=[str(inputs)], output=str(output))
    assert failed.value.visible and failed.value.report_html is not None
    assert failed.value.report_html.is_file()
    monkeypatch.undo()
    rerun = newsclean_flow(inputs=[str(inputs)], output=str(output))
    assert rerun.summary.outputs["recovered_runs"]
    assert len(_sources(output)) == 2


def test_readme_lists_every_exit_code():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    codes = {int(m) for m in re.findall(r"^\| `?(\d+)`? \|", section, flags=re.M)}
    assert codes == {0, 1, 2, 3, 4, 130, 143}


# --- finding 10: help texts, Prefect home, Dask port --------------------------------------


def test_local_runner_help_says_what_it_does():
    run_parser = cli._subparsers(cli._parser())["run"]
    text = " ".join(run_parser.format_help().split())
    assert "one shard at a time in this process" in text
    assert "threads" not in text


def test_prefect_home_defaults_to_the_user_cache_not_the_cwd(tmp_path):
    code = (
        "import os; from flows.environment import configure_environment; "
        "configure_environment(); print(os.environ['PREFECT_HOME'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=_fresh_env(XDG_CACHE_HOME=str(tmp_path / "cache")),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == str(tmp_path / "cache" / "newsclean" / "prefect")
    explicit = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=_fresh_env(PREFECT_HOME=str(tmp_path / "mine")),
        capture_output=True,
        text=True,
        check=True,
    )
    assert explicit.stdout.strip() == str(tmp_path / "mine")


# --- config file and --expectations -------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_newsclean_toml_sets_options_and_flags_override_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(
        tmp_path / "newsclean.toml",
        'inputs = ["pages"]\noutput = "clean"\nshard_size = 7\nmax_input_bytes = 1000\n'
        "select_main_content = false\n[dedup]\nthreshold = 0.8\nshingle_words = 3\n",
    )
    args = cli.parse_arguments(["run"])
    assert args.inputs == [str(tmp_path / "pages")] and args.output == str(tmp_path / "clean")
    config = cli._pipeline_config(args, tmp_path / "scratch")
    # max_input_bytes and select_main_content are the old top-level names of these keys.
    assert (config.shard_size, config.read.max_input_bytes) == (7, 1000)
    assert config.clean.select_main_content is False
    assert (config.dedup.threshold, config.dedup.shingle_words) == (0.8, 3)
    overridden = cli.parse_arguments(["run", "other", "--shard-size", "3", "--output", "o"])
    assert overridden.inputs == ["other"] and overridden.output == "o"
    assert cli._pipeline_config(overridden, tmp_path / "scratch").shard_size == 3


def test_pyproject_tool_table_and_explicit_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n[tool.newsclean]\nworkers = 3\n')
    assert cli.parse_arguments(["run", "--runner", "dask"]).workers == 3
    other = _write(tmp_path / "other.toml", 'runner = "dask"\nworkers = 5\n')
    args = cli.parse_arguments(["run", "--config", str(other)])
    assert (args.runner, args.workers) == ("dask", 5)


def test_every_pipeline_option_is_a_config_key():
    import dataclasses

    from flows.settings import pipeline_fields

    expected = {f.name for f in dataclasses.fields(PipelineConfig)} - {"expectations_dir"}
    assert pipeline_fields() == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n", "unknown key 'colour'"),
        ("[dedup]\nthreshhold = 0.5\n", "unknown key 'dedup.threshhold'"),
        ("workers = 0\n", "workers: must be a positive integer"),
        ('shard_size = "big"\n', "shard_size"),
        ('runner = "threads"\n', "runner must be one of"),
        ("[dedup]\nthreshold = 2.0\n", "threshold must be in (0, 1)"),
        ("dedup = 3\n", "dedup must be a table"),
        ("select_main_content = 1\n", "true or false"),
        ("max_input_bytes = true\n", "max_input_bytes must be an integer, not True"),
        ('[dedup]\nthreshold = "high"\n', "dedup.threshold must be a number, not 'high'"),
        ("inputs = 'seeds'\n", "inputs must be a list"),
        ("not toml =\n", "not valid TOML"),
        ("[clean]\nsite_repeat_min_pagez = 4\n", "unknown key 'clean.site_repeat_min_pagez'"),
        ('[clean]\nmenu_run = "3"\n', "clean.menu_run must be an integer, not '3'"),
        ("[split]\nwrap_min_share = 1.5\n", "wrap_min_share must be in [0.0, 1.0], not 1.5"),
        ("[split]\nwrap_min_share = nan\n", "wrap_min_share must be in [0.0, 1.0], not nan"),
        ("[metadata]\nlatest_year = 1800\n", "latest_year must be >= earliest_year"),
        (
            "max_input_bytes = 5\n[read]\nmax_input_bytes = 6\n",
            "max_input_bytes is set twice: at the top and in [read]",
        ),
    ],
)
def test_a_bad_config_file_is_one_line_naming_the_key_and_file(text, message, tmp_path, capsys):
    config = _write(tmp_path / "bad.toml", text)
    code = main(["run", str(SEEDS), "--output", str(tmp_path / "out"), "--config", str(config)])
    messages = _messages(capsys.readouterr().err)
    assert code == 2
    assert len(messages) == 1, messages
    assert message in messages[0] and "bad.toml" in messages[0], messages


def test_every_problem_of_a_config_file_is_named_in_its_one_line(tmp_path, capsys):
    """pydantic checks the whole file against the dataclasses: a second wrong value, in
    another section, is named in the same line instead of after the first is fixed."""
    config = _write(
        tmp_path / "bad.toml",
        '[clean]\nmenu_run = "3"\n[dedup]\nseed = 1.5\n[read]\nmax_control_share = "x"\n',
    )
    code = main(["run", str(SEEDS), "--output", str(tmp_path / "out"), "--config", str(config)])
    (message,) = _messages(capsys.readouterr().err)
    assert code == 2
    for problem in (
        "read.max_control_share must be a number, not 'x'",
        "clean.menu_run must be an integer, not '3'",
        "dedup.seed must be an integer, not 1.5",
    ):
        assert problem in message, message


def test_a_nested_option_round_trips_from_the_file_to_a_deployment_run(tmp_path, monkeypatch):
    """``[clean] site_repeat_min_pages = 4`` in newsclean.toml reaches the run's config, on the
    command line and through a deployment's JSON parameter (``newsclean serve``)."""
    from flows.settings import config_parameter, run_config

    monkeypatch.chdir(tmp_path)
    _write(
        tmp_path / "newsclean.toml",
        "[clean]\nsite_repeat_min_pages = 4\n[split]\nwrap_min_share = 0.25\n"
        "[read]\nmax_input_bytes = 1000\n",
    )
    args = cli.parse_arguments(["run"])
    config = cli._pipeline_config(args, tmp_path / "scratch")
    assert (config.clean.site_repeat_min_pages, config.split.wrap_min_share) == (4, 0.25)
    assert config.read.max_input_bytes == 1000
    parameter = config_parameter(args.settings.pipeline, None)
    assert json.loads(json.dumps(parameter)) == parameter
    with run_config(parameter) as deployed:
        assert deployed == config


@pytest.mark.parametrize(
    ("parameter", "message"),
    [
        ({"clean": {"menu_rum": 3}}, "unknown key 'clean.menu_rum'"),
        ({"clean": {"menu_run": "3"}}, "clean.menu_run must be an integer, not '3'"),
        ({"split": {"wrap_min_share": 2.0}}, "wrap_min_share must be in [0.0, 1.0], not 2.0"),
    ],
)
def test_a_bad_deployment_config_parameter_is_one_line_naming_the_key(parameter, message):
    from flows.settings import run_config

    with pytest.raises(SettingsError) as raised, run_config(parameter):
        pass
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_an_old_deployment_parameter_with_top_level_keys_still_runs():
    from flows.settings import run_config

    with run_config({"max_input_bytes": 1000, "select_main_content": False}) as config:
        assert config.read.max_input_bytes == 1000
        assert config.clean.select_main_content is False


def test_extra_expectations_are_added_to_the_built_in_suites(tmp_path):
    extra = tmp_path / "mine"
    extra.mkdir()
    mine = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "word_count"}}
    _write(extra / "articles.json", json.dumps({"expectations": [mine]}))
    merged = merge_expectations(extra, tmp_path / "merged")
    for table in ("articles", "paragraphs", "inputs"):
        built_in = json.loads((EXPECTATIONS_DIR / f"{table}.json").read_text(encoding="utf-8"))
        suite = json.loads((merged / f"{table}.json").read_text(encoding="utf-8"))
        added = [mine] if table == "articles" else []
        assert suite["expectations"] == built_in["expectations"] + added
        assert suite["meta"] == built_in["meta"]
    _write(extra / "tables.json", json.dumps({"expectations": []}))
    with pytest.raises(SettingsError, match="not a newsclean table"):
        merge_expectations(extra, tmp_path / "again")


@pytest.mark.slow
def test_a_users_extra_expectation_gates_publishing(tmp_path, capsys):
    """``--expectations DIR``: a check of the user's own, no edit to the package."""
    inputs = _two_seeds(tmp_path / "in")
    extra = tmp_path / "checks"
    extra.mkdir()
    short = {
        "type": "expect_column_values_to_be_between",
        "kwargs": {"column": "word_count", "max_value": 50},
    }
    _write(extra / "articles.json", json.dumps({"expectations": [short]}))
    output = tmp_path / "out"
    code = main(["run", str(inputs), "--output", str(output), "--expectations", str(extra)])
    printed = capsys.readouterr().out
    assert code == 1
    assert "expect_column_values_to_be_between on word_count (2 unexpected)" in printed
    assert not (output / "articles").exists() or not any((output / "articles").iterdir())


def test_a_dask_local_cluster_opens_no_dashboard_port():
    """Before: the scheduler's HTTP server took port 8787 even without a dashboard, and a
    second run warned "Port 8787 is already in use"."""
    from distributed import LocalCluster

    from flows.runners import local_cluster_kwargs

    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            holder.bind(("127.0.0.1", 8787))
            holder.listen()
        except OSError:
            pass  # someone else has it: the same situation
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with LocalCluster(**local_cluster_kwargs(1)) as cluster:
                http_port = cluster.scheduler.http_server.port
    assert http_port != 8787
    assert not [w for w in caught if "8787" in str(w.message)]


def test_serve_carries_the_pipeline_options_to_its_runs_as_json(tmp_path):
    """A deployment's parameters are JSON; the flow turns them back into a PipelineConfig."""
    from flows.serve import deployment_parameters
    from flows.settings import config_parameter, run_config

    extra = tmp_path / "checks"
    extra.mkdir()
    _write(extra / "articles.json", json.dumps({"expectations": []}))
    options = config_parameter({"shard_size": 7, "dedup": {"threshold": 0.8}}, str(extra))
    parameters = deployment_parameters([str(SEEDS)], str(tmp_path / "out"), options)
    assert json.loads(json.dumps(parameters)) == parameters
    with run_config(parameters["config"]) as config:
        assert (config.shard_size, config.dedup.threshold) == (7, 0.8)
        assert config.expectations_dir != EXPECTATIONS_DIR
        assert (config.expectations_dir / "articles.json").is_file()
    assert "config" not in deployment_parameters([str(SEEDS)], str(tmp_path / "out"))


def _immutable(folder: Path, on: bool) -> bool:
    flag = "+i" if on else "-i"
    done = subprocess.run(["chattr", flag, str(folder)], capture_output=True, check=False)
    return done.returncode == 0


@pytest.mark.slow
def test_a_real_index_write_failure_is_one_line_without_prefect_noise(tmp_path):
    """The dedup index folder unwritable (as a full disk makes it) in a real ``newsclean``
    process: exit 4, one line, no traceback or 'Error logging to API' on the console."""
    seeds = sorted(SEEDS.iterdir())
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    shutil.copy(seeds[0], first / seeds[0].name)
    shutil.copy(seeds[1], second / seeds[1].name)
    output = tmp_path / "out"
    assert newsclean_flow(inputs=[str(first)], output=str(output)).published
    index = output / "_dedup" / "index"
    if not _immutable(index, True):
        pytest.skip("chattr +i is not available here")
    try:
        done = subprocess.run(
            [*RUN, str(second), "--output", str(output)],
            cwd=tmp_path,
            env=_fresh_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        _immutable(index, False)
    messages = _messages(done.stderr)
    assert done.returncode == 4, done.stderr
    assert len(messages) == 1, done.stderr
    assert "articles are visible" in messages[0] and "rebuilds the index" in messages[0]
    assert "Traceback" not in done.stderr and "Error logging to API" not in done.stderr
    assert len(_sources(output)) == 2
    rerun = newsclean_flow(inputs=[str(first), str(second)], output=str(output))
    assert rerun.summary.dedup_index.startswith("rebuilt")
