"""A corpus that looks like a crawl: dev pages with their words perturbed, a minority reprinted.

:mod:`benchmarks.corpus` copies the dev pages whole, so every paragraph of a copy is an exact
reprint that hashing groups cheaply, and copies of a page share its URL, so the versions step
takes them for versions of one article. A real crawl's paragraphs are mostly unique, with a
minority of near copies (wire stories, syndication) — the case that fills LSH buckets. Page
``i`` of an N-page crawl corpus is, seeded by ``i`` (deterministic, same bytes every build):

* **fresh** (share ``1 - REPRINT_SHARE``): dev page ``i mod P`` (P = the WCXB and
  trafilatura-eval dev pages, 1,169) with every text node of ``MIN_WORDS`` or more words
  rewritten: its sentences shuffled and ``FRESH_RATE`` of its words replaced by other words
  of the same page. Two fresh copies of one dev page share few word pairs (Jaccard of the
  2-word shingles about 0.1), so they are not near copies of each other;
* **reprint** (share ``REPRINT_SHARE``): a fresh page ``j < i`` again, each text node left
  exact (share ``REPRINT_EXACT``) or lightly edited (one pair of adjacent sentences swapped
  at most and ``REPRINT_RATE`` of its words replaced, one at least: Jaccard about 0.8 for a
  paragraph of 20 words or more, above dedup's 0.7; a short one edited becomes unique).

Every page gets its own URL (``?crawl=i`` on ``og:url`` and the canonical link), so no two
are versions of one article. About twice ``REPRINT_SHARE`` of the paragraphs then have a copy
(the reprint and its original), most of them near, some exact; :func:`dedup_shares` measures
what dedup found in a run's output. Short text nodes (menus, bylines, "Share") stay as they
are, as a site's chrome does.

:func:`stage_crawl_copies` does the like to already cleaned paragraphs in DuckDB, for
:mod:`benchmarks.runwide`'s sizes (up to a million pages) that are too many to clean: there a
fresh copy's words all change (a letter substitution per copy, the one rewrite fast enough
in SQL) and a reprint's paragraphs are exact or have their first two words swapped.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import shutil
from pathlib import Path

import duckdb
import lxml.html

from benchmarks.corpus import COMPLETE, Corpus
from benchmarks.wcxb import BenchDataMissing, bench_root

REPRINT_SHARE = 0.15  # pages that reprint an earlier page of the corpus
REPRINT_EXACT = 0.1  # a reprint's text nodes left exactly as the original's
REPRINT_RATE = 0.04  # words replaced in a reprint's other text nodes (Jaccard about 0.8)
FRESH_RATE = 0.4  # words replaced in a fresh copy's text nodes (Jaccard about 0.1)
MIN_WORDS = 4  # shorter text nodes (menus, bylines, buttons) stay as they are
DEV_SETS = ("wcxb-dev-articles", "trafilatura-eval-dev")
SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "title"})
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_WORDS = re.compile(r"(\s+)")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # lxml refuses them in text


def dev_pages(root: Path | None = None) -> list[bytes]:
    """The WCXB and trafilatura-eval dev pages, set by set in file order."""
    pages: list[bytes] = []
    for name in DEV_SETS:
        folder = (root or bench_root()) / name / "html"
        pages += [gzip.decompress(p.read_bytes()) for p in sorted(folder.glob("*.html.gz"))]
    if not pages:
        raise BenchDataMissing(
            f"no dev pages under {root or bench_root()}/{{{','.join(DEV_SETS)}}}/html: the crawl "
            f"corpus needs ../shared/bench (or NEWSCLEAN_BENCH_ROOT pointing at a copy)"
        )
    return pages


def page_plan(i: int, pool: int) -> tuple[int, int | None]:
    """Page ``i``: ``(fresh page number, None)`` for a fresh page, ``(j, j)`` for a reprint
    of the earlier fresh page ``j``."""
    rng = random.Random(f"crawl-page:{i}")
    if i > 0 and rng.random() < REPRINT_SHARE:
        j = rng.randrange(i)
        while page_plan(j, pool)[1] is not None:  # a reprint of a reprint: its original
            j = page_plan(j, pool)[0]
        return j, j
    return i, None


def rewrite(
    text: str, rng: random.Random, rate: float, vocabulary: list[str], shuffle: bool
) -> str:
    """``text`` with its sentences shuffled (or one adjacent pair swapped) and ``rate`` of its
    words replaced by words of ``vocabulary``; whitespace kept."""
    sentences = _SENTENCE_END.split(text)
    if shuffle:
        rng.shuffle(sentences)
    elif len(sentences) > 1 and rng.random() < 0.5:
        k = rng.randrange(len(sentences) - 1)
        sentences[k], sentences[k + 1] = sentences[k + 1], sentences[k]
    parts = _WORDS.split(" ".join(sentences))
    words = [n for n, part in enumerate(parts) if part and not part.isspace()]
    chosen = [n for n in words if rng.random() < rate] or [rng.choice(words)]  # one at least
    for n in chosen:
        parts[n] = rng.choice(vocabulary)
    return "".join(parts)


def _text_slots(root: lxml.html.HtmlElement) -> list[tuple[lxml.html.HtmlElement, str]]:
    """Every (element, "text" | "tail") that holds page text long enough to perturb."""
    slots = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag not in SKIPPED_TAGS and len((element.text or "").split()) >= MIN_WORDS:
            slots.append((element, "text"))
        parent = element.getparent()
        skipped = parent is not None and parent.tag in SKIPPED_TAGS
        if not skipped and len((element.tail or "").split()) >= MIN_WORDS:
            slots.append((element, "tail"))
    return slots


def _perturbed(page: bytes, seed: str, rate: float, exact: float, shuffle: bool) -> bytes:
    """``page`` with its long text nodes rewritten (seeded by ``seed`` and the node's text, so
    repeats within a page stay repeats) and a share ``exact`` of them left alone."""
    root = lxml.html.document_fromstring(page)
    slots = _text_slots(root)
    vocabulary = [w for e, side in slots for w in (getattr(e, side) or "").split()]
    for element, side in slots:
        text = getattr(element, side)
        rng = random.Random(f"{seed}:{text}")
        if rng.random() >= exact:
            rewritten = _CONTROL.sub("", rewrite(text, rng, rate, vocabulary, shuffle))
            setattr(element, side, rewritten)
    encoding = root.getroottree().docinfo.encoding or "utf-8"
    try:
        return lxml.html.tostring(root, encoding=encoding, doctype="<!DOCTYPE html>")
    except LookupError:
        return lxml.html.tostring(root, encoding="utf-8", doctype="<!DOCTYPE html>")


def _own_url(root: lxml.html.HtmlElement, i: int) -> None:
    """``?crawl=i`` on the page's ``og:url`` and canonical link: no two pages are versions."""
    for meta in root.xpath("//meta[@property='og:url' or @name='og:url'][@content]"):
        meta.set("content", _with_query(meta.get("content"), i))
    for link in root.xpath("//link[@rel='canonical'][@href]"):
        link.set("href", _with_query(link.get("href"), i))


def _with_query(url: str, i: int) -> str:
    return f"{url}{'&' if '?' in url else '?'}crawl={i}"


def crawl_page(i: int, pages: list[bytes]) -> bytes:
    """Page ``i`` of the crawl corpus over the dev ``pages`` (see the module's docstring)."""
    fresh, original = page_plan(i, len(pages))
    data = _perturbed(pages[fresh % len(pages)], f"fresh:{fresh}", FRESH_RATE, 0.0, True)
    if original is not None:
        data = _perturbed(data, f"reprint:{i}", REPRINT_RATE, REPRINT_EXACT, False)
    root = lxml.html.document_fromstring(data)
    _own_url(root, i)
    encoding = root.getroottree().docinfo.encoding or "utf-8"
    try:
        return lxml.html.tostring(root, encoding=encoding, doctype="<!DOCTYPE html>")
    except LookupError:
        return lxml.html.tostring(root, encoding="utf-8", doctype="<!DOCTYPE html>")


def build_crawl_corpus(n: int, root: Path, bench: Path | None = None) -> Corpus:
    """``root/crawl-<n>/`` with ``n`` HTML files (1,000 per subfolder), built unless present."""
    directory = root / f"crawl-{n}"
    marker = directory / COMPLETE
    if marker.is_file():
        info = json.loads(marker.read_text(encoding="utf-8"))
        return Corpus(directory, info["pages"], info["bytes"])
    pages = dev_pages(bench)
    shutil.rmtree(directory, ignore_errors=True)
    total = 0
    for i in range(n):
        data = crawl_page(i, pages)
        path = directory / f"{i // 1000:04d}" / f"{i:07d}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)
    marker.write_text(json.dumps({"pages": n, "bytes": total}), encoding="utf-8")
    return Corpus(directory, n, total)


def dedup_shares(paragraphs: str) -> dict[str, float]:
    """What dedup found in a run's ``paragraphs`` (a glob): of the paragraphs dedup looked at
    (those still title/body, and those dedup, repeats or site chrome removed), the share it
    removed and the shares with an exact / a near copy (the removed ones and the kept
    paragraphs they name)."""
    con = duckdb.connect()
    con.execute(
        f"CREATE TEMP TABLE p AS SELECT paragraph_id, reason, duplicate_of "
        f"FROM read_parquet('{paragraphs}') WHERE label IN ('title', 'body') OR reason IN "
        f"('exact_duplicate', 'near_duplicate', 'repeated_in_article', 'site_repeat')"
    )

    def share(sql: str) -> float:
        ((count,),) = con.execute(sql).fetchall()
        return float(count) / max(total, 1)

    ((total,),) = con.execute("SELECT count(*) FROM p").fetchall()
    shares = {
        "removed": share("SELECT count(*) FROM p WHERE reason LIKE '%_duplicate'"),
        **{
            f"{kind}_copy": share(
                f"SELECT count(DISTINCT id) FROM (SELECT paragraph_id AS id FROM p WHERE "
                f"reason = '{kind}_duplicate' UNION ALL SELECT duplicate_of FROM p "
                f"WHERE reason = '{kind}_duplicate')"
            )
            for kind in ("exact", "near")
        },
    }
    con.close()
    return {"paragraphs": float(total), **shares}


def format_shares(shares: dict[str, float]) -> str:
    return (
        f"dedup looked at {shares['paragraphs']:,.0f} paragraphs: removed "
        f"{shares['removed']:.1%}; with an exact copy {shares['exact_copy']:.1%}, "
        f"with a near copy {shares['near_copy']:.1%}"
    )


# --- the same, on cleaned paragraphs in DuckDB (benchmarks.runwide) ------------------------

# Replacing words one by one in SQL costs minutes a copy of the dev set (a million pages are
# 1,400 copies), so a fresh copy's paragraphs get a letter substitution of their own instead:
# every word changes (Jaccard with other copies about 0), in one vectorised ``translate``.
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _cipher(copy: int) -> str:
    """Copy ``copy``'s substitution of ``LETTERS`` (lower to lower, upper to upper)."""
    rng = random.Random(f"crawl-cipher:{copy}")
    lower = list(LETTERS[:26])
    rng.shuffle(lower)
    return "".join(lower) + "".join(lower).upper()


def stage_crawl_copies(base: Path, n: int, shards_dir: Path) -> int:
    """Stage ``n`` articles as shards from one cleaned shard of the dev pages, as
    :func:`benchmarks.runwide.stage_copies` does, but crawl-like: copy ``k`` of an article gets
    a new id, source and URL (``?crawl=k``), and its paragraphs of ``MIN_WORDS`` or more words
    the letter substitution of copy ``k``. In odd copies, ``2 * REPRINT_SHARE`` of the
    articles instead reprint the article's previous copy: its text, each paragraph left exact
    (``REPRINT_EXACT``) or lightly edited (its first two words swapped: Jaccard
    (w - 3) / (w + 1) for w words, at least 0.7 from 13 words). A rewritten short body line
    loses its ``short_line`` (it no longer repeats on its site). Returns the shards (one a
    copy)."""
    con = duckdb.connect()
    ((per_copy,),) = con.execute(
        f"SELECT count(*) FROM read_parquet('{base}/articles.parquet')"
    ).fetchall()
    copies = -(-n // per_copy)
    reprint = round(2 * REPRINT_SHARE * 1000)
    exact = round(REPRINT_EXACT * 1000)
    for k in range(copies):
        take = min(per_copy, n - k * per_copy)
        folder = shards_dir / f"{k:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE ids AS SELECT article_id AS old, "
            f"sha256(input_sha256 || ':crawl:{k}')[:16] AS new, source, "
            f"{k} % 2 = 1 AND hash(article_id, 'reprint', {k}) % 1000 < {reprint} AS reprint "
            f"FROM read_parquet('{base}/articles.parquet') ORDER BY source LIMIT {take}"
        )
        con.execute(
            f"COPY (SELECT * REPLACE (i.new AS article_id, a.source || '#crawl{k}' AS source, "
            f"sha256(a.input_sha256 || ':crawl:{k}') AS input_sha256, "
            f"a.url || '?crawl={k}' AS url, a.version_key || '?crawl={k}' AS version_key) "
            f"FROM read_parquet('{base}/articles.parquet') a "
            f"JOIN ids i ON i.old = a.article_id AND i.source = a.source) "
            f"TO '{folder}/articles.parquet' (FORMAT parquet, COMPRESSION zstd)"
        )
        fresh = f"translate(p.text, '{LETTERS}', '{_cipher(k)}')"
        previous = f"translate(p.text, '{LETTERS}', '{_cipher(k - 1)}')"
        edited = (
            f"CASE WHEN hash({k}, p.paragraph_id) % 1000 < {exact} THEN {previous} "
            f"ELSE regexp_replace({previous}, '^(\\S+)(\\s+)(\\S+)', '\\3\\2\\1') END"
        )
        text = (
            f"CASE WHEN p.words < {MIN_WORDS} THEN p.text WHEN i.reprint THEN {edited} "
            f"ELSE {fresh} END"
        )
        con.execute(
            f"COPY (SELECT * REPLACE (i.new AS article_id, "
            f"i.new || '-' || lpad(p.position::VARCHAR, 5, '0') AS paragraph_id, "
            f"t.text AS text, CASE WHEN t.text = p.text THEN p.short_line END AS short_line) "
            f"FROM read_parquet('{base}/paragraphs.parquet') p "
            f"JOIN (SELECT DISTINCT old, new, reprint FROM ids) i ON i.old = p.article_id, "
            f"LATERAL (SELECT {text} AS text) t) "
            f"TO '{folder}/paragraphs.parquet' (FORMAT parquet, COMPRESSION zstd)"
        )
        for name in ("quarantine", "skipped"):
            if (base / f"{name}.parquet").is_file():
                shutil.copy(base / f"{name}.parquet", folder / f"{name}.parquet")
    con.close()
    return copies
