"""Throughput of the whole flow vs trafilatura alone, 1 vs 2 Dask workers, and start-up cost.

    python -m benchmarks.throughput                       # N = 1k, 10k, 100k (hours here)
    python -m benchmarks.throughput --sizes 1000          # the quick one
    python -m benchmarks.throughput --sizes 1000 --modes trafilatura,dask1,dask2 --no-startup

For each N it builds (once, under ``--workdir``) a corpus of N real pages: by default
(``--corpus crawl``) the dev pages with their words perturbed and a minority reprinted
(:mod:`benchmarks.crawl_corpus`), or (``--corpus copies``) the WCXB dev pages repeated with a
unique trailing comment (:mod:`benchmarks.corpus`); then it runs each mode in a fresh
subprocess:

* ``trafilatura``: ``bare_extraction`` on every page with newsclean's options, one core;
* ``local``: the flow on its thread-pool runner (one shard at a time, one core);
* ``dask1`` / ``dask2``: the flow on a ``LocalCluster`` of 1 / 2 worker processes.

A flow mode first runs the flow on ``seeds/`` twice in the same process: the first pays the
one-off costs (temporary server, Great Expectations import), the second ("fixed") what every
run pays again (Dask cluster start, global steps); then it times the flow on the corpus. Reported:
pages/s and MB/s per core on wall time, CPU time per page (all processes of the mode, the
number to trust on a shared machine), peak RSS summed over the process tree, and the 1-minute
load average before and after. Start-up is ``newsclean run seeds/`` as a subprocess, first run
on a fresh Prefect home and second run on the same home. Markdown goes to stdout and to
``benchmarks/results/throughput.md``; the raw numbers to ``throughput.json`` next to it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from benchmarks.corpus import Corpus, build_corpus
from benchmarks.crawl_corpus import build_crawl_corpus, dedup_shares, format_shares
from benchmarks.wcxb import BenchDataMissing

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS = REPO_ROOT / "seeds"
RESULTS = REPO_ROOT / "benchmarks" / "results"
MODES = ("trafilatura", "local", "dask1", "dask2")
CORES = {"trafilatura": 1, "local": 1, "dask1": 1, "dask2": 2}
RESULT_PREFIX = "THROUGHPUT-RESULT "
SAMPLE_SECONDS = 0.2
MB = 1024 * 1024
# The options of the primary call in ``tasks.extract.html.extract_html``: keep them in step, or the
# comparison is with a different (cheaper or dearer) extraction.
TRAFILATURA_OPTIONS = {
    "with_metadata": True,
    "include_comments": False,
    "include_tables": True,
    "favor_recall": True,
}


@dataclass(slots=True)
class Measurement:
    """One mode at one size; times in seconds, memory in MB."""

    mode: str
    pages: int
    bytes: int
    wall: float
    fixed: float | None
    cpu: float
    peak_rss_mb: float
    load_before: float
    load_after: float
    published: int | None = None

    @property
    def cores(self) -> int:
        return CORES[self.mode.split("@")[0]]

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall

    @property
    def pages_per_s_core(self) -> float:
        return self.pages_per_s / self.cores

    @property
    def mb_per_s_core(self) -> float:
        return self.bytes / MB / self.wall / self.cores

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu / self.pages


# --- child processes -------------------------------------------------------------------------


def _child_trafilatura(corpus: Path) -> dict[str, Any]:
    """Extraction alone, same options as ``tasks.extract.html.extract_html``; reading included."""
    import trafilatura

    files = sorted(corpus.rglob("*.html"))

    def extract(path: Path) -> None:
        text = path.read_bytes().decode("utf-8", errors="replace")
        trafilatura.bare_extraction(text, **TRAFILATURA_OPTIONS)

    extract(files[0])  # warm-up: lazy imports and compiled patterns, as a flow's seeds run
    started, cpu = time.perf_counter(), _tree_cpu()
    for path in files:
        extract(path)
    wall = time.perf_counter() - started
    return {"wall": wall, "cpu": _tree_cpu() - cpu, "fixed": None, "published": None}


def _child_flow(mode: str, corpus: Path, scratch: Path) -> dict[str, Any]:
    """The flow on the seeds twice (the second is the per-run fixed cost), then the corpus."""
    from flows.environment import configure_environment

    configure_environment(prefect_home=scratch / "prefect-home")
    from flows.cli import show_progress
    from flows.pipeline import newsclean_flow

    show_progress()  # shards done and stages on stderr: a 100,000-page run takes an hour or more

    flow = newsclean_flow
    if mode.startswith("dask"):
        from flows.runners import dask_task_runner

        flow = newsclean_flow.with_options(task_runner=dask_task_runner(None, int(mode[4:])))
    flow(inputs=[str(SEEDS)], output=str(scratch / f"warm-{mode}"))  # server, GX import
    started = time.perf_counter()  # what every run pays again: cluster start, global steps
    flow(inputs=[str(SEEDS)], output=str(scratch / f"fixed-{mode}"))
    fixed = time.perf_counter() - started
    started, cpu = time.perf_counter(), _tree_cpu()
    result = flow(inputs=[str(corpus)], output=str(scratch / f"out-{mode}"))
    wall = time.perf_counter() - started
    published = result.summary.inputs["published"]
    shares = dedup_shares(f"{scratch / f'out-{mode}'}/paragraphs/*.parquet")
    print(f"  {mode}: {format_shares(shares)}", file=sys.stderr)
    return {"wall": wall, "cpu": _tree_cpu() - cpu, "fixed": fixed, "published": published}


def _tree_cpu() -> float:
    """CPU seconds of this process, its reaped descendants (Dask workers) and live children.

    Live children: the temporary Prefect server, which answers the workers' API calls.
    """
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = child.cpu_times()
            total += times.user + times.system
    return total


def _child(mode: str, corpus: Path, scratch: Path) -> None:
    if mode == "trafilatura":
        result = _child_trafilatura(corpus)
    else:
        result = _child_flow(mode, corpus, scratch)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --- parent: run, sample, report -------------------------------------------------------------


class TreeMemory:
    """Peak of the summed RSS of a process and all its descendants, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            total = 0
            try:
                for proc in [self.root, *self.root.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                return
            self.peak = max(self.peak, total)
            self._stop.wait(SAMPLE_SECONDS)


def measure(mode: str, corpus: Corpus, scratch: Path, tree: Path | None = None) -> Measurement:
    """Run one mode in a fresh subprocess and sample its process tree's memory.

    ``tree``: another checkout whose flow to run (``--baseline``); its modules come first on
    the child's path, so the child runs that tree's code (with this one's venv).
    """
    command = [sys.executable, "-m", "benchmarks.throughput", "--child", mode]
    command += ["--corpus", str(corpus.directory), "--workdir", str(scratch)]
    load_before = os.getloadavg()[0]
    cwd = tree or REPO_ROOT
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    with TreeMemory(process.pid) as memory:
        stdout, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{mode} at N={corpus.pages} failed (exit {process.returncode})")
    line = next(x for x in stdout.splitlines() if x.startswith(RESULT_PREFIX))
    result = json.loads(line.removeprefix(RESULT_PREFIX))
    for leftover in scratch.glob(f"*-{mode}"):
        shutil.rmtree(leftover, ignore_errors=True)
    return Measurement(
        mode=mode if tree is None else f"{mode}@baseline",
        pages=corpus.pages,
        bytes=corpus.bytes,
        wall=result["wall"],
        fixed=result["fixed"],
        cpu=result["cpu"],
        peak_rss_mb=memory.peak / MB,
        load_before=load_before,
        load_after=os.getloadavg()[0],
        published=result["published"],
    )


def _newsclean_command() -> list[str]:
    script = Path(sys.executable).parent / "newsclean"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "flows.cli"]


def measure_startup(scratch: Path) -> list[dict[str, float]]:
    """``newsclean run seeds/`` twice on a fresh Prefect home: (wall s, load before) each."""
    home = Path(tempfile.mkdtemp(prefix="startup-", dir=scratch))
    env = {**os.environ, "PREFECT_HOME": str(home / ".prefect")}
    runs = []
    for attempt in (1, 2):
        output = home / f"out{attempt}"
        load = os.getloadavg()[0]
        started = time.perf_counter()
        subprocess.run(
            [*_newsclean_command(), "run", str(SEEDS), "--output", str(output)],
            cwd=home,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        runs.append({"run": attempt, "wall": time.perf_counter() - started, "load": load})
    shutil.rmtree(home, ignore_errors=True)
    return runs


def machine() -> str:
    """CPU model, cores, memory, and the versions that matter, for the results header."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version

    versions = ", ".join(
        f"{name} {version(name)}"
        for name in ("prefect", "prefect-dask", "distributed", "trafilatura")
    )
    return (
        f"{model}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 1024**3:.0f} GB, "
        f"Python {platform.python_version()}, {versions}"
    )


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def report(measurements: list[Measurement], startup: list[dict[str, float]], command: str) -> str:
    """The Markdown: one row per (N, mode), then the target ratios."""
    lines = [
        "# newsclean throughput",
        "",
        f"`{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')}",
        "",
        f"Machine: {machine()}.",
        "Wall-clock numbers are only as good as the load column: other jobs shared the cores.",
        "",
        "| N | mode | cores | wall s | fixed s | pages/s | pages/s/core | MB/s/core "
        "| CPU ms/page | peak RSS MB | published | load 1m before→after |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for m in measurements:
        lines.append(
            f"| {m.pages:,} | {m.mode} | {m.cores} | {_fmt(m.wall)} | {_fmt(m.fixed)} "
            f"| {_fmt(m.pages_per_s, 2)} | {_fmt(m.pages_per_s_core, 2)} "
            f"| {_fmt(m.mb_per_s_core, 2)} | {_fmt(m.cpu_ms_per_page)} | {_fmt(m.peak_rss_mb, 0)} "
            f"| {m.published if m.published is not None else '–'} "
            f"| {m.load_before:.2f}→{m.load_after:.2f} |"
        )
    lines += ["", "## Targets", ""]
    lines += _ratios(measurements)
    if startup:
        lines += ["", "## Start-up: `newsclean run seeds/` as a subprocess", ""]
        lines += ["| run | wall s | load 1m before |", "|---|---:|---:|"]
        for run in startup:
            label = "first (fresh Prefect home)" if run["run"] == 1 else "second"
            lines.append(f"| {label} | {run['wall']:.1f} | {run['load']:.2f} |")
        second = startup[-1]["wall"]
        lines += ["", f"Target: second run ≤ 10 s wall: **{second:.1f} s**."]
    return "\n".join(lines) + "\n"


def _ratios(measurements: list[Measurement]) -> list[str]:
    by = {(m.mode, m.pages): m for m in measurements}
    lines = []
    for n in sorted({m.pages for m in measurements}):
        tra, dask1, dask2 = by.get(("trafilatura", n)), by.get(("dask1", n)), by.get(("dask2", n))
        for one in (by.get(("local", n)), dask1):
            if tra and one:
                lines.append(
                    f"- N={n:,}: flow ({one.mode}) / trafilatura, pages/s per core: "
                    f"**{one.pages_per_s_core / tra.pages_per_s_core:.2f}×** (target ≥ 0.8); "
                    f"on CPU time: {tra.cpu_ms_per_page / one.cpu_ms_per_page:.2f}×"
                )
        if dask1 and dask2:
            lines.append(
                f"- N={n:,}: 2 workers / 1 worker, pages/s: "
                f"**{dask2.pages_per_s / dask1.pages_per_s:.2f}×** (target ≥ 1.7); "
                f"CPU per page {dask2.cpu_ms_per_page / dask1.cpu_ms_per_page:.2f}× of 1 worker"
            )
    sizes = sorted({m.pages for m in measurements})
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        for mode in MODES:
            a, b = by.get((mode, small)), by.get((mode, large))
            if a and b:
                fixed = a.fixed or 0.0
                growth = (b.wall - fixed) / (a.wall - fixed)
                ratio = large / small
                lines.append(
                    f"- {mode}: time({large:,}) − fixed = **{growth:.1f}×** time({small:,}) − "
                    f"fixed, for {ratio:.0f}× the pages (target ≤ {1.1 * ratio:.0f}×)"
                )
    for m in measurements:
        base = by.get((f"{m.mode}@baseline", m.pages))
        if base:
            lines.append(
                f"- N={m.pages:,}, {m.mode}: this tree / baseline: CPU per page "
                f"**{m.cpu_ms_per_page / base.cpu_ms_per_page:.2f}×**, wall "
                f"{m.wall / base.wall:.2f}×, peak RSS of all processes "
                f"**{m.peak_rss_mb:,.0f} / {base.peak_rss_mb:,.0f} MB**"
            )
    for mode in {m.mode for m in measurements}:
        points = sorted((m.pages, m.peak_rss_mb) for m in measurements if m.mode == mode)
        if len(points) > 1:
            (n0, r0), (n1, r1) = points[0], points[-1]
            lines.append(
                f"- {mode}: peak RSS grows **{(r1 - r0) * 1024 / (n1 - n0):.1f} KB per page** "
                f"from {n0:,} to {n1:,} pages ({r0:,.0f} → {r1:,.0f} MB)"
            )
    return lines or ["- (no pair of modes to compare)"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated page counts")
    parser.add_argument("--modes", default=",".join(MODES), help=f"subset of {','.join(MODES)}")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "newsclean-throughput",
        help="corpora and scratch output (corpora are kept and reused)",
    )
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up runs")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. the previous main): its flow modes run too, alternating "
        "with this tree's, and the report gives this tree / baseline ratios",
    )
    parser.add_argument("--results", type=Path, default=RESULTS / "throughput.md")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument(
        "--corpus",
        default="crawl",
        help="crawl: dev pages perturbed, a minority reprinted; copies: WCXB pages copied whole "
        "(with --child: the corpus folder, as older trees' children take it for --baseline)",
    )
    args = parser.parse_args(argv)
    if args.child:
        args.workdir.mkdir(parents=True, exist_ok=True)
        _child(args.child, Path(args.corpus), args.workdir)
        return 0

    if args.corpus not in ("crawl", "copies"):
        parser.error(f"--corpus: crawl or copies, not {args.corpus}")
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    measurements: list[Measurement] = []
    try:
        for n in sizes:
            build = build_crawl_corpus if args.corpus == "crawl" else build_corpus
            corpus = build(n, args.workdir)
            print(f"N={n:,}: {corpus.bytes / MB:,.0f} MB in {corpus.directory}", file=sys.stderr)
            for mode in modes:
                trees: list[Path | None] = [None]
                if args.baseline and mode != "trafilatura":
                    # alternating which goes first per size: drift on a shared machine
                    trees = (
                        [args.baseline, None] if len(measurements) % 2 else [None, args.baseline]
                    )
                for tree in trees:
                    measurements.append(measure(mode, corpus, args.workdir, tree))
                    m = measurements[-1]
                    print(
                        f"  {m.mode}: {m.wall:.1f} s, {m.pages_per_s:.2f} pages/s, "
                        f"{m.cpu_ms_per_page:.1f} CPU ms/page, peak {m.peak_rss_mb:,.0f} MB, "
                        f"load {m.load_before:.2f}→{m.load_after:.2f}",
                        file=sys.stderr,
                    )
    except BenchDataMissing as missing:
        print(f"benchmarks.throughput: {missing}", file=sys.stderr)
        return 2
    startup = [] if args.no_startup else measure_startup(args.workdir)
    command = "python -m benchmarks.throughput " + " ".join(argv or sys.argv[1:])
    markdown = report(measurements, startup, command.strip())
    print(markdown)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(markdown, encoding="utf-8")
    raw = {"measurements": [asdict(m) for m in measurements], "startup": startup}
    args.results.with_suffix(".json").write_text(json.dumps(raw, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
