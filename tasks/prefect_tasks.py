"""Thin Prefect task wrappers around the pure steps, one per shard or run-wide stage.

Never one per article or paragraph: a Prefect task costs tens of milliseconds of
orchestration, an article a few. Caching is off: steps are cheap to redo and their inputs
are not worth hashing. A shard task writes its rows to the staging folder and returns a
small summary; the run-wide task reads them back from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.clean.document import PublishedIds, ShardSummary, stage_shard
from tasks.config import PipelineConfig
from tasks.dedup.runwide import RunWideResult, run_wide
from tasks.models import InputRef
from tasks.output.validate import TableSource, ValidationReport, run_checkpoints


@task(name="clean-shard", cache_policy=NO_CACHE, retries=0)
def clean_shard(
    refs: list[InputRef], folder: str, config: PipelineConfig, published_ids: PublishedIds
) -> ShardSummary:
    return stage_shard(refs, Path(folder), config, published_ids)


@task(name="run-wide", cache_policy=NO_CACHE)
def deduplicate(
    output: Path,
    run_id: str,
    config: PipelineConfig,
    index_dir: Path | None,
    published_articles: pa.Table | None,
    processed_at: datetime,
) -> RunWideResult:
    return run_wide(output, run_id, config, index_dir, published_articles, processed_at)


@task(name="validate", cache_policy=NO_CACHE)
def validate(
    tables: Mapping[str, TableSource],
    published: Mapping[str, TableSource] | None,
    expectations_dir: Path,
    docs_dir: Path,
    run_name: str | None = None,
    run_time: datetime | None = None,
    scratch_dir: Path | None = None,
) -> ValidationReport:
    return run_checkpoints(
        tables,
        published,
        expectations_dir,
        docs_dir,
        run_name,
        run_time,
        scratch_dir=scratch_dir,
    )
