"""``newsclean serve``: register the flow as a deployment with a cron schedule and run it.

Scheduling is the Prefect server's job (its scheduler service creates the runs), so this needs
a real server: ``prefect server start`` and ``PREFECT_API_URL`` pointing at it. The temporary
server Prefect starts when no API URL is set has no scheduler, so runs would never appear;
``serve`` refuses that case instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Sequence
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
    on_signal: Callable[[int, object], None] | None = None,
    config: dict[str, Any] | None = None,
) -> None:
    """Register the scheduled deployment and execute its runs here until interrupted.

    ``limit=1``: a scheduled run and a manually triggered one never write the output at once
    (the publish lock in tasks/output/publish.py guards against other writers too). ``on_signal``
    replaces the handler Prefect's runner installs for SIGTERM, whose ``stop()`` never ran
    ("coroutine 'Runner.astop' was never awaited"), so SIGTERM left the command running.
    """
    from prefect.runner import Runner

    class StoppableRunner(Runner):
        def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
            if on_signal is not None:
                on_signal(*args)
            else:  # pragma: no cover - the CLI always passes one
                raise KeyboardInterrupt

    require_server()
    deployment = build_deployment(inputs, output, cron, name, config)
    runner = StoppableRunner(pause_on_shutdown=True, limit=1)
    runner.add_deployment(deployment)
    print(f"serving deployment newsclean/{name} ({cron}); Ctrl-C or SIGTERM stops it", flush=True)
    asyncio.run(runner.start())


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
