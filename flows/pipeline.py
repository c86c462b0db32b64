"""The newsclean flow: inputs -> cleaned shards -> run-wide dedup -> validate -> publish.

Per-shard work fans out as Prefect tasks; the run-wide steps (dedup, validation, publish)
run once. Nothing becomes visible unless validation passes.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from prefect import flow, unmapped
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.sharding import parallelism, shard_size_for
from tasks.config import PipelineConfig
from tasks.corpus import (
    assign_versions,
    drop_repeated_inputs,
    link_articles,
    record_published_run,
    sync_dedup_index,
)
from tasks.docs_offline import make_docs_offline
from tasks.models import QuarantineRecord, SkippedInput
from tasks.prefect_tasks import clean_shard, deduplicate, validate
from tasks.process import PublishedIds
from tasks.publish import (
    discard,
    output_lock,
    publish,
    read_published,
    recover,
    write_staged,
)
from tasks.read import discover_inputs
from tasks.report import (
    RunSummary,
    duplicate_clusters,
    publish_prefect_artifact,
    quarantine_rows,
    removal_counts,
    stage_rows,
    write_report,
)
from tasks.stats import StepStats, merge_stats
from tasks.tables import articles_table, paragraphs_table, quarantine_table
from tasks.warc import SKIP_PREFIX as WARC_SKIP_PREFIX

DEDUP_STATE = "_dedup"
progress = logging.getLogger("newsclean.progress")


@dataclass(frozen=True, slots=True)
class RunResult:
    """What the CLI needs to tell the user where things are and whether the run passed."""

    run_id: str
    published: bool
    validation_success: bool
    output: Path
    report_json: Path
    report_html: Path
    data_docs: str | None
    summary: RunSummary


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def _by_source(record: QuarantineRecord | SkippedInput) -> str:
    return record.source


def _shards(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _published(output: Path) -> dict[str, pa.Table]:
    """Ids, credits, URLs and versions published by earlier runs (empty tables on a first run)."""
    articles = read_published(output, "articles", "article_id, credits, url, version")
    paragraphs = read_published(output, "paragraphs", "paragraph_id")
    if articles is None:
        articles = pa.table(
            {
                "article_id": pa.array([], pa.string()),
                "credits": pa.array([], pa.list_(pa.string())),
                "url": pa.array([], pa.string()),
                "version": pa.array([], pa.int32()),
            }
        )
    if paragraphs is None:
        paragraphs = pa.table({"paragraph_id": pa.array([], pa.string())})
    return {"published_articles": articles, "published_paragraphs": paragraphs}


def release_result(future: PrefectFuture) -> None:
    """Let the task runner forget a shard's result now that the flow holds it.

    A Dask worker keeps a task's result for as long as a client refers to its future, and the
    flow refers to every shard's future until the run ends: at 100,000 pages the two workers
    held ~3.5 GB of shard results nobody would read again (and a long-lived cluster holds them
    for every run in progress). Thread-pool futures live in this process and need nothing.
    """
    release = getattr(getattr(future, "wrapped_future", None), "release", None)
    if release is not None:
        release()


# One shard at a time on the default runner: shards are CPU-bound Python, so concurrent threads
# only contend for the GIL (two concurrent shards of 500 pages cost 15 % more CPU than one
# after the other) and hold every shard's pages in memory at once. Scale-out is Dask's job.
@flow(
    name="newsclean",
    log_prints=False,
    validate_parameters=False,
    task_runner=ThreadPoolTaskRunner(max_workers=1),
)
def newsclean_flow(
    inputs: list[str], output: str = "output", config: PipelineConfig | None = None
) -> RunResult:
    """Clean, deduplicate, validate and publish ``inputs`` into ``output``.

    One run at a time per output directory (an exclusive lock, released if the process dies).
    """
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    with output_lock(out):
        return _run(inputs, out, config or PipelineConfig())


def _accounting(
    read: StepStats, articles: list, skipped: list, quarantined: list
) -> dict[str, int]:
    """Every document found is published, skipped or quarantined; the suite checks the sum.

    ``total`` is what the read step saw: one per file, one per WARC record (skipped records,
    such as non-HTML or non-200 responses, included), plus files that could not be read.
    """
    record_skips = sum(n for why, n in read.dropped.items() if why.startswith(WARC_SKIP_PREFIX))
    return {
        "total": read.total,
        "published": len(articles),
        "skipped": len(skipped) + record_skips,
        "quarantined": len(quarantined),
    }


def _run(inputs: list[str], out: Path, config: PipelineConfig) -> RunResult:
    started = datetime.now(UTC).replace(microsecond=0)
    run_id = new_run_id(started)
    recovered = recover(out)
    if recovered:
        progress.info("completed interrupted runs: %s", ", ".join(recovered))

    dedup_state = out / DEDUP_STATE
    index_status = sync_dedup_index(out, dedup_state, config.dedup)
    refs = discover_inputs(inputs)
    published = _published(out)
    published_ids = PublishedIds.of(
        published["published_articles"].column("article_id").to_pylist()
    )
    context = FlowRunContext.get()
    workers = parallelism(context.task_runner) if context else 1
    shards = _shards(refs, shard_size_for(len(refs), config.shard_size, workers))
    progress.info("run %s: %d input files in %d shards", run_id, len(refs), len(shards))
    futures = clean_shard.map(shards, unmapped(config), unmapped(published_ids))
    shard_results = []
    for done, future in enumerate(as_completed(futures), start=1):
        shard_results.append(future.result())
        release_result(future)
        progress.info(
            "shard %d/%d: %d read, %d articles cleaned, %d skipped, %d quarantined (total)",
            done,
            len(shards),
            sum(s.total for r in shard_results for s in r.stats if s.name == "read"),
            sum(len(r.articles) for r in shard_results),
            sum(len(r.skipped) for r in shard_results),
            sum(len(r.quarantined) for r in shard_results),
        )

    quarantined = sorted((q for r in shard_results for q in r.quarantined), key=_by_source)
    articles, repeated = drop_repeated_inputs(a for r in shard_results for a in r.articles)
    skipped = sorted([s for r in shard_results for s in r.skipped] + repeated, key=_by_source)
    assign_versions(articles, published["published_articles"])
    progress.info("deduplicating %d articles", len(articles))
    dedup_stats = StepStats("deduplicate")
    with dedup_stats.timed():
        # quote(): Prefect would otherwise walk every article and paragraph looking for
        # futures to resolve (~2 s per walk per 1,000 articles).
        n_duplicates = deduplicate(quote(articles), config, dedup_state / "index")
        earlier = published["published_articles"].to_pylist()
        link_articles(articles, {row["article_id"]: row["credits"] for row in earlier})
    paragraph_count = sum(len(a.paragraphs) for a in articles)
    dedup_stats.keep(paragraph_count - n_duplicates)
    dedup_stats.drop("duplicate", n_duplicates)

    tables = {
        "articles": articles_table(articles, run_id, started),
        "paragraphs": paragraphs_table(articles, run_id),
    }
    shard_stats = merge_stats([r.stats for r in shard_results])
    read_stats = next((s for s in shard_stats if s.name == "read"), StepStats("read"))
    counts = _accounting(read_stats, articles, skipped, quarantined)
    write_staged(out, run_id, {**tables, "quarantine": quarantine_table(quarantined, run_id)})
    progress.info("validating")
    validate_stats = StepStats("validate")
    docs_dir = out / "reports" / "data_docs"
    with validate_stats.timed():
        checked = {**tables, "inputs": pa.Table.from_pylist([counts])}
        report = validate(checked, published, config.expectations_dir, docs_dir)
        if report.data_docs_index:
            make_docs_offline(docs_dir)
    validate_stats.keep(tables["articles"].num_rows)

    published_files: list[str] = []
    if report.success:
        published_files = [str(p) for p in publish(out, run_id)]
        record_published_run(dedup_state, run_id, tables, config.dedup)
    else:
        discard(out, run_id)

    progress.info("%s", "published" if report.success else "validation failed: not published")
    by_label, by_rule = removal_counts(articles)
    stages = [*shard_stats, dedup_stats, validate_stats]
    summary = RunSummary(
        run_id=run_id,
        started_at=started.isoformat(),
        finished_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        inputs={
            "files": len(refs),
            **counts,
            "published": len(articles) if report.success else 0,
            "not_published_validation_failed": 0 if report.success else len(articles),
        },
        stages=stage_rows(stages),
        removed_by_label=by_label,
        removed_by_rule=by_rule,
        duplicate_clusters=duplicate_clusters(articles),
        quarantine=quarantine_rows(quarantined),
        skipped=[{"source": s.source, "reason": s.reason} for s in skipped],
        validation=report.as_dict(),
        published=report.success,
        outputs={
            "articles": str(out / "articles"),
            "paragraphs": str(out / "paragraphs"),
            "quarantine": str(out / "quarantine"),
            "files": published_files,
            "data_docs": report.data_docs_index,
            "recovered_runs": recovered,
        },
        config=config.fingerprint(),
        dedup_index=index_status,
    )
    report_json, report_html = write_report(summary, out / "reports")
    publish_prefect_artifact(summary, report_html=report_html)
    return RunResult(
        run_id=run_id,
        published=report.success,
        validation_success=report.success,
        output=out,
        report_json=report_json,
        report_html=report_html,
        data_docs=report.data_docs_index,
        summary=summary,
    )
