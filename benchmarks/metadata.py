"""Score article metadata (title, authors, date, language): newsclean beside trafilatura's own.

Usage::

    python -m benchmarks.metadata [--sets wcxb,readability,htmldate]
                                  [--systems newsclean,trafilatura,htmldate]
                                  [--limit N] [--json OUT]

Three sets, all under ``../shared/bench`` (``$NEWSCLEAN_BENCH_ROOT`` overrides it):

* ``wcxb``: the WCXB dev articles (hand-checked ``title``, ``author``, ``publish_date``);
* ``readability``: Mozilla Readability's test pages (``title``, ``byline``, ``publishedTime``,
  ``lang`` from ``expected-metadata.json``). These are Readability's own reviewed output, not
  independent labels: a mismatch there is a question, not a verdict.
* ``htmldate``: half of htmldate's evaluation pages (``htmldate-dev``), one hand-checked
  publication day each, the day in the page's own offset; no URL is given to the systems.

newsclean is scored on what it would publish (``tasks.clean.document.process_document`` on the page
bytes; a quarantined page publishes nothing, so every field is empty); its date is
``published_date``, the day the page states. trafilatura is ``bare_extraction(with_metadata=True)``
with its defaults; ``htmldate`` is ``find_date(html, original_date=True)`` alone (dates only).

Rules (all in :mod:`benchmarks.metrics`):

* title: exact match after normalisation: NFKC, typographic quotes and dashes mapped to ASCII,
  whitespace collapsed, case folded. Scored on pages whose truth has a title.
* authors: the same set of name words (case-folded ``\\w+`` tokens of all names, without "and"
  and "by"), so order and separators do not matter but a missing or extra name does. Accuracy
  on pages with an author; "invented" is the share of pages WITHOUT an author given one.
* date: the same calendar day as the page states it (no time-zone conversion; a truth known
  only to the month matches any day of it). Accuracy and "invented" as for authors; on pages
  with a date, also the shares right, wrong and none. An invented date that the page declares
  in JSON-LD or a meta tag (the same day) is counted apart, "declared", and those pages listed.
* language: the primary subtag (``en`` of ``en-GB``), on pages whose truth declares one.

Also counted: wrong titles that are the truth without separator segments at its start or end
(the truth kept a site name or section, as Readability's titles often do). They stay wrong.

Intervals are 95 % bootstrap intervals that resample web domains, not pages (a site's pages
share a template, so they are not independent draws): 2,000 resamples, fixed seed. Each set is
also scored on two domain-disjoint halves (by a hash of the domain), so that a change can be
shown to help on both.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
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
from urllib.parse import urlsplit

from benchmarks import metrics
from benchmarks.wcxb import REPO_ROOT, iter_pages

BENCH_ROOT_ENV = "NEWSCLEAN_BENCH_ROOT"
SETS = ("wcxb", "readability", "htmldate")
SYSTEMS = ("newsclean", "trafilatura", "htmldate")
FIELDS = ("title", "authors", "date", "language")
# The fields each system predicts; the others are shown as "n/a", not scored as empty.
SYSTEM_FIELDS = {"htmldate": ("date",)}
# The fields each set labels; the others are shown as "n/a" (no truth is not "none").
SET_FIELDS = {"htmldate": ("date",)}
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
    # An invented date (the truth has none) that the page declares in JSON-LD or a meta tag.
    date_declared: bool = False
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


def htmldate_pages(root: Path, limit: int | None = None) -> Iterator[MetaPage]:
    """htmldate-dev: pages with one hand-checked publication day (two have none: NaN)."""
    directory = root / "htmldate-dev"
    if not (directory / "truth.json").is_file():
        raise BenchDataMissing(f"{directory / 'truth.json'} is missing")
    truth = json.loads((directory / "truth.json").read_text(encoding="utf-8"))
    names = sorted(truth)
    for name in names if limit is None else names[:limit]:
        day = truth[name].get("date")
        host = urlsplit(truth[name].get("url") or "").hostname or name
        yield MetaPage(
            "htmldate",
            name.removesuffix(".html.gz"),
            host.removeprefix("www."),
            gzip.decompress((directory / "html" / name).read_bytes()),
            None,
            None,
            day if isinstance(day, str) else None,
            None,
        )


def load_set(name: str, root: Path, limit: int | None) -> list[MetaPage]:
    if name == "wcxb":
        if not (root / "wcxb-dev-articles" / "html").is_dir():
            raise BenchDataMissing(f"{root / 'wcxb-dev-articles'} is missing")
        return list(wcxb_pages(root, limit))
    if name == "htmldate":
        return list(htmldate_pages(root, limit))
    return list(readability_pages(root, limit))


def half(group: str) -> int:
    """0 or 1: the domain-disjoint half of the set that web domain ``group`` falls in.

    The hash is salted: htmldate-dev itself is the half of a set whose domains' plain SHA-256
    starts with an even byte, so that hash would put every page in one half.
    """
    return hashlib.sha256(f"metadata-half:{group}".encode()).digest()[0] % 2


def declared_days(html: bytes) -> set[str]:
    """Days (``YYYY-MM-DD``) the page declares as its publication date in JSON-LD
    (``datePublished``, ``dateCreated``) or a meta tag (``tasks.extract.metadata.DATE_META``),
    read as written (the page's own offset)."""
    import lxml.html

    from tasks.extract.metadata import DATE_META, json_ld_objects

    try:
        tree = lxml.html.fromstring(html)
    except Exception:  # unparsable markup declares nothing
        return set()
    raw: list[object] = [
        o.get(k) for o in json_ld_objects(tree) for k in ("datePublished", "dateCreated")
    ]
    for meta in tree.iter("meta"):
        keys = {(meta.get(a) or "").strip().lower() for a in ("property", "name", "itemprop")}
        if keys & set(DATE_META):
            raw.append(meta.get("content"))
    return {
        d for value in raw if isinstance(value, str) and (d := metrics.date_part(value.strip()))
    }


def newsclean_predict() -> Callable[[MetaPage], MetaPrediction]:
    """What newsclean publishes for a page (nothing, when it quarantines the page)."""
    from tasks.clean.document import process_document
    from tasks.models import Rejected

    def predict(page: MetaPage) -> MetaPrediction:
        try:
            article = process_document(page.html, f"{page.page_id}.html")
        except Rejected as rejection:
            return MetaPrediction(error=f"quarantined: {rejection.reason}")
        # The day the page states (``published_date``); ``published_at`` is the UTC instant.
        day = getattr(article, "published_date", None) or article.published_at
        return MetaPrediction(article.title, article.authors, day, article.language)

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


def htmldate_predict() -> Callable[[MetaPage], MetaPrediction]:
    """htmldate alone, as its evaluation runs it: ``find_date(html, original_date=True)``."""
    from htmldate import find_date

    def predict(page: MetaPage) -> MetaPrediction:
        return MetaPrediction(published=find_date(page.html, original_date=True))

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
    declared = (
        page.published is None
        and metrics.date_part(p.published) is not None
        and metrics.date_part(p.published) in declared_days(page.html)
    )
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
        title_decoration_only=decoration_only(p.title, page.title),
        date_declared=declared,
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


def _date_share(which: str) -> Callable[[Sequence[Outcome]], float | None]:
    """Share of pages with a true date whose date is right, wrong or none (``which``)."""

    def value(outcomes: Sequence[Outcome]) -> float | None:
        kinds = [_date_kind(o) for o in outcomes if o.fields["date"].correct is not None]
        return kinds.count(which) / len(kinds) if kinds else None

    return value


def _date_kind(outcome: Outcome) -> str:
    if outcome.fields["date"].correct:
        return "right"
    return "wrong" if metrics.date_part(outcome.prediction.published) is not None else "none"


def _field_summaries(outcomes: Sequence[Outcome], intervals: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name in FIELDS:
        correct, invented = _rates(outcomes, name)
        result[name] = {
            "accuracy": _mean(correct),
            "accuracy_ci": bootstrap_interval(outcomes, _share(name, 0)) if intervals else None,
            "with_truth": len(correct),
            "invented": _mean(invented),
            "invented_ci": bootstrap_interval(outcomes, _share(name, 1)) if intervals else None,
            "invented_count": int(sum(invented)),
            "without_truth": len(invented),
        }
    return result


def summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Accuracy and invented share per field, with their domain-bootstrap intervals; the
    dates right / wrong / none; the same on each domain-disjoint half."""
    result: dict[str, Any] = {"pages": len(outcomes)}
    result["errors"] = sum(o.prediction.error is not None for o in outcomes)
    result["title_decoration_only"] = sum(o.title_decoration_only for o in outcomes)
    result |= _field_summaries(outcomes)
    result["date"]["outcomes"] = {
        kind: {
            "share": _date_share(kind)(outcomes),
            "ci": bootstrap_interval(outcomes, _date_share(kind)),
        }
        for kind in ("right", "wrong", "none")
    }
    invented = [o for o in outcomes if o.fields["date"].false_value]
    result["date"]["invented_declared"] = sorted(o.page_id for o in invented if o.date_declared)
    result["date"]["invented_undeclared_count"] = sum(not o.date_declared for o in invented)
    result["halves"] = []
    for which in (0, 1):
        part = [o for o in outcomes if half(o.group) == which]
        fields = _field_summaries(part, intervals=False)
        fields["date"]["outcomes"] = {k: _date_share(k)(part) for k in ("right", "wrong", "none")}
        result["halves"].append({"pages": len(part)} | fields)
    return result


def _cell(value: float | None, interval: tuple[float, float] | None) -> str:
    if value is None:
        return "n/a"
    ci = f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""
    return f"{value:.3f}{ci}"


def markdown_table(set_name: str, summaries: dict[str, dict[str, Any]]) -> str:
    """One row per system: accuracy [95 % CI] per field, and invented n/N (share [CI]); then
    the dates right / wrong / none, overall and on each domain-disjoint half."""
    header = (
        "| system | pages | title | authors | author invented | date | date invented "
        "| language | title wrong by decoration only | s/page |"
    )
    lines = [f"**{set_name}**", "", header, "|" + "---|" * 10]
    for system, s in summaries.items():
        labelled = SET_FIELDS.get(set_name, FIELDS)
        scored = [f for f in SYSTEM_FIELDS.get(system, FIELDS) if f in labelled]
        cells = [system, str(s["pages"])]
        for name in FIELDS:
            f = s[name]
            if f["with_truth"] == 0 or name not in scored:
                cells.append("n/a")
            else:
                cells.append(f"{_cell(f['accuracy'], f['accuracy_ci'])} (n={f['with_truth']})")
            if name in ("authors", "date"):
                share = _cell(f["invented"], f["invented_ci"])
                declared = len(f.get("invented_declared", []))
                apart = f", {declared} declared" if name == "date" and declared else ""
                cells.append(
                    f"{f['invented_count']}/{f['without_truth']} = {share}{apart}"
                    if name in scored
                    else "n/a"
                )
        cells.append(str(s["title_decoration_only"]) if "title" in scored else "n/a")
        cells.append(f"{s['seconds_per_page']:.4f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "| system | date right | date wrong | date none | half 0 right / wrong / none "
        "| half 1 right / wrong / none |",
        "|" + "---|" * 6,
    ]
    for system, s in summaries.items():
        if "date" not in SYSTEM_FIELDS.get(system, FIELDS) or not s["date"]["with_truth"]:
            continue
        kinds = ("right", "wrong", "none")
        cells = [system] + [
            _cell(s["date"]["outcomes"][k]["share"], s["date"]["outcomes"][k]["ci"]) for k in kinds
        ]
        for part in s["halves"]:
            shares = [part["date"]["outcomes"][k] for k in kinds]
            cells.append(
                " / ".join("n/a" if v is None else f"{v:.3f}" for v in shares)
                + f" (n={part['date']['with_truth']})"
            )
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
    makers = {
        "newsclean": newsclean_predict,
        "trafilatura": trafilatura_predict,
        "htmldate": htmldate_predict,
    }
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
