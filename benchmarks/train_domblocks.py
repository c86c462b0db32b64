"""Train the DOM chrome filter of ``tasks.extract.domblocks`` and write ``domblocks_model.json``.

Trains on the odd page ids of the WCXB dev articles only; the even ids are the held-out check
(reported whole and split into pages whose domain the training saw or not). The cutoff is
chosen from out-of-fold scores of a domain-grouped 3-fold split of the odd pages. Labels: the
share of a paragraph's words that sit in a 4-word shingle the ground truth also has; a
paragraph is article text when that share is at least one half. Deterministic, numpy only.

    .venv/bin/python -m benchmarks.train_domblocks [--cache FILE] [--dry-run]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks import metrics
from benchmarks.wcxb import default_bench_dir, iter_pages
from tasks.clean.classify import classify
from tasks.clean.paragraphs import split_paragraphs
from tasks.extract import domblocks
from tasks.extract.html import extractor_text, parse_html
from tasks.inputs.read import decode

TREES = 150
DEPTH = 4
LEARNING_RATE = 0.05
MIN_LEAF = 100
L2 = 1.0
BINS = 32
WORD_WEIGHT_POWER = 0.5
FOLDS = 3
CUTOFFS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


@dataclass
class PageRows:
    page_id: str
    domain: str
    x: np.ndarray
    labels: np.ndarray
    words: np.ndarray
    paragraphs: list[str]
    body: np.ndarray  # kept as body by the rule catalogue
    truth: str | None


def token_labels(paragraphs: list[str], truth: str) -> np.ndarray:
    """Per paragraph: share of its tokens in an output shingle that the truth also has."""
    tokens: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(paragraphs):
        words = metrics._WORD.findall(text)
        tokens += words
        owner += [i] * len(words)
    wanted = metrics.shingle_bag(truth)
    good = np.zeros(len(tokens), dtype=bool)
    for k in range(len(tokens) - 3):
        shingle = tuple(tokens[k : k + 4])
        if wanted.get(shingle, 0) > 0:
            wanted[shingle] -= 1
            good[k : k + 4] = True
    counts = np.bincount(owner, minlength=len(paragraphs)) if owner else np.zeros(len(paragraphs))
    hits = np.bincount(owner, weights=good, minlength=len(paragraphs)) if owner else counts
    return np.where(counts > 0, hits / np.maximum(counts, 1), 0.0)


def build_page(page) -> PageRows | None:
    html = decode(page.html, is_html=True).text
    tree = parse_html(html)
    if tree is None:
        return None
    found = extractor_text(tree)
    if found is None:
        return None
    text, extractor, title = found
    spans = split_paragraphs(text)
    if not spans:
        return None
    paragraphs = [s.text for s in spans]
    result = classify(spans, known_title=title, whole_page=False, link_lists=False)
    truth = page.truth.get("main_content")
    truth = truth if isinstance(truth, str) else None
    return PageRows(
        page.page_id,
        (page.metadata or {}).get("domain") or page.page_id,
        domblocks.paragraph_features(tree, paragraphs, extractor),
        token_labels(paragraphs, truth) if truth else np.zeros(len(paragraphs)),
        np.array([max(1, len(p.split())) for p in paragraphs], dtype=float),
        paragraphs,
        np.array([p.label == "body" for p in result.paragraphs]),
        truth,
    )


# --- gradient-boosted trees (logistic loss, complete binary trees of depth DEPTH) -----------


def _bin_edges(x: np.ndarray) -> list[np.ndarray]:
    qs = np.linspace(0, 1, BINS + 1)[1:-1]
    return [np.unique(np.quantile(x[:, j], qs)) for j in range(x.shape[1])]


def fit_trees(x: np.ndarray, y: np.ndarray, w: np.ndarray, trees: int = TREES) -> dict:
    """Boosted trees as arrays: per tree, split feature and threshold of each internal node
    (heap order; ``x > threshold`` goes right) and the value of each leaf."""
    n, f = x.shape
    edges = _bin_edges(x)
    nb = BINS
    binned = np.stack([np.searchsorted(edges[j], x[:, j], side="left") for j in range(f)], 1)
    offsets = np.arange(f) * nb
    w = w / w.mean()
    prior = np.clip(np.average(y, weights=w), 1e-6, 1 - 1e-6)
    base = float(np.log(prior / (1 - prior)))
    margin = np.full(n, base)
    internal, leaves = 2**DEPTH - 1, 2**DEPTH
    feature = np.zeros((trees, internal), dtype=np.intp)
    threshold = np.full((trees, internal), np.inf)
    leaf = np.zeros((trees, leaves))
    for t in range(trees):
        p = 1 / (1 + np.exp(-margin))
        g, h = w * (p - y), w * p * (1 - p)
        node = np.zeros(n, dtype=np.intp)
        for level in range(DEPTH):
            for k in range(2**level - 1, 2 ** (level + 1) - 1):
                rows = np.flatnonzero(node == k)
                if len(rows) < 2 * MIN_LEAF:
                    continue
                flat = (binned[rows] + offsets).ravel()
                size = f * nb
                gh = np.bincount(flat, np.repeat(g[rows], f), size).reshape(f, nb)
                hh = np.bincount(flat, np.repeat(h[rows], f), size).reshape(f, nb)
                ch = np.bincount(flat, None, size).reshape(f, nb)
                gl, hl, cl = gh.cumsum(1), hh.cumsum(1), ch.cumsum(1)
                gt, ht, ct = gl[:, -1:], hl[:, -1:], cl[:, -1:]
                gain = gl**2 / (hl + L2) + (gt - gl) ** 2 / (ht - hl + L2) - gt**2 / (ht + L2)
                gain[(cl < MIN_LEAF) | (ct - cl < MIN_LEAF)] = -np.inf
                j, b = np.unravel_index(np.argmax(gain), gain.shape)
                if not np.isfinite(gain[j, b]) or gain[j, b] <= 0 or b >= len(edges[j]):
                    continue
                feature[t, k], threshold[t, k] = j, edges[j][b]
                node[rows] = 2 * k + 1 + (binned[rows, j] > b)
            # rows of nodes that did not split go left
            unsplit = np.isinf(threshold[t])
            at_level = (node >= 2**level - 1) & (node < 2 ** (level + 1) - 1)
            stay = at_level & unsplit[np.minimum(node, internal - 1)]
            node[stay] = 2 * node[stay] + 1
        index = node - internal
        gsum = np.bincount(index, g, leaves)
        hsum = np.bincount(index, h, leaves)
        leaf[t] = -LEARNING_RATE * gsum / (hsum + L2)
        margin += leaf[t][index]
    return {
        "depth": DEPTH,
        "base": base,
        "feature": feature,
        "threshold": threshold,
        "leaf": leaf,
    }


def _weights(pages: list[PageRows]) -> np.ndarray:
    parts = []
    for page in pages:
        share = page.words / page.words.sum()
        parts.append(share**WORD_WEIGHT_POWER)
    return np.concatenate(parts)


def fit_pages(pages: list[PageRows]) -> dict:
    pages = [p for p in pages if p.truth is not None]
    x = np.vstack([p.x for p in pages])
    y = np.concatenate([(p.labels >= 0.5).astype(float) for p in pages])
    return fit_trees(x, y, _weights(pages))


def score_pages(pages: list[PageRows], keep: dict[str, np.ndarray] | None) -> metrics.PRF:
    """Corpus shingle P/R/F1 of the body paragraphs (after ``keep``, if given)."""
    scores = []
    for page in pages:
        if page.truth is None:
            continue
        mask = page.body & keep[page.page_id] if keep is not None else page.body
        text = "\n\n".join(p for p, k in zip(page.paragraphs, mask, strict=True) if k)
        scores.append(metrics.shingle_prf(text, page.truth))
    return metrics.corpus_shingles(scores)


def _json_model(model: dict, cutoff: float, trained_on: int) -> dict:
    return {
        "about": "tasks.extract.domblocks chrome filter; "
        "reproduce with benchmarks/train_domblocks.py",
        "train_pages": trained_on,
        "features": list(domblocks.FEATURES),
        "depth": model["depth"],
        "base": round(model["base"], 6),
        "cutoff": cutoff,
        "feature": model["feature"].tolist(),
        "threshold": [[v if np.isfinite(v) else 1e300 for v in row] for row in model["threshold"]],
        "leaf": np.round(model["leaf"], 6).tolist(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, help="pickle of the feature rows (made if absent)")
    parser.add_argument("--dry-run", action="store_true", help="do not write the model")
    args = parser.parse_args(argv)
    if args.cache and args.cache.is_file():
        pages = pickle.loads(args.cache.read_bytes())
    else:
        pages = [r for page in iter_pages(default_bench_dir()) if (r := build_page(page))]
        if args.cache:
            args.cache.write_bytes(pickle.dumps(pages))
    odd = [p for p in pages if int(p.page_id) % 2 == 1]
    even = [p for p in pages if int(p.page_id) % 2 == 0]

    def fold(domain: str) -> int:
        return int(hashlib.sha256(domain.encode()).hexdigest(), 16) % FOLDS

    out_of_fold: dict[str, np.ndarray] = {}
    for k in range(FOLDS):
        model = fit_pages([p for p in odd if fold(p.domain) != k])
        for p in odd:
            if fold(p.domain) == k:
                out_of_fold[p.page_id] = domblocks.predict(model, p.x)
    best = max(
        CUTOFFS,
        key=lambda c: score_pages(odd, {i: s >= c for i, s in out_of_fold.items()}).f1,
    )
    for c in CUTOFFS:
        prf = score_pages(odd, {i: s >= c for i, s in out_of_fold.items()})
        print(
            f"odd out-of-fold cutoff {c}: P {prf.precision:.4f} R {prf.recall:.4f} F1 {prf.f1:.4f}"
        )
    model = fit_pages(odd)
    keep = {p.page_id: domblocks.predict(model, p.x) >= best for p in pages}
    seen = {p.domain for p in odd}
    groups = {
        "odd (train)": odd,
        "even (held out)": even,
        "even, domains not in train": [p for p in even if p.domain not in seen],
        "all": pages,
    }
    print(f"cutoff {best}")
    for name, group in groups.items():
        before, after = score_pages(group, None), score_pages(group, keep)
        print(
            f"{name:28s} {len(group):4d} pages  before P {before.precision:.4f} "
            f"R {before.recall:.4f} F1 {before.f1:.4f}  after P {after.precision:.4f} "
            f"R {after.recall:.4f} F1 {after.f1:.4f}"
        )
    if not args.dry_run:
        payload = _json_model(model, best, len(odd))
        domblocks.MODEL_PATH.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
        print(f"wrote {domblocks.MODEL_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
