"""Dask runner: same dataset as the local runner, whatever the worker count or shard size.

Real ``LocalCluster`` of worker *processes*, so results really cross a process boundary
(pickled shard results) and shards really run concurrently in different interpreters.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psutil
import pytest
from distributed import Client, LocalCluster
from prefect import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
    TaskRunFilterName,
)
from prefect.task_runners import ThreadPoolTaskRunner

from flows.pipeline import RunResult, newsclean_flow
from flows.runners import NewscleanDaskRunner, dask_task_runner, local_cluster_kwargs
from flows.sharding import parallelism, shard_size_for
from tasks.config import PipelineConfig

from .conftest import DATA, SEEDS

TABLES = (("articles", "article_id"), ("paragraphs", "paragraph_id"), ("quarantine", "source"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeds plus edited copies: near-duplicates across shards, a repeat, HTML, a bad file.

    19 inputs, so shard sizes 3 and 4 give 5-7 shards; the edited copies make dedup pick
    canonical paragraphs across shard boundaries, which is where a runner could leak order.
    """
    root = tmp_path_factory.mktemp("dask-corpus")
    for seed in sorted(SEEDS.glob("*.txt")):
        text = seed.read_text(encoding="utf-8")
        (root / seed.name).write_text(text, encoding="utf-8")
        for copy in range(2):
            note = f"Editor's note {copy}: this copy of {seed.stem} was revised on day {copy + 2}."
            (root / f"{seed.stem}_v{copy}.txt").write_text(f"{text}\n\n{note}\n", encoding="utf-8")
    first = sorted(SEEDS.glob("*.txt"))[0]
    (root / "zz_exact_repeat.txt").write_bytes(first.read_bytes())
    page = (DATA / "html" / "article.html").read_text(encoding="utf-8")
    (root / "page.html").write_text(page, encoding="utf-8")
    (root / "page_v1.html").write_text(
        page.replace("</body>", "<p>Correction appended to this copy of the page.</p></body>"),
        encoding="utf-8",
    )
    (root / "empty.txt").write_bytes(b"")
    return root


def _run(corpus: Path, output: Path, shard_size: int, runner=None) -> RunResult:
    flow = newsclean_flow if runner is None else newsclean_flow.with_options(task_runner=runner)
    return flow(
        inputs=[str(corpus)], output=str(output), config=PipelineConfig(shard_size=shard_size)
    )


def _dataset(result: RunResult) -> dict[str, list[tuple]]:
    """Every published table without the columns that name the run."""
    tables = {}
    for table, key in TABLES:
        excluded = "run_id, processed_at" if table == "articles" else "run_id"
        tables[table] = duckdb.sql(
            f"SELECT * EXCLUDE ({excluded}) "
            f"FROM read_parquet('{result.output}/{table}/*.parquet') ORDER BY {key}"
        ).fetchall()
    return tables


@pytest.fixture(scope="module")
def local_run(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return _run(corpus, tmp_path_factory.mktemp("local"), shard_size=4)


@pytest.fixture(scope="module")
def two_workers() -> Iterator[tuple[LocalCluster, Client]]:
    """A cluster the test owns (``--dask-address`` path), so it can ask the workers later."""
    with (
        LocalCluster(**local_cluster_kwargs(2)) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield cluster, client


@pytest.mark.slow
def test_local_run_exercises_sharding_dedup_and_quarantine(local_run: RunResult):
    """Guards the other tests: a corpus without these would make equality trivial."""
    counts = local_run.summary.inputs
    assert local_run.published
    assert counts["files"] == 19
    assert counts["skipped"] == 1  # the exact repeat
    assert counts["quarantined"] == 1  # the empty file
    dataset = _dataset(local_run)
    labels = [row[4] for row in dataset["paragraphs"]]
    assert labels.count("duplicate") > 20  # the edited copies point back across shards


@pytest.mark.slow
def test_local_runner_cleans_one_shard_at_a_time(local_run: RunResult):
    """Shards are CPU-bound Python: in concurrent threads they would only contend for the GIL."""
    shard_filter = TaskRunFilter(name=TaskRunFilterName(like_="clean-shard"))
    with get_client(sync_client=True) as client:
        flow_run = next(
            run
            for run in client.read_flow_runs()
            if run.parameters.get("output") == str(local_run.output)
        )
        shards = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])),
            task_run_filter=shard_filter,
        )
    spans = sorted((shard.start_time, shard.end_time) for shard in shards)
    assert len(spans) == 5  # ceil(19 / 4)
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))


@pytest.mark.dask
@pytest.mark.timeout(300)
def test_one_dask_worker_gives_the_local_dataset(corpus, local_run, tmp_path):
    result = _run(corpus, tmp_path, shard_size=3, runner=dask_task_runner(None, workers=1))
    assert result.summary.inputs == local_run.summary.inputs
    assert _dataset(result) == _dataset(local_run)


@pytest.mark.dask
@pytest.mark.timeout(300)
def test_two_dask_workers_give_the_local_dataset(corpus, local_run, two_workers, tmp_path):
    cluster, client = two_workers
    before = client.run(lambda dask_worker: dask_worker.state.executed_count)
    runner = dask_task_runner(cluster.scheduler_address)
    result = _run(corpus, tmp_path, shard_size=3, runner=runner)
    assert result.summary.inputs == local_run.summary.inputs
    assert _dataset(result) == _dataset(local_run)
    after = client.run(lambda dask_worker: dask_worker.state.executed_count)
    ran = {worker: after[worker] - before[worker] for worker in after}
    assert len(ran) == 2 and all(n >= 1 for n in ran.values()), ran  # both processes worked
    assert sum(ran.values()) == 7  # ceil(19 / 3) clean-shard tasks, nothing else
    # Workers used the flow's Prefect API: none started a temporary server of its own.
    children = client.run(lambda: [p.cmdline() for p in psutil.Process().children()])
    assert children == {worker: [] for worker in after}


def _results_held(client: Client, wait: float = 10.0) -> int:
    """Task results the workers keep; releases reach them asynchronously, so wait for 0."""
    deadline = time.monotonic() + wait
    while True:
        held = sum(client.run(lambda dask_worker: len(dask_worker.data)).values())
        if held == 0 or time.monotonic() > deadline:
            return held
        time.sleep(0.2)


@pytest.mark.dask
@pytest.mark.timeout(300)
def test_workers_let_go_of_shard_results_once_the_flow_has_them(corpus, two_workers, tmp_path):
    """Asked while the flow still runs, at its "deduplicating" line: every shard result has
    reached the flow by then, and a worker that still held one would hold it to the end."""
    cluster, client = two_workers
    held: list[int] = []

    class AtDedup(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("deduplicating"):
                held.append(_results_held(client))

    logger, handler = logging.getLogger("newsclean.progress"), AtDedup()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        runner = dask_task_runner(cluster.scheduler_address)
        result = _run(corpus, tmp_path, shard_size=3, runner=runner)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert result.published
    assert held == [0]


def test_local_cluster_is_single_threaded_processes():
    assert local_cluster_kwargs(3) == {
        "n_workers": 3,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": None,
        "scheduler_kwargs": {"dashboard": False, "dashboard_address": ":0"},
    }
    assert local_cluster_kwargs()["n_workers"] >= 1


def test_address_means_no_local_cluster():
    runner = dask_task_runner("tcp://127.0.0.1:8786", workers=4)
    assert isinstance(runner, NewscleanDaskRunner)
    assert runner.address == "tcp://127.0.0.1:8786" and runner.cluster_kwargs == {}
    # The engine enters a duplicate in each worker: it must keep the API hand-over.
    assert isinstance(runner.duplicate(), NewscleanDaskRunner)


@pytest.mark.dask
def test_parallelism_counts_dask_workers_and_not_threads(two_workers):
    cluster, _ = two_workers
    with dask_task_runner(cluster.scheduler_address) as runner:
        assert parallelism(runner) == 2
    assert parallelism(None) == 1
    assert parallelism(ThreadPoolTaskRunner(max_workers=8)) == 1


@pytest.mark.parametrize(
    ("n_inputs", "configured", "workers", "expected"),
    [
        (1000, 500, 1, 500),  # one worker: as configured
        (1000, 500, 2, 250),  # two shards per worker
        (100_000, 500, 2, 500),  # plenty of shards already
        (120, 500, 4, 50),  # never below the minimum...
        (120, 20, 4, 20),  # ...unless configured smaller (tests force tiny shards)
        (0, 500, 2, 500),
    ],
)
def test_shard_size_adapts_to_workers(n_inputs, configured, workers, expected):
    assert shard_size_for(n_inputs, configured, workers) == expected


def _vm_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _pages(root: Path, n: int) -> Path:
    """``n`` distinct pages: the pinned WCXB pages, copy ``k`` with a trailing comment."""
    import gzip

    pages = sorted((DATA / "wcxb_subset" / "html").glob("*.html.gz"))
    root.mkdir(parents=True)
    for i in range(n):
        page = gzip.decompress(pages[i % len(pages)].read_bytes())
        (root / f"{i:05d}.html").write_bytes(page + f"<!-- copy {i} -->".encode())
    return root


@pytest.mark.slow
@pytest.mark.dask
@pytest.mark.timeout(600)
def test_the_flow_process_holds_no_articles_while_shards_run(two_workers, tmp_path, monkeypatch):
    """The flow's own peak memory while the shards clean is flat in the run's size: shards
    write their rows and return counts. Measured in this process, which is the flow's: the
    peak (``VmHWM``, reset before each run) above the RSS the run started with, when the
    run-wide task starts. (The old flow gathered every shard's articles: 14 MB more at 440
    pages than at 40; this flow ~1 MB.)"""
    import gc

    import flows.pipeline

    cluster, _ = two_workers
    real = flows.pipeline.deduplicate
    peaks: list[int] = []
    starts: list[int] = []

    def measured(*args, **kwargs):
        peaks.append(_vm_kb("VmHWM"))
        return real(*args, **kwargs)

    monkeypatch.setattr(flows.pipeline, "deduplicate", measured)
    for n in (40, 40, 840):  # the first run warms imports, the cluster and the server up
        inputs = _pages(tmp_path / f"in{len(peaks)}", n)
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := current RSS
        starts.append(_vm_kb("VmRSS"))
        runner = dask_task_runner(cluster.scheduler_address)
        # The same number of shards (20) for both sizes: what grows is pages, not tasks.
        result = _run(inputs, tmp_path / f"out{len(peaks)}", n // 20, runner)
        assert result.published
    small, large = peaks[1] - starts[1], peaks[2] - starts[2]
    assert large - small < 8_000, f"flow peak grew {large - small:,} KB for 800 more pages"
