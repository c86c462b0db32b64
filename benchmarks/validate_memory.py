"""Peak memory of validating a run given as Parquet files vs as in-memory Arrow tables.

    python -m benchmarks.validate_memory                          # 5k, 20k, 40k articles
    python -m benchmarks.validate_memory --sizes 5000 --repeats 1 # a quick look

A synthetic run of N articles (``--paragraphs`` paragraphs each, 70 by default: the real
suites' derived columns, duplicates pointing at other articles' paragraphs, and text sizes
of a cleaned news page) is written once per size as Parquet parts of ``--part-articles``
articles, as the shards stage them. Each measurement is a fresh child process that
validates the run with the real suites (``expectations/``) and reports its own peak RSS
(``VmHWM``), its RSS once Great Expectations is imported (the floor), and the seconds of
``run_checkpoints``:

- ``files``: ``run_checkpoints`` given the parts' paths, as the flow calls it once shards
  write Parquet;
- ``tables``: the parts read into one Arrow table per table first, as the flow held them
  before, and ``run_checkpoints`` given the tables.

The modes alternate (files, tables, tables, files, ...) so that a drift of the machine
does not favour one. Validation must pass on every run; the benchmark stops otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.models import REMOVED_LABELS
from tasks.output.tables import (
    ARTICLES_SCHEMA,
    PARAGRAPHS_SCHEMA,
    REMOVED_COUNT_COLUMNS,
    TIMESTAMP,
    paragraph_ids,
)

REPO = Path(__file__).resolve().parent.parent
STAMP = datetime(2026, 12, 1, tzinfo=UTC)
_WORDS = [
    "the", "council", "said", "on", "tuesday", "that", "a", "new", "plan", "for", "the", "city",
    "budget", "would", "be", "put", "to", "a", "vote", "next", "month", "after", "residents",
    "raised", "concerns", "about", "rising", "costs", "of", "housing", "and", "transport",
]  # fmt: skip


def _texts(count: int, words: int, seed: int) -> pa.Array:
    """``count`` distinct sentences of about ``words`` words (a pool to draw rows from)."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array(_WORDS)
    return pa.array(
        [f"{i} " + " ".join(vocabulary[rng.integers(0, len(_WORDS), words)]) for i in range(count)]
    )


PARAGRAPH_POOL = _texts(997, 22, 1)  # ~130 characters, as a news paragraph
ARTICLE_POOL = _texts(101, 900, 2)  # ~5,500 characters: the kept paragraphs joined


def _labels(paragraphs: int) -> list[str]:
    """Per position: a title, body paragraphs, one of each removed label, a duplicate last."""
    removed = [label for label in REMOVED_LABELS if label != "duplicate"]
    extra = min(len(removed), max(paragraphs - 3, 0))
    body = paragraphs - 2 - extra
    if body < 1:
        raise ValueError("at least 3 paragraphs per article")
    return ["title", *["body"] * body, *removed[:extra], "duplicate"]


def article_id(index: int | np.ndarray) -> pa.Array:
    """The synthetic article ids: 16 hex digits."""
    values = np.atleast_1d(index).astype(np.int64)
    return pa.array([f"{value:016x}" for value in values], pa.string())


def synthetic_part(first: int, count: int, paragraphs: int = 70) -> dict[str, pa.Table]:
    """Articles ``first`` .. ``first + count - 1`` of a run that passes the real suites.

    Each article's last paragraph is a duplicate of a body paragraph of the article before
    it (a paragraph in another part when the article opens a part); article 0 has none (its
    last paragraph is boilerplate), so parts are built independently and still resolve.
    """
    indices = np.arange(first, first + count)
    ids = article_id(indices)
    labels = _labels(paragraphs)
    per_position = pa.array(labels, pa.string())
    article_of_row = np.repeat(np.arange(count), paragraphs)
    positions = pa.array(np.tile(np.arange(paragraphs, dtype=np.int32), count))
    row_ids = ids.take(pa.array(article_of_row))
    label = per_position.take(positions.cast(pa.int64()))
    is_duplicate = pc.equal(label, "duplicate")
    first_row_of_run = pc.and_(is_duplicate, pa.array(indices[article_of_row] == 0))
    label = pc.if_else(first_row_of_run, "boilerplate", label)
    is_duplicate = pc.equal(label, "duplicate")
    previous = article_id(np.maximum(indices - 1, 0)).take(pa.array(article_of_row))
    copied = paragraph_ids(previous, pa.array(np.ones(len(article_of_row), np.int32)))
    n_rows = len(article_of_row)
    paragraph_table = pa.table(
        {
            "paragraph_id": paragraph_ids(row_ids, positions),
            "article_id": row_ids,
            "position": positions,
            "text": PARAGRAPH_POOL.take(pa.array(np.arange(n_rows) % len(PARAGRAPH_POOL))),
            "label": label,
            "reason": pc.binary_join_element_wise("rule_", label, ""),
            "duplicate_of": pc.if_else(is_duplicate, copied, pa.scalar(None, pa.string())),
            "cluster_id": pa.nulls(n_rows, pa.string()),
            "line_start": positions,
            "line_end": positions,
            "run_id": pa.repeat(pa.scalar("bench", pa.string()), n_rows),
        },
        schema=PARAGRAPHS_SCHEMA,
    )
    counts = {name: labels.count(name) for name in set(labels)}
    removed = {label: np.full(count, counts.get(label, 0), np.int32) for label in REMOVED_LABELS}
    opens_run = indices == 0
    removed["duplicate"] = removed["duplicate"] - opens_run
    removed["boilerplate"] = removed["boilerplate"] + opens_run
    text = ARTICLE_POOL.take(pa.array(indices % len(ARTICLE_POOL)))
    has_date = indices % 3 != 0
    articles = {
        "article_id": ids,
        "source": pc.binary_join_element_wise("pages/", ids, ".html", ""),
        "url": pc.binary_join_element_wise("https://example.org/", ids, ""),
        "input_format": pa.repeat(pa.scalar("html"), count),
        "extractor": pa.repeat(pa.scalar("page_text"), count),
        "encoding": pa.repeat(pa.scalar("utf-8"), count),
        "title": pc.binary_join_element_wise("Council budget vote ", ids, ""),
        "authors": pa.array([[] for _ in range(count)], pa.list_(pa.string())),
        "credits": pa.array([[] for _ in range(count)], pa.list_(pa.string())),
        "published_at": pa.array([STAMP if d else None for d in has_date], TIMESTAMP),
        "published_at_precision": pa.array(["day" if d else None for d in has_date]),
        "site_name": pa.repeat(pa.scalar("Example"), count),
        "language": pa.repeat(pa.scalar("en"), count),
        "description": pa.nulls(count, pa.string()),
        "duplicate_of_article": pa.nulls(count, pa.string()),
        "syndication_source": pa.nulls(count, pa.string()),
        "supersedes": pa.nulls(count, pa.string()),
        "version": pa.array(np.ones(count, np.int32)),
        "text": text,
        "n_paragraphs_in": pa.array(np.full(count, paragraphs, np.int32)),
        "n_paragraphs_kept": pa.array(np.full(count, counts["title"] + counts["body"], np.int32)),
        **{
            column: pa.array(removed[label])
            for label, column in zip(REMOVED_LABELS, REMOVED_COUNT_COLUMNS, strict=True)
        },
        "word_count": pa.array(np.full(count, 900, np.int32)),
        "content_hash": pc.binary_join_element_wise(ids, ids, ids, ids, ""),
        "input_sha256": pc.binary_join_element_wise("sha", ids, ""),
        "run_id": pa.repeat(pa.scalar("bench"), count),
        "processed_at": pa.repeat(pa.scalar(STAMP, TIMESTAMP), count),
        "decode_errors": pa.array(np.zeros(count, np.int32)),
        "fetched_at": pa.nulls(count, TIMESTAMP),
        "published_date": pa.array([STAMP.date() if d else None for d in has_date], pa.date32()),
    }
    return {
        "articles": pa.table(articles, schema=ARTICLES_SCHEMA),
        "paragraphs": paragraph_table,
    }


def inputs_table(articles: int) -> pa.Table:
    """The run's one accounting row: every input published."""
    return pa.Table.from_pylist(
        [{"total": articles, "published": articles, "skipped": 0, "quarantined": 0}]
    )


def write_run(folder: Path, articles: int, part_articles: int, paragraphs: int) -> Path:
    """The synthetic run as Parquet parts under ``folder/<table>/part-*.parquet``."""
    for table in ("articles", "paragraphs"):
        (folder / table).mkdir(parents=True, exist_ok=True)
    for number, first in enumerate(range(0, articles, part_articles)):
        part = synthetic_part(first, min(part_articles, articles - first), paragraphs)
        for table, rows in part.items():
            pq.write_table(rows, folder / table / f"part-{number:05d}.parquet", compression="zstd")
    return folder


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def child(mode: str, run: Path, articles: int) -> dict[str, float]:
    """Validate the run in this process; its peak RSS, its floor and the seconds taken."""
    from tasks.output.validate import preload_great_expectations, run_checkpoints

    preload_great_expectations().join()
    floor = _status_mb("VmRSS")
    files = {
        t: sorted(str(p) for p in (run / t).glob("part-*.parquet"))
        for t in ("articles", "paragraphs")
    }
    tables: dict[str, object]
    if mode == "files":
        tables = dict(files)
    else:
        tables = {t: pq.read_table(paths) for t, paths in files.items()}
    tables["inputs"] = inputs_table(articles)
    with tempfile.TemporaryDirectory(prefix="validate-bench-") as scratch:
        started = time.perf_counter()
        report = run_checkpoints(
            tables,  # type: ignore[arg-type]
            None,
            REPO / "expectations",
            Path(scratch) / "docs",
            scratch_dir=Path(scratch),
        )
        seconds = time.perf_counter() - started
    if not report.success:
        raise SystemExit(f"validation failed: {[f.as_dict() for f in report.failures]}")
    return {"peak_mb": _status_mb("VmHWM"), "floor_mb": floor, "seconds": seconds}


def measure(mode: str, run: Path, articles: int) -> dict[str, float]:
    command = [sys.executable, "-m", "benchmarks.validate_memory", "--child", mode, str(run)]
    command += ["--sizes", str(articles)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,20000,40000", help="article counts")
    parser.add_argument("--paragraphs", type=int, default=70, help="paragraphs per article")
    parser.add_argument("--part-articles", type=int, default=1000, help="articles per part")
    parser.add_argument("--repeats", type=int, default=2, help="measurements per mode and size")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--child", nargs=2, metavar=("MODE", "RUN"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.child:
        mode, run = args.child
        print(json.dumps(child(mode, Path(run), sizes[0])), flush=True)
        return 0
    print(
        f"{'articles':>9} {'paragraphs':>10} {'mode':>6} {'peak MB':>8} {'floor MB':>8} "
        f"{'seconds':>8}"
    )
    for articles in sizes:
        with tempfile.TemporaryDirectory(prefix="validate-run-", dir=args.workdir) as folder:
            run = write_run(Path(folder), articles, args.part_articles, args.paragraphs)
            order = ["files", "tables"]
            for _ in range(args.repeats):
                for mode in order:
                    row = measure(mode, run, articles)
                    print(
                        f"{articles:>9} {articles * args.paragraphs:>10} {mode:>6} "
                        f"{row['peak_mb']:>8.0f} {row['floor_mb']:>8.0f} {row['seconds']:>8.1f}",
                        flush=True,
                    )
                order.reverse()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
