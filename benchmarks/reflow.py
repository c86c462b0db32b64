"""Paragraph-boundary F1 of the re-flow (``tasks.clean.paragraphs.split_lines``) on a labelled set.

    python -m benchmarks.reflow                     # per variant, per domain half, overall
    python -m benchmarks.reflow --baseline OLD.py   # also score another paragraphs.py, e.g.
                                                    # git show main:tasks/clean/paragraphs.py >
                                                    # OLD.py

Labelled set: the WCXB dev articles' bodies (``ground_truth.main_content``): blocks separated by
blank lines, each line of a block one true paragraph (a block of several lines is a list or a
table: its items must stay apart). Each article gives four texts:

* ``wrapped``: every paragraph hard-wrapped with ``textwrap`` at a width drawn from 50-100
  columns per article, blocks separated by blank lines;
* ``wrapped_one_per_line``: the same wrapped paragraphs with no blank lines at all;
* ``unwrapped``: the body as it is;
* ``one_per_line``: one paragraph per line, no blank lines.

A boundary is the line number where a paragraph starts (the text's first line excluded);
precision and recall are pooled over all texts of a variant. Per web domain halves
(``metadata.json``; a stable hash of the domain) show whether a number holds on both halves:
the rule's constants were set from first principles, not fitted, but any change to them must
be checked on both halves.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import random
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from benchmarks.dedup import bench_dir
from tasks.clean.paragraphs import split_lines

VARIANTS = ("wrapped", "wrapped_one_per_line", "unwrapped", "one_per_line")
SplitLines = Callable[[str], tuple[list[str], list[int], list[int]]]


def load_bodies(directory: Path) -> list[tuple[str, list[list[str]]]]:
    """(domain, blocks of paragraphs) per ground-truth article with a body."""
    metadata = json.loads((directory / "metadata.json").read_text())
    out = []
    for path in sorted((directory / "ground-truth").glob("*.json")):
        truth = json.loads(path.read_text())["ground_truth"]
        blocks = []
        for block in (truth.get("main_content") or "").split("\n\n"):
            lines = [" ".join(line.split()) for line in block.split("\n")]
            if lines := [line for line in lines if line]:
                blocks.append(lines)
        if blocks:
            out.append((metadata.get(path.stem, {}).get("domain", path.stem), blocks))
    return out


def render(blocks: list[list[str]], variant: str, width: int) -> tuple[str, set[int]]:
    """The text of one variant and the line numbers (1-based) where its paragraphs start."""
    lines: list[str] = []
    starts: set[int] = set()
    for b, block in enumerate(blocks):
        if b and variant in ("wrapped", "unwrapped"):
            lines.append("")
        for paragraph in block:
            starts.add(len(lines) + 1)
            if variant.startswith("wrapped"):
                lines += textwrap.wrap(paragraph, width) or [paragraph]
            else:
                lines.append(paragraph)
    starts.discard(1)
    return "\n".join(lines), starts


def score(bodies: list[tuple[str, list[list[str]]]], split: SplitLines) -> dict[str, Counter[str]]:
    """tp/fp/fn of paragraph starts per variant and per (variant, domain half)."""
    rng = random.Random(2026)
    widths = [rng.randint(50, 100) for _ in bodies]
    tallies: dict[str, Counter[str]] = {}
    for (domain, blocks), width in zip(bodies, widths, strict=True):
        half = "A" if hashlib.sha256(domain.encode()).digest()[0] % 2 else "B"
        for variant in VARIANTS:
            text, truth = render(blocks, variant, width)
            predicted = set(split(text)[1]) - {1}
            for key in (variant, f"{variant} half {half}", "all", f"all half {half}"):
                tally = tallies.setdefault(key, Counter())
                tally["tp"] += len(predicted & truth)
                tally["fp"] += len(predicted - truth)
                tally["fn"] += len(truth - predicted)
    return tallies


def prf(tally: Counter[str]) -> tuple[float, float, float]:
    p = tally["tp"] / max(1, tally["tp"] + tally["fp"])
    r = tally["tp"] / max(1, tally["tp"] + tally["fn"])
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def _load_split(path: Path) -> SplitLines:
    spec = importlib.util.spec_from_file_location("baseline_paragraphs", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.split_lines  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, help="a paragraphs.py to score alongside")
    args = parser.parse_args(argv)
    directory = bench_dir()
    if not (directory / "ground-truth").is_dir():
        print(f"reflow benchmark skipped: no WCXB data at {directory}/ground-truth")
        return 0
    bodies = load_bodies(directory)
    systems: list[tuple[str, SplitLines]] = [("this", split_lines)]
    if args.baseline:
        systems.insert(0, (f"baseline {args.baseline.name}", _load_split(args.baseline)))
    print(f"{len(bodies)} articles, {len({d for d, _ in bodies})} domains")
    for name, split in systems:
        tallies = score(bodies, split)
        print(f"\n{name}: paragraph-boundary precision / recall / F1")
        for key in sorted(tallies, key=lambda k: (k.split()[0] != "all", k)):
            p, r, f = prf(tallies[key])
            print(f"  {key:<32} {p:.4f} {r:.4f} {f:.4f}  (boundaries {sum(tallies[key].values())})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
