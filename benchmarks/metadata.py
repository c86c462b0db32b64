"""Score article metadata (title, authors, date, language): newsclean beside trafilatura's own.

Usage::

    python -m benchmarks.metadata [--sets wcxb,readability] [--systems newsclean,trafilatura]
                                  [--limit N] [--json OUT]

Two sets, both under ``../shared/bench`` (``$NEWSCLEAN_BENCH_ROOT`` overrides it):

* ``wcxb``: the WCXB dev articles (hand-checked ``title``, ``author``, ``publish_date``);
* ``readability``: Mozilla Readability's test pages (``title``, ``byline``, ``publishedTime``,
  ``lang`` from ``expected-metadata.json``). These are Readability's own reviewed output, not
  independent labels: a mismatch there is a question, not a verdict.

newsclean is scored on what it would publish (``tasks.clean.document.process_document`` on the page
bytes; a quarantined page publishes nothing, so every field is empty). trafilatura is
``bare_extraction(with_metadata=True)`` with its defaults.

Rules (all in :mod:`benchmarks.metrics`):

* title: exact match after normalisation: NFKC, typographic quotes and dashes mapped to ASCII,
  whitespace collapsed, case folded. Scored on pages whose truth has a title.
* authors: the same set of name words (case-folded ``\\w+`` tokens of all names, without "and"
  and "by"), so order and separators do not matter but a missing or extra name does. Accuracy
  on pages with an author; "invented" is the share of pages WITHOUT an author given one.
* date: the same calendar day as the page states it (no time-zone conversion; a truth known
  only to the month matches any day of it). Accuracy and "invented" as for authors.
* language: the primary subtag (``en`` of ``en-GB``), on pages whose truth declares one.

Also counted: wrong titles that are the truth without separator segments at its start or end
(the truth kept a site name or section, as Readability's titles often do). They stay wrong.

Intervals are 95 % bootstrap intervals that resample web domains, not pages (a site's pages
share a template, so they are not independent draws): 2,000 resamples, fixed seed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from benchmarks import metrics
from benchmarks.wcxb import REPO_ROOT, iter_pages

BENCH_ROOT_ENV = "NEWSCLEAN_BENCH_ROOT"
SETS = ("wcxb", "readability")
SYSTEMS = ("newsclean", "trafilatura")
RESAMPLES = 2000
SEED = 17
_NUMBERED = re.compile(r"-\d+$")


class BenchDataMissing(RuntimeError):
    """A benchmark set is not where it should be."""


@dataclass(frozen=True, slots=True)
class MetaPage:
    """One page and its metadata truth; ``group`` is its web domain (bootstrap cluster)."""

    set_name: str
    page_id: str
    group: str
    html: bytes
    title: str | None
    authors: str | None
    published: str | None
    language: str | None


@dataclass(frozen=True, slots=True)
class MetaPrediction:
    title: str | None = None
    authors: Sequence[str] | str | None = None
    published: str | date | datetime | None = None
    language: str | None = None
    error: str | None = None


@dataclass(slots=True)
class Outcome:
    """One page's result per field: True/False when the truth has a value, else invented?"""

    page_id: str
    group: str
    fields: dict[str, metrics.FieldScore] = field(default_factory=dict)
    prediction: MetaPrediction = field(default_factory=MetaPrediction)
    # A wrong title that is the truth minus separator segments at its start or end ("How to
    # Build a Terrarium" for "How to Build a Terrarium | eHow"): the truth kept a decoration.
    title_decoration_only: bool = False


def bench_root() -> Path:
    """``$NEWSCLEAN_BENCH_ROOT`` or ``../shared/bench`` beside the repository."""
    override = os.environ.get(BENCH_ROOT_ENV)
    return Path(override) if override else REPO_ROOT.parent / "shared" / "bench"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def wcxb_pages(root: Path, limit: int | None = None) -> Iterator[MetaPage]:
    """WCXB dev articles with their hand-checked title, author and date."""
    for page in iter_pages(root / "wcxb-dev-articles", limit):
        yield MetaPage(
            "wcxb",
            page.page_id,
            str(page.metadata.get("domain") or page.page_id),
            page.html,
            _text(page.truth.get("title")),
            _text(page.truth.get("author")),
            _text(page.truth.get("publish_date")),
            None,
        )


def readability_pages(root: Path, limit: int | None = None) -> Iterator[MetaPage]:
    """Readability's test pages; ``nytimes-1`` … ``nytimes-5`` are one domain, ``nytimes``."""
    directory = root / "readability-pages"
    folders = sorted(p.parent for p in directory.glob("*/expected-metadata.json"))
    if not folders:
        raise BenchDataMissing(f"no */expected-metadata.json under {directory}")
    for folder in folders if limit is None else folders[:limit]:
        truth = json.loads((folder / "expected-metadata.json").read_text(encoding="utf-8"))
        yield MetaPage(
            "readability",
            folder.name,
            _NUMBERED.sub("", folder.name),
            gzip.decompress((folder / "source.html.gz").read_bytes()),
            _text(truth.get("title")),
            _text(truth.get("byline")),
            _text(truth.get("publishedTime")),
            _text(truth.get("lang")),
        )


def load_set(name: str, root: Path, limit: int | None) -> list[MetaPage]:
    if name == "wcxb":
        if not (root / "wcxb-dev-articles" / "html").is_dir():
            raise BenchDataMissing(f"{root / 'wcxb-dev-articles'} is missing")
        return list(wcxb_pages(root, limit))
    return list(readability_pages(root, limit))


def newsclean_predict() -> Callable[[MetaPage], MetaPrediction]:
    """What newsclean publishes for a page (nothing, when it quarantines the page)."""
    from tasks.clean.document import process_document
    from tasks.models import Rejected

    def predict(page: MetaPage) -> MetaPrediction:
        try:
            article = process_document(page.html, f"{page.page_id}.html")
        except Rejected as rejection:
            return MetaPrediction(error=f"quarantined: {rejection.reason}")
        return MetaPrediction(
            article.title, article.authors, article.published_at, article.language
        )

    return predict


def trafilatura_predict() -> Callable[[MetaPage], MetaPrediction]:
    """trafilatura 2.x with its defaults, metadata on (its date reader is htmldate)."""
    import trafilatura

    def predict(page: MetaPage) -> MetaPrediction:
        html = page.html.decode("utf-8", errors="replace")
        document = trafilatura.bare_extraction(html, with_metadata=True)
        if document is None:
            document = trafilatura.extract_metadata(html)
        if document is None or isinstance(document, dict):
            return MetaPrediction(error="no document")
        return MetaPrediction(document.title, document.author, document.date, document.language)

    return predict


def _language(value: str | None) -> str | None:
    match = re.match(r"\s*([A-Za-z]{2,3})\b", value or "")
    return match.group(1).lower() if match else None


_SEPARATOR = re.compile(r"\s*(?:\||::)\s*|\s+[-–—·•»/]\s+")


def decoration_only(predicted: str | None, truth: str | None) -> bool:
    """``predicted`` is ``truth`` without some separator segments at its start or its end."""
    if not predicted or not truth or metrics.title_matches(predicted, truth):
        return False
    parts = _SEPARATOR.split(truth)
    wanted = metrics.normalize_for_match(predicted)
    runs = [" - ".join(parts[:i]) for i in range(1, len(parts))]
    runs += [" - ".join(parts[i:]) for i in range(1, len(parts))]
    return any(metrics.normalize_for_match(run) == wanted for run in runs)


def score_page(page: MetaPage, prediction: MetaPrediction) -> Outcome:
    """Every field of one page (see the module docstring for the rules)."""
    p = prediction
    language = _language(p.language)
    return Outcome(
        page.page_id,
        page.group,
        {
            "title": metrics.score_field(
                p.title, page.title, metrics.title_matches(p.title, page.title)
            ),
            "authors": metrics.score_field(
                p.authors, page.authors, metrics.authors_match(p.authors, page.authors)
            ),
            "date": metrics.score_field(
                p.published, page.published, metrics.dates_match(p.published, page.published)
            ),
            "language": metrics.score_field(
                language, page.language, language == _language(page.language)
            ),
        },
        p,
        decoration_only(p.title, page.title),
    )


def _rates(outcomes: Sequence[Outcome], name: str) -> tuple[list[float], list[float]]:
    """Per page: 1/0 correct where the truth has a value; 1/0 invented where it has none."""
    correct = [
        float(bool(o.fields[name].correct)) for o in outcomes if o.fields[name].correct is not None
    ]
    invented = [
        float(o.fields[name].false_value) for o in outcomes if o.fields[name].correct is None
    ]
    return correct, invented


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def bootstrap_interval(
    outcomes: Sequence[Outcome], value: Callable[[Sequence[Outcome]], float | None]
) -> tuple[float, float] | None:
    """95 % interval of ``value`` over resamples of whole domains (percentile method)."""
    groups: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault(outcome.group, []).append(outcome)
    keys = sorted(groups)
    rng = random.Random(SEED)
    samples = []
    for _ in range(RESAMPLES):
        drawn = [o for _ in keys for o in groups[keys[rng.randrange(len(keys))]]]
        if (v := value(drawn)) is not None:
            samples.append(v)
    if not samples:
        return None
    samples.sort()
    return samples[int(0.025 * len(samples))], samples[int(0.975 * len(samples)) - 1]


def _share(name: str, which: int) -> Callable[[Sequence[Outcome]], float | None]:
    """Accuracy (``which`` 0) or invented share (1) of field ``name`` over some outcomes."""

    def value(outcomes: Sequence[Outcome]) -> float | None:
        return _mean(_rates(outcomes, name)[which])

    return value


def summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Accuracy and invented share per field, with their domain-bootstrap intervals."""
    result: dict[str, Any] = {"pages": len(outcomes)}
    result["errors"] = sum(o.prediction.error is not None for o in outcomes)
    result["title_decoration_only"] = sum(o.title_decoration_only for o in outcomes)
    for name in ("title", "authors", "date", "language"):
        correct, invented = _rates(outcomes, name)
        result[name] = {
            "accuracy": _mean(correct),
            "accuracy_ci": bootstrap_interval(outcomes, _share(name, 0)),
            "with_truth": len(correct),
            "invented": _mean(invented),
            "invented_ci": bootstrap_interval(outcomes, _share(name, 1)),
            "invented_count": int(sum(invented)),
            "without_truth": len(invented),
        }
    return result


def _cell(value: float | None, interval: tuple[float, float] | None) -> str:
    if value is None:
        return "n/a"
    ci = f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""
    return f"{value:.3f}{ci}"


def markdown_table(set_name: str, summaries: dict[str, dict[str, Any]]) -> str:
    """One row per system: accuracy [95 % CI] per field, and invented n/N (share [CI])."""
    header = (
        "| system | pages | title | authors | author invented | date | date invented "
        "| language | title wrong by decoration only | s/page |"
    )
    lines = [f"**{set_name}**", "", header, "|" + "---|" * 10]
    for system, s in summaries.items():
        cells = [system, str(s["pages"])]
        for name in ("title", "authors", "date", "language"):
            f = s[name]
            if f["with_truth"] == 0:
                cells.append("n/a")
            else:
                cells.append(f"{_cell(f['accuracy'], f['accuracy_ci'])} (n={f['with_truth']})")
            if name in ("authors", "date"):
                share = _cell(f["invented"], f["invented_ci"])
                cells.append(f"{f['invented_count']}/{f['without_truth']} = {share}")
        cells.append(str(s["title_decoration_only"]))
        cells.append(f"{s['seconds_per_page']:.4f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--limit", type=int, help="only the first N pages of each set")
    parser.add_argument("--json", type=Path, help="also write summaries and per-page values here")
    args = parser.parse_args(argv)
    root = bench_root()
    if not root.is_dir():
        print(
            f"benchmark data not found: {root} does not exist. Set {BENCH_ROOT_ENV} to a folder "
            "holding wcxb-dev-articles/ and readability-pages/.",
            file=sys.stderr,
        )
        return 2
    makers = {"newsclean": newsclean_predict, "trafilatura": trafilatura_predict}
    systems = {name: makers[name]() for name in args.systems.split(",")}
    report: dict[str, Any] = {}
    for set_name in args.sets.split(","):
        try:
            pages = load_set(set_name, root, args.limit)
        except BenchDataMissing as exc:
            print(f"benchmark set {set_name!r} not found: {exc}", file=sys.stderr)
            return 2
        summaries: dict[str, dict[str, Any]] = {}
        report[set_name] = {}
        for system, predict in systems.items():
            outcomes, seconds = [], 0.0
            for page in pages:
                started = time.perf_counter()
                try:
                    prediction = predict(page)
                except Exception as exc:  # a crash is an empty prediction, counted as an error
                    prediction = MetaPrediction(error=f"{type(exc).__name__}: {exc}")
                seconds += time.perf_counter() - started
                outcomes.append(score_page(page, prediction))
            summaries[system] = summary(outcomes) | {"seconds_per_page": seconds / len(pages)}
            report[set_name][system] = {
                "summary": summaries[system],
                "pages": [
                    {
                        "page_id": o.page_id,
                        "truth": {
                            "title": p.title,
                            "authors": p.authors,
                            "date": p.published,
                            "language": p.language,
                        },
                        "predicted": {
                            k: _jsonable(getattr(o.prediction, k))
                            for k in ("title", "authors", "published", "language", "error")
                        },
                        "correct": {k: v.correct for k, v in o.fields.items()},
                        "invented": {k: v.false_value for k, v in o.fields.items()},
                    }
                    for o, p in zip(outcomes, pages, strict=True)
                ],
            }
        print(markdown_table(set_name, summaries) + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
