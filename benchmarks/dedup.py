"""Benchmark of tasks.dedup.near_duplicates: accuracy curve on labelled reprints, throughput and
peak memory.

    python -m benchmarks.dedup                  # curve + throughput at 10k and 100k paragraphs
    python -m benchmarks.dedup --sizes 10000,100000,1000000
    python -m benchmarks.dedup --skip-throughput

Labelled set: the WCXB article bodies (``ground_truth.main_content``, paragraphs separated by
blank lines, with ``ground_truth.title`` as a first paragraph) are the distinct originals.
Reprints of a sample of them are generated with the edits wire copy really gets: headline
swap, dateline ("WASHINGTON (AP) — "), trimmed last sentence, re-split paragraphs (split at a
sentence boundary or merged with the next), typo fixes and word edits, re-wrapped whitespace,
straight vs curly quotes and dashes, and a combination of several. Every paragraph carries its
origin (source article, source paragraph), so the truth does not depend on the algorithm:

* a paragraph is a **true duplicate** when an earlier-published paragraph has the same origin
  or the same normalised text (originals share some boilerplate);
* it is **near-identical** when, in addition, it keeps >= 90% of its origin's words in order
  (difflib ratio on word sequences): the population the precision/recall targets are about.
  Heavier derivations (half of a split paragraph, a paragraph that lost a long last sentence)
  are reported separately per edit kind.

A prediction ``duplicate_of = k`` is correct when ``k`` has the paragraph's origin or text.
Article level: an article is predicted a reprint when at least half of its paragraphs are
duplicates; it is correct when most of them point into its true source article.

Throughput runs each size in a fresh subprocess pinned to one CPU (``RAYON_NUM_THREADS=1``
too) on :func:`build_throughput_corpus` (70% distinct articles, 30% reprints), and reports
wall and CPU time, paragraphs/s and peak RSS (``VmHWM``) next to the RSS after loading the
input. On a shared machine trust CPU time more than wall time.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.clean.paragraphs import split_lines
from tasks.dedup.index_store import update_index
from tasks.dedup.near_duplicates import DedupConfig, find_duplicates, normalise_words
from tasks.dedup.runwide import label_articles
from tasks.models import Article, Paragraph, article_of

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR_ENV = "NEWSCLEAN_BENCH_DIR"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
NEAR_IDENTICAL_RATIO = 0.9
EDITS = (
    "headline_swap",
    "dateline",
    "trimmed_last_sentence",
    "resplit",
    "word_edits",
    "rewrapped",
    "quotes_dashes",
    "combined",
)
DATELINES = ("WASHINGTON (AP) — ", "LONDON (Reuters) - ", "NEW YORK — ", "PARIS (AFP) – ")
_SENTENCE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’]))\s+(?=[A-Z“\"])")


def bench_dir() -> Path:
    override = os.environ.get(BENCH_DIR_ENV)
    return Path(override) if override else REPO_ROOT.parent / "shared/bench/wcxb-dev-articles"


# ---------------------------------------------------------------------------------- data


@dataclass
class Para:
    """One paragraph of the labelled set."""

    text: str
    origin: tuple[int, int] | None  # (source article, source paragraph); None = new text
    near: bool = True  # near-identical to its origin (difflib word ratio >= 0.9)
    edit: str = "original"


@dataclass
class Doc:
    article_id: str
    source: int  # index of the source article (itself for originals)
    published: datetime
    paragraphs: list[Para] = field(default_factory=list)
    edit: str = "original"


def load_originals(directory: Path) -> list[list[str]]:
    """[title, *body paragraphs] of every ground-truth article with at least 3 paragraphs."""
    articles = []
    for path in sorted((directory / "ground-truth").glob("*.json")):
        truth = json.loads(path.read_text())["ground_truth"]
        body = [p.strip() for p in (truth.get("main_content") or "").split("\n\n") if p.strip()]
        title = (truth.get("title") or "").strip()
        paragraphs = ([title] if title else []) + body
        if len(body) >= 3:
            articles.append(paragraphs)
    return articles


def _word_ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, normalise_words(a), normalise_words(b)).ratio()


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _word_edits(text: str, rng: random.Random, vocab: list[str]) -> str:
    words = text.split(" ")
    for _ in range(1 if len(words) < 40 else 2):
        i = rng.randrange(len(words))
        if len(words[i]) >= 5 and words[i].isalpha():
            words[i] = _typo(words[i], rng) if rng.random() < 0.5 else rng.choice(vocab)
    return " ".join(words)


def _rewrap(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    out = []
    for i, w in enumerate(words):
        out.append(w)
        if i < len(words) - 1:
            out.append("\n" if rng.random() < 0.12 else ("  " if rng.random() < 0.1 else " "))
    return "".join(out)


def _quotes(text: str) -> str:
    swap = {"“": '"', "”": '"', "‘": "'", "’": "'", "—": "--", "–": "-"}
    if any(c in text for c in swap):
        return "".join(swap.get(c, c) for c in text)
    text = re.sub(r'"(\w)', r"“\1", text)
    text = text.replace('"', "”").replace("'", "’")
    return text.replace(" - ", " — ")


def make_reprint(
    source: list[str], src: int, edit: str, rng: random.Random, vocab: list[str]
) -> list[Para]:
    """Paragraphs of one reprint of ``source`` with ``edit`` applied."""
    paras = [Para(text, (src, i), True, edit) for i, text in enumerate(source)]
    kinds = (
        rng.sample([e for e in EDITS if e not in ("combined", "headline_swap")], 3)
        if edit == "combined"
        else [edit]
    )
    if edit == "combined":
        kinds.append("headline_swap")
    for kind in kinds:
        if kind == "headline_swap":
            words = paras[0].text.split()
            rng.shuffle(words)
            paras[0] = Para(" ".join(["Update:", *words]), None, False, edit)
        elif kind == "dateline":
            paras[1].text = rng.choice(DATELINES) + paras[1].text
        elif kind == "trimmed_last_sentence":
            sentences = _SENTENCE.split(paras[-1].text)
            if len(sentences) > 1:
                paras[-1].text = " ".join(sentences[:-1])
            else:
                paras.pop()  # a one-sentence last paragraph is dropped whole
        elif kind == "resplit":
            i = rng.randrange(1, len(paras))
            sentences = _SENTENCE.split(paras[i].text)
            if len(sentences) > 1:
                cut = max(1, len(sentences) // 2)
                first, second = " ".join(sentences[:cut]), " ".join(sentences[cut:])
                o = paras[i].origin
                paras[i : i + 1] = [Para(first, o, True, edit), Para(second, o, True, edit)]
            elif i + 1 < len(paras):
                merged = paras[i].text + " " + paras[i + 1].text
                paras[i : i + 2] = [Para(merged, paras[i].origin, True, edit)]
        elif kind == "word_edits":
            for p in paras[1:]:
                p.text = _word_edits(p.text, rng, vocab)
        elif kind == "rewrapped":
            for p in paras:
                p.text = _rewrap(p.text, rng)
        elif kind == "quotes_dashes":
            for p in paras:
                p.text = _quotes(p.text)
    for p in paras:
        if p.origin is not None:
            p.near = _word_ratio(p.text, source[p.origin[1]]) >= NEAR_IDENTICAL_RATIO
    return paras


def build_corpus(
    originals: list[list[str]], reprints_per_source: float, seed: int, target: int | None = None
) -> list[Doc]:
    """Originals plus generated reprints (published later than their source).

    With ``target`` set, reprints are generated until the corpus has that many paragraphs.
    """
    rng = random.Random(seed)
    vocab = sorted({w for a in originals for p in a for w in p.split() if w.isalpha()})
    docs = [
        Doc(
            f"orig-{i:05d}",
            i,
            T0 + timedelta(hours=rng.randrange(24 * 30)),
            [Para(t, (i, j)) for j, t in enumerate(a)],
        )
        for i, a in enumerate(originals)
    ]
    count = sum(len(d.paragraphs) for d in docs)
    n = 0
    while (target is None and n < int(reprints_per_source * len(originals))) or (
        target is not None and count < target
    ):
        src = rng.randrange(len(originals))
        edit = EDITS[n % len(EDITS)]
        paras = make_reprint(originals[src], src, edit, rng, vocab)
        published = docs[src].published + timedelta(hours=1 + rng.randrange(24 * 7))
        docs.append(Doc(f"rep-{n:07d}", src, published, paras, edit))
        count += len(paras)
        n += 1
    if target is not None:  # trim to exactly target paragraphs
        while count > target:
            extra = count - target
            last = docs[-1]
            if len(last.paragraphs) <= extra:
                docs.pop()
                count -= len(last.paragraphs)
            else:
                del last.paragraphs[len(last.paragraphs) - extra :]
                count = target
    return docs


def build_throughput_corpus(
    originals: list[list[str]], target: int, seed: int, reprint_share: float = 0.3
) -> list[Doc]:
    """``target`` paragraphs for timing: distinct articles plus ``reprint_share`` reprints.

    Distinct articles beyond the real ones are made by shuffling the words of each paragraph
    of a real article (same lengths and vocabulary, no shared word pairs), so a large run has
    a realistic share of unique paragraphs instead of hundreds of copies of 700 stories.
    """
    rng = random.Random(seed)
    vocab = sorted({w for a in originals for p in a for w in p.split() if w.isalpha()})
    sources: list[list[str]] = []
    docs: list[Doc] = []
    count = 0
    while count < target:
        published = T0 + timedelta(minutes=rng.randrange(60 * 24 * 365))
        if sources and rng.random() < reprint_share:
            src = rng.randrange(len(sources))
            edit = EDITS[len(docs) % len(EDITS)]
            doc = Doc(f"rep-{len(docs):07d}", src, published, [], edit)
            doc.paragraphs = make_reprint(sources[src], src, edit, rng, vocab)
        else:
            base = originals[len(sources) % len(originals)]
            if len(sources) >= len(originals):
                shuffled = []
                for text in base:
                    words = text.split()
                    rng.shuffle(words)
                    shuffled.append(" ".join(words))
                base = shuffled
            src = len(sources)
            sources.append(base)
            paras = [Para(t, (src, j)) for j, t in enumerate(base)]
            doc = Doc(f"orig-{src:07d}", src, published, paras)
        docs.append(doc)
        count += len(doc.paragraphs)
    del docs[-1].paragraphs[len(docs[-1].paragraphs) - (count - target) :]
    return docs


def to_table(docs: list[Doc]) -> pa.Table:
    ids, articles, positions, texts, published = [], [], [], [], []
    for d in docs:
        for i, p in enumerate(d.paragraphs):
            ids.append(f"{d.article_id}-{i}")
            articles.append(d.article_id)
            positions.append(i)
            texts.append(p.text)
            published.append(d.published)
    return pa.table(
        {
            "paragraph_id": ids,
            "article_id": articles,
            "position": pa.array(positions, pa.int32()),
            "text": texts,
            "published_at": pa.array(published, pa.timestamp("us", tz="UTC")),
            "eligible": pa.array([True] * len(ids)),
        }
    )


# ---------------------------------------------------------------------------------- scoring


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def score(docs: list[Doc], out: pa.Table) -> dict[str, object]:
    """Paragraph- and article-level precision/recall/F1, recall per edit kind, FP examples."""
    info: dict[str, tuple[Doc, Para, str]] = {}
    order = []
    for d in docs:
        for i, p in enumerate(d.paragraphs):
            pid = f"{d.article_id}-{i}"
            info[pid] = (d, p, " ".join(normalise_words(p.text)))
            order.append((d.published, d.article_id, i, pid))
    # Truth: a paragraph is a duplicate when an earlier one has its origin or its text; a
    # short line (DedupConfig.scope_max_words) only when that one is in its own article or,
    # for a reprint, in its source article (the dedup scope rule).
    scope = DedupConfig().scope_max_words
    seen_origin: set[tuple[int, int]] = set()
    seen_text: set[str] = set()
    in_article: dict[str, set[object]] = {}
    truth: dict[str, bool] = {}
    for *_, pid in sorted(order):
        d, p, norm = info[pid]
        keys = {norm} | ({p.origin} if p.origin is not None else set())
        if not norm:
            dup = False
        elif len(norm.split()) <= scope:
            source = f"orig-{d.source:05d}" if d.edit != "original" else d.article_id
            dup = bool(keys & (in_article.get(d.article_id, set()) | in_article.get(source, set())))
        else:
            dup = norm in seen_text or (p.origin is not None and p.origin in seen_origin)
        truth[pid] = dup
        if norm:
            seen_text.add(norm)
            in_article.setdefault(d.article_id, set()).update(keys)
        if p.origin is not None:
            seen_origin.add(p.origin)
    pred = dict(
        zip(
            out.column("paragraph_id").to_pylist(),
            out.column("duplicate_of").to_pylist(),
            strict=True,
        )
    )

    def correct(pid: str, kept: str) -> bool:
        _, p, norm = info[pid]
        _, k, knorm = info[kept]
        return norm == knorm or (p.origin is not None and p.origin == k.origin)

    all_c, near_c = Counter(), Counter()
    per_edit: dict[str, Counter] = {}
    fp_examples = []
    for pid, kept in pred.items():
        d, p, _ = info[pid]
        is_true = truth[pid]
        ok = kept is not None and correct(pid, kept)
        near_pop = (not is_true) or p.near  # near-identical population: negatives + near dups
        for counter, include in ((all_c, True), (near_c, near_pop)):
            if not include:
                continue
            if kept is not None and ok and is_true:
                counter["tp"] += 1
            elif kept is not None:
                counter["fp"] += 1
            elif is_true:
                counter["fn"] += 1
        if is_true:
            key = f"{d.edit}{'' if p.near else ' (heavier)'}"
            c = per_edit.setdefault(key, Counter())
            c["n"] += 1
            c["found"] += int(kept is not None and ok)
        if kept is not None and not (ok and is_true) and len(fp_examples) < 5:
            fp_examples.append((p.text[:120], info[kept][1].text[:120]))

    # Article level.
    by_article: dict[str, list[str | None]] = {}
    for pid, kept in pred.items():
        by_article.setdefault(info[pid][0].article_id, []).append(kept)
    art = Counter()
    for d in docs:
        kept = by_article.get(d.article_id, [])
        dups = [k for k in kept if k is not None]
        predicted = len(kept) > 0 and len(dups) * 2 >= len(kept)
        is_reprint = d.edit != "original"
        if predicted:
            target = Counter(info[k][0].source for k in dups).most_common(1)[0][0]
            if is_reprint and target == d.source:
                art["tp"] += 1
            else:
                art["fp"] += 1
        elif is_reprint:
            art["fn"] += 1
    return {
        "paragraphs": len(pred),
        "true_duplicates": sum(truth.values()),
        "paragraph_near_identical": _prf(near_c["tp"], near_c["fp"], near_c["fn"]),
        "paragraph_all": _prf(all_c["tp"], all_c["fp"], all_c["fn"]),
        "article": _prf(art["tp"], art["fp"], art["fn"]),
        "recall_by_edit": {k: v["found"] / v["n"] for k, v in sorted(per_edit.items())},
        "fp_examples": fp_examples,
    }


# ------------------------------------------------------------------------ pipeline cases
#
# The cases of issue #18, through the run-wide steps as the flow runs them: each text is
# split by tasks.clean.paragraphs (so re-wrapped reprints must be re-flowed first), its first
# paragraph is the title, the rest body; then the run-wide steps
# (tasks.dedup.runwide.label_articles:
# versions, dedup, repeats, site chrome). Truth comes from how each text was made, per
# intended paragraph; a split paragraph is scored as the intended paragraph its first
# line belongs to.

CASES = ("reprints", "short_sentences", "structure", "site_chrome", "versions")
WRAP_WIDTH = 72


@dataclass
class CaseDoc:
    article_id: str
    site: str
    paragraphs: list[Para]
    published: datetime
    wrap: int | None = None
    url: str | None = None
    duplicate_truth: list[bool | None] = field(default_factory=list)  # None: not scored


def _render_case(doc: CaseDoc) -> tuple[str, list[int]]:
    """The text of a case document and the intended paragraph of each line (-1: blank)."""
    lines: list[str] = []
    owner: list[int] = []
    for i, para in enumerate(doc.paragraphs):
        if i:
            lines.append("")
            owner.append(-1)
        text = " ".join(para.text.split())
        wrapped = textwrap.wrap(text, doc.wrap) if doc.wrap else [text]
        lines += wrapped
        owner += [i] * len(wrapped)
    return "\n".join(lines), owner


def _case_articles(docs: list[CaseDoc]) -> tuple[list[Article], dict[str, tuple[int, int]]]:
    """Articles as the clean shard leaves them, and paragraph id -> (doc, intended para)."""
    articles, where = [], {}
    for d, doc in enumerate(docs):
        text, owner = _render_case(doc)
        texts, starts, ends = split_lines(text)
        paragraphs = [
            Paragraph(i, t, "title" if i == 0 else "body", "", s, e)
            for i, (t, s, e) in enumerate(zip(texts, starts, ends, strict=True))
        ]
        article = Article(
            doc.article_id,
            f"{doc.site}/{doc.article_id}.txt",
            doc.article_id,
            "text",
            "utf-8",
            "text",
            paragraphs,
            published_at=doc.published,
            url=doc.url,
        )
        articles.append(article)
        for p in paragraphs:
            where[article.paragraph_id(p.position)] = (d, owner[p.line_start - 1])
    return articles, where


def _case_truth(docs: list[CaseDoc], scope: int) -> None:
    """Set ``duplicate_truth`` per intended paragraph: the rule of :func:`score` (a copy of an
    earlier paragraph's origin or text; short lines only within the article or its source);
    a later version of a URL copies nothing of its earlier versions."""
    seen_origin: set[tuple[int, int]] = set()
    seen_text: set[str] = set()
    in_article: dict[str, set[object]] = {}
    for doc in sorted(docs, key=lambda d: (d.published, d.article_id)):
        doc.duplicate_truth = []
        for para in doc.paragraphs:
            norm = " ".join(normalise_words(para.text))
            keys = {norm} | ({para.origin} if para.origin is not None else set())
            own = in_article.get(doc.article_id, set())
            dup: bool | None
            if not norm or doc.url:
                dup = False
            elif keys & own:
                dup = None  # a repeat inside its own article: not what the cases are about
            elif len(norm.split()) <= scope:
                source = (
                    in_article.get(f"src-{para.origin[0]:05d}", set()) if para.origin else set()
                )
                dup = doc.article_id.startswith("rep") and bool(keys & source)
            else:
                dup = norm in seen_text or para.origin in seen_origin
            if dup and not para.near:
                dup = None  # a heavier derivation: outside the near-identical population
            doc.duplicate_truth.append(dup)
            if norm:
                seen_text.add(norm)
                in_article.setdefault(doc.article_id, set()).update(keys)
            if para.origin is not None:
                seen_origin.add(para.origin)


def build_cases(originals: list[list[str]], seed: int) -> dict[str, list[CaseDoc]]:
    """The five cases, each a small corpus of its own. Paragraphs are the lines of the
    originals' blocks (a list block is several paragraphs, as the re-flow leaves it)."""
    rng = random.Random(seed)
    originals = [
        [line for block in a for line in block.split("\n") if line.strip()] for a in originals
    ]
    vocab = sorted({w for a in originals for p in a for w in p.split() if w.isalpha()})
    pick = rng.sample(range(len(originals)), min(300, len(originals)))

    def source(i: int, site: str = "src") -> CaseDoc:
        paras = [Para(t, (i, j)) for j, t in enumerate(originals[i])]
        return CaseDoc(f"src-{i:05d}", f"{site}-{i}", paras, T0 + timedelta(hours=i % 50))

    cases: dict[str, list[CaseDoc]] = {}
    # Re-wrapped reprints: datelines, trimmed endings, word edits, half at 72 columns.
    docs = [source(i) for i in pick]
    for n, i in enumerate(pick):
        paras = make_reprint(originals[i], i, "dateline", rng, vocab)
        paras = [Para(p.text, p.origin, p.near, "reprint") for p in paras]
        if n % 3 == 0 and len(paras) > 2:  # trimmed ending
            sentences = _SENTENCE.split(paras[-1].text)
            if len(sentences) > 1:
                paras[-1].text = " ".join(sentences[:-1])
                paras[-1].near = (
                    _word_ratio(paras[-1].text, originals[i][-1]) >= NEAR_IDENTICAL_RATIO
                )
        if n % 4 == 1:
            for p in paras[1:]:
                if p.origin is not None:
                    p.text = _word_edits(p.text, rng, vocab)
                    p.near = _word_ratio(p.text, originals[i][p.origin[1]]) >= NEAR_IDENTICAL_RATIO
        docs.append(
            CaseDoc(
                f"rep-{n:05d}",
                f"reprint-site-{n}",
                paras,
                docs[n].published + timedelta(days=1),
                wrap=WRAP_WIDTH if n % 2 else None,
            )
        )
    cases["reprints"] = docs
    # Shared short sentences: an article and three reprints on one site.
    short = SHARED_SHORT
    docs = []
    for i in pick[:60]:
        body = [*originals[i][:2], short, *originals[i][2:]]
        paras = [Para(t, (i, j)) for j, t in enumerate(body)]
        docs.append(CaseDoc(f"src-{i:05d}", f"site-{i}", paras, T0))
        for k in range(3):
            copy = [Para(p.text, p.origin) for p in paras]
            docs.append(CaseDoc(f"rep-{i:05d}-{k}", f"site-{i}", copy, T0 + timedelta(hours=k + 1)))
    cases["short_sentences"] = docs
    # Shared headings, list items and table rows across unrelated articles.
    structure = list(STRUCTURE_LINES)
    docs = []
    for i in pick[:200]:
        body = list(originals[i])
        for k, line in enumerate(structure):
            body.insert(min(len(body), 1 + (k * 3 + n) % max(1, len(body) - 1)), line)
        paras = [Para(t, None if t in structure else (i, j)) for j, t in enumerate(body)]
        docs.append(CaseDoc(f"art-{i:05d}", f"site-{i}", paras, T0 + timedelta(hours=i)))
    cases["structure"] = docs
    # Site chrome: one slogan on every page of a site of unrelated articles.
    docs = []
    for n, i in enumerate(pick[:100]):
        body = [*originals[i], SLOGAN]
        paras = [Para(t, (i, j)) for j, t in enumerate(body)]
        docs.append(CaseDoc(f"art-{i:05d}", "valley-news", paras, T0 + timedelta(hours=n)))
    cases["site_chrome"] = docs
    # Corrected versions: same URL, a sentence added to each paragraph.
    docs = []
    for n, i in enumerate(pick[:100]):
        url = f"https://news.example/story/{i}"
        first = [Para(t, (i, j)) for j, t in enumerate(originals[i])]
        fixed = [
            Para(t if j == 0 else f"{t} (This paragraph was corrected.)", (i, j))
            for j, t in enumerate(originals[i])
        ]
        docs.append(CaseDoc(f"v1-{i:05d}", "news", first, T0 + timedelta(hours=n), url=url))
        docs.append(CaseDoc(f"v2-{i:05d}", "news", fixed, T0 + timedelta(hours=n), url=url))
    cases["versions"] = docs
    return cases


SHARED_SHORT = "Here, in IT, we all love podcasts."
STRUCTURE_LINES = (
    "Table of Contents",
    "FAQs",
    "Cons:",
    "- Unlimited contacts",
    "| Interface | Bluetooth |",
    "Example:",
)
SLOGAN = "Independent news for the valley since 1921"


def _case_point(name: str, article: Article, p: Paragraph) -> bool | None:
    """Whether this paragraph came out as its case wants (None: not what the case is about).

    short_sentences: the shared sentence is kept in the original, a duplicate of the
    original's in each reprint; structure: the shared lines are kept (unless repeated in their
    own article, which the original already did: "Cons:" per product); site_chrome: the slogan
    is site_repeat; versions: no paragraph of a version is a copy of its earlier version.
    """
    if name == "short_sentences" and p.text == SHARED_SHORT:
        if article.article_id.startswith("src"):
            return p.kept
        return p.label == "duplicate" and (p.duplicate_of or "").startswith("src")
    if name == "structure" and p.text in STRUCTURE_LINES:
        own = p.duplicate_of is not None and article_of(p.duplicate_of) == article.article_id
        return None if own else p.kept  # a heading repeated in its own article may go
    if name == "site_chrome" and p.text == SLOGAN:
        return p.reason == "site_repeat"
    if name == "versions" and article.article_id.startswith("v2"):
        return article.version == 2 and not (p.duplicate_of or "").startswith("v1")
    return None


def score_case(name: str, docs: list[CaseDoc]) -> dict[str, float]:
    """Paragraph precision/recall of duplicate labels, and what the case is about."""
    _case_truth(docs, DedupConfig().scope_max_words)
    articles, where = _case_articles(docs)
    label_articles(articles, DedupConfig(), None)
    tally: Counter[str] = Counter()
    for article in articles:
        for p in article.paragraphs:
            d, intended = where[article.paragraph_id(p.position)]
            tally["about_total"] += (about := _case_point(name, article, p)) is not None
            tally["about_ok"] += bool(about)
            truth = docs[d].duplicate_truth[intended]
            within = p.duplicate_of is not None and article_of(p.duplicate_of) == article.article_id
            if truth is None or within:
                continue
            predicted = p.label == "duplicate"
            tally[
                "tp" if truth and predicted else "fp" if predicted else "fn" if truth else "tn"
            ] += 1
            if p.reason == "site_repeat":
                tally["site_repeat"] += 1
                tally["site_repeat_in_originals"] += article.article_id.startswith("src")
            if not p.kept and len(normalise_words(p.text)) <= DedupConfig().scope_max_words:
                tally["short_removed"] += 1
    result = _prf(tally["tp"], tally["fp"], tally["fn"])
    result.update({k: float(v) for k, v in tally.items()})
    return result


# ------------------------------------------------------------------------------ throughput


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    """VmHWM: this process image's peak RSS (ru_maxrss can carry the parent's over exec)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def throughput_child(path: Path, index_dir: Path | None) -> None:
    """Run find_duplicates once on the Parquet input; print JSON (time, RSS)."""
    table = pq.read_table(path)
    rss_input = _rss_mb()
    config = DedupConfig()
    start = time.perf_counter()
    _ = config.bands_rows  # one-off per process (cached): the (b, r) search, reported apart
    bands_rows_seconds = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    out = find_duplicates(table, config)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    result = {
        "paragraphs": table.num_rows,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "paragraphs_per_s": table.num_rows / elapsed,
        "paragraphs_per_cpu_s": table.num_rows / cpu,
        "bands_rows_seconds": bands_rows_seconds,
        "duplicates": out.num_rows - out.column("duplicate_of").null_count,
        "rss_after_input_mb": rss_input,
        "peak_rss_mb": _peak_rss_mb(),
    }
    if index_dir is not None:
        start = time.perf_counter()
        update_index(index_dir, table.append_column("duplicate_of", out.column("duplicate_of")))
        result["update_index_seconds"] = time.perf_counter() - start
        probe = table.slice(0, min(10_000, table.num_rows))
        probe = probe.set_column(
            0, "paragraph_id", pa.array([f"new-{i}" for i in range(len(probe))])
        )
        start = time.perf_counter()
        find_duplicates(probe, config, index_dir)
        result["run_10k_against_index_seconds"] = time.perf_counter() - start
        result["peak_rss_with_index_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def run_throughput(
    originals: list[list[str]], sizes: list[int], with_index: bool, before: Path | None = None
) -> list[dict]:
    """Time each size in a fresh child process; with ``before`` (another checkout, e.g. a
    ``git worktree`` of main) the same input is timed there too, alternating, so the two
    are compared in one invocation on the same machine state."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = Path(tmp) / f"input-{size}.parquet"
            pq.write_table(to_table(build_throughput_corpus(originals, size, seed=size)), path)
            for checkout in [*([before] if before else []), REPO_ROOT]:
                cmd = [sys.executable, "-m", "benchmarks.dedup", "--child", str(path)]
                if with_index:
                    cmd += ["--child-index", str(Path(tmp) / f"index-{size}-{checkout.name}")]
                env = {**os.environ, "RAYON_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
                env["PYTHONPATH"] = str(checkout)
                if hasattr(os, "sched_setaffinity"):
                    cmd = ["taskset", "-c", "0", *cmd] if _has_taskset() else cmd
                done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=checkout)
                if done.returncode:
                    print(done.stderr, file=sys.stderr)
                    raise SystemExit(done.returncode)
                result = json.loads(done.stdout.strip().splitlines()[-1])
                results.append({**result, "checkout": str(checkout)})
    return results


def _has_taskset() -> bool:
    from shutil import which

    return which("taskset") is not None


# ------------------------------------------------------------------------------------ main


def print_cases(originals: list[list[str]]) -> None:
    """Per case of issue #18: duplicate-label precision/recall and what the case is about."""
    print("cases (issue #18), through re-flow, dedup, repeats, site chrome and versions:")
    print(
        f"  {'case':<16} {'P':>7} {'R':>7} {'copies':>7}  {'case point right':>16}  "
        f"{'site_repeat':>11}"
    )
    for name, docs in build_cases(originals, seed=18).items():
        r = score_case(name, docs)
        print(
            f"  {name:<16} {r['precision']:>7.4f} {r['recall']:>7.4f} "
            f"{int(r.get('tp', 0) + r.get('fn', 0)):>7}  "
            f"{int(r.get('about_ok', 0)):>7} / {int(r.get('about_total', 0)):<6}  "
            f"{int(r.get('site_repeat', 0)):>11}"
        )
    print()


def curve(originals: list[list[str]], args: argparse.Namespace) -> None:
    """The threshold x shingle-size curve on the labelled reprints (find_duplicates alone)."""
    docs = build_corpus(originals, args.reprints, seed=1)
    table = to_table(docs)
    n_reprints = sum(d.edit != "original" for d in docs)
    print(
        f"labelled set: {len(originals)} originals + {n_reprints} reprints = "
        f"{table.num_rows} paragraphs"
    )
    print(f"default config: {DedupConfig()} bands_rows={DedupConfig().bands_rows}")
    print(
        "\nshingle threshold bands×rows | near-identical P R F1 | all-derived P R F1 | "
        "article P R F1"
    )
    default_report = None
    for k in [int(x) for x in args.shingles.split(",")]:
        for t in [float(x) for x in args.thresholds.split(",")]:
            config = DedupConfig(threshold=t, shingle_words=k)
            report = score(docs, find_duplicates(table, config))
            n, a, art = (
                report["paragraph_near_identical"],
                report["paragraph_all"],
                report["article"],
            )
            b, r = config.bands_rows
            print(
                f"{k:>7} {t:>9.2f} {b:>5}×{r:<4} | {n['precision']:.4f} {n['recall']:.4f} "
                f"{n['f1']:.4f} | {a['precision']:.4f} {a['recall']:.4f} {a['f1']:.4f} | "
                f"{art['precision']:.4f} {art['recall']:.4f} {art['f1']:.4f}"
            )
            if config == DedupConfig():
                default_report = report
    if default_report is None:
        default_report = score(docs, find_duplicates(table, DedupConfig()))
    print("\nrecall by edit kind (default config):")
    for kind, recall in default_report["recall_by_edit"].items():
        print(f"  {kind:<40} {recall:.4f}")
    if default_report["fp_examples"]:
        print("\nfalse-positive examples (default config), paragraph vs kept copy:")
        for text, kept in default_report["fp_examples"]:
            print(f"  - {text!r}\n    {kept!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="throughput sizes (paragraphs)")
    parser.add_argument("--thresholds", default="0.5,0.6,0.7,0.8,0.9")
    parser.add_argument("--shingles", default="2,3", help="shingle_words values for the curve")
    parser.add_argument("--reprints", type=float, default=1.0, help="reprints per original")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-curve", action="store_true", help="no threshold curve")
    parser.add_argument("--skip-cases", action="store_true", help="no issue #18 cases")
    parser.add_argument("--with-index", action="store_true", help="also time the index")
    parser.add_argument("--before", type=Path, help="another checkout to time alongside")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-index", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        throughput_child(args.child, args.child_index)
        return 0

    directory = bench_dir()
    if not (directory / "ground-truth").is_dir():
        print(
            f"dedup benchmark skipped: no WCXB data at {directory}/ground-truth "
            f"(set {BENCH_DIR_ENV} to a copy of wcxb-dev-articles)."
        )
        return 0
    originals = load_originals(directory)
    if not args.skip_cases:
        print_cases(originals)
    if not args.skip_curve:
        curve(originals, args)
    if not args.skip_throughput:
        sizes = [int(x) for x in args.sizes.split(",")]
        print("\nthroughput (one CPU, find_duplicates within one run, default config):")
        for r in run_throughput(originals, sizes, args.with_index, args.before):
            line = (
                f"  {Path(r['checkout']).name}: {r['paragraphs']:>9,} paragraphs: "
                f"wall {r['seconds']:.2f} s "
                f"({r['paragraphs_per_s']:,.0f}/s), cpu {r['cpu_seconds']:.2f} s "
                f"({r['paragraphs_per_cpu_s']:,.0f}/s), "
                f"{r['duplicates']:,} duplicates, RSS after input {r['rss_after_input_mb']:.0f}"
                f" MB, peak RSS {r['peak_rss_mb']:.0f} MB"
            )
            if "update_index_seconds" in r:
                line += (
                    f"; update_index {r['update_index_seconds']:.2f} s, 10k run against the "
                    f"index {r['run_10k_against_index_seconds']:.2f} s, peak RSS "
                    f"{r['peak_rss_with_index_mb']:.0f} MB"
                )
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
