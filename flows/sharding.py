"""Shard size for a run, from the configured size and how many shards can run at once.

Kept apart from :mod:`flows.runners` so a local run does not import Dask (~0.7 s).
"""

from __future__ import annotations

# Below this many inputs a shard's orchestration (~90 ms a Prefect task on Dask) stops being
# small next to its work (50-100 ms of CPU a real page): 50 pages keep it under ~4%.
MIN_SHARD_SIZE = 50
SHARDS_PER_WORKER = 2


def parallelism(task_runner: object) -> int:
    """Shards that can run at once: a Dask cluster's worker threads, else 1.

    The flow's thread-pool runner counts as 1: it runs one shard at a time (the shards are
    CPU-bound Python and threads share one GIL). Asking a Dask runner starts its client (and
    ``LocalCluster``), which the first submitted shard would do anyway.
    """
    if not any(cls.__module__.startswith("prefect_dask") for cls in type(task_runner).__mro__):
        return 1  # duck-typed: importing prefect_dask here would cost every local run
    info = task_runner.client.scheduler_info(n_workers=-1)  # type: ignore[attr-defined]
    threads: int = sum(worker.get("nthreads", 1) for worker in info["workers"].values())
    return max(1, threads)


def shard_size_for(n_inputs: int, configured: int, workers: int) -> int:
    """Shard size for a run: ``configured``, smaller when that would leave workers idle.

    Aims at ``SHARDS_PER_WORKER`` shards per worker (so one slow shard does not leave the
    other workers waiting), never below ``MIN_SHARD_SIZE`` inputs (orchestration would no
    longer be small) nor above ``configured``. Sharding never changes the output.
    """
    if workers <= 1 or n_inputs <= 0:
        return configured
    target = -(-n_inputs // (SHARDS_PER_WORKER * workers))  # ceiling division
    return max(min(configured, target), min(MIN_SHARD_SIZE, configured))
