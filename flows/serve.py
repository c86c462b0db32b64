"""``newsclean serve``: register the flow as a deployment with a cron schedule and run it.

Scheduling is the Prefect server's job (its scheduler service creates the runs), so this needs
a real server: ``prefect server start`` and ``PREFECT_API_URL`` pointing at it. The temporary
server Prefect starts when no API URL is set has no scheduler, so runs would never appear;
``serve`` refuses that case instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

DEFAULT_NAME = "newsclean-scheduled"
SERVER_HINT = (
    "newsclean serve needs a Prefect server: start one with `prefect server start` and set "
    "PREFECT_API_URL=http://127.0.0.1:4200/api"
)


class ServeError(RuntimeError):
    """The deployment cannot be served as asked (no server, bad cron, missing input)."""


def deployment_parameters(
    inputs: Sequence[str], output: str, config: dict[str, Any] | None = None
) -> dict[str, object]:
    """Absolute paths: scheduled runs must not depend on where the runner process started.

    ``config``: the pipeline options of the config file (``flows.settings.config_parameter``),
    left out when there are none, so that runs use the defaults.
    """
    missing = [given for given in inputs if not Path(given).exists()]
    if missing:
        raise ServeError(f"input not found: {', '.join(missing)}")
    parameters: dict[str, object] = {
        "inputs": [str(Path(given).resolve()) for given in inputs],
        "output": str(Path(output).resolve()),
    }
    if config:
        parameters["config"] = config
    return parameters


def build_deployment(
    inputs: Sequence[str],
    output: str,
    cron: str,
    name: str = DEFAULT_NAME,
    config: dict[str, Any] | None = None,
) -> RunnerDeployment:
    """The flow as a ``RunnerDeployment``: cron schedule, fixed inputs, one run at a time.

    ``config`` travels as JSON (the flow turns it back into a ``PipelineConfig``). The
    entrypoint is the module path, which works from any working directory.
    """
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.types.entrypoint import EntrypointType

    from flows.pipeline import newsclean_flow

    try:
        schedule = CronSchedule(cron=cron)
    except ValueError as error:
        raise ServeError(f"not a valid cron expression: {cron!r}") from error
    # to_deployment is sync-compatible: called from sync code it returns the deployment itself.
    return newsclean_flow.to_deployment(  # type: ignore[return-value]
        name=name,
        # The client's CronSchedule, which Prefect 3.8 still accepts here (tests/test_serve.py).
        schedule=schedule,  # type: ignore[arg-type]
        parameters=deployment_parameters(inputs, output, config),
        description="Clean, deduplicate, validate and publish news pages into Parquet.",
        tags=["newsclean"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def require_server() -> str:
    """The configured API URL; a scheduled deployment on the temporary server never runs."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url or os.environ.get("PREFECT_API_URL")
    if not url:
        raise ServeError(SERVER_HINT)
    return url


def serve(
    inputs: list[str],
    output: str,
    cron: str,
    name: str = DEFAULT_NAME,
    on_signal: Callable[[int], None] | None = None,
    config: dict[str, Any] | None = None,
) -> int | None:
    """Register the scheduled deployment and execute its runs here until a signal stops it;
    the signal's number (``None``: the runner ended by itself).

    ``limit=1``: a scheduled run and a manually triggered one never write the output at once
    (the publish lock in tasks/output/lock.py guards against other writers too). A signal
    (``on_signal`` is told at once) stops the serving loop in order: the flow run in
    progress is marked Cancelled in Prefect with a message and its process is stopped, then
    the runner; no traceback. Each run that ends is one line on the console.
    """
    from prefect.runner import Runner

    class StoppableRunner(Runner):
        # Prefect's runner installs this for SIGTERM; its own stop() was never awaited
        # ("coroutine 'Runner.astop' was never awaited") and SIGTERM left the command running.
        on_sigterm: Callable[[], None] | None = None

        def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
            if self.on_sigterm is not None:
                self.on_sigterm()

    require_server()
    deployment = build_deployment(inputs, output, cron, name, config)
    runner = StoppableRunner(pause_on_shutdown=True, limit=1)
    runner.add_deployment(deployment)
    print(f"serving deployment newsclean/{name} ({cron}); Ctrl-C or SIGTERM stops it", flush=True)
    return asyncio.run(_serve_until_stopped(runner, Path(output).resolve(), on_signal))


async def _serve_until_stopped(
    runner: Any, output: Path, on_signal: Callable[[int], None] | None
) -> int | None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals: list[int] = []

    def request_stop(signum: int) -> None:
        signals.append(signum)
        if on_signal is not None:
            on_signal(signum)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, request_stop, signum)
    runner.on_sigterm = lambda: loop.call_soon_threadsafe(request_stop, signal.SIGTERM)
    serving = asyncio.create_task(runner.start())
    watching = asyncio.create_task(_say_each_run(runner, output))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not signals:
        watching.cancel()
        stopping.cancel()
        await serving
        return None
    loop.set_exception_handler(_quiet_about_cancelled)
    watching.cancel()  # the runs in progress get their line below
    reason = f"newsclean serve was stopped by {signal.Signals(signals[0]).name}"
    runs = await _cancel_runs_in_progress(runner, reason)
    terminate_children()
    serving.cancel()
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(asyncio.gather(serving, watching), STOP_SECONDS)
    for flow_run in runs:
        _say(f"run {flow_run.name}: Cancelled ({reason})")
    return signals[0]


def _quiet_about_cancelled(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """While serve stops, a callback of Prefect's runner that finds its task cancelled is
    the stop going as planned, not an error with a traceback on the console."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


# How long the runner may take to wind down after a signal (the stop watchdog's grace is
# longer: flows.cli).
STOP_SECONDS = 5.0
_POLL_SECONDS = 1.0


async def _cancel_runs_in_progress(runner: Any, reason: str) -> list[Any]:
    """Mark the flow runs this runner executes as Cancelled, with ``reason`` as the message.

    Their processes are stopped next; a run killed mid-way is crash-safe (tasks/output/
    publish.py), but without this Prefect showed it "Running" for good.
    """
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled

    runs = []
    async with get_client() as client:
        for run_id in runs_in_progress(runner):
            with contextlib.suppress(Exception):
                await client.set_flow_run_state(
                    run_id, Cancelled(message=f"{reason}; {_NEXT_RUN}"), force=True
                )
                runs.append(await client.read_flow_run(run_id))
    return runs


def runs_in_progress(runner: Any) -> set[Any]:
    """The ids of the flow runs whose processes ``runner`` started and that are still going
    (Prefect 3.8 keeps them in its process manager; earlier versions in a dict)."""
    manager = getattr(runner, "_process_manager", None)
    ids = set(manager.flow_run_ids()) if manager is not None else set()
    return ids | set(getattr(runner, "_flow_run_process_map", {}))


_NEXT_RUN = "the dataset is as it was, or the next run completes this one"


async def _say_each_run(runner: Any, output: Path) -> None:
    """One console line for each flow run of the runner that ends: its name, when it
    started, its final state and (from its run report) what it did with its inputs."""
    from prefect.client.orchestration import get_client

    started: dict[Any, datetime] = {}
    while True:
        current = runs_in_progress(runner)
        for run_id in current:
            started.setdefault(run_id, datetime.now(UTC))
        for run_id in [run_id for run_id in started if run_id not in current]:
            since = started.pop(run_id)
            name, state, message = str(run_id), None, None
            with contextlib.suppress(Exception):
                async with get_client() as client:
                    flow_run = await client.read_flow_run(run_id)
                name = flow_run.name
                if flow_run.state is not None:
                    state, message = flow_run.state.name, flow_run.state.message
            _say(run_line(name, since, state, message, output))
        await asyncio.sleep(_POLL_SECONDS)


def run_line(
    name: str, started: datetime, state: str | None, message: str | None, output: Path
) -> str:
    """``run NAME (started HH:MM:SS): STATE; N inputs, P published, S skipped, Q quarantined``
    (the counts from the run's report when it wrote one; else the state's message)."""
    line = f"run {name} (started {started.astimezone():%H:%M:%S}): {state or 'ended'}"
    counts = _report_counts(output, started)
    if counts is not None:
        return (
            f"{line}; {counts['total']} inputs, {counts['published']} published, "
            f"{counts['skipped']} skipped, {counts['quarantined']} quarantined"
        )
    return f"{line} ({message})" if message else line


def _report_counts(output: Path, since: datetime) -> dict[str, int] | None:
    """The input counts of the newest run report in ``output`` if that run started after
    ``since`` (less a second: report times are whole seconds)."""
    try:
        report = json.loads((output / "reports" / "latest.json").read_text(encoding="utf-8"))
        if datetime.fromisoformat(report["started_at"]) < since - timedelta(seconds=1):
            return None
        return {key: int(report["inputs"][key]) for key in _COUNTS}
    except (OSError, ValueError, KeyError, TypeError):
        return None


_COUNTS = ("total", "published", "skipped", "quarantined")


def _say(line: str) -> None:
    print(f"{datetime.now():%H:%M:%S} newsclean: {line}", flush=True)


def terminate_children() -> None:
    """SIGTERM this process's child processes (flow runs the runner started).

    A flow run killed this way is crash-safe (tasks/output/publish.py): the dataset stays as it was,
    or the next run completes it.
    """
    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            with contextlib.suppress(OSError):
                os.kill(int(stat.parent.name), signal.SIGTERM)
