"""The shared API server: started once per Prefect home, reused, gone after its idle time."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

import pytest

from flows.apiserver import STATE_FILE, ensure_api_server, wait_until_ready


def _pid(home: Path) -> int:
    return json.loads((home / STATE_FILE).read_text(encoding="utf-8"))["pid"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_user_api_url_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://example.invalid/api")
    assert ensure_api_server(tmp_path) is None
    assert not (tmp_path / STATE_FILE).exists()


def test_server_is_reused_then_stops_when_idle(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    home = tmp_path / "home"
    url = ensure_api_server(home, idle_seconds=4)
    try:
        assert url is not None and os.environ["PREFECT_API_URL"] == url
        wait_until_ready(url)
        pid = _pid(home)
        monkeypatch.delenv("PREFECT_API_URL")
        assert ensure_api_server(home, idle_seconds=4) == url  # healthy: no second server
        assert _pid(home) == pid
        deadline = time.monotonic() + 60
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.5)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it: it is our child in this test
        assert not _alive(pid)
        assert not (home / STATE_FILE).exists()
    finally:
        if (home / STATE_FILE).exists():
            os.kill(_pid(home), 15)


def test_wait_until_ready_gives_up_with_a_clear_error():
    with pytest.raises(RuntimeError, match="did not start"):
        wait_until_ready("http://127.0.0.1:9/api", timeout=0.2)
