"""Scheduling on a real Prefect server: ``newsclean serve`` and ``prefect deploy`` (prefect.yaml).

The server's scheduler creates the cron runs; ``newsclean serve`` (a subprocess, it blocks)
executes them and runs triggered with ``run_deployment``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from prefect import get_client
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.responses import DeploymentResponse
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.serve import ServeError, build_deployment

from .conftest import REPO, SEEDS
from .prefect_server import client_env, prefect_server

T = TypeVar("T")
CRON = "* * * * *"
NAME = "every-minute"
SERVE_CLI = (sys.executable, "-m", "flows.cli", "serve")


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose scheduler looks for new deployments every second."""
    with prefect_server(
        tmp_path_factory.mktemp("prefect-server-home"),
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
        PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS="1",
    ) as url:
        yield url


def _wait_for(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := check()) is not None:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextlib.contextmanager
def _serving(
    api_url: str, tmp_path: Path, args: list[str], name: str
) -> Iterator[tuple[subprocess.Popen[bytes], SyncPrefectClient, Path, DeploymentResponse]]:
    """``newsclean serve ARGS`` started from an unrelated directory (parameters are absolute,
    the entrypoint a module) until its deployment ``name`` is registered; killed on the way out.
    """
    serve_log = tmp_path / "serve.log"
    with open(serve_log, "wb") as log:
        server = subprocess.Popen(
            [*SERVE_CLI, *args, "--name", name],
            cwd=tmp_path,
            env=client_env(api_url, tmp_path / "serve-home", PYTHONPATH=str(REPO)),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        with (
            temporary_settings(updates={PREFECT_API_URL: api_url}),
            get_client(sync_client=True) as client,
        ):

            def deployment() -> DeploymentResponse | None:
                assert server.poll() is None, serve_log.read_text()
                try:
                    return client.read_deployment_by_name(f"newsclean/{name}")
                except ObjectNotFound:
                    return None

            found = _wait_for(deployment, 180, "the deployment to be registered")
            yield server, client, serve_log, found
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


@pytest.mark.server
@pytest.mark.timeout(600)
def test_serve_schedules_runs_and_a_triggered_run_publishes(api_url, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for seed in sorted(SEEDS.iterdir())[:2]:
        shutil.copy(seed, inputs / seed.name)
    output = tmp_path / "out"
    args = [str(inputs), "--output", str(output), "--cron", CRON]
    with _serving(api_url, tmp_path, args, NAME) as (_, client, serve_log, found):
        assert [s.schedule.cron for s in found.schedules] == [CRON]
        assert found.parameters == {"inputs": [str(inputs)], "output": str(output)}

        def scheduled_runs() -> list[FlowRun] | None:
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found.id]))
            )
            auto = [r for r in runs if r.auto_scheduled and r.state_type == StateType.SCHEDULED]
            return auto or None

        runs = _wait_for(scheduled_runs, 60, "the scheduler to create runs")
        assert all(r.expected_start_time.second == 0 for r in runs)  # on the minute

        triggered = run_deployment(found.id, timeout=420, poll_interval=2, as_subflow=False)
        assert triggered.state_type == StateType.COMPLETED, (
            triggered.state,
            serve_log.read_text()[-3000:],
        )
        line = f"run {triggered.name} (started "
        said = _wait_for(
            lambda: next((x for x in serve_log.read_text().splitlines() if line in x), None),
            60,
            "serve's line for the triggered run",
        )
        # A scheduled run may have published the two seeds first: then this one skips them.
        counts = re.search(
            r"Completed; 2 inputs, (\d) published, (\d) skipped, 0 quarantined$", said
        )
        assert counts and int(counts[1]) + int(counts[2]) == 2, said
    assert sorted(p.suffix for p in (output / "articles").iterdir()) == [".parquet"]
    assert (output / "reports" / "latest.json").is_file()


@pytest.mark.server
@pytest.mark.timeout(300)
def test_prefect_yaml_deploys_with_its_schedule(api_url, tmp_path):
    env = client_env(api_url, tmp_path / "home")
    with (
        temporary_settings(updates={PREFECT_API_URL: api_url}),
        get_client(sync_client=True) as client,
    ):
        client.create_work_pool(WorkPoolCreate(name="newsclean", type="process"), overwrite=True)
        done = subprocess.run(
            [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        deployment = client.read_deployment_by_name("newsclean/newsclean-hourly")
    assert [s.schedule.cron for s in deployment.schedules] == ["0 * * * *"]
    assert deployment.entrypoint == "flows/pipeline.py:newsclean_flow"
    assert deployment.parameters == {"inputs": ["seeds/"], "output": "output"}
    assert deployment.work_pool_name == "newsclean"
    assert deployment.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}
    ]


@pytest.mark.server
def test_serve_refuses_to_run_without_a_server(tmp_path):
    # A fresh process with no PREFECT_API_URL has only the temporary server, which has no
    # scheduler: serve must refuse at once instead of waiting for runs that never come.
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [*SERVE_CLI, str(SEEDS), "--output", str(tmp_path / "out"), "--cron", CRON],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 2, done.stderr
    assert "prefect server start" in done.stderr


@pytest.mark.parametrize(
    ("inputs", "cron", "message"),
    [([str(SEEDS)], "every day", "cron"), (["does/not/exist"], CRON, "input not found")],
)
def test_bad_schedules_and_inputs_are_rejected_before_registering(inputs, cron, message, tmp_path):
    with pytest.raises(ServeError, match=message):
        build_deployment(inputs, str(tmp_path), cron)


@pytest.mark.server
@pytest.mark.parametrize(
    ("sig", "to_group", "code"),
    [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130)],
    ids=["sigterm", "ctrl-c"],
)
def test_serve_stops_on_sigterm_and_ctrl_c(api_url, sig, to_group, code, tmp_path):
    """Before: SIGTERM ran Prefect's runner handler, whose stop() was never awaited
    ("coroutine 'Runner.astop' was never awaited"), and serve went on until SIGKILL."""
    args = [str(SEEDS), "--output", str(tmp_path / "out"), "--cron", "0 0 1 1 *"]
    with _serving(api_url, tmp_path, args, f"{NAME}-stop") as (server, _, serve_log, _):
        time.sleep(2)  # the runner's loop is running
        (os.killpg if to_group else os.kill)(server.pid, sig)
        assert server.wait(timeout=30) == code, serve_log.read_text()[-3000:]
    text = serve_log.read_text()
    assert "never awaited" not in text
    assert "serve stopped by" in text


@pytest.mark.server
@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("sig", "to_group", "code"),
    [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130)],
    ids=["sigterm", "ctrl-c"],
)
def test_a_stop_while_a_run_is_in_progress_cancels_it_in_prefect_without_a_traceback(
    api_url, sig, to_group, code, tmp_path
):
    """Before: a 40-line asyncio traceback, and the interrupted flow run stayed "Running" in
    Prefect for good."""

    from .pages import PAGE

    inputs = tmp_path / "in"
    inputs.mkdir()
    for number in range(300):  # enough work that the run is still going when serve stops
        (inputs / f"page-{number:03d}.html").write_text(
            PAGE.replace("Copyright 2025", f"Copyright 2025, page {number}"), encoding="utf-8"
        )
    args = [str(inputs), "--output", str(tmp_path / "out"), "--cron", "0 0 1 1 *"]
    name = f"{NAME}-{sig.name.lower()}"
    with _serving(api_url, tmp_path, args, name) as (server, client, serve_log, found):
        flow_run = client.create_flow_run_from_deployment(found.id)

        def running() -> FlowRun | None:
            current = client.read_flow_run(flow_run.id)
            return current if current.state_type == StateType.RUNNING else None

        _wait_for(running, 300, "the triggered run to start")
        time.sleep(3)  # the run is cleaning its shard
        (os.killpg if to_group else os.kill)(server.pid, sig)
        assert server.wait(timeout=60) == code, serve_log.read_text()[-3000:]

        def final() -> FlowRun | None:
            current = client.read_flow_run(flow_run.id)
            return current if current.state_type != StateType.RUNNING else None

        ended = _wait_for(final, 30, "the interrupted run to leave Running")
    text = serve_log.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert ended.state_type in (StateType.CANCELLED, StateType.CRASHED), ended.state
    assert ended.state.message, ended.state
    assert f"run {ended.name}: Cancelled (newsclean serve was stopped by {sig.name})" in text
    assert text.strip().splitlines()[-1] == "newsclean: serve stopped by " + (
        "Ctrl-C" if sig == signal.SIGINT else "SIGTERM"
    )
