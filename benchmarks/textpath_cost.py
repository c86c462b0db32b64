"""CPU cost of cleaning whole-page text dumps (the ``.txt`` path), per page and per stage.

Runs ``process_document(dump, "<id>.txt")`` on the 711 WCXB dev dumps and, on the same inputs,
each stage alone: decoding, ``split_lines``, the rule catalogue (``match_rules`` on every
page's paragraphs) and the page-text selector (``select_main_content`` on the paragraphs the rules
left open). "glue" is the whole minus those stages (labelling, title, link lists, objects).
Times are CPU time (``time.process_time``) of whole passes over all pages, so other jobs on a
shared machine inflate them less than wall time; each pass is printed, then the best.

    .venv/bin/python -m benchmarks.textpath_cost                  # 3 passes
    .venv/bin/python -m benchmarks.textpath_cost --labels out.txt --passes 0  # labels only
    .venv/bin/python -m benchmarks.textpath_cost --profile        # cProfile one whole pass
    .venv/bin/python -m benchmarks.textpath_cost --check-rules --passes 0  # screens vs all rules

``--labels`` writes one line per paragraph (page id, label, reason): diff two such files to
check that a speed-up changed no decision. ``--check-rules`` compares ``match_rules`` with
trying every rule in order on every dev paragraph (rule, span and groups). Dumps are cached
under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import cProfile
import pickle
import pstats
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from benchmarks.wcxb import REPO_ROOT, default_bench_dir, iter_pages, make_dump
from tasks.clean.classify import BODY_REASON, classify
from tasks.clean.document import process_document
from tasks.clean.pagetext import select_main_content
from tasks.clean.paragraphs import split_lines, split_paragraphs
from tasks.clean.rules import RULES, match_rules
from tasks.inputs.read import decode
from tasks.models import Paragraph, Rejected

CACHE = REPO_ROOT / "benchmarks" / "results" / "textpath_dumps.pkl"
STAGES = ("decode", "split", "rules", "selector")


def load_dumps(directory: Path | None = None) -> list[tuple[str, bytes]]:
    """(page id, UTF-8 dump) for every dev page, made once and cached."""
    if CACHE.exists():
        return pickle.loads(CACHE.read_bytes())
    dumps = [
        (page.page_id, make_dump(page.html_text).encode("utf-8"))
        for page in iter_pages(directory or default_bench_dir())
    ]
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_bytes(pickle.dumps(dumps))
    return dumps


def clean(page_id: str, data: bytes) -> list[Paragraph]:
    """The labelled paragraphs of one dump; none when the page is rejected (no text left)."""
    try:
        return process_document(data, f"{page_id}.txt").paragraphs
    except Rejected:
        return []


def check_rules(dumps: Sequence[tuple[str, bytes]]) -> int:
    """Paragraphs where ``match_rules`` differs from trying every rule in catalogue order."""
    differ = 0
    for _, data in dumps:
        texts = [span.text for span in split_paragraphs(decode(data)[0])]
        found = match_rules(texts)
        for index, text in enumerate(texts):
            expected = next(
                (
                    (rule.name, match.span(), match.groupdict())
                    for rule in RULES
                    if len(text) <= rule.max_chars and (match := rule.pattern.match(text))
                ),
                None,
            )
            got = found.get(index)
            differ += expected != (got and (got[0].name, got[1].span(), got[1].groupdict()))
    return differ


def measure(dumps: Sequence[tuple[str, bytes]], passes: int) -> list[dict[str, float]]:
    """ms/page of the whole path and of each stage, one dict per pass.

    Page by page, the whole path and then each stage alone run back to back, so the stages
    and the whole share the machine's load of that moment and "glue" (the whole minus the
    stages) is not the difference of passes run minutes apart.
    """
    texts = [decode(data)[0] for _, data in dumps]
    spans = [split_paragraphs(text) for text in texts]
    open_texts = [
        [
            p.text
            for p in classify(page, whole_page=False, link_lists=True).paragraphs
            if p.reason == BODY_REASON
        ]
        for page in spans
    ]
    pages = [
        {
            "total": partial(clean, page_id, data),
            "decode": partial(decode, data),
            "split": partial(split_lines, text),
            "rules": partial(match_rules, [s.text for s in page_spans]),
            "selector": partial(select_main_content, page_open),
        }
        for (page_id, data), text, page_spans, page_open in zip(
            dumps, texts, spans, open_texts, strict=True
        )
    ]
    results = []
    for number in range(passes + 1):  # pass 0 warms up: imports, model, caches
        spent = dict.fromkeys(("total", *STAGES), 0.0)
        for runs in pages:
            for name, run in runs.items():
                start = time.process_time()
                run()
                spent[name] += time.process_time() - start
        result = {name: cpu / len(pages) * 1000 for name, cpu in spent.items()}
        result["glue"] = result["total"] - sum(result[s] for s in STAGES)
        if number:
            results.append(result)
    return results


def write_labels(dumps: Sequence[tuple[str, bytes]], out: Path) -> None:
    with out.open("w", encoding="utf-8") as fh:
        for page_id, data in dumps:
            for p in clean(page_id, data):
                fh.write(f"{page_id}\t{p.position}\t{p.label}\t{p.reason}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--labels", type=Path, help="write every paragraph's label here")
    parser.add_argument("--profile", action="store_true", help="cProfile one whole pass")
    parser.add_argument("--check-rules", action="store_true", help="screens vs every rule")
    args = parser.parse_args()
    dumps = load_dumps()
    if args.check_rules:
        paragraphs = sum(len(split_paragraphs(decode(data)[0])) for _, data in dumps)
        differ = check_rules(dumps)
        print(f"match_rules differs from every rule in order on {differ} of {paragraphs}")
    if args.labels:
        write_labels(dumps, args.labels)
        print(f"wrote labels of {len(dumps)} pages to {args.labels}")
    if args.passes < 1:
        return
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [clean(page_id, data) for page_id, data in dumps])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return
    columns = ("total", *STAGES, "glue")
    print(f"{len(dumps)} dumps, CPU ms/page (one core)")
    print("pass " + " ".join(f"{c:>8}" for c in columns))
    results = measure(dumps, args.passes)
    for number, result in enumerate(results, start=1):
        print(f"{number:>4} " + " ".join(f"{result[c]:8.2f}" for c in columns))
    print("best " + " ".join(f"{min(r[c] for r in results):8.2f}" for c in columns))


if __name__ == "__main__":
    main()
