"""The run report: what came in, what was removed and why, what failed validation.

Written as JSON (for machines) and as one self-contained HTML page (for people) under
``<output>/reports/``; ``latest.json``/``latest.html`` always point at the newest run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import quote

# typing_extensions': pydantic, which builds Prefect's parameter schemas (a flow taking a
# RunSummary), refuses typing.TypedDict before Python 3.12.
import duckdb
import jinja2
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


def _clip(text: object, limit: int) -> str:
    """At most ``limit`` characters: a 250,000-character paragraph must not become the page."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    """The report's templates (``templates/``, shipped with the package), autoescaped."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("tasks.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["clip"] = _clip
    return environment


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
    items: Sequence[tuple[str, int]], *, colours: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Where the bars of a horizontal bar chart go (drawn by ``macros.html.j2``)."""
    row, gap, bar_area, value_area = 20, 6, 360, 56
    label_area = min(240, 16 + 7 * max((len(name) for name, _ in items), default=0))
    biggest = max((value for _, value in items), default=0) or 1
    bars = []
    for i, (name, value) in enumerate(items):
        y = gap + i * (row + gap)
        bars.append(
            {
                "name": name,
                "value": value,
                "y": y,
                "baseline": y + row - 6,
                "length": max(2, round(bar_area * value / biggest)),
                "colour": (colours or {}).get(name, BAR_COLOUR),
            }
        )
    return {
        "bars": bars,
        "row": row,
        "label_area": label_area,
        "width": label_area + bar_area + value_area,
        "height": gap + len(items) * (row + gap),
    }


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
    points: Sequence[Mapping[str, Any]], series: Mapping[str, str], *, key: str = ""
) -> dict[str, Any]:
    """Where the lines of a trend chart go, one per series over the runs (values from
    ``point[key][name]``, or ``point[name]`` without ``key``; drawn by ``macros.html.j2``)."""
    if not points:
        return {"lines": []}
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

    lines = [
        {
            "name": name,
            "colour": series[name],
            "points": " ".join(f"{x(i):.1f},{y(value(p, name)):.1f}" for i, p in enumerate(points)),
            "dots": [
                {
                    "x": f"{x(i):.1f}",
                    "y": f"{y(value(p, name)):.1f}",
                    "run_id": p["run_id"],
                    "value": value(p, name),
                }
                for i, p in enumerate(points)
            ],
            "legend_y": height + 18 * row + 6,
        }
        for row, name in enumerate(names)
    ]
    return {
        "lines": lines,
        "width": width,
        "height": height + 18 * len(names),
        "left": left,
        "right_x": width - right,
        "zero_y": f"{y(0):.1f}",
        "biggest": biggest,
        "top_label_y": f"{y(biggest) + 4:.1f}",
        "zero_label_y": f"{y(0) + 4:.1f}",
        "date_y": height - 10,
        "first": points[0]["started_at"][:16],
        "last": points[-1]["started_at"][:16] if len(points) > 1 else None,
    }


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


def _link(target: Path, base: Path | None, text: str) -> dict[str, str | None]:
    """A path's text, and a link to it when it exists (tables, files, docs)."""
    return {"text": text, "href": _href(target, base) if target.exists() else None}


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
# Input counts shown as a warning when not zero.
_WARN_INPUTS = frozenset({"quarantined", "not_published_validation_failed"})


def render_html(
    summary: RunSummary,
    base: Path | None = None,
    history: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """The run report as one page with inline CSS and SVG: opens offline, fetches nothing.

    ``base`` is the directory the page will be written to; links to Data Docs and the
    tables are made relative to it so they keep working when the output directory is moved
    or copied. ``history`` (from :func:`run_history`) draws the trend over earlier runs.
    Rendered from ``templates/run_report.html.j2``, autoescaped: no value is markup.
    """
    validation = summary.validation
    links = [(name, _href(path, base)) for name, path in data_docs_links(summary)]
    links.append(("JSON", quote(f"run-{summary.run_id}.json")))
    links.extend(_output_links(summary, base))
    points = list(history) if history is not None else [trend_point(summary.as_dict())]
    stages = [
        {
            "name": s["name"],
            "unit": s.get("unit", ""),
            "total": s["total"],
            "kept": s["kept"],
            "dropped": ", ".join(f"{reason}: {n}" for reason, n in dict(s["dropped"]).items())
            or "–",
            "kept_width": round(160 * int(s["kept"]) / int(s["total"])) if s["total"] else 160,
            "seconds": f"{float(s['seconds']):.2f}",
        }
        for s in summary.stages
    ]
    examples = [
        {
            "rule": rule,
            "count": count,
            # Clipped when captured (removal_examples); again here for reports made elsewhere.
            "examples": [
                {"text": _clip(e["text"], EXAMPLE_CHARS + 40), "source": e["source"]}
                for e in summary.removed_examples.get(rule, [])
            ],
        }
        for rule, count in summary.removed_by_rule.items()
    ]
    clusters = [
        {
            **c,
            "text": _clip(c["text"], 300),
            "articles": [
                {**a, "title": _clip(a.get("title") or "(no title)", 120)}
                for a in c.get("articles") or []
            ],
        }
        for c in summary.duplicate_clusters
    ]
    outputs = [
        {
            "name": name,
            "links": [_link(Path(v), base, v) for v in value]
            if isinstance(value, list)
            else [_link(Path(value), base, value)],
        }
        for name, value in summary.outputs.items()
        if value
    ]
    return (
        _templates()
        .get_template("run_report.html.j2")
        .render(
            summary=summary,
            passed=bool(validation.get("success")),
            duration=_duration(summary),
            links=links,
            cards=[
                {
                    "value": value,
                    "name": INPUT_NAMES.get(key, key),
                    "warn": key in _WARN_INPUTS and value,
                }
                for key, value in summary.inputs.items()
            ],
            runs=len(points),
            inputs_trend=trend_chart(points, TREND_INPUTS),
            removed_trend=trend_chart(points, LABEL_COLOURS, key="removed"),
            stages=stages,
            removed_total=sum(summary.removed_by_label.values()),
            by_label=bar_chart(list(summary.removed_by_label.items()), colours=LABEL_COLOURS),
            by_rule=bar_chart(list(summary.removed_by_rule.items())),
            examples=examples,
            clusters=clusters,
            evaluated=validation.get("evaluated_expectations", 0),
            failures=validation.get("failures") or [],
            suite_pages={name.removesuffix(" validation"): href for name, href in links},
            outputs=outputs,
        )
    )


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
