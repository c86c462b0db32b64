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
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
from prefect import flow, unmapped
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.preflight import check_inputs
from flows.settings import run_config
from flows.sharding import parallelism, shard_size_for
from tasks.clean.document import PublishedIds, ShardSummary
from tasks.config import PipelineConfig
from tasks.dedup.index_sync import record_published_run, sync_dedup_index
from tasks.dedup.runwide import SHARDS
from tasks.inputs.read import empty_input_notes, find_inputs, skip_kind
from tasks.models import QuarantineRecord, SkippedInput
from tasks.output.compact import compact_if_needed, describe
from tasks.output.publish import (
    COMMIT_MARKER,
    PUBLISHED_TABLES,
    discard,
    output_lock,
    publish,
    read_published,
    recover,
    run_parts,
    staged_parts,
    staging_dir,
)
from tasks.output.tables import ARTICLES_SCHEMA, PARAGRAPHS_SCHEMA, PUBLISHED_ARTICLE_KEYS
from tasks.prefect_tasks import clean_shard, deduplicate, validate
from tasks.report.docs_offline import make_docs_offline
from tasks.report.run_report import (
    RunSummary,
    completed_note,
    duplicate_clusters,
    publish_prefect_artifact,
    quarantine_rows,
    removal_counts,
    removal_examples,
    stage_rows,
    write_recovered_reports,
    write_report,
)
from tasks.stats import StepStats, Unit, merge_stats

if TYPE_CHECKING:
    from tasks.dedup.runwide import RunWideResult
    from tasks.models import InputRef
    from tasks.output.validate import ValidationReport
    from tasks.report.run_report import ClusterRow

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


_Item = TypeVar("_Item")


class PublishFailed(RuntimeError):
    """The run failed while or after publishing; the message says what readers can see now
    and what the next run will do. The run's report was written when ``report_html`` is set.
    """

    def __init__(self, message: str, *, visible: bool, report_html: Path | None = None) -> None:
        super().__init__(message)
        self.visible = visible
        self.report_html = report_html


def one_line(error: BaseException) -> str:
    """``Type: first line of the message``, for messages that must stay on one line."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def _by_source(record: QuarantineRecord | SkippedInput) -> str:
    return record.source


def _shards(items: list[_Item], size: int) -> list[list[_Item]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _published_articles(output: Path) -> pa.Table:
    """Ids, credits, URLs and versions of the articles earlier runs published (the run-wide
    steps read them; a few small columns per article, empty on a first run)."""
    articles = read_published(output, "articles", ", ".join(PUBLISHED_ARTICLE_KEYS.names))
    return PUBLISHED_ARTICLE_KEYS.empty_table() if articles is None else articles


def _published_files(output: Path) -> dict[str, str]:
    """The published parts as globs, for the suites' checks against earlier runs (a glob that
    matches nothing is an empty table to validation)."""
    return {
        "published_articles": str(output / "articles" / "part-*.parquet"),
        "published_paragraphs": str(output / "paragraphs" / "part-*.parquet"),
    }


def release_result(future: PrefectFuture[Any]) -> None:
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
    # Prefect's stubs infer ThreadPoolTaskRunner[Never] here, which the decorator refuses.
    task_runner=ThreadPoolTaskRunner(max_workers=1),  # type: ignore[arg-type]
)
def newsclean_flow(
    inputs: list[str],
    output: str = "output",
    config: PipelineConfig | dict[str, Any] | None = None,
) -> RunResult:
    """Clean, deduplicate, validate and publish ``inputs`` into ``output``.

    One run at a time per output directory (an exclusive lock, released if the process dies).
    ``config`` may also be the JSON form of the options a deployment carries
    (``flows.settings.config_parameter``).
    """
    out = Path(output)
    check_inputs(inputs, out)
    out.mkdir(parents=True, exist_ok=True)
    with output_lock(out), run_config(config) as options:
        return _run(inputs, out, options)


def _accounting(read: StepStats, articles: int, skipped: int, quarantined: int) -> dict[str, int]:
    """Every document found is published, skipped or quarantined; the suite checks the sum.

    ``total`` is what the read step saw: one per file (unsupported ones included), one per
    WARC record (skipped records, such as non-HTML or non-200 responses, included), plus
    files that could not be read. Each skipped document is a row of ``skipped``.
    """
    return {
        "total": read.total,
        "published": articles,
        "skipped": skipped,
        "quarantined": quarantined,
    }


_SCHEMAS = {"articles": ARTICLES_SCHEMA, "paragraphs": PARAGRAPHS_SCHEMA}


def _staged_source(out: Path, run_id: str, name: str) -> list[str] | pa.Table:
    """A staged table's files, or an empty table when the run staged none (no new rows)."""
    parts = staged_parts(out, run_id, name)
    return [str(p) for p in parts] if parts else _SCHEMAS[name].empty_table()


def _run(inputs: list[str], out: Path, config: PipelineConfig) -> RunResult:
    """The run's steps, in order; nothing is visible to readers before ``_publish``."""
    run = _begin(out, config)
    refs, unsupported = find_inputs(inputs, exclude=[out])
    for note in empty_input_notes(inputs, refs, unsupported):
        progress.warning("%s", note)
    published = _published_articles(out)
    summaries = _clean(refs, out, run, config, published)
    progress.info("deduplicating %d articles", sum(r.articles for r in summaries))
    wide = deduplicate(out, run.run_id, config, run.dedup_state / "index", published, run.started)
    del published
    documents = _account(summaries, wide, unsupported)
    sources = {name: _staged_source(out, run.run_id, name) for name in ("articles", "paragraphs")}
    report, validate_stats = _validate(out, run, config, sources, documents.counts, wide.articles)
    removals = _removals(out, sources)  # read from the staged tables before publishing moves them
    published_files, failure = _publish(out, run, config, report.success)
    progress.info("%s", "published" if report.success else "validation failed: not published")
    compacted = None
    if report.success and failure is None:
        compacted = _compact_published(out, config.compact_after_parts)
    summary = _summary(
        out,
        run,
        config,
        files=len(refs),
        documents=documents,
        wide=wide,
        report=report,
        stages=[*documents.shard_stats, *wide.stats, validate_stats],
        removals=removals,
        published_files=published_files,
        failure=failure,
        compaction_note=compacted,
    )
    return _write_reports(out, summary, report, failure)


@dataclass(slots=True)
class _Run:
    """What a run knows of itself from its start: id, start time, interrupted runs it
    completed, and its dedup index (its status changes if updating it fails)."""

    run_id: str
    started: datetime
    recovered: list[str]
    dedup_state: Path
    index_status: str


@dataclass(frozen=True, slots=True)
class _Documents:
    """Every document found, accounted for: the stages' counts and what was not published."""

    skipped: list[SkippedInput]
    quarantined: list[QuarantineRecord]
    shard_stats: list[StepStats]
    counts: dict[str, int]


def _begin(out: Path, config: PipelineConfig) -> _Run:
    """A new run id; interrupted runs completed (with their reports); the dedup index synced."""
    started = datetime.now(UTC).replace(microsecond=0)
    run_id = new_run_id(started)
    recovered = recover(out)
    if recovered:
        progress.info("completed interrupted runs: %s", ", ".join(recovered))
        write_recovered_reports(out, recovered, run_id)
    dedup_state = out / DEDUP_STATE
    index_status = sync_dedup_index(out, dedup_state, config.dedup)
    return _Run(run_id, started, recovered, dedup_state, index_status)


def _clean(
    refs: list[InputRef],
    out: Path,
    run: _Run,
    config: PipelineConfig,
    published: pa.Table,
) -> list[ShardSummary]:
    """Read and clean the inputs a shard per task, into the run's staging folder."""
    published_ids = PublishedIds.of(published.column("article_id").to_pylist())
    context = FlowRunContext.get()
    workers = parallelism(context.task_runner) if context else 1
    shards = _shards(refs, shard_size_for(len(refs), config.shard_size, workers))
    shards_dir = staging_dir(out, run.run_id) / SHARDS
    folders = [str(shards_dir / f"{n:05d}") for n in range(len(shards))]
    progress.info("run %s: %d input files in %d shards", run.run_id, len(refs), len(shards))
    futures = clean_shard.map(shards, folders, unmapped(config), unmapped(published_ids))
    summaries: list[ShardSummary] = []
    for done, future in enumerate(as_completed(futures), start=1):
        summaries.append(future.result())
        release_result(future)
        progress.info(
            "shard %d/%d: %d read, %d articles cleaned, %d skipped, %d quarantined (total)",
            done,
            len(shards),
            sum(s.total for r in summaries for s in r.stats if s.name == "read"),
            sum(r.articles for r in summaries),
            sum(r.skipped for r in summaries),
            sum(r.quarantined for r in summaries),
        )
    return summaries


def _account(
    summaries: list[ShardSummary], wide: RunWideResult, unsupported: list[SkippedInput]
) -> _Documents:
    """The shards' and the run-wide step's counts, unsupported files counted as read."""
    skipped = sorted([*wide.skipped, *unsupported], key=_by_source)
    shard_stats = merge_stats([r.stats for r in summaries])
    read_stats = next((s for s in shard_stats if s.name == "read"), None)
    if read_stats is None:
        read_stats = StepStats("read", Unit.DOCUMENTS)
        shard_stats.insert(0, read_stats)
    for passed_over in unsupported:
        read_stats.drop(skip_kind(passed_over.reason))
    counts = _accounting(read_stats, wide.articles, len(skipped), len(wide.quarantined))
    return _Documents(skipped, wide.quarantined, shard_stats, counts)


def _validate(
    out: Path,
    run: _Run,
    config: PipelineConfig,
    sources: dict[str, list[str] | pa.Table],
    counts: dict[str, int],
    articles: int,
) -> tuple[ValidationReport, StepStats]:
    """The staged tables and the accounting against the suites; Data Docs made offline."""
    progress.info("validating")
    validate_stats = StepStats("validate", Unit.ARTICLES)
    docs_dir = out / "reports" / "data_docs"
    with validate_stats.timed():
        checked = {**sources, "inputs": pa.Table.from_pylist([counts])}
        report = validate(
            checked,
            _published_files(out),
            config.expectations_dir,
            docs_dir,
            run.run_id,
            run.started,
            scratch_dir=staging_dir(out, run.run_id),
        )
        if report.data_docs_index:
            make_docs_offline(docs_dir)
    validate_stats.keep(articles)
    return report, validate_stats


@dataclass(frozen=True, slots=True)
class _Removals:
    """The report's tallies of what was removed, by label and rule, with examples."""

    by_label: dict[str, int]
    by_rule: dict[str, int]
    clusters: list[ClusterRow]
    examples: dict[str, list[dict[str, str]]]


def _removals(out: Path, sources: dict[str, list[str] | pa.Table]) -> _Removals:
    by_label, by_rule = removal_counts(sources["paragraphs"])
    clusters = duplicate_clusters(sources["paragraphs"], sources["articles"], output=out)
    examples = removal_examples(sources["paragraphs"], sources["articles"])
    return _Removals(by_label, by_rule, clusters, examples)


def _publish(
    out: Path, run: _Run, config: PipelineConfig, valid: bool
) -> tuple[list[str], PublishFailed | None]:
    """Publish a valid run (and record it in the dedup index), or discard it.

    Returns the files readers can see and, when something failed, what it left behind.
    """
    if not valid:
        discard(out, run.run_id)
        return [], None
    try:
        published_files = [str(p) for p in publish(out, run.run_id)]
    except Exception as error:
        return [str(p) for p in _visible_parts(out, run.run_id)], _publish_failure(
            out, run.run_id, error
        )
    try:
        if paragraph_parts := run_parts(out, "paragraphs", run.run_id):
            record_published_run(
                run.dedup_state,
                run.run_id,
                [str(p) for p in paragraph_parts],
                [str(p) for p in run_parts(out, "articles", run.run_id)],
                config.dedup,
            )
    except Exception as error:
        # The renames are done: the articles are visible. The index is only a cache
        # of the published Parquet, which sync_dedup_index rebuilds when stale.
        run.index_status = f"not updated ({one_line(error)}); the next run rebuilds it"
        failure = PublishFailed(
            f"the run is published (its articles are visible) but the dedup index "
            f"could not be updated ({one_line(error)}); the next run rebuilds the "
            "index from the published Parquet",
            visible=True,
        )
        failure.__cause__ = error
        return published_files, failure
    return published_files, None


def _summary(
    out: Path,
    run: _Run,
    config: PipelineConfig,
    *,
    files: int,
    documents: _Documents,
    wide: RunWideResult,
    report: ValidationReport,
    stages: list[StepStats],
    removals: _Removals,
    published_files: list[str],
    failure: PublishFailed | None,
    compaction_note: str | None,
) -> RunSummary:
    """The run report's content (JSON and HTML, and the Prefect artifact)."""
    return RunSummary(
        run_id=run.run_id,
        started_at=run.started.isoformat(),
        finished_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        inputs={
            "files": files,
            **documents.counts,
            "published": wide.articles if report.success else 0,
            "not_published_validation_failed": 0 if report.success else wide.articles,
        },
        stages=stage_rows(stages),
        removed_by_label=removals.by_label,
        removed_by_rule=removals.by_rule,
        duplicate_clusters=removals.clusters,
        quarantine=quarantine_rows(documents.quarantined),
        skipped=[{"source": s.source, "reason": s.reason, "url": s.url} for s in documents.skipped],
        validation=report.as_dict(),
        published=report.success and (failure is None or failure.visible),
        outputs={
            "articles": str(out / "articles"),
            "paragraphs": str(out / "paragraphs"),
            "quarantine": str(out / "quarantine"),
            "files": published_files,
            "data_docs": report.data_docs_index,
            "recovered_runs": run.recovered,
            **({"error": str(failure)} if failure else {}),
        },
        config=config.fingerprint(),
        dedup_index=run.index_status,
        removed_examples=removals.examples,
        notes=[completed_note(r) for r in run.recovered]
        + ([compaction_note] if compaction_note else []),
    )


def _write_reports(
    out: Path, summary: RunSummary, report: ValidationReport, failure: PublishFailed | None
) -> RunResult:
    """Write the run report and the Prefect artifact; raise what publishing left failed."""
    try:
        report_json, report_html = write_report(summary, out / "reports")
        publish_prefect_artifact(summary, report_html=report_html)
    except Exception as error:
        if failure is None and not report.success:
            raise  # nothing was published: a plain failure of the run
        if failure is None:
            failure = PublishFailed(
                f"the run is published (its articles are visible) but its report could not "
                f"be written ({one_line(error)}); the next run writes its own",
                visible=True,
            )
            failure.__cause__ = error
        raise failure from failure.__cause__
    if failure is not None:
        failure.report_html = report_html
        raise failure from failure.__cause__
    return RunResult(
        run_id=summary.run_id,
        published=report.success,
        validation_success=report.success,
        output=out,
        report_json=report_json,
        report_html=report_html,
        data_docs=report.data_docs_index,
        summary=summary,
    )


def _compact_published(out: Path, threshold: int) -> str | None:
    """Compact the published parts past the threshold; a note for the report when it did (a
    failure is a note too: the run is published, and the next run or ``newsclean compact``
    finishes or redoes the compaction)."""
    try:
        done = compact_if_needed(out, threshold)
    except Exception as error:
        return f"compaction failed ({one_line(error)}); the next run or newsclean compact redoes it"
    return describe(done) + " (the run's files are in the compacted parts)" if done else None


def _visible_parts(out: Path, run_id: str) -> list[Path]:
    """The run's files that readers can see now (all parts of each table)."""
    return [part for table in PUBLISHED_TABLES for part in run_parts(out, table, run_id)]


def _publish_failure(out: Path, run_id: str, error: Exception) -> PublishFailed:
    """What a failure inside :func:`tasks.output.publish.publish` left behind, in words."""
    committed = (staging_dir(out, run_id) / COMMIT_MARKER).exists()
    visible = _visible_parts(out, run_id)
    if committed:
        tables = len({part.parent.name for part in visible})
        shown = f"{tables} of its {len(PUBLISHED_TABLES)} tables are visible"
        message = (
            f"publishing failed after the run was committed ({one_line(error)}): {shown}; "
            "the next run completes it"
        )
    else:
        message = (
            f"publishing failed before the run was committed ({one_line(error)}): nothing "
            "was published, the dataset is as it was; the next run starts afresh"
        )
    failure = PublishFailed(message, visible=committed and bool(visible))
    failure.__cause__ = error
    return failure
