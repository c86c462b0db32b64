"""Ctrl-C and SIGTERM stop a real ``newsclean run`` promptly and leave the dataset whole
(issue #19, finding 5).

Each test starts the command as a subprocess in its own session (as a terminal would start a
foreground job), signals it mid-run, and checks the exit code, the one-line message, the
published dataset and that the run's API server is gone. ``proc.wait(timeout=...)`` is only a
hang guard: before the fix a stopped run took 11-73 s and SIGTERM could be lost entirely.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from flows.pipeline import newsclean_flow
from tasks.output.publish import PAUSE_ENV, PAUSE_FILE_ENV, PUBLISHED_TABLES, STAGING

from .conftest import REPO, SEEDS
from .pages import PAGE

RUN = (sys.executable, "-m", "flows.cli", "run")
HANG_GUARD_S = 60


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PYTHONPATH=str(REPO), DO_NOT_TRACK="1", **extra)
    return env


def _dataset(output: Path) -> dict[str, list[tuple]]:
    tables = {}
    for table in PUBLISHED_TABLES:
        files = sorted(str(f) for f in (output / table).glob("*.parquet"))
        query = f"SELECT * FROM read_parquet({files!r}) ORDER BY ALL"
        tables[table] = duckdb.sql(query).fetchall() if files else []
    return tables


def _api_servers_of(pid: int) -> list[int]:
    """Pids of the API servers run ``pid`` started (flows/apiserver.py, ``--parent pid``)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"flows.apiserver" in args and str(pid).encode() in args:
            found.append(int(cmdline.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not any(_alive(p) for p in pids)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two seeds published by an earlier run, and a folder of more inputs for the next."""
    root = tmp_path_factory.mktemp("signals")
    first, second = root / "first", root / "second"
    first.mkdir()
    second.mkdir()
    for seed in sorted(SEEDS.iterdir())[:2]:
        shutil.copy(seed, first / seed.name)
    for number in range(400):  # enough work that the signal lands while a shard cleans
        (second / f"page-{number:03d}.html").write_text(
            PAGE.replace("Copyright 2025", f"Copyright 2025, page {number}"), encoding="utf-8"
        )
    base = root / "base"
    assert newsclean_flow(inputs=[str(first)], output=str(base)).published
    return base, second


def _start(output: Path, inputs: Path, log: Path, **env: str) -> subprocess.Popen[bytes]:
    with open(log, "wb") as handle:
        return subprocess.Popen(
            [*RUN, str(inputs), "--output", str(output)],
            cwd=output.parent,
            env=_env(**env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for(check, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 600
    while not check():
        assert process.poll() is None, f"run ended before {what}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"run never reached {what}"
        time.sleep(0.2)


def _messages(log: Path) -> list[str]:
    return [
        line
        for line in log.read_text(encoding="utf-8").splitlines()
        if line.startswith("newsclean: ")
    ]


@pytest.mark.parametrize(
    ("sig", "to_group", "code"),
    [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)],
    ids=["ctrl-c-to-the-foreground-group", "sigterm-to-the-run"],
)
@pytest.mark.slow
def test_a_signal_mid_shard_stops_the_run_and_leaves_the_dataset(
    published, sig, to_group, code, tmp_path
):
    base, more = published
    output = tmp_path / "out"
    shutil.copytree(base, output)
    before = _dataset(output)
    log = tmp_path / "run.log"
    temp = tmp_path / "temp"  # the run's temp folder: left empty however it stops
    temp.mkdir()
    process = _start(output, more, log, TMPDIR=str(temp))
    try:
        _wait_for(lambda: "input files in" in log.read_text(), process, log, "its shards")
        servers = _api_servers_of(process.pid)
        assert servers, "the run's API server was not found"
        time.sleep(1.0)
        (os.killpg if to_group else os.kill)(process.pid, sig)
        assert process.wait(timeout=HANG_GUARD_S) == code, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    messages = _messages(log)
    assert len(messages) == 1 and "nothing was published" in messages[0], messages
    assert "Traceback" not in log.read_text()
    assert _dataset(output) == before
    assert _gone_within(servers, 10), "the run's API server outlived it"
    assert not list(temp.iterdir()), "the run left its scratch folder in the temp folder"


@pytest.mark.slow
def test_ctrl_c_after_the_commit_is_completed_by_the_next_run(published, tmp_path):
    base, more = published
    output = tmp_path / "out"
    shutil.copytree(base, output)
    marker, log = tmp_path / "paused", tmp_path / "run.log"
    process = _start(output, more, log, **{PAUSE_ENV: "committed", PAUSE_FILE_ENV: str(marker)})
    try:
        _wait_for(marker.exists, process, log, "its commit")
        servers = _api_servers_of(process.pid)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=HANG_GUARD_S) == 130, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    messages = _messages(log)
    assert len(messages) == 1 and "the next run completes it" in messages[0], messages
    assert any((output / STAGING).glob("*/COMMIT"))
    assert _gone_within(servers, 10)
    rerun = newsclean_flow(inputs=[str(more)], output=str(output))
    assert rerun.summary.outputs["recovered_runs"]
    assert not any((output / STAGING).iterdir())


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_stop_that_a_library_turns_into_its_own_error_is_still_a_stop(
    command, monkeypatch, tmp_path, capsys
):
    """Ctrl-C while ``serve`` imported Prefect's runner reached the main thread inside
    pydantic, which raised PydanticSerializationError instead: exit 1 and a traceback."""
    from flows import cli

    def interrupted_inside_a_library(args, state):
        state.grace = 3600  # the watchdog must not end the test process
        state.arm(signal.SIGINT)
        raise ValueError("Error calling function `_ser_model`: Interrupted: SIGINT")

    monkeypatch.setattr(cli, f"_{command}", interrupted_inside_a_library)
    args = [command, str(SEEDS), "--output", str(tmp_path / "out")]
    code = cli.main([*args, "--cron", "* * * * *"] if command == "serve" else args)

    assert code == 130
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert ("stopped by" in line and "Ctrl-C" in line) or "SIGINT" in line
