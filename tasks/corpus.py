"""Run-wide steps between per-shard cleaning and the tables: repeated inputs and duplicates."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.dedup import (
    DedupConfig,
    IndexDamagedError,
    IndexMismatchError,
    find_duplicates,
    index_status,
    normalise_words,
    rebuild_index,
    update_index,
)
from tasks.files import write_atomically
from tasks.models import BODY, KEPT_LABELS, Article, Paragraph, SkippedInput, article_of
from tasks.reasons import EXACT_DUPLICATE, NEAR_DUPLICATE, REPEATED_IN_ARTICLE, SITE_REPEAT
from tasks.rules import WIRE_PATTERN
from tasks.tables import TIMESTAMP, paragraph_keys, paragraph_values, per_paragraph

DUPLICATE_RULE = NEAR_DUPLICATE.name
EXACT_DUPLICATE_RULE = EXACT_DUPLICATE.name
CONTAINED_RULE = REPEATED_IN_ARTICLE.name
# Within one article a standfirst or lede is often repeated inside a longer paragraph (or a
# pull quote repeats a sentence): Jaccard misses these, containment does. A later paragraph
# is a repeat when this share of the smaller paragraph's shingles occurs in an earlier one.
CONTAINMENT_THRESHOLD = 0.8
CONTAINMENT_MIN_WORDS = 12


def drop_repeated_inputs(articles: Iterable[Article]) -> tuple[list[Article], list[SkippedInput]]:
    """Keep one article per input content (the first source in sort order).

    Returns the articles sorted by ``article_id``, so the output order is independent of
    sharding and of the order inputs were found in.
    """
    kept: dict[str, Article] = {}
    skipped: list[SkippedInput] = []
    for article in sorted(articles, key=lambda a: a.source):
        if article.article_id in kept:
            first = kept[article.article_id].source
            skipped.append(SkippedInput(article.source, f"same content as {first}"))
        else:
            kept[article.article_id] = article
    return sorted(kept.values(), key=lambda a: a.article_id), skipped


# Site chrome that survives per-page cleaning (a site's slogan, a "Sign in" line) repeats on
# many pages of the same site; an article's sentences do not, except in its reprints. So a short
# line is chrome when it is on SITE_REPEAT_MIN_PAGES or more pages of one site that are not
# copies of one article (pages are counted by story: an article and the articles that copy it,
# as deduplication found them, are one story). Short lines only (as many words as
# DedupConfig.scope_max_words): longer shared paragraphs are left to deduplication.
SITE_REPEAT_MIN_PAGES = 3
SITE_REPEAT_MAX_WORDS = 12
SITE_REPEAT_RULE = SITE_REPEAT.name


def site_key(article: Article) -> str:
    """The site a page belongs to: its URL's host, else the folder the input file is in."""
    if article.url:
        host = urlsplit(article.url).hostname
        if host:
            return host.removeprefix("www.")
    return str(Path(article.source.split("#", 1)[0]).parent)


def short_body_lines(paragraphs: Sequence[Paragraph]) -> dict[int, str]:
    """Each short body line's normalised words, by position: what ``mark_site_chrome`` counts.

    One article at a time, so it runs in the clean shards: normalising is most of the cost
    (a minute of serial work in a run of 100,000 pages); counting is a dictionary pass.
    """
    lines: dict[int, str] = {}
    for paragraph in paragraphs:
        if paragraph.label == BODY:
            words = normalise_words(paragraph.text)
            if 0 < len(words) <= SITE_REPEAT_MAX_WORDS:
                lines[paragraph.position] = " ".join(words)
    return lines


def _story(article: Article, copy_of: dict[str, str]) -> str:
    """The first article of the chain of copies ``article`` belongs to (``copy_of`` maps an
    article to the one it copies; an earlier run's article ends the chain)."""
    story, seen = article.article_id, set()
    while story in copy_of and story not in seen:
        seen.add(story)
        story = copy_of[story]
    return story


def mark_site_chrome(articles: Sequence[Article], copy_of: dict[str, str] | None = None) -> int:
    """Relabel short lines found on several stories of the same site as boilerplate.

    Runs after deduplication (``copy_of``: each copied article's original, from
    :func:`copied_article`): a line shared by an article and its reprints counts once, so
    the kept copy keeps it and the reprints keep their ``duplicate`` labels. A chrome line's
    copies are chrome too (their duplicate links are dropped). Reads the lines the clean
    shard recorded in ``Article.short_lines`` and then empties them: they are ~5 KB a page,
    and the run-wide steps after this one set the run's peak.
    """
    copy_of = copy_of or {}
    sites = [site_key(article) for article in articles]
    stories = Counter(
        (site, line)
        for site, line, _ in {
            (site, line, _story(article, copy_of))
            for site, article in zip(sites, articles, strict=True)
            for line in article.short_lines.values()
        }
    )
    marked = 0
    chrome_ids: set[str] = set()
    for site, article in zip(sites, articles, strict=True):
        chrome = {
            position
            for position, line in article.short_lines.items()
            if stories[site, line] >= SITE_REPEAT_MIN_PAGES
        }
        article.short_lines = {}
        if len(chrome) == sum(p.label in (BODY, "duplicate") for p in article.paragraphs):
            continue  # the whole body repeats: a duplicate page, left to deduplication
        for paragraph in article.paragraphs:
            if paragraph.position in chrome:
                chrome_ids.add(article.paragraph_id(paragraph.position))
                paragraph.label, paragraph.reason = "boilerplate", SITE_REPEAT_RULE
                paragraph.duplicate_of = paragraph.cluster_id = None
        marked += len(chrome)
    if chrome_ids:  # a longer near copy of a chrome line is no copy of kept text
        for article in articles:
            for paragraph in article.paragraphs:
                if paragraph.duplicate_of in chrome_ids:
                    paragraph.label, paragraph.reason = "boilerplate", SITE_REPEAT_RULE
                    paragraph.duplicate_of = paragraph.cluster_id = None
                    marked += 1
    return marked


def dedup_input_table(articles: Sequence[Article]) -> pa.Table:
    """The table ``find_duplicates`` reads: kept paragraphs are eligible, the rest are not."""
    keys = paragraph_keys(articles)
    eligible = (p.label in KEPT_LABELS for a in articles for p in a.paragraphs)
    return pa.table(
        {
            **keys,
            "text": paragraph_values(articles, "text", pa.string()),
            "published_at": per_paragraph(
                articles, pa.array([a.published_at for a in articles], TIMESTAMP)
            ),
            "eligible": pa.array(eligible, pa.bool_(), size=len(keys["position"])),
        }
    )


def _shared_strings(column: pa.ChunkedArray) -> list[str | None]:
    """The column's values with one ``str`` per distinct value.

    A cluster's id repeats on every member: one object instead of one per row (a wire story
    reprinted on 140 pages, 140 paragraphs a page, is 19,600 rows and one id).
    """
    encoded = column.combine_chunks().dictionary_encode()
    values = encoded.dictionary.to_pylist()
    return [None if i is None else values[i] for i in encoded.indices.to_pylist()]


def mark_duplicates(
    articles: Sequence[Article], config: DedupConfig, index_dir: Path | None
) -> int:
    """Label every later copy ``duplicate`` with a pointer to the kept copy; return the count.

    Copies across the run (and earlier runs, through ``index_dir``) first, then the repeats
    within each article that the clean shard recorded in ``Article.repeats``, then site chrome
    (:func:`mark_site_chrome`, which needs to know which pages copy which). A new version of
    a page (``Article.earlier_versions``) is published whole: a paragraph is never a copy of
    its own earlier version.
    """
    if not articles:
        return 0
    paragraphs = [p for a in articles for p in a.paragraphs]  # the input table's row order
    owners = [a for a in articles for _ in a.paragraphs]
    result = find_duplicates(dedup_input_table(articles), config, index_dir)
    clustered = pc.or_(
        result.column("cluster_id").is_valid(), result.column("duplicate_of").is_valid()
    )
    rows = pa.array(np.flatnonzero(clustered.to_numpy(zero_copy_only=False)))
    for row, duplicate_of, cluster_id, similarity in zip(
        rows.to_pylist(),
        _shared_strings(result.column("duplicate_of").take(rows)),
        _shared_strings(result.column("cluster_id").take(rows)),
        result.column("similarity").take(rows).to_pylist(),
        strict=True,
    ):
        paragraph = paragraphs[row]
        if duplicate_of is not None:
            if article_of(duplicate_of) in owners[row].earlier_versions:
                continue  # the page's own earlier version: this version is published whole
            paragraph.label = "duplicate"
            paragraph.reason = (
                EXACT_DUPLICATE_RULE if similarity is None or similarity >= 1.0 else DUPLICATE_RULE
            )
            paragraph.duplicate_of = duplicate_of
        paragraph.cluster_id = cluster_id
    for article in articles:
        _mark_repeats(article)
    copy_of = {a.article_id: c for a in articles if (c := copied_article(a)) is not None}
    mark_site_chrome(articles, copy_of)
    _drop_empty_clusters(articles)
    return sum(p.label == "duplicate" for p in paragraphs)


def _drop_empty_clusters(articles: Sequence[Article]) -> None:
    """A kept paragraph is in a cluster only while a paragraph of the run points at it (a
    version's paragraphs and chrome lines stopped pointing)."""
    pointed = {p.duplicate_of for a in articles for p in a.paragraphs}
    for article in articles:
        for paragraph in article.paragraphs:
            if (
                paragraph.duplicate_of is None
                and paragraph.cluster_id is not None
                and paragraph.cluster_id not in pointed
            ):
                paragraph.cluster_id = None


def _shingles(words: list[str], size: int) -> frozenset[tuple[str, ...]]:
    return frozenset(zip(*(words[i:] for i in range(size)), strict=False))


def find_repeats(paragraphs: Sequence[Paragraph], shingle_words: int) -> dict[int, tuple[int, ...]]:
    """Each body paragraph mostly contained in (or containing) earlier title/body paragraphs.

    Maps the paragraph's position to theirs, in order. One article at a time, so it runs in
    the clean shards; which of these repeats are marked depends on the run-wide pass and is
    settled after it (``_mark_repeats``).
    """
    earlier: list[tuple[int, frozenset[tuple[str, ...]]]] = []
    repeats: dict[int, tuple[int, ...]] = {}
    for paragraph in paragraphs:
        if paragraph.label not in KEPT_LABELS:
            continue
        words = normalise_words(paragraph.text)
        if len(words) < CONTAINMENT_MIN_WORDS:
            continue
        shingles = _shingles(words, shingle_words)
        if paragraph.label == BODY and (
            hits := tuple(
                position
                for position, previous in earlier
                if len(shingles & previous)
                >= CONTAINMENT_THRESHOLD * min(len(shingles), len(previous))
            )
        ):
            repeats[paragraph.position] = hits
        earlier.append((paragraph.position, shingles))
    return repeats


def _mark_repeats(article: Article) -> int:
    """Mark the body paragraphs ``find_repeats`` found, once the run-wide pass has run.

    A paragraph still body after that pass repeats the first earlier paragraph that was body
    before it (kept, or marked a duplicate by that pass; titles repeat exactly and are left to
    that pass) and points at that paragraph's kept copy.
    """
    if not article.repeats:
        return 0
    at = {p.position: p for p in article.paragraphs}
    was_body = {
        position
        for position, p in at.items()
        if p.label == BODY or p.reason in (DUPLICATE_RULE, EXACT_DUPLICATE_RULE)
    }
    marked = 0
    for position in sorted(article.repeats):
        paragraph = at[position]
        earlier = next((q for q in article.repeats[position] if q in was_body), None)
        if paragraph.label != BODY or earlier is None:
            continue
        previous = at[earlier]
        root = previous.duplicate_of or article.paragraph_id(previous.position)
        previous.cluster_id = previous.cluster_id or root
        paragraph.label, paragraph.reason = "duplicate", CONTAINED_RULE
        paragraph.duplicate_of = paragraph.cluster_id = root
        marked += 1
    return marked


# An article is a copy of another when more than this share of its body words (kept body
# plus paragraphs removed as duplicates) are duplicates of paragraphs of that one article
# (the share the dedup scope rule uses too).
ARTICLE_COPY_SHARE = DedupConfig.copy_share


def copied_article(article: Article) -> str | None:
    """The article ``article`` copies: more than ``ARTICLE_COPY_SHARE`` of its body words
    (kept body plus duplicates) are in duplicates of that one article's paragraphs."""
    words_from: Counter[str] = Counter()
    total = 0
    for paragraph in article.paragraphs:
        if paragraph.label not in (BODY, "duplicate"):
            continue
        words = len(paragraph.text.split())
        total += words
        if paragraph.duplicate_of is not None:
            words_from[article_of(paragraph.duplicate_of)] += words
    words_from.pop(article.article_id, None)
    if words_from:
        source, words = min(words_from.items(), key=lambda item: (-item[1], item[0]))
        if words > ARTICLE_COPY_SHARE * total:
            return source
    return None


def link_articles(articles: Sequence[Article], published_credits: dict[str, list[str]]) -> None:
    """Set ``duplicate_of_article`` and ``syndication_source`` from clusters and credits.

    The syndication source is the article's own first wire credit or, for a copy, the credit
    of the article it copies (from this run or, via ``published_credits``, an earlier one).
    """
    credits = {a.article_id: a.credits for a in articles} | published_credits
    for article in articles:
        article.duplicate_of_article = copied_article(article)
    for article in articles:
        wires = [c for c in article.credits if WIRE_PATTERN.match(c)]
        if not wires and article.duplicate_of_article:
            wires = [
                c for c in credits.get(article.duplicate_of_article, []) if WIRE_PATTERN.match(c)
            ]
        article.syndication_source = wires[0] if wires else None


# --- the persistent dedup index, kept in step with what is published -----------------------

INDEX_RUNS_FILE = "runs.json"


def _published_runs(output: Path) -> list[str]:
    return sorted(
        p.stem.removeprefix("part-") for p in (output / "paragraphs").glob("part-*.parquet")
    )


def _recorded_runs(state_dir: Path) -> list[str] | None:
    try:
        runs: list[str] = json.loads((state_dir / INDEX_RUNS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return runs


def _record_runs(state_dir: Path, runs: list[str]) -> None:
    write_atomically(state_dir / INDEX_RUNS_FILE, json.dumps(sorted(runs)).encode("utf-8"))


def index_records(paragraphs: pa.Table | str, articles: pa.Table | str) -> pa.Table:
    """The kept paragraph rows as the dedup index reads them; tables or Parquet globs."""
    import duckdb  # here, as in tasks.dedup: the clean shards import this module (find_repeats)

    with duckdb.connect() as con:
        for name, source in (("paragraphs", paragraphs), ("articles", articles)):
            if isinstance(source, str):
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{source}')")
            else:
                con.register(name, source)
        return con.sql(
            "SELECT p.paragraph_id, p.article_id, p.position, p.text, a.published_at, "
            "p.label IN ('title', 'body') AS eligible, p.duplicate_of "
            "FROM paragraphs p JOIN articles a USING (article_id) "
            # Only what the index keeps (``_kept_records``): the texts of copies and chrome
            # need not be copied out (at 100k pages the whole table peaked at ~11 GB).
            "WHERE p.label IN ('title', 'body') AND p.duplicate_of IS NULL "
            "ORDER BY p.paragraph_id"
        ).to_arrow_table()


def sync_dedup_index(output: Path, state_dir: Path, config: DedupConfig) -> str:
    """Make the index cover exactly the published runs; rebuild it when it does not.

    A missing, damaged, stale (a run published but not recorded, e.g. killed in between) or
    differently configured index is rebuilt from the published Parquet, never ignored.
    Returns what was done, for the run report (``"new"`` on a first run).
    """
    index_dir = state_dir / "index"
    published = _published_runs(output)
    try:
        status = index_status(index_dir, config)
        if status == "ok" and _recorded_runs(state_dir) != published:
            status = "stale"
    except IndexMismatchError as error:
        status = f"settings changed: {error}"
    except IndexDamagedError as error:
        status = f"damaged: {error}"
    if status == "ok":
        return status
    if status == "missing" and not published:
        return "new"  # a first run: nothing to index yet
    records = index_records(f"{output}/paragraphs/*.parquet", f"{output}/articles/*.parquet")
    rebuild_index(index_dir, records, config)
    _record_runs(state_dir, published)
    return f"rebuilt ({status})"


def record_published_run(
    state_dir: Path, run_id: str, tables: dict[str, pa.Table], config: DedupConfig
) -> None:
    """Add a just-published run's kept paragraphs to the index (idempotent).

    A run that published no paragraphs leaves no Parquet part, so it is not recorded either:
    the recorded runs must equal the published parts or the next run rebuilds the index.
    """
    if tables["paragraphs"].num_rows == 0:
        return
    records = index_records(tables["paragraphs"], tables["articles"])
    update_index(state_dir / "index", records, config)
    _record_runs(state_dir, [*(_recorded_runs(state_dir) or []), run_id])


# --- versions of one URL ------------------------------------------------------------------


def version_key(url: str) -> str:
    """A URL as versions compare it: host lower-cased without ``www.``, http and https alike,
    no fragment, no trailing slash (query kept: it can name another page)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").removeprefix("www.")
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{port}{parts.path.rstrip('/')}{query}"


_NO_DATE = datetime.min.replace(tzinfo=UTC)


def assign_versions(articles: Sequence[Article], published: pa.Table | None) -> None:
    """Number the versions of each URL: an article whose URL an earlier article has (this run
    or, through ``published``: ``article_id``, ``url``, ``version``, an earlier one) is its
    next version. Identical inputs never get here (they are skipped as repeated inputs).

    In a run, versions follow dedup's canonical order (``published_at``, nulls last, then
    ``article_id``), so the numbering does not depend on sharding. Sets ``supersedes``
    (the previous version), ``version`` and ``earlier_versions`` (all of them, whose copies
    ``mark_duplicates`` leaves in place).
    """
    by_key: dict[str, list[Article]] = {}
    for article in articles:
        if article.url:
            by_key.setdefault(version_key(article.url), []).append(article)
    earlier: dict[str, list[tuple[int, str]]] = {}
    if published is not None and by_key and published.num_rows:
        for url, article_id, version in zip(
            published.column("url").to_pylist(),
            published.column("article_id").to_pylist(),
            published.column("version").to_pylist(),
            strict=True,
        ):
            if url and (key := version_key(url)) in by_key:
                earlier.setdefault(key, []).append((version or 1, article_id))
    for key, group in by_key.items():
        group.sort(key=lambda a: (a.published_at is None, a.published_at or _NO_DATE, a.article_id))
        chain = sorted(earlier.get(key, []))
        ids = [article_id for _, article_id in chain]
        number, previous = chain[-1] if chain else (0, None)
        for article in group:
            number += 1
            article.version, article.supersedes = number, previous
            article.earlier_versions = frozenset(ids)
            ids.append(article.article_id)
            previous = article.article_id
