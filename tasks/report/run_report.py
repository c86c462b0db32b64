"""The run report: what came in, what was removed and why, what failed validation.

Written as JSON (for machines) and as one self-contained HTML page (for people) under
``<output>/reports/``; ``latest.json``/``latest.html`` always point at the newest run.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import quote

# typing_extensions': pydantic, which builds Prefect's parameter schemas (a flow taking a
# RunSummary), refuses typing.TypedDict before Python 3.12.
import duckdb
import pyarrow as pa
from typing_extensions import TypedDict

from tasks.files import write_atomically
from tasks.models import QuarantineRecord, article_of
from tasks.reasons import KEPT_LABELS, Label
from tasks.stats import StageRow, StepStats

if TYPE_CHECKING:  # for annotations only: the clean shards never import tasks.output.validate
    from tasks.output.validate import ValidationRow

TABLES = ("articles", "paragraphs", "quarantine")


class ClusterArticle(TypedDict):
    """An article of a duplicate cluster, named for the report (title and source may be unknown)."""

    article_id: str
    title: str | None
    source: str | None
    kept: bool


class ClusterRow(TypedDict):
    """A duplicate cluster in the run summary: the kept paragraph, its copies, its articles."""

    kept: str
    copies: list[str]
    size: int
    text: str
    articles: list[ClusterArticle]


TABLES = ("articles", "paragraphs", "quarantine")


@dataclass(slots=True)
class RunSummary:
    run_id: str
    started_at: str
    finished_at: str
    inputs: dict[str, int]
    stages: list[StageRow]
    removed_by_label: dict[str, int]
    removed_by_rule: dict[str, int]
    duplicate_clusters: list[ClusterRow]
    quarantine: list[dict[str, str | None]]
    skipped: list[dict[str, str | None]]
    validation: ValidationRow
    published: bool
    outputs: dict[str, str | list[str] | None] = field(default_factory=dict)
    config: str = ""
    dedup_index: str = ""
    # Per rule, a few of the paragraphs it removed (clipped): what the counts stand for.
    removed_examples: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    # What a reader must know first (e.g. that this run completed an interrupted one).
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


Source: TypeAlias = pa.Table | str | list[str]


@contextmanager
def _tables(**sources: Source) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with a view per source (an Arrow table, Parquet files or a glob)."""
    with duckdb.connect() as con:
        for name, source in sources.items():
            if isinstance(source, str | list):
                files = repr(source) if isinstance(source, list) else f"'{source}'"
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({files})")
            else:
                con.register(name, source)
        yield con


_REMOVED = "label NOT IN ('title', 'body')"


def removal_counts(paragraphs: Source) -> tuple[dict[str, int], dict[str, int]]:
    """Removed paragraphs counted by label and by rule, largest first (ties: first seen)."""
    counts = []
    with _tables(paragraphs=paragraphs) as con:
        for column in ("label", "reason"):
            rows = con.execute(
                f"SELECT {column}, count(*) AS n FROM paragraphs WHERE {_REMOVED} "
                f"GROUP BY {column} ORDER BY n DESC, min(paragraph_id)"
            ).fetchall()
            counts.append({key: int(n) for key, n in rows})
    return counts[0], counts[1]


EXAMPLES_PER_RULE = 3
EXAMPLE_CHARS = 240
# Distinct texts per rule looked at for the examples (a few more than shown: two texts can
# clip to the same example).
_EXAMPLE_CANDIDATES = 20


def removal_examples(
    paragraphs: Source, articles: Source, per_rule: int = EXAMPLES_PER_RULE
) -> dict[str, list[dict[str, str]]]:
    """Up to ``per_rule`` distinct removed paragraphs per rule, clipped, with where they were.

    Taken in paragraph id order, so a run's examples do not depend on sharding; clipped so
    that a 200,000-character paragraph does not become the report. The first few distinct
    texts per rule are chosen in DuckDB: the run's removed paragraphs are never loaded.
    """
    with _tables(paragraphs=paragraphs, articles=articles) as con:
        rows = con.execute(
            f"""
            WITH firsts AS (
                SELECT reason, label, text, paragraph_id, article_id, row_number() OVER
                    (PARTITION BY reason, md5(text) ORDER BY paragraph_id) AS copy
                FROM paragraphs WHERE {_REMOVED}),
            candidates AS (
                SELECT *, row_number() OVER (PARTITION BY reason ORDER BY paragraph_id) AS n
                FROM firsts WHERE copy = 1)
            SELECT c.reason, c.label, c.text, c.paragraph_id, a.source
            FROM candidates c JOIN articles a USING (article_id)
            WHERE c.n <= {_EXAMPLE_CANDIDATES} ORDER BY c.paragraph_id
            """
        ).fetchall()
    examples: dict[str, list[dict[str, str]]] = {}
    for reason, label, text, paragraph_id, source in rows:
        found = examples.setdefault(reason, [])
        clipped = _clip(text, EXAMPLE_CHARS)
        if len(found) < per_rule and all(e["text"] != clipped for e in found):
            found.append(
                {"label": label, "text": clipped, "paragraph_id": paragraph_id, "source": source}
            )
    return examples


CLUSTER_ARTICLES = 10


def duplicate_clusters(
    paragraphs: Source, articles: Source, limit: int = 50, output: Path | None = None
) -> list[ClusterRow]:
    """The largest duplicate clusters: kept paragraph (its text), size, where the copies are.

    A kept copy published by an earlier run is not in this run's paragraphs: its first copy's
    text stands in for it, and its article's title and source are looked up in ``output``'s
    published articles. Sizes are counted in DuckDB and ids and texts gathered for the
    ``limit`` largest clusters only. Each cluster names its articles (kept copy's first, at
    most ten).
    """
    published = sorted((output / "articles").glob("*.parquet")) if output else []
    with _tables(paragraphs=paragraphs, articles=articles) as con:
        largest = con.execute(
            "SELECT duplicate_of, count(*) AS n FROM paragraphs WHERE duplicate_of IS NOT NULL "
            "GROUP BY duplicate_of ORDER BY n DESC, duplicate_of LIMIT ?",
            [limit],
        ).fetchall()
        sizes = {kept: int(n) for kept, n in largest}
        con.register("largest", pa.table({"kept": pa.array(list(sizes), pa.string())}))
        members = con.execute(
            "SELECT paragraph_id, duplicate_of, text FROM paragraphs "
            "WHERE duplicate_of IN (SELECT kept FROM largest) "
            "OR paragraph_id IN (SELECT kept FROM largest) ORDER BY paragraph_id"
        ).fetchall()
        copies: dict[str, list[str]] = {kept: [] for kept in sizes}
        texts: dict[str, str] = {}
        kept_texts: dict[str, str] = {}
        for paragraph_id, duplicate_of, text in members:
            if duplicate_of in copies:
                copies[duplicate_of].append(paragraph_id)
                texts.setdefault(duplicate_of, text)  # until the kept copy
            if paragraph_id in copies:  # a kept copy of this run
                kept_texts[paragraph_id] = text
        texts.update(kept_texts)
        cluster_articles = {
            kept: list(dict.fromkeys(article_of(p) for p in [kept, *sorted(copies[kept])]))[
                :CLUSTER_ARTICLES
            ]
            for kept in sizes
        }
        wanted = sorted({a for ids in cluster_articles.values() for a in ids})
        con.register("wanted", pa.table({"article_id": pa.array(wanted, pa.string())}))
        info: dict[str, tuple[str | None, str | None]] = {
            article_id: (title, source)
            for article_id, title, source in con.execute(
                "SELECT article_id, title, source FROM articles "
                "WHERE article_id IN (SELECT article_id FROM wanted)"
            ).fetchall()
        }
        missing = [a for a in wanted if a not in info]
        if missing and published:
            con.register("missing", pa.table({"article_id": pa.array(missing, pa.string())}))
            for article_id, title, source in con.execute(
                f"SELECT article_id, title, source FROM read_parquet("
                f"{[str(f) for f in published]!r}, union_by_name = true) "
                "WHERE article_id IN (SELECT article_id FROM missing)"
            ).fetchall():
                info.setdefault(article_id, (title, source))

    def named(article_id: str, kept: str) -> ClusterArticle:
        title, source = info.get(article_id, (None, None))
        return {
            "article_id": article_id,
            "title": title,
            "source": source,
            "kept": article_id == article_of(kept),
        }

    return [
        {
            "kept": kept,
            "copies": sorted(copies[kept]),
            "size": sizes[kept] + 1,
            "text": texts[kept],
            "articles": [named(a, kept) for a in cluster_articles[kept]],
        }
        for kept in sizes
    ]


def quarantine_rows(records: Sequence[QuarantineRecord]) -> list[dict[str, str | None]]:
    return [
        {"source": r.source, "stage": r.stage, "reason": r.reason, "input_sha256": r.input_sha256}
        for r in records
    ]


def stage_rows(stats: Sequence[StepStats]) -> list[StageRow]:
    return [s.as_dict() for s in stats]


class _Raw(str):
    """Already-escaped HTML: table cells of this type are inserted as they are."""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _clip(text: object, limit: int) -> str:
    """At most ``limit`` characters: a 250,000-character paragraph must not become the page."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def _cell(value: object) -> str:
    return value if isinstance(value, _Raw) else _esc(value)


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    empty: str = "None.",
    numeric: Collection[int] = (),
) -> str:
    """An HTML table, or a short note instead of an empty one; ``numeric`` columns align right."""
    if not rows:
        return f'<p class="empty">{_esc(empty)}</p>'

    def attrs(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    head = "".join(f"<th{attrs(i)}>{_esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f"<td{attrs(i)}>{_cell(cell)}</td>" for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


LABEL_COLOURS: dict[str, str] = {
    Label.AD: "#c2410c",
    Label.BYLINE: "#7c3aed",
    Label.PROMO: "#be185d",
    Label.CAPTION: "#0e7490",
    Label.BOILERPLATE: "#4b5563",
    Label.DUPLICATE: "#a16207",
}
BAR_COLOUR = "#2f6aa8"


def bar_chart(
    items: Sequence[tuple[str, int]], *, title: str, colours: dict[str, str] | None = None
) -> str:
    """Horizontal bars as inline SVG: draws in any browser, offline, with no script."""
    if not items:
        return '<p class="empty">Nothing removed.</p>'
    row, gap, bar_area, value_area = 20, 6, 360, 56
    label_area = min(240, 16 + 7 * max(len(name) for name, _ in items))
    width = label_area + bar_area + value_area
    height = gap + len(items) * (row + gap)
    biggest = max(value for _, value in items) or 1
    parts = [
        f'<svg class="chart" role="img" aria-label="{_esc(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}"><title>{_esc(title)}</title>'
    ]
    for i, (name, value) in enumerate(items):
        y = gap + i * (row + gap)
        length = max(2, round(bar_area * value / biggest))
        colour = (colours or {}).get(name, BAR_COLOUR)
        baseline = y + row - 6
        parts.append(
            f"<g><title>{_esc(name)}: {value}</title>"
            f'<text x="{label_area - 8}" y="{baseline}" text-anchor="end">{_esc(name)}</text>'
            f'<rect class="bar" x="{label_area}" y="{y}" width="{length}" height="{row}" '
            f'rx="3" fill="{colour}"/>'
            f'<text class="value" x="{label_area + length + 6}" y="{baseline}">{value}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


HISTORY_RUNS = 30
TREND_INPUTS = {"published": "#17702e", "skipped": "#6b7280", "quarantined": "#b3261e"}


def trend_point(report: Mapping[str, Any]) -> dict[str, Any]:
    """What the trend charts plot of one run, from its report (``RunSummary.as_dict``)."""
    inputs = report.get("inputs") or {}
    return {
        "run_id": str(report.get("run_id", "")),
        "started_at": str(report.get("started_at", "")),
        **{key: int(inputs.get(key) or 0) for key in TREND_INPUTS},
        "removed": {k: int(v) for k, v in (report.get("removed_by_label") or {}).items()},
    }


def run_history(
    reports_dir: Path, current: RunSummary, limit: int = HISTORY_RUNS
) -> list[dict[str, Any]]:
    """The last ``limit`` runs of this output folder, oldest first, ``current`` included.

    Read from ``run-<id>.json``; run ids start with their UTC start time, so the newest
    files are the last names and only those are opened. An unreadable report is left out.
    """
    points = {current.run_id: trend_point(current.as_dict())}
    names = sorted(reports_dir.glob("run-*.json")) if reports_dir.is_dir() else []
    for path in names[-limit:]:
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(report, dict) and report.get("run_id"):
            points.setdefault(str(report["run_id"]), trend_point(report))
    ordered = sorted(points.values(), key=lambda point: (point["started_at"], point["run_id"]))
    return ordered[-limit:]


def trend_chart(
    points: Sequence[Mapping[str, Any]], series: Mapping[str, str], *, title: str, key: str = ""
) -> str:
    """One line per series over the runs as inline SVG (values from ``point[key][name]``, or
    ``point[name]`` without ``key``); every point has a tooltip with its run and value."""
    if not points:
        return '<p class="empty">No runs yet.</p>'
    width, height, left, right, top, bottom = 640, 190, 44, 12, 12, 34

    def value(point: Mapping[str, Any], name: str) -> int:
        source = point.get(key) or {} if key else point
        return int(source.get(name) or 0)

    names = [name for name in series if any(value(p, name) for p in points)] or list(series)[:1]
    biggest = max(value(p, name) for p in points for name in names) or 1
    step = (width - left - right) / max(len(points) - 1, 1)

    def x(i: int) -> float:
        return left + (i * step if len(points) > 1 else (width - left - right) / 2)

    def y(v: int) -> float:
        return top + (height - top - bottom) * (1 - v / biggest)

    parts = [
        f'<svg class="chart trend" role="img" aria-label="{_esc(title)}" width="{width}" '
        f'height="{height + 18 * len(names)}" viewBox="0 0 {width} {height + 18 * len(names)}">'
        f"<title>{_esc(title)}</title>",
        f'<line class="axis" x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}"/>',
        f'<text x="{left - 6}" y="{y(biggest) + 4:.1f}" text-anchor="end">{biggest}</text>',
        f'<text x="{left - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>',
        f'<text x="{left}" y="{height - 10}">{_esc(points[0]["started_at"][:16])}</text>',
    ]
    if len(points) > 1:
        parts.append(
            f'<text x="{width - right}" y="{height - 10}" text-anchor="end">'
            f"{_esc(points[-1]['started_at'][:16])}</text>"
        )
    for row, name in enumerate(names):
        colour = series[name]
        coords = " ".join(f"{x(i):.1f},{y(value(p, name)):.1f}" for i, p in enumerate(points))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>'
        )
        parts.extend(
            f'<circle cx="{x(i):.1f}" cy="{y(value(p, name)):.1f}" r="3" fill="{colour}">'
            f"<title>{_esc(p['run_id'])}: {value(p, name)} {_esc(name)}</title></circle>"
            for i, p in enumerate(points)
        )
        legend_y = height + 18 * row + 6
        parts.append(
            f'<rect x="{left}" y="{legend_y}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + 18}" y="{legend_y + 10}">{_esc(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _stage_bar(kept: int, total: int) -> _Raw:
    """Kept versus dropped share of one stage as a small stacked SVG bar."""
    width = 160
    kept_width = round(width * kept / total) if total else width
    return _Raw(
        f'<svg class="stagebar" width="{width}" height="12" role="img" '
        f'aria-label="{kept} of {total} kept"><rect width="{width}" height="12" rx="2" '
        f'class="dropped"/><rect width="{kept_width}" height="12" rx="2" class="kept"/></svg>'
    )


def _href(target: Path, base: Path | None) -> str:
    """A link that works from disk: relative to the page's directory when that is known."""
    if base is None:
        return target.resolve().as_uri()
    return quote(Path(os.path.relpath(target.resolve(), base.resolve())).as_posix())


def data_docs_links(summary: RunSummary) -> list[tuple[str, Path]]:
    """The Data Docs index and each suite's newest validation page, as far as they exist."""
    found = summary.outputs.get("data_docs") or summary.validation.get("data_docs_index")
    if not found or not Path(str(found)).is_file():
        return []
    index = Path(str(found))
    links = [("Data Docs", index)]
    validations = index.parent / "validations"
    suites = sorted(p for p in validations.iterdir() if p.is_dir()) if validations.is_dir() else []
    for suite in suites:
        # validations/<suite>/<run name>/<run time>/<batch>.html; run times sort by time.
        pages = sorted(suite.glob("*/*/*.html"), key=lambda p: (p.parent.name, p.name))
        if pages:
            links.append((f"{suite.name} validation", pages[-1]))
    return links


def _duration(summary: RunSummary) -> str:
    try:
        seconds = (
            datetime.fromisoformat(summary.finished_at) - datetime.fromisoformat(summary.started_at)
        ).total_seconds()
    except ValueError:
        return ""
    return f" ({seconds:.0f} s)"


def _link(target: Path, base: Path | None, text: str) -> _Raw:
    """A link to ``target`` when it exists (plain code otherwise): tables, files, docs."""
    if not target.exists():
        return _Raw(f"<code>{_esc(text)}</code>")
    return _Raw(f'<a href="{_esc(_href(target, base))}"><code>{_esc(text)}</code></a>')


def _output_links(summary: RunSummary, base: Path | None) -> list[tuple[str, str]]:
    """The published tables' folders, as far as they exist: name and href."""
    links = []
    for table in TABLES:
        folder = summary.outputs.get(table)
        if isinstance(folder, str) and Path(folder).is_dir():
            links.append((f"{table} table", _href(Path(folder), base)))
    return links


INPUT_NAMES = {
    "files": "input files",
    "total": "documents",
    "published": "published",
    "skipped": "skipped",
    "quarantined": "quarantined",
    "not_published_validation_failed": "held back (validation)",
}

_STYLE = """
:root{--ink:#1d2733;--muted:#5b6675;--line:#d5dbe3;--head:#eef2f6;--ok:#17702e;--fail:#b3261e;
--kept:#3f8f5a;--dropped:#d9a3a0}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--ink);
background:#f7f9fb}
main{max-width:72rem;margin:0 auto;padding:1.5rem 2rem 3rem}
h1{font-size:1.55rem;margin:.2rem 0 .4rem}h1 code{font-size:1.2rem}
h2{font-size:1.15rem;margin:2.2rem 0 .6rem;padding-bottom:.25rem;
border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:1rem 0 .4rem}
code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef1f4;
padding:0 .25rem;border-radius:3px;word-break:break-all}
.meta{color:var(--muted);margin:.2rem 0}
.badge{display:inline-block;padding:.15rem .6rem;border-radius:1rem;font-weight:600;color:#fff}
.badge.ok{background:var(--ok);color:#fff}.badge.fail{background:var(--fail);color:#fff}
.ok{color:var(--ok)}.fail{color:var(--fail)}
nav.links{margin:.8rem 0 0;display:flex;flex-wrap:wrap;gap:.5rem}
nav.links a{display:inline-block;padding:.3rem .75rem;border:1px solid var(--line);
border-radius:4px;background:#fff;color:#1f4f82;text-decoration:none}
nav.links a:hover{border-color:#1f4f82}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));gap:.75rem}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.6rem .8rem}
.card .n{font-size:1.6rem;font-weight:650;display:block}.card .k{color:var(--muted)}
.card.warn .n{color:var(--fail)}
table{border-collapse:collapse;margin:.4rem 0;background:#fff;width:100%}
td,th{border:1px solid var(--line);padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(30rem,1fr));gap:1.5rem}
.chart{display:block;max-width:100%;height:auto;font-size:12px;fill:var(--ink)}
.chart .value{fill:var(--muted)}
.stagebar .kept{fill:var(--kept)}.stagebar .dropped{fill:var(--dropped)}
.empty{color:var(--muted);font-style:italic}
.notice{background:#fff7e0;border:1px solid #e0c36c;border-radius:6px;padding:.5rem .8rem}
.trend .axis{stroke:var(--line)}
blockquote{margin:.2rem 0;padding:.15rem .6rem;border-left:3px solid var(--line);
white-space:pre-wrap;word-break:break-word}
blockquote cite{display:block;color:var(--muted);font-size:12px;font-style:normal}
details{margin-top:1rem}summary{cursor:pointer;color:var(--muted)}
"""


def _examples_cell(examples: Sequence[Mapping[str, str]]) -> _Raw:
    return _Raw(
        "".join(
            # Clipped when captured (removal_examples); again here for reports made elsewhere.
            f"<blockquote>{_esc(_clip(e['text'], EXAMPLE_CHARS + 40))}"
            f"<cite>{_esc(e['source'])}</cite></blockquote>"
            for e in examples
        )
    )


def _cluster_articles_cell(cluster: Mapping[str, Any]) -> _Raw:
    rows = []
    for article in cluster.get("articles") or []:
        title = article.get("title") or "(no title)"
        role = " (kept)" if article.get("kept") else ""
        rows.append(
            f"<li>{_esc(_clip(title, 120))}{role}<br><code>{_esc(article.get('source') or '')}"
            "</code></li>"
        )
    return _Raw(f"<ul>{''.join(rows)}</ul>" if rows else "")


def render_html(
    summary: RunSummary,
    base: Path | None = None,
    history: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """The run report as one page with inline CSS and SVG: opens offline, fetches nothing.

    ``base`` is the directory the page will be written to; links to Data Docs and the
    tables are made relative to it so they keep working when the output directory is moved
    or copied. ``history`` (from :func:`run_history`) draws the trend over earlier runs.
    """
    validation = summary.validation
    passed = bool(validation.get("success"))
    badge = (
        '<span class="badge ok">published</span>'
        if summary.published
        else '<span class="badge fail">not published</span>'
    )
    links = [(name, _href(path, base)) for name, path in data_docs_links(summary)]
    links.append(("JSON", quote(f"run-{summary.run_id}.json")))
    links.extend(_output_links(summary, base))
    points = list(history) if history is not None else [trend_point(summary.as_dict())]
    nav = "".join(f'<a href="{_esc(href)}">{_esc(name)}</a>' for name, href in links)

    inputs = summary.inputs
    warn = {"quarantined", "not_published_validation_failed"}
    cards = "".join(
        f'<div class="card{" warn" if key in warn and value else ""}"><span class="n">'
        f'{_esc(value)}</span><span class="k">{_esc(INPUT_NAMES.get(key, key))}</span></div>'
        for key, value in inputs.items()
    )
    stage_rows = [
        [
            s["name"],
            s.get("unit", ""),
            s["total"],
            s["kept"],
            ", ".join(f"{reason}: {n}" for reason, n in dict(s["dropped"]).items()) or "–",
            _stage_bar(int(s["kept"]), int(s["total"])),
            f"{float(s['seconds']):.2f}",
        ]
        for s in summary.stages
    ]
    removed_total = sum(summary.removed_by_label.values())
    failures = validation.get("failures") or []
    suite_pages = {name.removesuffix(" validation"): href for name, href in links}
    failure_rows = [
        [
            _Raw(
                f'<a href="{_esc(suite_pages[f["suite"]])}">{_esc(f["suite"])}</a>'
                if f["suite"] in suite_pages
                else _esc(f["suite"])
            ),
            _Raw(f"<code>{_esc(f['expectation'])}</code>"),
            f["column"] or "",
            "" if f["unexpected_count"] is None else f["unexpected_count"],
            _Raw(", ".join(f"<code>{_esc(_clip(v, 200))}</code>" for v in f["sample"] or [])),
        ]
        for f in failures
    ]
    validation_line = (
        f'<p><span class="{"ok" if passed else "fail"}">'
        f"{'All' if passed else 'Not all'} expectations met</span>: "
        f"{_esc(validation.get('evaluated_expectations', 0))} evaluated, "
        f"{len(failures)} failed.</p>"
    )
    outputs = [
        [name, _Raw("<br>".join(_link(Path(v), base, v) for v in value))]
        if isinstance(value, list)
        else [name, _link(Path(value), base, value)]
        for name, value in summary.outputs.items()
        if value
    ]
    notes = "".join(f'<p class="notice">{_esc(note)}</p>' for note in summary.notes)
    example_rows = [
        [rule, count, _examples_cell(summary.removed_examples.get(rule, []))]
        for rule, count in summary.removed_by_rule.items()
    ]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>newsclean run {_esc(summary.run_id)}</title><style>{_STYLE}</style></head>",
        "<body><main>",
        f"<header><h1>newsclean run <code>{_esc(summary.run_id)}</code> {badge}</h1>",
        f'<p class="meta">{_esc(summary.started_at)} → {_esc(summary.finished_at)}'
        f"{_esc(_duration(summary))} · validation "
        f'<span class="{"ok" if passed else "fail"}">{"passed" if passed else "FAILED"}</span>'
        + (f" · dedup index: {_esc(summary.dedup_index)}" if summary.dedup_index else "")
        + "</p>",
        f'<nav class="links">{nav}</nav>{notes}</header>',
        '<section id="inputs"><h2>Inputs</h2>',
        f'<div class="cards">{cards}</div></section>',
        f'<section id="trend"><h2>Across runs ({len(points)})</h2><div class="charts">',
        "<div><h3>Inputs per run</h3>",
        trend_chart(points, TREND_INPUTS, title="Published, skipped and quarantined per run"),
        "</div><div><h3>Removed paragraphs per run, by label</h3>",
        trend_chart(
            points, LABEL_COLOURS, key="removed", title="Removed paragraphs per run by label"
        ),
        "</div></div></section>",
        '<section id="stages"><h2>Stages</h2>',
        _table(
            ["stage", "unit", "total", "kept", "dropped", "kept share", "seconds"],
            stage_rows,
            numeric=(2, 3, 6),
        ),
        "</section>",
        f'<section id="removed"><h2>Removed paragraphs ({removed_total})</h2><div class="charts">',
        "<div><h3>By label</h3>",
        bar_chart(
            list(summary.removed_by_label.items()),
            title="Removed paragraphs by label",
            colours=LABEL_COLOURS,
        ),
        "</div><div><h3>By rule</h3>",
        bar_chart(list(summary.removed_by_rule.items()), title="Removed paragraphs by rule"),
        "</div></div>",
        "<h3>Examples by rule</h3>",
        _table(["rule", "removed", "examples"], example_rows, numeric=(1,), empty="None."),
        "</section>",
        f'<section id="duplicates"><h2>Duplicate clusters ({len(summary.duplicate_clusters)})</h2>',
        _table(
            ["size", "text", "articles (title, source)", "paragraphs"],
            [
                [
                    c["size"],
                    _clip(c["text"], 300),
                    _cluster_articles_cell(c),
                    _Raw(
                        f"kept <code>{_esc(c['kept'])}</code><br>copies "
                        + " ".join(f"<code>{_esc(x)}</code>" for x in c["copies"])
                    ),
                ]
                for c in summary.duplicate_clusters
            ],
            empty="No duplicates.",
        ),
        "</section>",
        f'<section id="quarantine"><h2>Quarantined inputs ({len(summary.quarantine)})</h2>',
        _table(
            ["source", "stage", "reason", "sha256"],
            [
                [q["source"], q["stage"], q["reason"], (q.get("input_sha256") or "")[:16]]
                for q in summary.quarantine
            ],
            empty="Nothing quarantined.",
        ),
        "</section>",
        f'<section id="skipped"><h2>Skipped inputs ({len(summary.skipped)})</h2>',
        _table(
            ["source", "URL", "reason"],
            [[s["source"], s.get("url") or "", s["reason"]] for s in summary.skipped],
            empty="Nothing skipped.",
        ),
        "</section>",
        '<section id="validation"><h2>Validation</h2>',
        validation_line,
        _table(
            ["suite", "expectation", "column", "unexpected", "sample"],
            failure_rows,
            numeric=(3,),
            empty="No failed expectations.",
        ),
        "</section>",
        '<section id="outputs"><h2>Outputs</h2>',
        _table(["", "path"], outputs),
        f"<details><summary>Configuration</summary><pre><code>{_esc(summary.config)}</code>"
        "</pre></details></section>",
        "</main></body></html>",
    ]
    return "\n".join(parts)


def write_report(summary: RunSummary, reports_dir: Path) -> tuple[Path, Path]:
    """Write ``run-<id>.json``/``.html`` and refresh ``latest.*``; return the two run files."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    json_path = reports_dir / f"run-{summary.run_id}.json"
    html_path = reports_dir / f"run-{summary.run_id}.html"
    as_json = json.dumps(summary.as_dict(), indent=2, default=str).encode("utf-8")
    history = run_history(reports_dir, summary)
    as_html = render_html(summary, base=reports_dir, history=history).encode("utf-8")
    # Readers open these by name while a later run may be writing them: never half a file.
    for path, data in (
        (json_path, as_json),
        (html_path, as_html),
        (reports_dir / "latest.json", as_json),
        (reports_dir / "latest.html", as_html),
    ):
        write_atomically(path, data)
    return json_path, html_path


def completed_note(run_id: str) -> str:
    """What the report of a run that completed an interrupted one says about it."""
    return (
        f"This run first completed the interrupted run {run_id}, which had passed validation "
        f"but stopped while publishing: its tables are now published. Its report is "
        f"run-{run_id}.html."
    )


def recovered_summary(output: Path, run_id: str, completed_by: str) -> RunSummary:
    """The report of a run that died after it committed, from what it published.

    Its Parquet parts are all that is left of it: the counts, removals and quarantine rows
    come from them; its stages, skipped inputs and validation details were only in the
    memory of the process that died, and the report says so.
    """
    import duckdb

    from tasks.output.publish import run_parts

    parts = {table: run_parts(output, table, run_id) for table in TABLES}

    def query(table: str, sql: str) -> list[tuple[Any, ...]]:
        if not parts[table]:
            return []
        with duckdb.connect() as con:
            sql = sql.replace("FROM t", "FROM read_parquet($paths, union_by_name = true)")
            return con.execute(sql, {"paths": [str(p) for p in parts[table]]}).fetchall()

    kept_labels = ", ".join(f"'{label}'" for label in sorted(KEPT_LABELS))
    removed = f"label NOT IN ({kept_labels})"
    articles = query("articles", "SELECT count(*), min(processed_at) FROM t") or [(0, None)]
    count, processed_at = articles[0]
    by_label = query(
        "paragraphs",
        f"SELECT label, count(*) n FROM t WHERE {removed} GROUP BY 1 ORDER BY n DESC, 1",
    )
    by_rule = query(
        "paragraphs",
        f"SELECT reason, count(*) n FROM t WHERE {removed} GROUP BY 1 ORDER BY n DESC, 1",
    )
    quarantine = query(
        "quarantine", "SELECT source, stage, reason, input_sha256 FROM t ORDER BY source"
    )
    started = processed_at.astimezone(UTC).isoformat() if processed_at else ""
    return RunSummary(
        run_id=run_id,
        started_at=started,
        finished_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        inputs={"published": int(count), "quarantined": len(quarantine)},
        stages=[],
        removed_by_label={label: int(n) for label, n in by_label},
        removed_by_rule={rule: int(n) for rule, n in by_rule},
        duplicate_clusters=[],
        quarantine=[
            {"source": s, "stage": st, "reason": r, "input_sha256": h} for s, st, r, h in quarantine
        ],
        skipped=[],
        validation={
            "success": True,
            "evaluated_expectations": 0,
            "failures": [],
            "data_docs_index": None,
        },
        published=True,
        outputs={
            **{table: str(output / table) for table in TABLES},
            "files": [str(path) for table in TABLES for path in parts[table]],
        },
        notes=[
            f"This run was interrupted after it passed validation and committed; run "
            f"{completed_by} completed its publishing. The counts below come from its "
            "published tables; its stages, skipped inputs and validation details were not "
            "recorded."
        ],
    )


def write_recovered_reports(output: Path, run_ids: Sequence[str], completed_by: str) -> list[Path]:
    """Write a report for each completed interrupted run that has none; return the HTML files."""
    reports = output / "reports"
    written = []
    for run_id in run_ids:
        if (reports / f"run-{run_id}.json").exists():
            continue  # it died after writing its own report
        written.append(write_report(recovered_summary(output, run_id, completed_by), reports)[1])
    return written


ARTIFACT_KEY = "newsclean-run-summary"
_ARTIFACT_ROWS = 20


def _md(value: object, limit: int = 120) -> str:
    """One Markdown table cell: pipes and markup escaped, newlines flattened, text clipped."""
    text = _clip(value, limit).replace("\\", "\\\\").replace("|", "\\|")
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return " ".join(text.split())


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[object]], empty: str) -> str:
    if not rows:
        return f"_{empty}_"
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
        *("| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows),
    ]
    return "\n".join(lines)


def _first(rows: Sequence[Sequence[object]], what: str) -> tuple[list[Sequence[object]], str]:
    more = len(rows) - _ARTIFACT_ROWS
    note = f"\n\n_…and {more} more {what}; see the HTML report._" if more > 0 else ""
    return list(rows[:_ARTIFACT_ROWS]), note


def artifact_markdown(summary: RunSummary, report_html: Path | None = None) -> str:
    """The run summary as Markdown for the Prefect UI (long lists cut to their first rows)."""
    validation = summary.validation
    failures = validation.get("failures") or []
    status = "published" if summary.published else "**not published** (validation failed)"
    inputs = summary.inputs
    clusters, clusters_note = _first(
        [
            [c["size"], c["kept"], ", ".join(c["copies"]), c["text"]]
            for c in summary.duplicate_clusters
        ],
        "clusters",
    )
    quarantine, quarantine_note = _first(
        [[q["source"], q["stage"], q["reason"]] for q in summary.quarantine], "inputs"
    )
    skipped, skipped_note = _first([[s["source"], s["reason"]] for s in summary.skipped], "inputs")
    links = [f"- Data Docs: `{path}`" for name, path in data_docs_links(summary)[:1]]
    if report_html is not None:
        links.insert(0, f"- HTML report: `{report_html}`")
    sections = [
        f"# newsclean run `{summary.run_id}`: {status}",
        f"{summary.started_at} → {summary.finished_at}. Validation "
        f"{'passed' if validation.get('success') else '**FAILED**'}: "
        f"{validation.get('evaluated_expectations', 0)} expectations, {len(failures)} failed.",
        "## Inputs",
        _md_table(
            [INPUT_NAMES.get(key, key) for key in inputs], [list(inputs.values())], "no inputs"
        ),
        "## Stages",
        _md_table(
            ["stage", "unit", "total", "kept", "dropped"],
            [
                [
                    s["name"],
                    s.get("unit", ""),
                    s["total"],
                    s["kept"],
                    ", ".join(f"{k}: {n}" for k, n in dict(s["dropped"]).items()) or "–",
                ]
                for s in summary.stages
            ],
            "no stages",
        ),
        "## Removed paragraphs by label",
        _md_table(["label", "paragraphs"], list(summary.removed_by_label.items()), "none"),
        "## Removed paragraphs by rule",
        _md_table(["rule", "paragraphs"], list(summary.removed_by_rule.items()), "none"),
        f"## Duplicate clusters ({len(summary.duplicate_clusters)})",
        _md_table(["size", "kept", "copies", "text"], clusters, "no duplicates") + clusters_note,
        f"## Quarantined inputs ({len(summary.quarantine)})",
        _md_table(["source", "stage", "reason"], quarantine, "nothing quarantined")
        + quarantine_note,
        f"## Skipped inputs ({len(summary.skipped)})",
        _md_table(["source", "reason"], skipped, "nothing skipped") + skipped_note,
        "## Failed expectations",
        _md_table(
            ["suite", "expectation", "column", "unexpected", "sample"],
            [
                [
                    f["suite"],
                    f["expectation"],
                    f["column"] or "",
                    "" if f["unexpected_count"] is None else f["unexpected_count"],
                    ", ".join(_clip(v, 40) for v in f["sample"] or []),
                ]
                for f in failures
            ],
            "none",
        ),
    ]
    if links:
        sections += ["## Reports", "\n".join(links)]
    return "\n\n".join(sections) + "\n"


def publish_prefect_artifact(summary: RunSummary, report_html: Path | None = None) -> None:
    """Attach the run summary to the current Prefect flow run as a Markdown artifact.

    The key is stable, so the Prefect UI's Artifacts page shows one entry whose history is
    every run's summary. Call it inside the flow run: outside one Prefect links it to nothing.
    """
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        markdown=artifact_markdown(summary, report_html),
        key=ARTIFACT_KEY,
        description=f"newsclean run {summary.run_id}: "
        + ("published" if summary.published else "validation failed, not published"),
    )
