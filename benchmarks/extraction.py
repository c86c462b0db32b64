"""Body-text quality of newsclean against trafilatura on three development sets, one command.

    python -m benchmarks.extraction                      # every set, both modes (~10 min here)
    python -m benchmarks.extraction --sets wcxb --modes html --limit 100
    python -m benchmarks.extraction --ablate dom_chrome,rules --json out.json

Sets (``../shared/bench``, or ``$NEWSCLEAN_BENCH_ROOT``; the command stops with a message when
a set is absent):

* ``wcxb``: WCXB dev articles; 4-word-shingle precision and recall per page, averaged over pages,
  F1 of the averages (pages whose truth has no ``main_content`` are skipped).
* ``trafilatura-eval``: trafilatura's own evaluation pages; ``with`` / ``without`` snippets
  counted per page and summed over pages, P / R / F1 of the sums (trafilatura's scoring).
* ``readability``: Mozilla Readability's test pages; shingles against the text of Readability's
  reviewed output. Pages Readability calls not ``readerable`` are not scored for F1 but
  reported apart: how many a system quarantined and how many words it published for them.

newsclean is scored on what a run of the page alone publishes: ``process_document`` and the
run-wide labelling (``label_articles``: dedup within the article). Its in-article repeats
(paragraphs the run removed as ``duplicate``) are counted against the truth's ``main_content``:
removed lines the truth holds two or more times (the page's own structure: wrongly removed) and
lines it lacks or holds once (rightly removed); ``--baseline-json`` adds newsclean's paired F1
difference against another checkout's ``--json`` (e.g. main's), page by page.

Modes: ``html`` (the page; trafilatura with its standard settings and with ``favor_precision``,
newsclean) and ``text`` (the page dumped with ``html_text.extract_text(html,
guess_layout=True)``: the dump kept whole, newsclean on it as a ``.txt`` input). Each table gives
95 % bootstrap intervals (pages resampled); the differences are paired (the same resampled
pages for both systems). ``--ablate`` adds newsclean with one component switched off. Time per
page is each system's own work, measured in the same process on the same pages.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import trafilatura
import trafilatura.settings

from benchmarks import metrics
from benchmarks.wcxb import (
    BENCH_ROOT_ENV,
    READABILITY,
    SET_FOLDERS,
    TRAFILATURA_EVAL,
    WCXB,
    BenchDataMissing,
    Page,
    iter_set,
    make_dump,
    set_dir,
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
    # Paragraphs removed as repeats within the article (None: the system does not dedup).
    repeats: tuple[str, ...] | None = None


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


def keep_whole_dump(page: Page, dump: str | None) -> Prediction:
    """The dump unchanged: the recall ceiling and precision floor of the text mode."""
    return Prediction(dump or "")


def _article_prediction(article: Any) -> Prediction:
    """What a run of this one article publishes: the run-wide labelling (dedup within the
    article) applied, its removed repeats kept aside for counting."""
    from tasks.dedup.runwide import label_articles
    from tasks.models import Label

    label_articles([article])
    repeats = tuple(p.text for p in article.paragraphs if p.label == Label.DUPLICATE)
    return Prediction(
        article.text or "", article.title, article.authors, article.published_at, repeats
    )


def newsclean_system(process_document: ProcessDocument, mode: str) -> System:
    """newsclean in-process: the page bytes as ``.html`` or the dump as a ``.txt`` document,
    then the run-wide steps over that one article."""

    def on_html(page: Page, dump: str | None) -> Prediction:
        return _article_prediction(process_document(page.html, f"{page.page_id}.html"))

    def on_text(page: Page, dump: str | None) -> Prediction:
        data = (dump or "").encode("utf-8")
        return _article_prediction(process_document(data, f"{page.page_id}.txt"))

    return System("newsclean", on_html if mode == "html" else on_text)


def load_newsclean() -> ProcessDocument | None:
    """``tasks.clean.document.process_document`` if it imports, else None with the reason
    printed."""
    try:
        from tasks.clean.document import process_document
    except Exception as exc:  # a half-written module must not stop the baselines
        print(f"newsclean not available yet ({type(exc).__name__}: {exc})")
        return None
    return process_document


TRAFILATURA_STANDARD = "trafilatura"
TRAFILATURA_PRECISION = "trafilatura favor_precision"
NEWSCLEAN = "newsclean"
DUMP = "dump (keep all)"
# How each set's per-page columns make a corpus F1 (see ``metrics.resampled_f1``).
SET_KIND = {WCXB: "mean", READABILITY: "mean", TRAFILATURA_EVAL: "sum"}


def trafilatura_system(name: str, **options: Any) -> System:
    """trafilatura alone on the decoded page, metadata included (what a user would call)."""

    def predict(page: Page, dump: str | None) -> Prediction:
        document = trafilatura.bare_extraction(
            page.html_text,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            **options,
        )
        if not isinstance(document, trafilatura.settings.Document):
            return EMPTY
        return Prediction(document.text or "", document.title, document.author, document.date)

    return System(name, predict)


def _ablation_patches() -> dict[str, Callable[[], contextlib.AbstractContextManager[Any]]]:
    """Components of newsclean that ``--ablate`` can switch off, one at a time."""
    from dataclasses import replace
    from unittest import mock

    import tasks.clean.classify
    import tasks.clean.document
    import tasks.extract.html

    def keep_all(tree: Any, paragraphs: Sequence[str], *_: Any) -> list[bool]:
        return [True] * len(paragraphs)

    defaults = tasks.clean.document.DEFAULTS
    no_favor_recall = replace(defaults, extract=replace(defaults.extract, favor_recall=False))
    return {
        "dom_chrome": lambda: mock.patch.object(tasks.extract.html, "chrome_filter", keep_all),
        "rules": lambda: mock.patch.object(tasks.clean.classify, "match_rules", lambda texts: {}),
        "favor_recall": lambda: mock.patch.object(
            tasks.clean.document, "DEFAULTS", no_favor_recall
        ),
    }


ABLATIONS = ("dom_chrome", "rules", "favor_recall")


def ablated(system: System, name: str) -> System:
    """``system`` run with component ``name`` switched off (``a+b``: both)."""
    patches = [_ablation_patches()[part] for part in name.split("+")]

    def predict(page: Page, dump: str | None) -> Prediction:
        with contextlib.ExitStack() as stack:
            for patch in patches:
                stack.enter_context(patch())
            return system.predict(page, dump)

    return System(f"{system.name} -{name}", predict)


def harness_systems(
    mode: str,
    process_document: ProcessDocument | None,
    ablations: Sequence[str] = (),
    baselines: bool = True,
) -> list[System]:
    """The systems compared in ``mode``: baselines first (unless ``baselines`` is false),
    then newsclean and its ablations."""
    systems: list[System]
    if not baselines:
        systems = []
    elif mode == "html":
        systems = [
            trafilatura_system(TRAFILATURA_STANDARD),
            trafilatura_system(TRAFILATURA_PRECISION, favor_precision=True),
        ]
    else:
        systems = [System(DUMP, keep_whole_dump, predicts_metadata=False)]
    if process_document is not None:
        newsclean = newsclean_system(process_document, mode)
        systems += [newsclean, *(ablated(newsclean, name) for name in ablations)]
    return systems


def page_columns(set_name: str, page: Page, text: str) -> tuple[float, ...] | None:
    """The per-page numbers the set's corpus F1 is made of; None when the page is not scored."""
    truth = page.truth
    if set_name == TRAFILATURA_EVAL:
        counts = metrics.snippet_counts(text, truth["with"], truth["without"])
        return (counts.true_positives, counts.false_positives, counts.false_negatives)
    if set_name == READABILITY and not truth.get("readerable", True):
        return None
    body = truth.get("main_content")
    if not isinstance(body, str):
        return None
    prf = metrics.shingle_prf(text, body)
    return (prf.precision, prf.recall)


@dataclass
class SetResult:
    """One system on one set in one mode: per-page columns, quarantines and time."""

    system: str
    page_ids: list[str] = field(default_factory=list)
    columns: list[tuple[float, ...]] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    non_articles: int = 0
    non_article_quarantined: int = 0
    non_article_words: int = 0
    seconds: float = 0.0
    pages: int = 0
    # In-article repeats removed, judged by the truth (systems that dedup, pages with one).
    repeats: metrics.RepeatCounts | None = None
    page_repeats: dict[str, tuple[int, int]] = field(default_factory=dict)

    def matrix(self) -> np.ndarray:
        return np.array(self.columns, dtype=float).reshape(len(self.columns), -1)


def _predict(system: System, page: Page, dump: str | None) -> tuple[Prediction, str | None, bool]:
    """The prediction, an error message and whether newsclean quarantined the page."""
    from tasks.models import Rejected

    try:
        return system.predict(page, dump), None, False
    except Rejected:
        return EMPTY, None, True
    except Exception as exc:
        return EMPTY, f"{type(exc).__name__}: {exc}", False


def run_set(
    set_name: str, mode: str, pages: Iterable[Page], systems: Sequence[System]
) -> list[SetResult]:
    """Every system on every page of one set; the dump is made once a page, outside timings.

    Each system first runs once, untimed, on the first page (imports, models, caches). A
    quarantined page (``Rejected``) is an empty prediction; any other exception is an error
    and an empty prediction too.
    """
    results = [SetResult(system.name) for system in systems]
    for count, page in enumerate(pages, start=1):
        dump = make_dump(page.html_text) if mode == "text" else None
        for system, result in zip(systems, results, strict=True):
            if count == 1:
                _predict(system, page, dump)
            started = time.perf_counter()
            prediction, error, quarantined = _predict(system, page, dump)
            result.seconds += time.perf_counter() - started
            result.pages += 1
            if error:
                result.errors.append(f"{page.page_id}: {error}")
            if quarantined:
                result.quarantined.append(page.page_id)
            if not page.truth.get("readerable", True):
                result.non_articles += 1
                result.non_article_quarantined += quarantined
                result.non_article_words += len(prediction.text.split())
            body = page.truth.get("main_content")
            if prediction.repeats is not None and isinstance(body, str):
                counts = metrics.repeat_counts(prediction.repeats, body)
                result.repeats = (result.repeats or metrics.RepeatCounts()) + counts
                result.page_repeats[page.page_id] = (counts.repeated, counts.surplus)
            columns = page_columns(set_name, page, prediction.text)
            if columns is not None:
                result.page_ids.append(page.page_id)
                result.columns.append(columns)
        if count % PROGRESS_EVERY == 0:
            print(f"{set_name} {mode}: {count} pages", file=sys.stderr)
    return results


def corpus_prf(set_name: str, columns: np.ndarray) -> metrics.PRF:
    """Corpus precision, recall and F1 of a set from its per-page columns."""
    if len(columns) == 0:
        return metrics.PRF(0.0, 0.0, 0.0)
    if SET_KIND[set_name] == "mean":
        return metrics.corpus_shingles([metrics.PRF(p, r, 0.0) for p, r in columns])
    tp, fp, fn = columns.sum(axis=0)
    counts = metrics.SnippetCounts(int(tp), int(fn), int(fp), 0)
    return metrics.corpus_snippets([counts])


def summarise(
    set_name: str,
    mode: str,
    results: Sequence[SetResult],
    baseline: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One row per system: P, R, F1 with its interval, paired differences, time per page.

    ``vs_reference``: against the better trafilatura setting on this set (html mode) or the
    dump (text mode); ``vs_newsclean``: an ablation against newsclean with everything on;
    ``vs_baseline``: newsclean against ``baseline`` (another run's newsclean on this set and
    mode, ``{"ids": [...], "columns": [...]}``), on the pages both scored.
    """
    kind = SET_KIND[set_name]
    by_name = {r.system: r for r in results}
    scores = {r.system: corpus_prf(set_name, r.matrix()) for r in results}
    baselines = [TRAFILATURA_STANDARD, TRAFILATURA_PRECISION] if mode == "html" else [DUMP]
    reference = max((b for b in baselines if b in scores), key=lambda b: scores[b].f1, default=None)
    rows = []
    for result in results:
        prf, matrix = scores[result.system], result.matrix()
        row: dict[str, Any] = {
            "set": set_name,
            "mode": mode,
            "system": result.system,
            "pages": result.pages,
            "scored_pages": len(matrix),
            "quarantined": len(result.quarantined),
            "errors": len(result.errors),
            "precision": prf.precision,
            "recall": prf.recall,
            "f1": prf.f1,
            "f1_interval": metrics.bootstrap_f1(matrix, kind),
            "ms_per_page": 1000 * result.seconds / result.pages if result.pages else None,
            "reference": reference,
        }
        if reference and result.system != reference and result.system.startswith(NEWSCLEAN):
            row["vs_reference"] = metrics.paired_difference(
                matrix, by_name[reference].matrix(), kind
            )
        if result.system.startswith(f"{NEWSCLEAN} -"):
            row["vs_newsclean"] = metrics.paired_difference(
                matrix, by_name[NEWSCLEAN].matrix(), kind
            )
        if result.system == NEWSCLEAN and baseline is not None:
            row["vs_baseline"] = _paired_with(result, baseline, kind)
        if result.repeats is not None:
            row["repeats_removed_truth_repeats"] = result.repeats.repeated
            row["repeats_removed_surplus"] = result.repeats.surplus
        if result.non_articles:
            row["non_articles"] = result.non_articles
            row["non_articles_quarantined"] = result.non_article_quarantined
            row["non_article_words"] = result.non_article_words
        rows.append(row)
    return rows


def _paired_with(
    result: SetResult, baseline: dict[str, Any], kind: str
) -> tuple[float, float, float]:
    """``result``'s corpus F1 minus ``baseline``'s on the pages both scored, paired."""
    theirs = dict(zip(baseline["ids"], baseline["columns"], strict=True))
    common = [i for i, page in enumerate(result.page_ids) if page in theirs]
    mine = result.matrix()[common]
    other = np.array([theirs[result.page_ids[i]] for i in common], dtype=float)
    return metrics.paired_difference(mine, other.reshape(len(common), -1), kind)


def _difference(value: tuple[float, float, float] | None) -> str:
    if value is None:
        return ""
    point, low, high = value
    return f"{point:+.3f} [{low:+.3f}, {high:+.3f}]"


def set_table(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown table of one set in one mode."""
    first = rows[0]
    non_articles = any("non_articles" in row for row in rows)
    repeats = any("repeats_removed_surplus" in row for row in rows)
    baseline = any("vs_baseline" in row for row in rows)
    header = [
        "system",
        "pages (quarantined)",
        "P",
        "R",
        "F1 [95 % CI]",
        f"Δ F1 vs {first['reference']}",
        "Δ F1 vs newsclean",
        "ms/page",
    ]
    if first["reference"] is None:
        header.remove(f"Δ F1 vs {first['reference']}")
    if baseline:
        header.append("Δ F1 vs baseline run")
    if repeats:
        header.append("in-article repeats removed: truth ≥ 2 / < 2")
    if non_articles:
        header.append("non-articles: quarantined, words published")
    lines = [
        f"**{first['set']}, {first['mode']}** ({SET_FOLDERS[first['set']]}, "
        f"{first['scored_pages']} scored pages)",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in rows:
        low, high = row["f1_interval"]
        cells = [
            row["system"] + (f" ({row['errors']} errors)" if row["errors"] else ""),
            f"{row['pages']} ({row['quarantined']})",
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f} [{low:.3f}, {high:.3f}]",
            *([_difference(row.get("vs_reference"))] if first["reference"] else []),
            _difference(row.get("vs_newsclean")),
            f"{row['ms_per_page']:.1f}" if row["ms_per_page"] is not None else "n/a",
        ]
        if baseline:
            cells.append(_difference(row.get("vs_baseline")))
        if repeats:
            cells.append(
                f"{row['repeats_removed_truth_repeats']} / {row['repeats_removed_surplus']}"
                if "repeats_removed_surplus" in row
                else ""
            )
        if non_articles:
            cells.append(
                f"{row.get('non_articles_quarantined', 0)}/{row.get('non_articles', 0)}, "
                f"{row.get('non_article_words', 0)}"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


SETS = (WCXB, TRAFILATURA_EVAL, READABILITY)


def _names(value: str, allowed: Sequence[str]) -> list[str]:
    names = [v for v in value.split(",") if v]
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {list(allowed)}")
    return names


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=lambda v: _names(v, SETS), default=list(SETS))
    parser.add_argument("--modes", type=lambda v: _names(v, MODES), default=list(MODES))
    parser.add_argument("--limit", type=int, help="score only the first N pages of each set")
    parser.add_argument(
        "--ablate",
        type=lambda v: [n for n in v.split(",") if n and _names(n.replace("+", ","), ABLATIONS)],
        default=[],
        help=f"also run newsclean without each of ({', '.join(ABLATIONS)}; a+b: both)",
    )
    parser.add_argument(
        "--bench-root", type=Path, help=f"default: ${BENCH_ROOT_ENV} or ../shared/bench"
    )
    parser.add_argument("--json", type=Path, help="also write every row and per-page column here")
    parser.add_argument(
        "--baseline-json",
        type=Path,
        help="another run's --json (e.g. main's checkout): newsclean's paired Δ F1 against it",
    )
    parser.add_argument(
        "--no-baselines", action="store_true", help="newsclean only (no trafilatura or dump)"
    )
    args = parser.parse_args(argv)
    baseline_pages: dict[str, Any] = {}
    if args.baseline_json:
        baseline_pages = json.loads(args.baseline_json.read_text(encoding="utf-8"))["pages"]

    directories = {name: set_dir(name, args.bench_root) for name in args.sets}
    try:
        for name, directory in directories.items():
            next(iter_set(name, directory, 1))
    except (BenchDataMissing, StopIteration) as exc:
        print(f"benchmark data missing, nothing scored: {exc or name}", file=sys.stderr)
        return 2
    process_document = load_newsclean()
    payload: dict[str, Any] = {"tables": [], "pages": {}}
    for name in args.sets:
        for mode in args.modes:
            systems = harness_systems(
                mode, process_document, args.ablate, baselines=not args.no_baselines
            )
            results = run_set(name, mode, iter_set(name, directories[name], args.limit), systems)
            baseline = baseline_pages.get(f"{name}/{mode}", {}).get(NEWSCLEAN)
            rows = summarise(name, mode, results, baseline)
            print(set_table(rows) + "\n", flush=True)
            payload["tables"].append(rows)
            payload["pages"][f"{name}/{mode}"] = {
                r.system: {
                    "ids": r.page_ids,
                    "columns": r.columns,
                    "errors": r.errors,
                    "repeats": r.page_repeats,
                }
                for r in results
            }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
