"""Thin Prefect task wrappers around the pure steps, one per shard or run-wide stage.

Never one per article or paragraph: a Prefect task costs tens of milliseconds of
orchestration, an article a few. Caching is off: steps are cheap to redo and their inputs
(lists of articles) are not worth hashing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.config import PipelineConfig
from tasks.corpus import mark_duplicates
from tasks.models import Article, InputRef
from tasks.process import PublishedIds, ShardResult, process_shard
from tasks.validate import ValidationReport, run_checkpoints


@task(name="clean-shard", cache_policy=NO_CACHE, retries=0)
def clean_shard(
    refs: list[InputRef], config: PipelineConfig, published_ids: PublishedIds
) -> ShardResult:
    return process_shard(refs, config, published_ids)


@task(name="deduplicate", cache_policy=NO_CACHE)
def deduplicate(articles: list[Article], config: PipelineConfig, index_dir: Path | None) -> int:
    return mark_duplicates(articles, config.dedup, index_dir)


@task(name="validate", cache_policy=NO_CACHE)
def validate(
    tables: dict[str, pa.Table],
    published: dict[str, pa.Table],
    expectations_dir: Path,
    docs_dir: Path,
    run_name: str | None = None,
    run_time: datetime | None = None,
) -> ValidationReport:
    return run_checkpoints(tables, published, expectations_dir, docs_dir, run_name, run_time)
