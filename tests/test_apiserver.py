"""A run's own API server: started early, answers, and never outlives the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows import apiserver
from flows.apiserver import start_api_server, stop_api_server, wait_until_ready

# A "run" that starts its server, reports the server's pid, then dies without cleaning up.
_DYING_RUN = """
import os, sys, time
from pathlib import Path
from flows.apiserver import _servers, start_api_server, wait_until_ready
url = start_api_server(Path(sys.argv[1]))
wait_until_ready(url)
print(_servers[url].pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.fixture
def no_api_url(monkeypatch):
    """No PREFECT_API_URL during the test, and whatever was there restored after it."""
    monkeypatch.setenv("PREFECT_API_URL", "placeholder")
    monkeypatch.delenv("PREFECT_API_URL")


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not _alive(pid)


def test_a_user_api_url_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://example.invalid/api")
    assert start_api_server(tmp_path) is None
    assert not apiserver._servers


@pytest.mark.server
@pytest.mark.timeout(300)
def test_server_answers_then_stops_with_the_run(tmp_path, no_api_url):
    url = start_api_server(tmp_path / "home")
    assert url is not None and os.environ["PREFECT_API_URL"] == url
    process = apiserver._servers[url]
    try:
        wait_until_ready(url)
        assert apiserver._healthy(url)
    finally:
        stop_api_server(url)
    assert process.poll() is not None
    assert not apiserver._healthy(url)


@pytest.mark.server
@pytest.mark.timeout(300)
def test_server_stops_by_itself_when_its_run_is_killed(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    run = subprocess.Popen(
        [sys.executable, "-c", _DYING_RUN, str(tmp_path / "home")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        server_pid = int(run.stdout.readline())
        assert _alive(server_pid)
        run.send_signal(signal.SIGKILL)
        run.wait()
        assert _gone_within(server_pid, 30)
    finally:
        if run.poll() is None:
            run.kill()


def test_wait_until_ready_gives_up_with_a_clear_error():
    with pytest.raises(RuntimeError, match="did not start"):
        wait_until_ready("http://127.0.0.1:9/api", timeout=0.2)


def test_server_runs_in_its_own_session(tmp_path, no_api_url):
    """Ctrl-C in a terminal signals the whole foreground group: a server in the run's group
    stopped first and left the run retrying its crash report for tens of seconds."""
    url = start_api_server(tmp_path / "home")
    process = apiserver._servers[url]
    try:
        assert os.getsid(process.pid) != os.getsid(0)
        assert os.getpgid(process.pid) != os.getpgid(0)
    finally:
        stop_api_server(url)
