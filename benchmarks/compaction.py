"""README's queries over 1,000 small runs, before and after compaction, vs one part a table.

    python -m benchmarks.compaction                     # 1,000 runs of 20 articles
    python -m benchmarks.compaction --runs 100 --repeats 3

An hourly schedule leaves a part per table per run, so readers' globs open thousands of small
files. This publishes ``--runs`` small runs into one output through the real path
(:func:`tasks.output.publish.write_staged_table`, :func:`~tasks.output.publish.publish`:
staging, marker, renames), each with ``--articles`` synthetic articles of ``--paragraphs``
paragraphs (the published schemas, a tenth of the articles a later version of an earlier one,
a quarantined input every ``QUARANTINE_EVERY`` runs),
and the same rows as one part per table in a second output. It times README's queries
("Reading the output") in DuckDB on both, compacts the first (:func:`tasks.output.compact.
compact`, timed) and times them again: alternating the variants, the median of
``--repeats``. Target (issue #26): after compaction ≤ 2× the time of one part.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from tasks.output.compact import compact
from tasks.output.publish import publish, write_parts, write_staged_table
from tasks.output.tables import ARTICLES_SCHEMA, PARAGRAPHS_SCHEMA, QUARANTINE_SCHEMA

# README, "Reading the output" (DuckDB); ``{out}`` is the output directory.
QUERIES = {
    "articles": "SELECT title, authors, credits, word_count "
    "FROM read_parquet('{out}/articles/*.parquet')",
    "labels": "SELECT label, reason, count(*) FROM read_parquet('{out}/paragraphs/*.parquet') "
    "GROUP BY ALL",
    "latest versions": "SELECT * FROM read_parquet('{out}/articles/*.parquet') AS a "
    "WHERE NOT EXISTS (SELECT 1 FROM read_parquet('{out}/articles/*.parquet') AS b "
    "WHERE b.supersedes = a.article_id)",
}
REASONS = (("body", "article_text"), ("duplicate", "near_duplicate"), ("nav", "dom_chrome"))
START = datetime(2026, 1, 1, tzinfo=UTC)
# Most scheduled runs quarantine nothing (and then add no quarantine part); each one that does
# reads the published quarantine keys to record a bad input once.
QUARANTINE_EVERY = 10


def run_id(n: int) -> str:
    return f"{START + timedelta(hours=n):%Y%m%dT%H%M%SZ}-{n:08x}"


def run_tables(n: int, articles: int, paragraphs: int) -> dict[str, pa.Table]:
    """Run ``n``'s rows: ``articles`` articles of ``paragraphs`` paragraphs, one quarantine."""
    rid, ids = run_id(n), [f"a{n:05d}{k:04d}" for k in range(articles)]
    earlier = [f"a{n - 1:05d}{k:04d}" if n and k % 10 == 0 else None for k in range(articles)]
    text = [f"Article {i} says what the page says. " * 40 for i in ids]
    columns = {
        "article_id": ids,
        "source": [f"pages/{i}.html" for i in ids],
        "url": [f"https://example.com/{i}" for i in ids],
        "input_format": ["html"] * articles,
        "extractor": ["trafilatura"] * articles,
        "encoding": ["utf-8"] * articles,
        "title": [f"Title of {i}" for i in ids],
        "authors": [["A. Writer"]] * articles,
        "credits": [["Reuters"] if k % 4 == 0 else [] for k in range(articles)],
        "published_at": [START + timedelta(hours=n)] * articles,
        "supersedes": earlier,
        "version": [2 if e else 1 for e in earlier],
        "text": text,
        "word_count": [len(t.split()) for t in text],
        "content_hash": [f"h{i}" for i in ids],
        "input_sha256": [f"s{i}" for i in ids],
        "run_id": [rid] * articles,
        "processed_at": [START + timedelta(hours=n)] * articles,
    }
    table = _filled(ARTICLES_SCHEMA, columns, articles)
    rows = articles * paragraphs
    labels = [REASONS[(k * 7) % 10 // 4] for k in range(rows)]
    paragraph_columns = {
        "paragraph_id": [f"{ids[k // paragraphs]}-{k % paragraphs:05d}" for k in range(rows)],
        "article_id": [ids[k // paragraphs] for k in range(rows)],
        "position": [k % paragraphs for k in range(rows)],
        "text": [f"Paragraph {k} of run {n}, with a few more words." for k in range(rows)],
        "label": [label for label, _ in labels],
        "reason": [reason for _, reason in labels],
        "run_id": [rid] * rows,
    }
    quarantine = {
        "source": [f"pages/bad-{n}.html"],
        "stage": ["read"],
        "reason": ["file is empty"],
        "run_id": [rid],
    }
    return {
        "articles": table,
        "paragraphs": _filled(PARAGRAPHS_SCHEMA, paragraph_columns, rows),
        "quarantine": _filled(QUARANTINE_SCHEMA, quarantine, 1),
    }


def _filled(schema: pa.Schema, columns: dict[str, list[object]], rows: int) -> pa.Table:
    """``columns`` as a table of ``schema``; the other columns 0, empty or null."""
    arrays = []
    for field in schema:
        if field.name in columns:
            arrays.append(pa.array(columns[field.name], field.type))
        elif pa.types.is_integer(field.type):
            arrays.append(pa.array([0] * rows, field.type))
        elif pa.types.is_list(field.type):
            arrays.append(pa.array([[]] * rows, field.type))
        elif not field.nullable:
            arrays.append(pa.array([""] * rows, field.type))
        else:
            arrays.append(pa.nulls(rows, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


SCHEMAS = {
    "articles": ARTICLES_SCHEMA,
    "paragraphs": PARAGRAPHS_SCHEMA,
    "quarantine": QUARANTINE_SCHEMA,
}


def build(root: Path, runs: int, articles: int, paragraphs: int) -> tuple[Path, Path, float]:
    """The output of ``runs`` published runs, the same rows as one part a table, and the
    seconds publishing took."""
    many, one = root / "many-parts", root / "one-part"
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    for n in range(runs):
        for name, table in run_tables(n, articles, paragraphs).items():
            if name != "quarantine" or n % QUARANTINE_EVERY == 0:
                write_staged_table(many, run_id(n), name, [table], SCHEMAS[name])
        publish(many, run_id(n))
    seconds = time.perf_counter() - started
    for name, schema in SCHEMAS.items():
        (one / name).mkdir(parents=True)
        tables = (
            run_tables(n, articles, paragraphs)[name]
            for n in range(runs)
            if name != "quarantine" or n % QUARANTINE_EVERY == 0
        )
        write_parts(
            one / name,
            lambda _: "part-all-00000.parquet",
            tables,
            schema,
            part_rows=10**12,
            row_group_rows=125_000,
        )
    return many, one, seconds


def time_queries(outputs: dict[str, Path], repeats: int) -> dict[tuple[str, str], float]:
    """Median seconds of each query on each output, the outputs alternating in turn."""
    times: dict[tuple[str, str], list[float]] = {}
    con = duckdb.connect()
    for repeat in range(repeats):
        order = list(outputs.items())
        for variant, out in order if repeat % 2 == 0 else order[::-1]:
            for query, sql in QUERIES.items():
                started = time.perf_counter()
                con.execute(sql.format(out=out)).fetchall()
                times.setdefault((variant, query), []).append(time.perf_counter() - started)
    con.close()
    return {key: statistics.median(values) for key, values in times.items()}


def count_rows(out: Path) -> dict[str, int]:
    return {
        name: duckdb.sql(f"SELECT count(*) FROM '{out}/{name}/*.parquet'").fetchall()[0][0]
        for name in SCHEMAS
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--articles", type=int, default=20, help="articles per run")
    parser.add_argument("--paragraphs", type=int, default=25, help="paragraphs per article")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "newsclean-compaction"
    )
    args = parser.parse_args(argv)
    many, one, publishing = build(args.workdir, args.runs, args.articles, args.paragraphs)
    files = len(list(many.rglob("*.parquet")))
    print(f"published {args.runs:,} runs in {publishing:.1f} s: {files:,} files", file=sys.stderr)
    before = time_queries({"parts": many, "one part": one}, args.repeats)
    rows = count_rows(many)
    started = time.perf_counter()
    done = compact(many)
    compaction = time.perf_counter() - started
    assert count_rows(many) == rows == count_rows(one), "compaction changed the rows"
    after = time_queries({"compacted": many, "one part": one}, args.repeats)
    lines = [
        f"`python -m benchmarks.compaction {' '.join(argv or sys.argv[1:])}`: {args.runs:,} runs "
        f"of {args.articles} articles × {args.paragraphs} paragraphs ({rows['articles']:,} "
        f"articles, {rows['paragraphs']:,} paragraphs); publishing {publishing:.1f} s; "
        f"compaction {compaction:.1f} s: "
        + ", ".join(f"{t} {b:,} → {a:,} files" for t, (b, a) in done.items()),
        "",
        "| query | one part a table s (before / after) | a part a run s | ratio "
        "| compacted s | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for query in QUERIES:
        # each ratio against the one-part times of the same round (same cache, same load)
        one_before, one_after = before[("one part", query)], after[("one part", query)]
        parts, compacted = before[("parts", query)], after[("compacted", query)]
        lines.append(
            f"| {query} | {one_before:.3f} / {one_after:.3f} | {parts:.3f} "
            f"| {parts / one_before:.1f}× | {compacted:.3f} | **{compacted / one_after:.2f}×** |"
        )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
