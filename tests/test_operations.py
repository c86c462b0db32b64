"""Operations without surprises (issue #27): odd folders, closed pipes, custom expectations,
start-up and what a run leaves in the temp folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flows.cli import main
from tasks.inputs.read import find_inputs

from .conftest import REPO, SEEDS

RUN = (sys.executable, "-m", "flows.cli", "run")


def _env(**extra: str) -> dict[str, str]:
    """A user's environment: none of the test session's Prefect settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PYTHONPATH=str(REPO), DO_NOT_TRACK="1", **extra)
    return env


def _seeds(folder: Path, count: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for seed in sorted(SEEDS.iterdir())[:count]:
        shutil.copy(seed, folder / seed.name)
    return folder


def _published_sources(output: Path) -> list[str]:
    files = sorted(str(f) for f in (output / "articles").glob("*.parquet"))
    if not files:
        return []
    return [r[0] for r in duckdb.sql(f"SELECT source FROM read_parquet({files!r})").fetchall()]


def _skipped(output: Path) -> dict[str, str]:
    import json

    report = json.loads(max((output / "reports").glob("run-*.json")).read_text())
    return {Path(s["source"]).name: s["reason"] for s in report["skipped"]}


# --- finding 1: symlink loops -------------------------------------------------------------


def _odd_links(folder: Path) -> Path:
    """``a -> b``, ``b -> a``, a link to the folder's parent and one to itself."""
    (folder / "a").symlink_to("b")
    (folder / "b").symlink_to("a")
    (folder / "up").symlink_to("..", target_is_directory=True)
    (folder / "nested").mkdir()
    (folder / "nested" / "self").symlink_to(".", target_is_directory=True)
    return folder


def test_symlink_loops_and_links_to_an_ancestor_are_skipped_with_a_reason(tmp_path):
    folder = _odd_links(_seeds(tmp_path / "in"))
    refs, skipped = find_inputs([str(folder)])
    assert [Path(r.path).name for r in refs] == [sorted(SEEDS.iterdir())[0].name]
    reasons = {Path(s.source).name: s.reason for s in skipped}
    assert reasons == {
        "a": "symlink loop (-> b)",
        "b": "symlink loop (-> a)",
        "up": "symlink to a folder that contains it (-> ..)",
        "self": "symlink to a folder that contains it (-> .)",
    }


@pytest.mark.slow
def test_a_run_beside_a_symlink_loop_publishes_and_an_empty_folder_says_where_it_looked(
    tmp_path, capsys
):
    """Findings 1 and 6 in one run: the loop is skipped, the rest published; the folder with
    nothing readable gets one line naming it and what was passed over."""
    folder = _odd_links(_seeds(tmp_path / "in"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.md").write_text("not a page")
    (empty / ".hidden.txt").write_text("hidden")
    output = tmp_path / "out"
    code = main(["run", str(folder), str(empty), "--output", str(output)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert len(_published_sources(output)) == 1
    skipped = _skipped(output)
    assert skipped["a"] == "symlink loop (-> b)" and skipped["up"].startswith("symlink to a")
    notes = [line for line in err.splitlines() if "no input files in" in line]
    assert len(notes) == 1, err
    assert f"no input files in {empty} (looked for " in notes[0]
    assert "unsupported type: 1" in notes[0] and "hidden: 1" in notes[0]


# --- finding 2: a closed output pipe ------------------------------------------------------


@pytest.mark.slow
def test_a_closed_output_pipe_changes_neither_the_outcome_nor_the_exit_code(tmp_path):
    """``newsclean run ... 2>&1 | head -1``: the reader leaves after the first line."""
    inputs, output = _seeds(tmp_path / "in", 2), tmp_path / "out"
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: every write gets EPIPE
    try:
        process = subprocess.run(
            [*RUN, str(inputs), "--output", str(output)],
            stdout=write_end,
            stderr=write_end,
            env=_env(),
            cwd=tmp_path,
            timeout=600,
        )
    finally:
        os.close(write_end)
    assert process.returncode == 0
    assert len(_published_sources(output)) == 2
    assert not list(output.glob("reports/failed-*.log"))


# --- finding 3: custom expectations the suites cannot run ---------------------------------


@pytest.mark.parametrize(
    ("expectation", "problem"),
    [
        (
            {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "word_count"}},
            "expect_column_mean_to_be_between is not supported",
        ),
        (
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "title", "mostly": 0.9},
            },
            "expect_column_values_to_not_be_null with 'mostly' is not supported",
        ),
    ],
    ids=["type", "mostly"],
)
def test_an_expectation_the_suites_cannot_run_is_refused_before_any_work(
    expectation, problem, tmp_path, capsys
):
    import json

    from tasks.output.validate import ROW_LOCAL, RUN_WIDE

    extra = tmp_path / "checks"
    extra.mkdir()
    (extra / "articles.json").write_text(json.dumps({"expectations": [expectation]}))
    output = tmp_path / "out"
    code = main(
        ["run", str(_seeds(tmp_path / "in")), "--output", str(output), "--expectations", str(extra)]
    )
    err = capsys.readouterr().err
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"newsclean: {extra / 'articles.json'}: {problem}; supported: ")
    assert all(kind in line for kind in ROW_LOCAL | RUN_WIDE)
    assert not (output / ".prefect").exists(), "a server was started before the refusal"


def test_readme_lists_the_supported_expectation_types():
    from tasks.output.validate import SUPPORTED_EXPECTATIONS

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    paragraph = readme[readme.index("\n`--expectations DIR` ") :].split("\n\n")[0]
    assert all(f"`{kind}`" in paragraph for kind in SUPPORTED_EXPECTATIONS)


# --- finding 9: nothing left in the temp folder -------------------------------------------


def test_a_test_session_leaves_nothing_in_the_temp_folder(tmp_path):
    """Each session left its Prefect home (``newsclean-test-prefect-*``, up to 13 MB)."""
    temp = tmp_path / "temp"
    temp.mkdir()
    session = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_reasons.py",
            "-k",
            "reasons_page",
        ],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert session.returncode == 0, session.stdout[-2000:]
    assert "passed" in session.stdout
    assert [p.name for p in temp.iterdir() if p.name.startswith("newsclean-")] == []


# --- finding 5: start-up ------------------------------------------------------------------


class _ServerStarted(Exception):
    """Raised by the stand-in for the run's API server: the test has seen what it needs."""


def test_the_run_holds_the_output_lock_before_it_starts_anything_heavy(tmp_path, monkeypatch):
    """Before, the command only probed the lock and the flow took it after the server's boot
    (10-20 s later): a second run started meanwhile passed the probe, booted a server and
    imported everything, and was refused only then, 16 s later, with a Prefect warning."""
    import contextlib
    import fcntl

    from flows import cli
    from tasks.output.publish import LOCK_FILE

    output = tmp_path / "out"
    seen: list[bool] = []

    @contextlib.contextmanager
    def server(home, state):
        with open(output / LOCK_FILE, "a+") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                seen.append(True)  # held, by the run that is starting
            else:
                seen.append(False)
        raise _ServerStarted
        yield  # pragma: no cover

    monkeypatch.setattr(cli, "_api_server", server)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    with pytest.raises(_ServerStarted):
        cli.main(["run", str(_seeds(tmp_path / "in")), "--output", str(output)])
    assert seen == [True]


def test_a_lock_refusal_imports_nothing_heavy(tmp_path):
    """One line and exit 3, without Prefect, Great Expectations or the API server."""
    from tasks.output.publish import output_lock

    output = tmp_path / "out"
    script = (
        "import sys; from flows.cli import main; code = main(sys.argv[1:]);"
        "heavy = {'prefect', 'great_expectations', 'pandas', 'duckdb', 'pyarrow', 'uvicorn'};"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules})); sys.exit(code)"
    )
    with output_lock(output):
        done = subprocess.run(
            [sys.executable, "-c", script, "run", str(SEEDS), "--output", str(output)],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 3
    assert done.stderr.splitlines() == [f"newsclean: another newsclean run is writing to {output}"]
    assert done.stdout.strip() == "[]"
    assert not (output / ".prefect").exists()
