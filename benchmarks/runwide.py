"""Time and memory of the run-wide steps (the serial part of a run) at N pages, in minutes.

    python -m benchmarks.runwide --sizes 10000,100000
    python -m benchmarks.runwide --sizes 10000 --corpus copies   # the dev pages copied whole

The flow cleans pages in shards (in parallel), each shard writing its rows as Parquet, and
then runs these steps once, in its own process, over the staged shards: the run-wide steps
of :mod:`tasks.dedup.runwide` (repeated inputs, versions, dedup, site chrome, article links), the
tables, validation, publishing, the dedup index and the report's tallies. Their time is what
stops workers from scaling and their memory is what bounds a run's size, so they are
measured apart here: the WCXB dev pages are cleaned once by the real shard function (cached
under ``--workdir``) and their staged rows copied to N articles in DuckDB as
:mod:`benchmarks.throughput`'s corpus copies pages (same text, new ids, so dedup sees
reprints), one shard per copy of the dev set; with ``--corpus crawl`` (the default) the
copies' paragraphs are rewritten and a minority reprinted (:mod:`benchmarks.crawl_corpus`).
Per step: wall and CPU seconds, RSS after it and its own peak (``VmHWM``, reset before each
step). Reads ../shared/bench (or
``NEWSCLEAN_BENCH_ROOT``) and says so when it is absent (exit 2).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

import tasks
from benchmarks.corpus import build_corpus, source_pages
from benchmarks.crawl_corpus import dedup_shares, format_shares, stage_crawl_copies
from benchmarks.wcxb import BenchDataMissing
from tasks.clean.document import stage_shard
from tasks.clean.staging import SHARD_FILES
from tasks.config import PipelineConfig
from tasks.dedup.index_sync import record_published_run
from tasks.dedup.runwide import SHARDS, RunWide, shard_sources
from tasks.models import InputRef
from tasks.output.publish import publish, run_parts, staged_parts, staging_dir, write_staged_table
from tasks.output.tables import ARTICLES_SCHEMA, PARAGRAPHS_SCHEMA
from tasks.output.validate import run_checkpoints
from tasks.report.run_report import duplicate_clusters, removal_counts

MB = 1024 * 1024


def cleaned_dev_shard(workdir: Path) -> Path:
    """The dev pages cleaned once by the real shard function, as one staged shard folder.

    The cache is named by a digest of the cleaning code and models, so a change rebuilds it.
    """
    code = hashlib.sha256()
    for path in sorted(Path(tasks.__file__).parent.rglob("*")):
        if path.suffix in (".py", ".json"):
            code.update(path.read_bytes())
    folder = workdir / f"runwide-shard-{code.hexdigest()[:12]}"
    if (folder / "articles.parquet").is_file():
        return folder
    corpus = build_corpus(len(source_pages()), workdir)
    files = sorted(str(path) for path in corpus.directory.rglob("*.html"))
    stage_shard([InputRef(f, f) for f in files], folder, PipelineConfig())
    return folder


def stage_copies(base: Path, n: int, shards_dir: Path) -> int:
    """Stage ``n`` articles as shards: copy ``k`` of each dev article gets a new id (so new
    paragraph ids) and source; one shard folder per copy of the dev set. Returns shards."""
    con = duckdb.connect()
    ((per_copy,),) = con.execute(
        f"SELECT count(*) FROM read_parquet('{base}/articles.parquet')"
    ).fetchall()
    copies = -(-n // per_copy)
    new_id = "CASE WHEN {k} = 0 THEN article_id ELSE sha256(input_sha256 || ':{k}')[:16] END"
    for k in range(copies):
        take = min(per_copy, n - k * per_copy)
        folder = shards_dir / f"{k:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE ids AS SELECT article_id AS old, {new_id.format(k=k)} "
            f"AS new, source FROM read_parquet('{base}/articles.parquet') "
            f"ORDER BY source LIMIT {take}"
        )
        con.execute(
            f"COPY (SELECT * REPLACE (i.new AS article_id, "
            f"CASE WHEN {k} = 0 THEN a.source ELSE a.source || '#copy{k}' END AS source, "
            f"CASE WHEN {k} = 0 THEN a.input_sha256 ELSE sha256(a.input_sha256 || ':{k}') END "
            f"AS input_sha256) FROM read_parquet('{base}/articles.parquet') a "
            f"JOIN ids i ON i.old = a.article_id AND i.source = a.source) "
            f"TO '{folder}/articles.parquet' (FORMAT parquet, COMPRESSION zstd)"
        )
        con.execute(
            f"COPY (SELECT * REPLACE (i.new AS article_id, "
            f"i.new || '-' || lpad(p.position::VARCHAR, 5, '0') AS paragraph_id) "
            f"FROM read_parquet('{base}/paragraphs.parquet') p "
            f"JOIN (SELECT DISTINCT old, new FROM ids) i ON i.old = p.article_id) "
            f"TO '{folder}/paragraphs.parquet' (FORMAT parquet, COMPRESSION zstd)"
        )
        for name in SHARD_FILES[2:]:
            shutil.copy(base / f"{name}.parquet", folder / f"{name}.parquet")
    con.close()
    return copies


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Step:
    """Wall, CPU, RSS after and the step's own peak RSS (Linux: VmHWM reset on entry)."""

    def __init__(self, name: str, rows: list[tuple[str, float, float, float, float]]) -> None:
        self.name, self.rows = name, rows

    def __enter__(self) -> Step:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        row = (self.name, wall, cpu, _status_kb("VmRSS") / 1024, _status_kb("VmHWM") / 1024)
        self.rows.append(row)
        print(
            f"  {row[0]:<14} {wall:7.1f} s  rss {row[3]:7,.0f} MB  peak {row[4]:7,.0f} MB",
            file=sys.stderr,
        )


def measure(
    base: Path, n: int, scratch: Path, stage: Callable[[Path, int, Path], int] = stage_copies
) -> list[tuple[str, float, float, float, float]]:
    """The run-wide steps of one run of ``n`` articles, in ``flows.pipeline._run``'s order."""
    rows: list[tuple[str, float, float, float, float]] = []
    config, run_id, now = PipelineConfig(), f"bench-{n}", datetime.now(UTC)
    output = scratch / f"runwide-{n}"
    shutil.rmtree(output, ignore_errors=True)
    state = output / "_dedup"
    with Step("stage copies", rows):
        stage(base, n, staging_dir(output, run_id) / SHARDS)
    staging = staging_dir(output, run_id)
    steps = RunWide(
        shard_sources(staging / SHARDS), staging / "runwide", config.dedup, None, config.clean
    )
    with Step("repeated inputs", rows):
        steps.keep_first_inputs()
    with Step("versions", rows):
        steps.number_versions()
    with Step("deduplicate", rows):
        steps.deduplicate(state / "index")
    with Step("site chrome", rows):
        steps.mark_site_chrome()
    with Step("article links", rows):
        steps.link_articles()
    with Step("tables", rows):
        batches = steps.paragraph_batches(run_id)
        write_staged_table(output, run_id, "paragraphs", batches, PARAGRAPHS_SCHEMA)
        batches = steps.article_batches(run_id, now)
        write_staged_table(output, run_id, "articles", batches, ARTICLES_SCHEMA)
        articles = steps.article_count()
    steps.close()
    with Step("validate", rows):
        counts = {"total": n, "published": articles, "skipped": n - articles}
        counts["quarantined"] = 0
        empty = {
            "published_articles": pa.table({"article_id": pa.array([], pa.string())}),
            "published_paragraphs": pa.table({"paragraph_id": pa.array([], pa.string())}),
        }
        tables: dict[str, pa.Table | list[Path]] = {
            name: staged_parts(output, run_id, name) for name in ("articles", "paragraphs")
        }
        checked = {**tables, "inputs": pa.Table.from_pylist([counts])}
        report = run_checkpoints(checked, empty, config.expectations_dir, output / "docs")
    if not report.success:
        raise RuntimeError(f"validation failed: {[f.suite for f in report.failures]}")
    with Step("report", rows):
        paragraphs = [str(p) for p in staged_parts(output, run_id, "paragraphs")]
        articles = [str(p) for p in staged_parts(output, run_id, "articles")]
        removal_counts(paragraphs)
        duplicate_clusters(paragraphs, articles)
    with Step("publish+index", rows):
        publish(output, run_id)
        record_published_run(
            state,
            run_id,
            [str(p) for p in run_parts(output, "paragraphs", run_id)],
            [str(p) for p in run_parts(output, "articles", run_id)],
            config.dedup,
        )
    print("  " + format_shares(dedup_shares(f"{output}/paragraphs/*.parquet")), file=sys.stderr)
    shutil.rmtree(output, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated page counts")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "newsclean-throughput",
        help="cache of the cleaned dev pages and scratch output",
    )
    parser.add_argument(
        "--corpus",
        choices=("crawl", "copies"),
        default="crawl",
        help="crawl: copies rewritten, a minority reprinted; copies: the dev pages copied whole",
    )
    args = parser.parse_args(argv)
    stage = stage_crawl_copies if args.corpus == "crawl" else stage_copies
    args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        base = cleaned_dev_shard(args.workdir)
    except BenchDataMissing as missing:
        print(f"benchmarks.runwide: {missing}", file=sys.stderr)
        return 2
    lines = [
        "| N | step | wall s | CPU s | RSS after MB | step peak MB |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for n in (int(s.replace("_", "")) for s in args.sizes.split(",") if s):
        print(f"N={n:,}", file=sys.stderr)
        for name, wall, cpu, rss, peak in measure(base, n, args.workdir, stage):
            lines.append(f"| {n:,} | {name} | {wall:.1f} | {cpu:.1f} | {rss:,.0f} | {peak:,.0f} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
