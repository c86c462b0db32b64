"""Time and memory of the run-wide steps (the serial part of a run) at N pages, in minutes.

    python -m benchmarks.runwide --sizes 10000,100000

The flow cleans pages in shards (in parallel) and then runs these steps once, in its own
process, over every article of the run: repeated inputs, site chrome, dedup, article links,
the tables, staging, validation, publishing, the dedup index and the report's tallies. Their
time is what stops workers from scaling and their memory is what bounds a run's size, so
they are measured apart here: the WCXB dev pages are cleaned once (cached under
``--workdir``) and copied to N articles as :mod:`benchmarks.throughput`'s corpus copies them
(same text, new ids, so dedup sees reprints; every copy has its own string objects, as
cleaned articles do), then each step of ``flows.pipeline._run`` runs in the same order. Per
step: wall and CPU seconds, RSS after it and its own peak (``VmHWM``, reset before each
step). 100,000 pages take ~5 minutes here instead of the ~2 hours of a whole flow.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import pickle
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

import tasks
from benchmarks.corpus import build_corpus, source_pages
from benchmarks.wcxb import BenchDataMissing
from tasks.config import PipelineConfig
from tasks.corpus import (
    drop_repeated_inputs,
    link_articles,
    mark_duplicates,
    record_published_run,
)
from tasks.models import Article, InputRef
from tasks.process import process_shard
from tasks.publish import publish, write_staged
from tasks.report import duplicate_clusters, removal_counts
from tasks.tables import articles_table, paragraphs_table, quarantine_table
from tasks.validate import run_checkpoints

MB = 1024 * 1024


def cleaned_dev_articles(workdir: Path) -> list[Article]:
    """The dev pages cleaned once by the real shard function; cached as a pickle.

    The cache is named by a digest of the cleaning code and models, so a change rebuilds it.
    """
    code = hashlib.sha256()
    for path in sorted(Path(tasks.__file__).parent.rglob("*")):
        if path.suffix in (".py", ".json"):
            code.update(path.read_bytes())
    cache = workdir / f"runwide-articles-{code.hexdigest()[:12]}.pickle"
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    corpus = build_corpus(len(source_pages()), workdir)
    files = sorted(str(path) for path in corpus.directory.rglob("*.html"))
    articles = process_shard([InputRef(f, f) for f in files], PipelineConfig()).articles
    cache.write_bytes(pickle.dumps(articles))
    return articles


def copies(articles: list[Article], n: int) -> list[Article]:
    """``n`` articles: copy ``k`` of each source article gets a new id and its own strings."""
    result = []
    for i in range(n):
        source, k = articles[i % len(articles)], i // len(articles)
        article = copy.copy(source)
        if k:
            digest = hashlib.sha256(f"{source.input_sha256}:{k}".encode()).hexdigest()
            article.article_id, article.input_sha256 = digest[:16], digest
            article.source = f"{source.source}#copy{k}"
        article.paragraphs = [copy.copy(p) for p in source.paragraphs]
        for paragraph in article.paragraphs:
            paragraph.text = (paragraph.text + " ")[:-1]  # a new object, as cleaning makes
        article.short_lines = {at: (line + " ")[:-1] for at, line in source.short_lines.items()}
        article.authors, article.credits = list(source.authors), list(source.credits)
        result.append(article)
    return result


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


def measure(base: list[Article], n: int, scratch: Path) -> list[tuple]:
    """The run-wide steps of one run of ``n`` articles, in ``flows.pipeline._run``'s order."""
    rows: list[tuple[str, float, float, float, float]] = []
    config, run_id, now = PipelineConfig(), f"bench-{n}", datetime.now(UTC)
    output = scratch / f"runwide-{n}"
    shutil.rmtree(output, ignore_errors=True)
    state = output / "_dedup"
    with Step("copies", rows):
        articles = copies(base, n)
    with Step("repeated", rows):
        articles, _ = drop_repeated_inputs(articles)
    with Step("dedup and site chrome", rows):
        mark_duplicates(articles, config.dedup, state / "index")
    with Step("link", rows):
        link_articles(articles, {})
    with Step("tables", rows):
        tables = {
            "articles": articles_table(articles, run_id, now),
            "paragraphs": paragraphs_table(articles, run_id),
        }
    with Step("stage", rows):
        write_staged(output, run_id, {**tables, "quarantine": quarantine_table([], run_id)})
    with Step("validate", rows):
        counts = {"total": n, "published": len(articles), "skipped": n - len(articles)}
        counts["quarantined"] = 0
        empty = {
            "published_articles": pa.table({"article_id": pa.array([], pa.string())}),
            "published_paragraphs": pa.table({"paragraph_id": pa.array([], pa.string())}),
        }
        checked = {**tables, "inputs": pa.Table.from_pylist([counts])}
        report = run_checkpoints(checked, empty, config.expectations_dir, output / "docs")
    if not report.success:
        raise RuntimeError(f"validation failed: {[f.as_dict() for f in report.failures]}")
    with Step("publish+index", rows):
        publish(output, run_id)
        record_published_run(state, run_id, tables, config.dedup)
    with Step("report", rows):
        removal_counts(articles)
        duplicate_clusters(articles)
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
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        base = cleaned_dev_articles(args.workdir)
    except BenchDataMissing as missing:
        print(f"benchmarks.runwide: {missing}", file=sys.stderr)
        return 2
    lines = [
        "| N | step | wall s | CPU s | RSS after MB | step peak MB |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for n in (int(s.replace("_", "")) for s in args.sizes.split(",") if s):
        print(f"N={n:,}", file=sys.stderr)
        for name, wall, cpu, rss, peak in measure(base, n, args.workdir):
            lines.append(f"| {n:,} | {name} | {wall:.1f} | {cpu:.1f} | {rss:,.0f} | {peak:,.0f} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
