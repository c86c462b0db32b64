"""``newsclean show OUTPUT SOURCE_OR_ARTICLE_ID``: why a line is (not) in an article's text.

One article's record and every paragraph of its input in order, with the label and reason
that decided it and, for a duplicate, the kept copy's article and opening words. Read from
the published Parquet with DuckDB (``union_by_name``: parts written before a column was added
read it as null), so it prints whatever columns the output has. An input that was quarantined
instead is shown with its reason.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from tasks.models import article_of

# Candidates named in the one-line "ambiguous" refusal before "and N more".
MAX_CANDIDATES = 8
# A paragraph longer than this many wrapped lines is cut with a marker (``--json`` has it all).
MAX_PARAGRAPH_LINES = 12
# Opening words of a duplicate's kept copy.
KEPT_COPY_CHARS = 80
# Below this many columns for the text, it goes on lines of its own under the label.
MIN_TEXT_COLUMNS = 30


class ShowError(LookupError):
    """The key names no article, or more than one: the message is one line."""


@dataclass(frozen=True, slots=True)
class Shown:
    """What ``show`` found: an article and its paragraphs, or the quarantine rows of an input."""

    article: dict[str, Any] | None
    paragraphs: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        if self.article is None:
            return {"quarantine": self.quarantine}
        return {"article": self.article, "paragraphs": self.paragraphs}


def _parts(output: Path, table: str) -> list[str]:
    return [str(path) for path in sorted((output / table).glob("*.parquet"))]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, list(params))
    names = [column[0] for column in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _view(con: duckdb.DuckDBPyConnection, output: Path, table: str) -> bool:
    """A view ``table`` over the output's published parts; ``False`` when it has none."""
    parts = _parts(output, table)
    if not parts:
        return False
    con.execute(
        f"CREATE VIEW {table} AS SELECT * FROM read_parquet({parts!r}, union_by_name = true)"
    )
    return True


def _candidates(con: duckdb.DuckDBPyConnection, key: str) -> list[tuple[str, str]]:
    """Articles ``key`` names: exactly (id or source), else by id prefix or source suffix."""
    for condition in (
        "article_id = $1 OR source = $1",
        "starts_with(article_id, $1) OR ends_with(source, $1)",
    ):
        found = con.execute(
            f"SELECT DISTINCT article_id, source FROM articles WHERE {condition} "
            "ORDER BY source, article_id",
            [key],
        ).fetchall()
        if found:
            return [(str(a), str(s)) for a, s in found]
    return []


def _ambiguous(key: str, found: Sequence[tuple[str, str]]) -> str:
    named = ", ".join(f"{a} ({s})" for a, s in found[:MAX_CANDIDATES])
    more = f" and {len(found) - MAX_CANDIDATES} more" if len(found) > MAX_CANDIDATES else ""
    return f"{key!r} matches {len(found)} articles: {named}{more}; give an article_id"


def find(output: Path, key: str) -> Shown:
    """The article ``key`` names in ``output`` (source, its unique suffix, article_id or its
    unique prefix), or the quarantine rows of an input of that source."""
    if not (output / "articles").is_dir():
        raise ShowError(f"{output} is no newsclean output (it has no articles/ folder)")
    with duckdb.connect() as con:
        has_articles = _view(con, output, "articles")
        found = _candidates(con, key) if has_articles else []
        if len(found) > 1:
            raise ShowError(_ambiguous(key, found))
        if not found:
            quarantined = _quarantined(con, output, key)
            if quarantined:
                return Shown(None, [], quarantined)
            raise ShowError(
                f"no published article or quarantined input in {output} is {key!r} "
                "(a source path, its ending, or an article_id; skipped inputs are listed in "
                "the run reports)"
            )
        article_id = found[0][0]
        article = _rows(
            con,
            "SELECT * EXCLUDE (text), text FROM articles WHERE article_id = $1 "
            "ORDER BY processed_at DESC LIMIT 1",
            [article_id],
        )[0]
        paragraphs = _paragraphs(con, output, article_id)
    return Shown(article, paragraphs, [])


def _quarantined(con: duckdb.DuckDBPyConnection, output: Path, key: str) -> list[dict[str, Any]]:
    if not _view(con, output, "quarantine"):
        return []
    for condition in ("source = $1", "ends_with(source, $1)"):
        rows = _rows(con, f"SELECT * FROM quarantine WHERE {condition} ORDER BY source", [key])
        if rows:
            return rows
    return []


def _paragraphs(
    con: duckdb.DuckDBPyConnection, output: Path, article_id: str
) -> list[dict[str, Any]]:
    """The article's paragraphs in order; a duplicate's with its kept copy (any run's)."""
    if not _view(con, output, "paragraphs"):
        return []
    paragraphs = _rows(
        con,
        "SELECT * FROM paragraphs WHERE article_id = $1 ORDER BY position",
        [article_id],
    )
    kept_ids = sorted({p["duplicate_of"] for p in paragraphs if p.get("duplicate_of")})
    kept = {
        row["paragraph_id"]: row
        for row in _rows(
            con,
            "SELECT p.paragraph_id, p.article_id, p.position, p.text, a.title, a.source "
            "FROM paragraphs p LEFT JOIN (SELECT DISTINCT article_id, title, source "
            "FROM articles) a USING (article_id) WHERE list_contains($1, p.paragraph_id)",
            [kept_ids],
        )
    }
    for paragraph in paragraphs:
        copy_of = paragraph.get("duplicate_of")
        if copy_of:
            paragraph["kept_copy"] = kept.get(copy_of) or {
                "paragraph_id": copy_of,
                "article_id": article_of(copy_of),
            }
    return paragraphs


# --- terminal output ----------------------------------------------------------------------


def _value(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "–"
    return str(value)


def _wrapped(text: str, width: int, indent: int) -> list[str]:
    """``text`` wrapped to ``width`` columns after ``indent``; long ones cut with a marker."""
    lines = textwrap.wrap(text, max(width - indent, 20)) or [""]
    if len(lines) > MAX_PARAGRAPH_LINES:
        shown = lines[:MAX_PARAGRAPH_LINES]
        rest = len(text) - sum(len(line) + 1 for line in shown)
        lines = [*shown, f"… ({max(rest, 0):,} more characters; --json prints them all)"]
    return lines


def _kept_copy(paragraph: Mapping[str, Any], article_id: str) -> str:
    kept = paragraph["kept_copy"]
    if "text" not in kept:
        return f"copy of {kept['paragraph_id']} (not in this output)"
    opening = " ".join(str(kept["text"]).split())
    if len(opening) > KEPT_COPY_CHARS:
        opening = opening[:KEPT_COPY_CHARS].rsplit(" ", 1)[0] + " …"
    if kept["article_id"] == article_id:
        where = f"paragraph {kept['position']} of this article"
    else:
        title = kept.get("title") or "(no title)"
        where = f"paragraph {kept['position']} of {kept['article_id']} {title!r} ({kept['source']})"
    return f"copy of {where}: “{opening}”"


def render_text(shown: Shown, width: int) -> str:
    """Plain text for a terminal ``width`` columns wide: aligned columns, wrapped text."""
    if shown.article is None:
        lines = []
        for row in shown.quarantine:
            lines.append(f"quarantined: {row.get('source')}")
            lines.extend(f"  {k}: {_value(v)}" for k, v in row.items() if k != "source")
        return "\n".join(lines) + "\n"
    article = shown.article
    fields = [(k, _value(v)) for k, v in article.items() if k != "text"]
    key_width = max(len(k) for k, _ in fields)
    lines = [f"{k.ljust(key_width)}  {v}" for k, v in fields]
    paragraphs = shown.paragraphs
    kept = sum(p["label"] in ("title", "body") for p in paragraphs)
    lines += ["", f"paragraphs: {len(paragraphs)}, {kept} kept, {len(paragraphs) - kept} removed"]
    if not paragraphs:
        return "\n".join(lines) + "\n"
    pos_w = len(str(paragraphs[-1]["position"]))
    label_w = max(len(p["label"]) for p in paragraphs)
    reason_w = max(len(p["reason"]) for p in paragraphs)
    indent = pos_w + label_w + reason_w + 6
    if width - indent < MIN_TEXT_COLUMNS:
        indent = 4  # the text on lines of its own
    for p in paragraphs:
        head = f"{str(p['position']).rjust(pos_w)}  {p['label'].ljust(label_w)}  "
        head += p["reason"].ljust(reason_w) + "  "
        text = _wrapped(str(p["text"]), width, indent)
        if "kept_copy" in p:
            text += _wrapped(f"↳ {_kept_copy(p, str(article['article_id']))}", width, indent)
        if indent == 4:
            lines.append(head.rstrip())
            lines.extend(" " * indent + line for line in text)
        else:
            lines.append(head + text[0])
            lines.extend(" " * indent + line for line in text[1:])
    return "\n".join(lines) + "\n"


def render_json(shown: Shown) -> str:
    return json.dumps(shown.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n"


def terminal_width() -> int:
    return shutil.get_terminal_size((100, 24)).columns
