"""Dask task runner for ``newsclean run --runner dask``: one process per core, one shared API.

Two things the stock ``DaskTaskRunner`` gets wrong for this pipeline, both measured:

* With no ``PREFECT_API_URL`` (the default: Prefect's temporary server), every Dask worker
  process found no API URL in the settings it received and started its *own* temporary
  server, 10-20 s each on this machine, plus a 4 s kill on shutdown. :class:`NewscleanDaskRunner`
  hands the flow's server URL to the workers instead, so they report to the same server.
* Shards are CPU-bound Python (trafilatura, lxml, regexes), so threads in a worker only
  fight over the GIL: a ``LocalCluster`` gets one single-threaded worker *process* per core.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings
from prefect_dask.task_runners import DaskTaskRunner

__all__ = ["NewscleanDaskRunner", "dask_task_runner", "default_workers"]


def default_workers() -> int:
    """Cores this process may use (``sched_getaffinity`` respects cgroup/taskset limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def local_cluster_kwargs(workers: int | None = None) -> dict[str, Any]:
    """``LocalCluster`` options: single-threaded worker processes, no dashboard.

    No dashboard: it needs bokeh, which is not a dependency, and a fixed port that two
    concurrent runs on one machine would fight over. ``dashboard_address=None`` alone turns
    the dashboard off but the scheduler still opens its HTTP server on the dashboard's
    default port 8787 (and warns "Port 8787 is already in use" when another run has it):
    ``:0`` for the scheduler puts that server on a free port instead.
    """
    return {
        "n_workers": workers or default_workers(),
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": None,
        "scheduler_kwargs": {"dashboard": False, "dashboard_address": ":0"},
    }


class NewscleanDaskRunner(DaskTaskRunner):
    """``DaskTaskRunner`` whose workers use the flow's Prefect API instead of their own.

    Entered by the flow engine before any task is submitted; task submission serialises the
    *current* settings to the workers, so pinning ``PREFECT_API_URL`` here is what they see.
    In a worker (where the engine enters a duplicate of this runner) the URL is already set
    and nothing happens.
    """

    def __enter__(self) -> NewscleanDaskRunner:
        super().__enter__()  # type: ignore[no-untyped-call]  # prefect-dask leaves it unannotated
        self._exit_stack.enter_context(_quiet_distributed())
        if get_current_settings().api.url is None:
            url = _temporary_server_url()
            if url is not None:
                self._exit_stack.enter_context(temporary_settings(updates={PREFECT_API_URL: url}))
        return self


@contextmanager
def _quiet_distributed() -> Iterator[None]:
    """Scheduler and nannies of a LocalCluster live in this process and log every worker
    start and stop at INFO through Prefect's console handler; keep them to warnings."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def _temporary_server_url() -> str | None:
    """URL of this process's temporary Prefect server, started if need be (idempotent)."""
    if not get_current_settings().server.ephemeral.enabled:
        return None
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # one instance per process: the flow engine's own
    server.start()
    return server.api_url


def dask_task_runner(address: str | None = None, workers: int | None = None) -> DaskTaskRunner:
    """Task runner for ``--runner dask``: the cluster at ``address``, else a new ``LocalCluster``.

    With ``address``, ``workers`` is ignored (the cluster is already sized); that cluster's
    workers must be able to reach this process's Prefect API (``PREFECT_API_URL``): a
    temporary server listens on 127.0.0.1 only, which suits a cluster on the same machine.
    """
    if address:
        return NewscleanDaskRunner(address=address)
    return NewscleanDaskRunner(
        cluster_class="distributed.LocalCluster", cluster_kwargs=local_cluster_kwargs(workers)
    )
