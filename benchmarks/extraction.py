"""Score newsclean against baselines on WCXB pages, in one process, on the same pages.

Two input modes, because newsclean accepts both:

* ``html``: the crawled page. trafilatura alone versus newsclean on the HTML.
* ``text``: a whole-page text dump (``html_text``, menus and footers left in), which is what a
  plain-text input usually looks like. The dump kept whole, jusText on the dump and newsclean on
  the dump as a ``.txt`` file.

Usage::

    python -m benchmarks.extraction --mode html|text [--limit N] [--pages DIR] [--json OUT]

Timing covers each system's own work per page; loading pages and making dumps are excluded.
Body metrics skip pages whose ground truth has no ``main_content`` (an unannotated page, not an
empty article); the ``body pages`` column says how many pages were scored.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Any

import justext
import trafilatura

from benchmarks import metrics
from benchmarks.wcxb import (
    BENCH_DIR_ENV,
    BenchDataMissing,
    Page,
    default_bench_dir,
    iter_pages,
    make_dump,
    require_pages_dir,
)

MODES = ("html", "text")
PROGRESS_EVERY = 100

ProcessDocument = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Prediction:
    """What a system returns for one page; metadata is None when it does not predict it."""

    text: str
    title: str | None = None
    authors: str | Sequence[str] | None = None
    published: str | date | datetime | None = None


EMPTY = Prediction("")


@dataclass(frozen=True, slots=True)
class System:
    """A named extractor: ``predict(page, dump)``; ``dump`` is None in html mode."""

    name: str
    predict: Callable[[Page, str | None], Prediction]
    predicts_metadata: bool = True


@dataclass(frozen=True, slots=True)
class PageScore:
    """Scores of one page; body scores are None when the truth has no ``main_content``."""

    page_id: str
    bag_of_words: metrics.PRF | None
    shingles: metrics.PRF | None
    with_kept: float | None
    without_left: float | None
    error: str | None = None


@dataclass
class SystemResult:
    """Everything measured for one system over the pages of a run."""

    name: str
    predicts_metadata: bool
    pages: list[PageScore] = field(default_factory=list)
    titles: list[metrics.FieldScore] = field(default_factory=list)
    authors: list[metrics.FieldScore] = field(default_factory=list)
    dates: list[metrics.FieldScore] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0

    def add(self, page: Page, prediction: Prediction, error: str | None = None) -> None:
        """Score ``prediction`` against the page's ground truth; ``error`` if the system failed."""
        truth = page.truth
        body = truth.get("main_content")
        has_body = isinstance(body, str)
        self.pages.append(
            PageScore(
                page.page_id,
                metrics.bag_of_words_prf(prediction.text, body) if has_body else None,
                metrics.shingle_prf(prediction.text, body) if has_body else None,
                metrics.snippet_share(prediction.text, truth.get("with") or []),
                metrics.snippet_share(prediction.text, truth.get("without") or []),
                error,
            )
        )
        self.errors += error is not None
        if not self.predicts_metadata:
            return
        title, author, published = (
            truth.get("title"),
            truth.get("author"),
            truth.get("publish_date"),
        )
        self.titles.append(
            metrics.score_field(
                prediction.title, title, metrics.title_matches(prediction.title, title)
            )
        )
        self.authors.append(
            metrics.score_field(
                prediction.authors, author, metrics.authors_match(prediction.authors, author)
            )
        )
        self.dates.append(
            metrics.score_field(
                prediction.published,
                published,
                metrics.dates_match(prediction.published, published),
            )
        )

    def summary(self) -> dict[str, Any]:
        """Corpus-level numbers (fractions in [0, 1]); metadata ones are None if not predicted."""
        body = [p for p in self.pages if p.bag_of_words is not None and p.shingles is not None]
        bow = metrics.corpus_bag_of_words([p.bag_of_words for p in body])
        shingles = metrics.corpus_shingles([p.shingles for p in body])
        meta = self.predicts_metadata
        return {
            "pages": len(self.pages),
            "body_pages": len(body),
            "errors": self.errors,
            "bow_precision": bow.precision,
            "bow_recall": bow.recall,
            "bow_f1": bow.f1,
            "shingle_precision": shingles.precision,
            "shingle_recall": shingles.recall,
            "shingle_f1": shingles.f1,
            "with_kept": metrics.mean_defined(p.with_kept for p in self.pages),
            "without_left": metrics.mean_defined(p.without_left for p in self.pages),
            "title_accuracy": metrics.accuracy(self.titles) if meta else None,
            "author_accuracy": metrics.accuracy(self.authors) if meta else None,
            "date_accuracy": metrics.accuracy(self.dates) if meta else None,
            "author_false_values": metrics.false_values(self.authors) if meta else None,
            "author_truth_empty": sum(s.correct is None for s in self.authors) if meta else None,
            "date_false_values": metrics.false_values(self.dates) if meta else None,
            "date_truth_empty": sum(s.correct is None for s in self.dates) if meta else None,
            "pages_per_second": len(self.pages) / self.seconds if self.seconds else None,
        }


@functools.cache
def _english_stoplist() -> frozenset[str]:
    return justext.get_stoplist("English")


def trafilatura_html(page: Page, dump: str | None) -> Prediction:
    """trafilatura alone on the page, with its metadata extraction switched on."""
    document = trafilatura.bare_extraction(page.html_text, with_metadata=True)
    if document is None:
        return EMPTY
    return Prediction(document.text or "", document.title, document.author, document.date)


def keep_whole_dump(page: Page, dump: str | None) -> Prediction:
    """The dump unchanged: the recall ceiling and precision floor of the text mode."""
    return Prediction(dump or "")


def justext_on_dump(page: Page, dump: str | None) -> Prediction:
    """jusText with the English stoplist; each line of the dump is one paragraph."""
    lines = [line.strip() for line in (dump or "").splitlines() if line.strip()]
    if not lines:
        return EMPTY
    html = "<html><body>" + "".join(f"<p>{escape(line)}</p>" for line in lines) + "</body></html>"
    paragraphs = justext.justext(html, _english_stoplist())
    return Prediction("\n\n".join(p.text for p in paragraphs if not p.is_boilerplate))


def _article_prediction(article: Any) -> Prediction:
    return Prediction(article.text or "", article.title, article.authors, article.published_at)


def newsclean_system(process_document: ProcessDocument, mode: str) -> System:
    """newsclean in-process: the page bytes as ``.html`` or the dump as a ``.txt`` document."""

    def on_html(page: Page, dump: str | None) -> Prediction:
        return _article_prediction(process_document(page.html, f"{page.page_id}.html"))

    def on_text(page: Page, dump: str | None) -> Prediction:
        data = (dump or "").encode("utf-8")
        return _article_prediction(process_document(data, f"{page.page_id}.txt"))

    return System("newsclean", on_html if mode == "html" else on_text)


def load_newsclean() -> ProcessDocument | None:
    """``tasks.process.process_document`` if it imports, else None with the reason printed."""
    try:
        from tasks.process import process_document
    except Exception as exc:  # a half-written module must not stop the baselines
        print(f"newsclean not available yet ({type(exc).__name__}: {exc})")
        return None
    return process_document


def systems_for(mode: str, process_document: ProcessDocument | None) -> list[System]:
    """The systems compared in ``mode``, baselines first."""
    if mode == "html":
        systems = [System("trafilatura", trafilatura_html)]
    else:
        systems = [
            System("dump (keep all)", keep_whole_dump, predicts_metadata=False),
            System("jusText on dump", justext_on_dump, predicts_metadata=False),
        ]
    if process_document is not None:
        systems.append(newsclean_system(process_document, mode))
    return systems


def run(mode: str, pages: Iterable[Page], systems: Sequence[System]) -> list[SystemResult]:
    """Run every system on every page (dump made once per page, outside the timings).

    An exception from a system counts as an empty prediction and as one error for that system.
    Each system first runs once, untimed, on the first page, so that one-off set-up (imports,
    models, caches) does not count against its pages/s on small page sets.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    results = [SystemResult(s.name, s.predicts_metadata) for s in systems]
    for count, page in enumerate(pages, start=1):
        dump = make_dump(page.html_text) if mode == "text" else None
        for system, result in zip(systems, results, strict=True):
            if count == 1:
                with contextlib.suppress(Exception):
                    system.predict(page, dump)
            error = None
            started = time.perf_counter()
            try:
                prediction = system.predict(page, dump)
            except Exception as exc:
                prediction, error = EMPTY, f"{type(exc).__name__}: {exc}"
            result.seconds += time.perf_counter() - started
            result.add(page, prediction, error)
        if count % PROGRESS_EVERY == 0:
            print(f"{count} pages", file=sys.stderr)
    return results


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _out_of(count: int | None, total: int | None) -> str:
    return "n/a" if count is None else f"{count}/{total}"


COLUMNS = (
    "system",
    "pages",
    "body pages",
    "errors",
    "BoW P",
    "BoW R",
    "BoW F1",
    "shingle P",
    "shingle R",
    "shingle F1",
    "with kept %",
    "without left %",
    "title acc %",
    "author acc %",
    "date acc %",
    "author false",
    "date false",
    "pages/s",
)


def markdown_table(results: Sequence[SystemResult]) -> str:
    """One row per system. ``author/date false``: values given where the truth has none."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for result in results:
        s = result.summary()
        speed = s["pages_per_second"]
        cells = [
            result.name,
            str(s["pages"]),
            str(s["body_pages"]),
            str(s["errors"]),
            _number(s["bow_precision"]),
            _number(s["bow_recall"]),
            _number(s["bow_f1"]),
            _number(s["shingle_precision"]),
            _number(s["shingle_recall"]),
            _number(s["shingle_f1"]),
            _percent(s["with_kept"]),
            _percent(s["without_left"]),
            _percent(s["title_accuracy"]),
            _percent(s["author_accuracy"]),
            _percent(s["date_accuracy"]),
            _out_of(s["author_false_values"], s["author_truth_empty"]),
            _out_of(s["date_false_values"], s["date_truth_empty"]),
            "n/a" if speed is None else f"{speed:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def results_json(mode: str, pages_dir: Path, results: Sequence[SystemResult]) -> dict[str, Any]:
    """Summaries plus per-page scores, for finding the pages a change made worse."""
    return {
        "mode": mode,
        "pages_dir": str(pages_dir),
        "systems": {
            r.name: {"summary": r.summary(), "pages": [asdict(p) for p in r.pages]} for r in results
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--limit", type=int, help="score only the first N pages (by id)")
    parser.add_argument(
        "--pages",
        type=Path,
        help=f"WCXB directory (default: ${BENCH_DIR_ENV} or ../shared/bench/wcxb-dev-articles)",
    )
    parser.add_argument("--json", type=Path, help="also write summaries and per-page scores here")
    args = parser.parse_args(argv)

    pages_dir: Path = args.pages or default_bench_dir()
    try:
        require_pages_dir(pages_dir)
    except BenchDataMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    systems = systems_for(args.mode, load_newsclean())
    results = run(args.mode, iter_pages(pages_dir, args.limit), systems)

    print(f"WCXB {args.mode} mode, pages from {pages_dir}\n")
    print(markdown_table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = results_json(args.mode, pages_dir, results)
        args.json.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
