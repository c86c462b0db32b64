"""``newsclean serve``: register the flow as a deployment with a cron schedule and run it.

Scheduling is the Prefect server's job (its scheduler service creates the runs), so this needs
a real server: ``prefect server start`` and ``PREFECT_API_URL`` pointing at it. The temporary
server Prefect starts when no API URL is set has no scheduler, so runs would never appear;
``serve`` refuses that case instead of waiting forever.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

DEFAULT_NAME = "newsclean-scheduled"
SERVER_HINT = (
    "newsclean serve needs a Prefect server: start one with `prefect server start` and set "
    "PREFECT_API_URL=http://127.0.0.1:4200/api"
)


class ServeError(RuntimeError):
    """The deployment cannot be served as asked (no server, bad cron, missing input)."""


def deployment_parameters(inputs: Sequence[str], output: str) -> dict[str, object]:
    """Absolute paths: scheduled runs must not depend on where the runner process started."""
    missing = [given for given in inputs if not Path(given).exists()]
    if missing:
        raise ServeError(f"input not found: {', '.join(missing)}")
    return {
        "inputs": [str(Path(given).resolve()) for given in inputs],
        "output": str(Path(output).resolve()),
    }


def build_deployment(
    inputs: Sequence[str], output: str, cron: str, name: str = DEFAULT_NAME
) -> RunnerDeployment:
    """The flow as a ``RunnerDeployment``: cron schedule, fixed inputs, one run at a time.

    ``config`` is left out of the parameters (it is not JSON) so runs use the defaults. The
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
        parameters=deployment_parameters(inputs, output),
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


def serve(inputs: list[str], output: str, cron: str, name: str = DEFAULT_NAME) -> None:
    """Register the scheduled deployment and execute its runs here until interrupted.

    ``limit=1``: a scheduled run and a manually triggered one never write the output at once
    (the publish lock in tasks/publish.py guards against other writers too).
    """
    from prefect import serve as prefect_serve

    require_server()
    deployment = build_deployment(inputs, output, cron, name)
    prefect_serve(deployment, limit=1)
