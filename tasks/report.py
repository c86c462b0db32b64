"""The run report: what came in, what was removed and why, what failed validation.

Written as JSON (for machines) and as one self-contained HTML page (for people) under
``<output>/reports/``; ``latest.json``/``latest.html`` always point at the newest run.
"""

from __future__ import annotations

import html
import json
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tasks.models import Article, QuarantineRecord
from tasks.stats import StepStats


@dataclass(slots=True)
class RunSummary:
    run_id: str
    started_at: str
    finished_at: str
    inputs: dict[str, int]
    stages: list[dict[str, object]]
    removed_by_label: dict[str, int]
    removed_by_rule: dict[str, int]
    duplicate_clusters: list[dict[str, object]]
    quarantine: list[dict[str, str | None]]
    skipped: list[dict[str, str]]
    validation: dict[str, object]
    published: bool
    outputs: dict[str, str | list[str] | None] = field(default_factory=dict)
    config: str = ""
    dedup_index: str = ""

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def removal_counts(articles: Sequence[Article]) -> tuple[dict[str, int], dict[str, int]]:
    """Removed paragraphs counted by label and by rule, largest first."""
    by_label: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    for article in articles:
        for paragraph in article.paragraphs:
            if not paragraph.kept:
                by_label[paragraph.label] += 1
                by_rule[paragraph.reason] += 1
    return dict(by_label.most_common()), dict(by_rule.most_common())


def duplicate_clusters(articles: Sequence[Article], limit: int = 50) -> list[dict[str, object]]:
    """The largest duplicate clusters: kept paragraph, size and where the copies are."""
    members: dict[str, list[str]] = {}
    texts: dict[str, str] = {}
    for article in articles:
        for paragraph in article.paragraphs:
            if paragraph.duplicate_of is not None:
                members.setdefault(paragraph.duplicate_of, []).append(
                    article.paragraph_id(paragraph.position)
                )
                texts.setdefault(paragraph.duplicate_of, paragraph.text)
    clusters = [
        {"kept": kept, "copies": sorted(copies), "size": len(copies) + 1, "text": texts[kept]}
        for kept, copies in members.items()
    ]
    clusters.sort(key=lambda c: (-int(c["size"]), str(c["kept"])))
    return clusters[:limit]


def quarantine_rows(records: Sequence[QuarantineRecord]) -> list[dict[str, str | None]]:
    return [
        {"source": r.source, "stage": r.stage, "reason": r.reason, "input_sha256": r.input_sha256}
        for r in records
    ]


def stage_rows(stats: Sequence[StepStats]) -> list[dict[str, object]]:
    return [s.as_dict() for s in stats]


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1d2733}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d5dbe3}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #d5dbe3;padding:.25rem .6rem;
text-align:left;vertical-align:top}th{background:#eef2f6}.ok{color:#17702e}.fail{color:#b3261e}
.bar{display:inline-block;height:.8rem;background:#3b6ea8;vertical-align:middle}
"""


def render_html(summary: RunSummary) -> str:
    """A single page with inline styles only: it opens offline and fetches nothing."""
    validation = summary.validation
    status = (
        '<span class="ok">passed</span>'
        if validation.get("success")
        else '<span class="fail">FAILED</span>'
    )
    biggest = max(summary.removed_by_rule.values(), default=1)
    rule_rows = "".join(
        f"<tr><td>{html.escape(rule)}</td><td>{count}</td><td>"
        f'<span class="bar" style="width:{max(2, 300 * count // biggest)}px"></span></td></tr>'
        for rule, count in summary.removed_by_rule.items()
    )
    failures = validation.get("failures") or []
    docs = summary.outputs.get("data_docs")
    docs_link = f'<p><a href="{html.escape(str(docs))}">Data Docs</a></p>' if docs else ""
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>newsclean run "
        f"{html.escape(summary.run_id)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>newsclean run {html.escape(summary.run_id)}</h1>",
        f"<p>{html.escape(summary.started_at)} → {html.escape(summary.finished_at)}. "
        f"Validation {status}; published: {'yes' if summary.published else 'no'}.</p>",
        docs_link,
        "<h2>Inputs</h2>",
        _table(["", "count"], list(summary.inputs.items())),
        "<h2>Stages</h2>",
        _table(
            ["stage", "total", "kept", "dropped", "seconds"],
            [
                [s["name"], s["total"], s["kept"], json.dumps(s["dropped"]), s["seconds"]]
                for s in summary.stages
            ],
        ),
        "<h2>Removed paragraphs by label</h2>",
        _table(["label", "paragraphs"], list(summary.removed_by_label.items())),
        "<h2>Removed paragraphs by rule</h2>",
        f"<table><thead><tr><th>rule</th><th>paragraphs</th><th></th></tr></thead>"
        f"<tbody>{rule_rows}</tbody></table>",
        "<h2>Duplicate clusters</h2>",
        _table(
            ["kept paragraph", "size", "copies", "text"],
            [
                [c["kept"], c["size"], ", ".join(c["copies"]), c["text"]]
                for c in summary.duplicate_clusters
            ],
        ),
        "<h2>Quarantined inputs</h2>",
        _table(
            ["source", "stage", "reason"],
            [[q["source"], q["stage"], q["reason"]] for q in summary.quarantine],
        ),
        "<h2>Skipped inputs</h2>",
        _table(["source", "reason"], [[s["source"], s["reason"]] for s in summary.skipped]),
        "<h2>Failed expectations</h2>",
        _table(
            ["suite", "expectation", "column", "unexpected", "sample"],
            [
                [f["suite"], f["expectation"], f["column"], f["unexpected_count"], f["sample"]]
                for f in failures
            ],
        ),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(summary: RunSummary, reports_dir: Path) -> tuple[Path, Path]:
    """Write ``run-<id>.json``/``.html`` and refresh ``latest.*``; return the two run files."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    json_path = reports_dir / f"run-{summary.run_id}.json"
    html_path = reports_dir / f"run-{summary.run_id}.html"
    json_path.write_text(json.dumps(summary.as_dict(), indent=2, default=str), encoding="utf-8")
    html_path.write_text(render_html(summary), encoding="utf-8")
    shutil.copyfile(json_path, reports_dir / "latest.json")
    shutil.copyfile(html_path, reports_dir / "latest.html")
    return json_path, html_path
