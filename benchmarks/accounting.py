"""Nothing lost, measured: paragraphs without a row on the WCXB dev articles (issue #18).

    python -m benchmarks.accounting            # all 711 pages through the real flow
    python -m benchmarks.accounting --limit 50

The target: every paragraph an extractor or a filter produced is a row of ``paragraphs``, so
for every published article ``n_paragraphs_in`` equals its number of paragraph rows and
``n_paragraphs_kept + sum(n_removed_*)``. The pages (``wcxb-dev-articles/html/*.html.gz``,
found as ``benchmarks.wcxb`` finds them) are decompressed into a temporary folder and run
through ``flows.pipeline.newsclean_flow``, as ``tests/test_pipeline.py`` does; the published
Parquet is read back with DuckDB and the gaps are counted per extractor. The articles suite
gates the same equalities, so a gap also shows up as an unpublished run (reported, with the
counts read from the staged output if any).
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
from pathlib import Path

import duckdb

from benchmarks.wcxb import default_bench_dir

GAPS_QUERY = """
WITH rows AS (
    SELECT article_id, count(*) AS n_rows FROM read_parquet('{out}/paragraphs/**/*.parquet')
    GROUP BY article_id
)
SELECT
    a.extractor,
    count(*) AS articles,
    sum(a.n_paragraphs_in) AS paragraphs_in,
    sum(coalesce(r.n_rows, 0)) AS paragraph_rows,
    count(*) FILTER (WHERE a.n_paragraphs_in <> coalesce(r.n_rows, 0)) AS articles_with_gap,
    sum(greatest(a.n_paragraphs_in - coalesce(r.n_rows, 0), 0)) AS missing_rows,
    sum(greatest(coalesce(r.n_rows, 0) - a.n_paragraphs_in, 0)) AS extra_rows,
    count(*) FILTER (WHERE a.n_paragraphs_in <> a.n_paragraphs_kept + {removed}) AS unbalanced
FROM read_parquet('{out}/articles/**/*.parquet') a LEFT JOIN rows r USING (article_id)
GROUP BY ALL ORDER BY a.extractor
"""


def stage_pages(html_dir: Path, into: Path, limit: int | None) -> int:
    """Decompress the ``*.html.gz`` pages into ``into`` (the flow reads ``.html`` files)."""
    pages = sorted(html_dir.glob("*.html.gz"))[:limit]
    for page in pages:
        (into / page.name.removesuffix(".gz")).write_bytes(gzip.decompress(page.read_bytes()))
    return len(pages)


def gaps(output: Path) -> list[tuple[object, ...]]:
    """Per extractor: articles, paragraphs in, rows, articles with a gap, missing and extra
    rows, articles whose kept + removed counts differ from ``n_paragraphs_in``."""
    from tasks.output.tables import REMOVED_COUNT_COLUMNS

    removed = " + ".join(f"a.{column}" for column in REMOVED_COUNT_COLUMNS)
    relation = duckdb.sql(GAPS_QUERY.format(out=output, removed=removed))
    assert relation is not None
    return relation.fetchall()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, help="only the first N pages")
    args = parser.parse_args(argv)
    html_dir = default_bench_dir() / "html"
    if not html_dir.is_dir() or not any(html_dir.glob("*.html.gz")):
        print(
            f"accounting benchmark not run: no WCXB pages at {html_dir} "
            "(set NEWSCLEAN_BENCH_ROOT to the folder holding wcxb-dev-articles, or "
            "NEWSCLEAN_BENCH_DIR to the set itself).",
            file=sys.stderr,
        )
        return 2
    # Prefect and GX stay offline and out of the user's home (tests/conftest.py does the same).
    home = Path(tempfile.mkdtemp(prefix="newsclean-bench-prefect-"))
    os.environ["PREFECT_HOME"] = str(home)
    os.environ["PREFECT_PROFILES_PATH"] = str(home / "profiles.toml")
    from flows.environment import configure_environment

    configure_environment(prefect_home=home)
    from flows.pipeline import newsclean_flow

    with tempfile.TemporaryDirectory(prefix="newsclean-accounting-") as tmp:
        pages, output = Path(tmp) / "pages", Path(tmp) / "output"
        pages.mkdir()
        count = stage_pages(html_dir, pages, args.limit)
        result = newsclean_flow(inputs=[str(pages)], output=str(output))
        summary = result.summary
        print(f"\n{count} pages from {html_dir}: published={result.published} ", end="")
        print(f"validation_success={result.validation_success}")
        print(f"inputs: {summary.inputs}")
        if not result.published:
            print("run not published: see the report at", result.report_html)
            return 1
        header = (
            "extractor",
            "articles",
            "paragraphs_in",
            "rows",
            "articles_with_gap",
            "missing_rows",
            "extra_rows",
            "unbalanced",
        )
        table = gaps(output)
        print(" ".join(f"{h:>17}" for h in header))
        for row in table:
            print(" ".join(f"{v!s:>17}" for v in row))
        totals = [sum(int(str(row[i])) for row in table) for i in range(1, len(header))]
        print(" ".join(f"{v!s:>17}" for v in ("all", *totals)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
