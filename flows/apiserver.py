"""One Prefect API server per Prefect home, reused by successive ``newsclean run``s.

Without ``PREFECT_API_URL`` every run starts Prefect's temporary server: the run imports the
whole server stack (FastAPI, SQLAlchemy, the API routers) just to launch it, then waits for
a subprocess that imports it all again and opens the database; it is the largest fixed cost
of a small run. Here the first run starts a server *detached*, early (so it boots while the run
imports Prefect and the flow), and records it in ``$PREFECT_HOME/newsclean-api.json``; later
runs find it healthy and use it at once. The server stops itself after ``idle_seconds``
without requests, so nothing lingers for long. Same database, same settings, no background
services: what the temporary server does, started once instead of every time.

    url = ensure_api_server(home)   # before ``import prefect``: sets PREFECT_API_URL
    ...                             # imports, argument checks
    wait_until_ready(url)           # before the flow's first API call
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STATE_FILE = "newsclean-api.json"
LOCK_FILE = "newsclean-api.lock"
LOG_FILE = "newsclean-api.log"
DEFAULT_IDLE_SECONDS = 900
STARTUP_TIMEOUT_SECONDS = 120.0
_WATCHDOG_SECONDS = 1.0


def ensure_api_server(home: Path, idle_seconds: int = DEFAULT_IDLE_SECONDS) -> str | None:
    """URL of this home's shared server, started if none is healthy; sets ``PREFECT_API_URL``.

    Returns ``None`` and changes nothing when ``PREFECT_API_URL`` is already set (the user's
    own server wins). Must run before Prefect is imported: Prefect reads settings at import.
    Does not wait for a new server to answer: call :func:`wait_until_ready` before the flow.
    """
    if os.environ.get("PREFECT_API_URL"):
        return None
    home.mkdir(parents=True, exist_ok=True)
    with _locked(home / LOCK_FILE):
        state = _read_state(home)
        if state and _pid_alive(state["pid"]) and _healthy(state["url"]):
            url = state["url"]
        else:
            url = _start(home, idle_seconds)
    os.environ["PREFECT_API_URL"] = url
    return url


def wait_until_ready(url: str, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
    """Block until ``url`` answers its health check; a clear error if it never does."""
    deadline = time.monotonic() + timeout
    while not _healthy(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"Prefect API at {url} did not start within {timeout:.0f} s")
        time.sleep(0.05)


def _start(home: Path, idle_seconds: int) -> str:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({"PREFECT_UI_ENABLED": "false", "PREFECT_HOME": str(home)})
    command = [sys.executable, "-m", "flows.apiserver", "--port", str(port), "--home", str(home)]
    with open(home / LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            [*command, "--idle-seconds", str(idle_seconds)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,  # outlives this run; not killed by its Ctrl-C
        )
    url = f"http://127.0.0.1:{port}/api"
    (home / STATE_FILE).write_text(json.dumps({"url": url, "pid": process.pid}), encoding="utf-8")
    return url


def _read_state(home: Path) -> dict[str, Any] | None:
    try:
        return json.loads((home / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Two runs starting at once must not both start a server for the same home."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _ActivityTracker:
    """ASGI wrapper that records when the last request ended and how many are in flight."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.in_flight = 0
        self.last_activity = time.monotonic()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.last_activity = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.in_flight else time.monotonic() - self.last_activity


def serve(port: int, home: Path, idle_seconds: int) -> None:
    """Run the API (no UI, no background services) until idle for ``idle_seconds``."""
    import uvicorn
    from prefect.server.api.server import create_app

    tracker = _ActivityTracker(create_app(ephemeral=True, final=True))
    server = uvicorn.Server(
        uvicorn.Config(tracker, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    )

    def watchdog() -> None:
        while not server.started and not server.should_exit:  # boot time is not idle time
            time.sleep(_WATCHDOG_SECONDS / 10)
        tracker.last_activity = time.monotonic()
        while not server.should_exit:
            time.sleep(_WATCHDOG_SECONDS)
            if tracker.idle_for() > idle_seconds:
                server.should_exit = True

    threading.Thread(target=watchdog, daemon=True).start()
    try:
        server.run()
    finally:
        with _locked(home / LOCK_FILE):
            state = _read_state(home)
            if state and state.get("pid") == os.getpid():
                (home / STATE_FILE).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="newsclean's shared Prefect API server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--idle-seconds", type=int, default=DEFAULT_IDLE_SECONDS)
    args = parser.parse_args(argv)
    serve(args.port, args.home, args.idle_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
