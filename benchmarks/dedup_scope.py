"""Short and structural lines removed as copies of an unrelated article, on the WCXB dev pages.

    python -m benchmarks.dedup_scope                         # this checkout
    python -m benchmarks.dedup_scope --checkout ../other     # and another one, same WARC

The 711 dev pages (``html/*.html.gz``) become one WARC with their real URLs (so each page's
site is its host), run as one corpus through ``newsclean run`` (a fresh output each), and the
published paragraphs are asked: how many lines of at most 12 words (and of under 6) are
labelled ``duplicate`` of a paragraph of another article that is not the article this one
copies (``duplicate_of_article``)? The target (issue #18) is zero.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from benchmarks.dedup import bench_dir

QUERY = """
SELECT count(*) FILTER (WHERE n_words <= 12) AS short_12,
       count(*) FILTER (WHERE n_words < 6) AS short_6,
       count(DISTINCT p.article_id) FILTER (WHERE n_words <= 12) AS articles
FROM (SELECT *, len(regexp_extract_all(text, '[^\\W_]+')) AS n_words
      FROM read_parquet('{out}/paragraphs/*.parquet')) p
JOIN read_parquet('{out}/articles/*.parquet') a USING (article_id)
WHERE p.label = 'duplicate'
  AND split_part(p.duplicate_of, '-', 1) <> p.article_id
  AND split_part(p.duplicate_of, '-', 1) IS DISTINCT FROM a.duplicate_of_article
"""


def write_warc(directory: Path, path: Path) -> int:
    """One response record per dev page, with the page's URL from its ground truth."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    count = 0
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for page in sorted((directory / "html").glob("*.html.gz")):
            stem = page.name.split(".")[0]
            truth = json.loads((directory / "ground-truth" / f"{stem}.json").read_text())
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            record = writer.create_warc_record(
                truth["url"],
                "response",
                payload=io.BytesIO(gzip.decompress(page.read_bytes())),
                http_headers=headers,
            )
            writer.write_record(record)
            count += 1
    return count


def run(checkout: Path, warc: Path, output: Path) -> tuple[int, int, int]:
    """Run the flow of ``checkout`` on the WARC and count unrelated short copies."""
    subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", str(warc), "--output", str(output)],
        cwd=checkout,
        check=False,
        capture_output=True,
    )
    row = duckdb.execute(QUERY.format(out=output)).fetchall()[0]
    return int(row[0]), int(row[1]), int(row[2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkout", type=Path, action="append", default=[])
    args = parser.parse_args(argv)
    directory = bench_dir()
    if not (directory / "html").is_dir():
        print(f"skipped: no WCXB pages at {directory}/html")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        warc = Path(tmp) / "wcxb-dev.warc.gz"
        print(f"{write_warc(directory, warc)} pages in one WARC")
        here = Path(__file__).resolve().parent.parent
        for n, checkout in enumerate([*args.checkout, here]):
            short_12, short_6, articles = run(checkout.resolve(), warc, Path(tmp) / f"out{n}")
            print(
                f"{checkout}: lines <= 12 words removed as copies of an unrelated article: "
                f"{short_12} (under 6 words: {short_6}) in {articles} articles"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
