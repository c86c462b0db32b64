"""This run's temporary Prefect API server, started at the CLI's first line.

Without ``PREFECT_API_URL`` Prefect starts a temporary server when the flow starts: the run
first imports the whole server stack (FastAPI, SQLAlchemy, the API routers) only to launch
it, then waits while a subprocess imports it all again and opens the database. That is the
largest fixed cost of a small run. Started here before anything else is imported, the same
server (the database under ``PREFECT_HOME``, no UI, the services Prefect runs in its
temporary server) boots on another core while the run imports Prefect, the flow and Great
Expectations, and the run never imports the server stack itself. Like Prefect's temporary
server it lives as long as the run: stopped at exit, and it stops by itself when the run
that started it is gone (killed, crashed).

    with run_api_server(home) as url:  # before ``import prefect``: sets PREFECT_API_URL
        ...                            # imports, argument checks
        wait_until_ready(url)          # before the flow's first API call
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
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

LOG_FILE = "newsclean-api.log"
STARTUP_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 2.0
_PARENT_CHECK_SECONDS = 0.5
_servers: dict[str, subprocess.Popen[bytes]] = {}


def start_api_server(home: Path) -> str | None:
    """Start this run's API server without waiting for it; sets ``PREFECT_API_URL``.

    Returns ``None`` and changes nothing when ``PREFECT_API_URL`` is already set (the user's
    own server wins). Must run before Prefect is imported: Prefect reads settings at import.
    """
    if os.environ.get("PREFECT_API_URL"):
        return None
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "PREFECT_UI_ENABLED": "false", "PREFECT_HOME": str(home)}
    command = [sys.executable, "-m", "flows.apiserver", "--port", str(port)]
    with open(home / LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            [*command, "--parent", str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            # Its own session: Ctrl-C in a terminal signals the whole foreground process
            # group, and a server that stopped first left the run retrying its crash report
            # for tens of seconds. The run stops it last (or it notices the run is gone).
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/api"
    _servers[url] = process
    atexit.register(stop_api_server, url)
    os.environ["PREFECT_API_URL"] = url
    return url


@contextlib.contextmanager
def run_api_server(home: Path) -> Iterator[str | None]:
    """:func:`start_api_server` for the duration of a ``with`` block, then stopped.

    ``PREFECT_API_URL`` is restored on the way out, so a process that goes on (a test
    calling the CLI in-process) is not left pointing at a stopped server.
    """
    before = os.environ.get("PREFECT_API_URL")
    url = start_api_server(home)
    try:
        yield url
    finally:
        if url is not None:
            stop_api_server(url)
            if before is None:
                os.environ.pop("PREFECT_API_URL", None)
            else:
                os.environ["PREFECT_API_URL"] = before


def wait_until_ready(url: str, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
    """Block until ``url`` answers its health check; a clear error if it never will."""
    process = _servers.get(url)
    deadline = time.monotonic() + timeout
    while not _healthy(url):
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"Prefect API server exited with code {process.returncode} before answering; "
                f"see {LOG_FILE} in PREFECT_HOME"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(f"Prefect API at {url} did not start within {timeout:.0f} s")
        time.sleep(0.05)


def stop_api_server(url: str) -> None:
    """Stop a server this process started (SIGTERM, then SIGKILL if it does not exit)."""
    process = _servers.pop(url, None)
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def signal_api_server(url: str) -> None:
    """Ask a server this process started to stop, without waiting (the process is ending;
    the server also stops by itself once this process is gone)."""
    process = _servers.get(url)
    if process is not None and process.poll() is None:
        process.terminate()


def _healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(port: int, parent: int) -> None:
    """Run the API (no UI) until stopped or until process ``parent`` is gone."""
    import uvicorn
    from prefect.server.api.server import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ephemeral=True, final=True),
            host="127.0.0.1",
            port=port,
            log_level="error",
            lifespan="on",
        )
    )

    def watch_parent() -> None:
        while not server.should_exit:
            if os.getppid() != parent:  # re-parented: the run died without stopping us
                server.should_exit = True
            time.sleep(_PARENT_CHECK_SECONDS)

    threading.Thread(target=watch_parent, daemon=True).start()
    server.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="a newsclean run's Prefect API server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True, help="stop when this pid is gone")
    args = parser.parse_args(argv)
    serve(args.port, args.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
