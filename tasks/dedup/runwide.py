"""The run-wide steps, out of core: from the shards' staged Parquet to the run's three tables.

Shards write their rows (:mod:`tasks.clean.staging`); these steps read them with DuckDB, keep the
state they change (a label, reason and links per paragraph, no text) in a DuckDB database
file in the staging folder, with a memory limit and spilling to disk, and stream the final
tables out in sorted batches. Nothing here holds a run's articles as Python objects; what
stays in memory is the dedup's numpy arrays (:func:`tasks.dedup.near_duplicates.find_duplicates`, a
few
dozen bytes per kept paragraph) and per-article maps for the articles that copy others.

In order (each a method of :class:`RunWide`, each with its :class:`~tasks.stats.StepStats`):

1. **repeated inputs**: one article per content, the first input by source;
2. **versions**: the articles of one URL numbered in crawl order after earlier runs' versions;
3. **deduplicate**: exact and near copies across the run and the index of earlier runs, a
   new version never a copy of its own earlier versions; within an article only copies of
   its head (title, dateline, standfirst: :meth:`RunWide.structure_copies`), then the
   repeats within an article (a pull quote);
4. **site chrome**: short lines on several stories of one site (a story is an article and the
   articles that copy it);
5. **article links**: the article each one copies and its syndication source;
6. **tables**: articles, paragraphs and quarantine rows in id order.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from tasks.clean.rules import WIRE_PATTERN
from tasks.clean.staging import (
    SHARD_ARTICLES_SCHEMA,
    SHARD_PARAGRAPHS_SCHEMA,
    SHARD_QUARANTINE_SCHEMA,
    SHARD_SKIPPED_SCHEMA,
    shard_tables,
    version_key,
)
from tasks.config import DEFAULTS, CleanConfig, PipelineConfig
from tasks.dedup.candidates import find_staged_duplicates
from tasks.dedup.near_duplicates import DedupConfig
from tasks.extract.metadata import word_count
from tasks.models import (
    BODY,
    KEPT_LABELS,
    REMOVED_LABELS,
    Article,
    QuarantineRecord,
    SkippedInput,
)
from tasks.output.publish import staging_dir, write_staged, write_staged_table
from tasks.output.tables import (
    ARTICLES_SCHEMA,
    PARAGRAPHS_SCHEMA,
    PUBLISHED_ARTICLE_KEYS,
    QUARANTINE_SCHEMA,
    REMOVED_COUNT_COLUMNS,
    content_hash,
)
from tasks.reasons import EXACT_DUPLICATE, NEAR_DUPLICATE, REPEATED_IN_ARTICLE, SITE_REPEAT
from tasks.stats import StepStats, Unit

DUPLICATE_RULE = NEAR_DUPLICATE.name
EXACT_DUPLICATE_RULE = EXACT_DUPLICATE.name
CONTAINED_RULE = REPEATED_IN_ARTICLE.name
SITE_REPEAT_RULE = SITE_REPEAT.name
# DuckDB's memory for the run-wide queries; beyond it they spill to the staging folder.
MEMORY_LIMIT = "512MB"
# Rows per batch streamed out of DuckDB into the tables and per article batch.
BATCH_ROWS = 50_000
ARTICLE_BATCH_ROWS = 5_000
_ARTICLE_OF = "regexp_replace({}, '-[0-9]+$', '')"  # tasks.models.article_of, in SQL
_KEPT = "('title', 'body')"
SHARDS = "shards"  # the shards' folders, inside the run's staging folder
# The order of the versions of one URL in a run (``RunWide.number_versions``), in SQL over
# ``kept_articles``: fetched, then published, then the input's path and WARC offset.
VERSION_ORDER = (
    "fetched_at NULLS LAST, published_at NULLS LAST, "
    "regexp_replace(source, '#[0-9]+$', ''), "
    "TRY_CAST(regexp_extract(source, '#([0-9]+)$', 1) AS BIGINT) NULLS FIRST, source"
)
_PAIRS_SCHEMA = pa.schema([("article_id", pa.string()), ("earlier_id", pa.string())])


@dataclass(frozen=True, slots=True)
class Sources:
    """Where the staged rows are: Parquet globs, or Arrow tables (tests, small callers)."""

    articles: str | pa.Table
    paragraphs: str | pa.Table
    quarantine: str | pa.Table
    skipped: str | pa.Table


def shard_sources(shards_dir: Path) -> Sources:
    """The staged files of every shard under ``shards_dir`` (``<n>/<table>.parquet``)."""
    tables: dict[str, str | pa.Table] = {}
    for name, schema in (
        ("articles", SHARD_ARTICLES_SCHEMA),
        ("paragraphs", SHARD_PARAGRAPHS_SCHEMA),
        ("quarantine", SHARD_QUARANTINE_SCHEMA),
        ("skipped", SHARD_SKIPPED_SCHEMA),
    ):
        found = any(shards_dir.glob(f"*/{name}.parquet"))
        tables[name] = f"{shards_dir}/*/{name}.parquet" if found else schema.empty_table()
    return Sources(**tables)


class RunWide:
    """The run-wide steps over one run's staged shards; state in ``workdir/runwide.duckdb``."""

    def __init__(
        self,
        sources: Sources,
        workdir: Path,
        config: DedupConfig,
        published_articles: pa.Table | None = None,
        clean: CleanConfig = DEFAULTS.clean,
        memory_limit: str = MEMORY_LIMIT,
    ) -> None:
        self.config = config
        self.site_repeat_min_pages = clean.site_repeat_min_pages
        self.head_prose_words = clean.head_prose_words
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        database = workdir / "runwide.duckdb"
        database.unlink(missing_ok=True)
        self.con = duckdb.connect(str(database))
        spill = workdir / "spill"
        self.con.execute(f"SET temp_directory = '{spill}'")
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        # Order comes from ORDER BY where it matters; elsewhere DuckDB may stream.
        self.con.execute("SET preserve_insertion_order = false")
        self.con.create_function(
            "version_key", version_key, [duckdb.sqltypes.VARCHAR], duckdb.sqltypes.VARCHAR
        )
        self._view("shard_articles", sources.articles, shard=True)
        self._view("shard_paragraphs", sources.paragraphs, shard=True)
        self._view("shard_quarantine", sources.quarantine)
        self._view("shard_skipped", sources.skipped)
        if published_articles is None:
            published_articles = PUBLISHED_ARTICLE_KEYS.empty_table()
        self._view("published_articles", published_articles)
        self.stats: dict[str, StepStats] = {}

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.workdir, ignore_errors=True)  # its database and what it spilled

    def __enter__(self) -> RunWide:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _view(self, name: str, source: str | pa.Table, shard: bool = False) -> None:
        """A view of staged rows; ``shard`` adds the folder each row's file is in."""
        if isinstance(source, pa.Table):  # copied in: the cursors of this database see it
            self.con.register(f"{name}_arrow", source)
            extra = ", '' AS shard" if shard else ""
            self.con.execute(f"CREATE TABLE {name} AS SELECT *{extra} FROM {name}_arrow")
            self.con.unregister(f"{name}_arrow")
            return
        if shard:
            self.con.execute(
                f"CREATE VIEW {name} AS SELECT * EXCLUDE (filename), "
                f"regexp_replace(filename, '/[^/]*$', '') AS shard "
                f"FROM read_parquet('{source}', filename = true)"
            )
        else:
            self.con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{source}')")

    def _step(self, name: str, unit: Unit) -> StepStats:
        return self.stats.setdefault(name, StepStats(name, unit))

    def _arrow(self, query: str, params: Sequence[Any] | None = None) -> pa.Table:
        return self.con.sql(query, params=params).to_arrow_table()

    # --- 1. repeated inputs ------------------------------------------------------------

    def keep_first_inputs(self) -> list[SkippedInput]:
        """One article per content: the first input by source; the others are skipped."""
        stats = self._step("repeated_inputs", Unit.ARTICLES)
        with stats.timed():
            self.con.execute(
                "CREATE TABLE ranked AS SELECT article_id, source, shard, has_paragraphs, "
                "row_number() OVER (PARTITION BY article_id ORDER BY source) AS n, "
                "first_value(source) OVER (PARTITION BY article_id ORDER BY source) AS first "
                "FROM shard_articles"
            )
            self.con.execute(
                "CREATE TABLE kept AS SELECT article_id, source, shard FROM ranked WHERE n = 1"
            )
            self.con.execute(
                "CREATE VIEW kept_articles AS SELECT a.* FROM shard_articles a "
                "JOIN kept k USING (article_id, source)"
            )
            self.con.execute(
                "CREATE VIEW kept_paragraphs AS SELECT p.* FROM shard_paragraphs p "
                "JOIN kept k USING (article_id, shard)"
            )
            repeated = self.con.execute(
                "SELECT source, first FROM ranked WHERE n > 1 ORDER BY source"
            ).fetchall()
            kept = self._count("SELECT count(*) FROM kept")
        stats.keep(kept)
        stats.drop("same_content", len(repeated))
        return [SkippedInput(source, f"same content as {first}") for source, first in repeated]

    # --- 2. versions --------------------------------------------------------------------

    def number_versions(self) -> None:
        """Number the versions of each URL in crawl order after those published by earlier
        runs (a later run's page is a later version), and record for each version every other
        version of its URL, so that none is published as a copy of another.

        Crawl order (:data:`VERSION_ORDER`): when the page was fetched (``fetched_at``, the
        WARC-Date; files have none and come after), then when it says it was published, then
        where it is in the input (path, then WARC offset: a crawler appends). Never by
        ``article_id``, a hash: the stale crawl would be the latest about half the time. (The
        page's declared modification time is not read by the metadata step, so it is no key.)
        """
        stats = self._step("versions", Unit.ARTICLES)
        with stats.timed():
            run = self.con.execute(
                "SELECT version_key, article_id FROM kept_articles "
                "WHERE version_key IS NOT NULL AND version_key IN ("
                "  SELECT version_key FROM kept_articles GROUP BY version_key "
                "  HAVING count(*) > 1 UNION ALL SELECT version_key(url) FROM published_articles"
                "  WHERE url IS NOT NULL) "
                f"ORDER BY version_key, {VERSION_ORDER}"
            ).fetchall()
            keys = {key for key, _ in run}
            earlier: dict[str, list[tuple[int, str]]] = {}
            if keys:
                self.con.register("run_keys", pa.table({"k": pa.array(sorted(keys))}))
                for key, article_id, number in self.con.execute(
                    "SELECT version_key(url), article_id, coalesce(version, 1) "
                    "FROM published_articles WHERE url IS NOT NULL "
                    "AND version_key(url) IN (SELECT k FROM run_keys)"
                ).fetchall():
                    earlier.setdefault(key, []).append((number, article_id))
            in_run: dict[str, list[str]] = {}
            for key, article_id in run:
                in_run.setdefault(key, []).append(article_id)
            ids: list[str] = []
            versions: list[int] = []
            supersedes: list[str | None] = []
            pairs: dict[str, list[str]] = {"article_id": [], "earlier_id": []}
            for key, members in in_run.items():
                published = sorted(earlier.get(key, []))
                number, previous = published[-1] if published else (0, None)
                published_ids = [i for _, i in published]
                for article_id in members:
                    number += 1
                    ids.append(article_id)
                    versions.append(number)
                    supersedes.append(previous)
                    previous = article_id
                    others = [*published_ids, *(i for i in members if i != article_id)]
                    pairs["article_id"].extend([article_id] * len(others))
                    pairs["earlier_id"].extend(others)
            self.con.register(
                "versions_arrow",
                pa.table(
                    {
                        "article_id": pa.array(ids, pa.string()),
                        "version": pa.array(versions, pa.int32()),
                        "supersedes": pa.array(supersedes, pa.string()),
                    }
                ),
            )
            self.con.execute("CREATE TABLE versions AS SELECT * FROM versions_arrow")
            # ``earlier_id``: another version of the article's URL (earlier or, in this run,
            # later): dedup never marks a paragraph a copy of one (step 3).
            self.con.register("earlier_arrow", pa.table(pairs, schema=_PAIRS_SCHEMA))
            self.con.execute("CREATE TABLE earlier AS SELECT DISTINCT * FROM earlier_arrow")
        stats.keep(self.article_count())

    # --- 3. deduplicate -----------------------------------------------------------------

    def deduplicate(self, index_dir: Path | None) -> None:
        """Copies across the run and earlier runs (``index_dir``), then repeats within
        articles. Fills the ``para`` table: every kept article's paragraphs, without text."""
        stats = self._step("deduplicate", Unit.PARAGRAPHS)
        with stats.timed():
            dups = self._find_duplicates(index_dir)
            self.con.register("dups_arrow", dups)
            self.con.execute("CREATE TABLE dups AS SELECT * FROM dups_arrow")
            self.con.unregister("dups_arrow")
            del dups
            self.structure_copies()
            article_of = _ARTICLE_OF.format("d.duplicate_of")
            self.con.execute(
                f"""
                CREATE TABLE para AS
                WITH j AS (
                    SELECT p.paragraph_id, p.article_id, p.position, p.words, p.label,
                           p.reason, p.repeats, d.duplicate_of, d.cluster_id, d.similarity,
                           e.earlier_id IS NOT NULL OR s.paragraph_id IS NOT NULL AS own_version
                    FROM kept_paragraphs p
                    LEFT JOIN dups d USING (paragraph_id)
                    LEFT JOIN earlier e
                      ON e.article_id = p.article_id AND e.earlier_id = {article_of}
                    LEFT JOIN structure s USING (paragraph_id))
                SELECT paragraph_id, article_id, position, words, repeats,
                    CASE WHEN duplicate_of IS NOT NULL AND NOT own_version
                         THEN 'duplicate' ELSE label END AS label,
                    CASE WHEN duplicate_of IS NOT NULL AND NOT own_version
                         THEN CASE WHEN similarity IS NULL OR similarity >= 1.0
                                   THEN '{EXACT_DUPLICATE_RULE}' ELSE '{DUPLICATE_RULE}' END
                         ELSE reason END AS reason,
                    CASE WHEN own_version THEN NULL ELSE duplicate_of END AS duplicate_of,
                    CASE WHEN own_version THEN NULL ELSE cluster_id END AS cluster_id
                FROM j
                """
            )
            self.con.execute("DROP TABLE dups")
            self.con.execute("DROP TABLE structure")
            self.mark_repeats()
            by_reason = self.con.execute(
                "SELECT reason, count(*) FROM para WHERE label = 'duplicate' GROUP BY reason "
                "ORDER BY reason"
            ).fetchall()
            total = self._count("SELECT count(*) FROM para")
        stats.keep(total - sum(n for _, n in by_reason))
        for reason, n in by_reason:
            stats.drop(reason, n)

    def structure_copies(self) -> None:
        """The ``structure`` table: copies within one article that stay (``paragraph_id``).

        Within an article dedup removes copies of its head only: the title and the paragraphs
        up to its first prose (a body paragraph of ``head_prose_words``: a dateline, a
        standfirst). A copy of a later paragraph is the article's own structure (the "Pros"
        heading of each product, a table row, a list item, an interview question) and stays,
        as a copy of an own earlier version does. Across articles nothing changes.
        """
        article_of = _ARTICLE_OF.format("d.duplicate_of")
        self.con.execute(
            f"""
            CREATE TABLE structure AS
            WITH own AS (
                SELECT d.paragraph_id, d.duplicate_of, d.similarity FROM dups d
                WHERE d.duplicate_of IS NOT NULL
                  AND {article_of} = {_ARTICLE_OF.format("d.paragraph_id")}),
            head AS (
                SELECT article_id, min(position) AS head_end FROM kept_paragraphs
                WHERE label = '{BODY}' AND words >= ? AND article_id IN (
                    SELECT {_ARTICLE_OF.format("paragraph_id")} FROM own)
                GROUP BY article_id)
            SELECT o.paragraph_id FROM own o
            JOIN kept_paragraphs k ON k.paragraph_id = o.duplicate_of
            LEFT JOIN head h USING (article_id)
            WHERE k.label = '{BODY}'
              AND (k.position > coalesce(h.head_end, -1) OR o.similarity < 1.0)
            """,
            [int(self.head_prose_words)],
        )

    def _counts(self, condition: str) -> tuple[int, int]:
        ((total, matching),) = self.con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {condition}) FROM para"
        ).fetchall()
        return int(total), int(matching)

    def _find_duplicates(self, index_dir: Path | None) -> pa.Table:
        """:func:`find_duplicates` over the kept title and body paragraphs, from the dedup
        inputs the shards staged (:func:`~tasks.dedup.candidates.find_staged_duplicates`):
        no text is read or hashed here."""
        result = find_staged_duplicates(
            self.con,
            f"SELECT p.paragraph_id, p.article_id, p.position, a.published_at, p.text_hash, "
            f"p.norm_words, p.shingles, p.band_keys "
            f"FROM kept_paragraphs p JOIN kept_articles a USING (article_id) "
            f"WHERE p.label IN {_KEPT}",
            self.config,
            index_dir,
            self.workdir,
        )
        clustered = pc.or_(
            result.column("cluster_id").is_valid(), result.column("duplicate_of").is_valid()
        )
        return result.filter(clustered)

    def mark_repeats(self) -> None:
        """Mark the repeats within an article the shard found, once copies are settled.

        A paragraph still body repeats the first earlier paragraph that was body before this
        step (kept, or marked a copy by dedup; titles repeat exactly and are left to dedup)
        and points at that paragraph's kept copy, which becomes a cluster.
        """
        reader = _stream(
            self.con,
            "SELECT article_id, position, paragraph_id, label, reason, duplicate_of, "
            "cluster_id, repeats FROM para WHERE article_id IN "
            "(SELECT DISTINCT article_id FROM para WHERE repeats IS NOT NULL) "
            "ORDER BY article_id, position",
            rows=BATCH_ROWS,
        )
        updates: dict[str, list[Any]] = {
            k: [] for k in ("paragraph_id", "label", "reason", "duplicate_of", "cluster_id")
        }
        for rows in _grouped(reader, "article_id"):
            for row in _repeats_of(rows):
                for key, values in updates.items():
                    values.append(row[key])
        if not updates["paragraph_id"]:
            return
        self.con.register("repeat_updates", pa.table(updates))
        self.con.execute(
            "UPDATE para SET label = u.label, reason = u.reason, duplicate_of = u.duplicate_of, "
            "cluster_id = u.cluster_id FROM repeat_updates u "
            "WHERE para.paragraph_id = u.paragraph_id"
        )
        self.con.unregister("repeat_updates")

    def _copy_of(self, table: str) -> None:
        """``table`` (article_id, original): the article each article copies, when more than
        ``copy_share`` of its body words (kept body plus copies) are copies of paragraphs of
        that one article; ties go to the smaller id."""
        article_of = _ARTICLE_OF.format("duplicate_of")
        self.con.execute(
            f"""
            CREATE OR REPLACE TABLE {table} AS
            WITH w AS (SELECT article_id, words, duplicate_of FROM para
                       WHERE label IN ('{BODY}', 'duplicate')),
            total AS (SELECT article_id, sum(words) AS words FROM w GROUP BY article_id),
            copied AS (SELECT article_id, {article_of} AS original, sum(words) AS words
                       FROM w WHERE duplicate_of IS NOT NULL GROUP BY ALL),
            ranked AS (SELECT article_id, original, words, row_number() OVER
                         (PARTITION BY article_id ORDER BY words DESC, original) AS n
                       FROM copied WHERE original <> article_id)
            SELECT r.article_id, r.original FROM ranked r JOIN total t USING (article_id)
            WHERE r.n = 1 AND r.words > ? * t.words
            """,
            [float(self.config.copy_share)],
        )

    # --- 4. site chrome -----------------------------------------------------------------

    def mark_site_chrome(self) -> None:
        """Relabel short lines found on ``site_repeat_min_pages`` or more stories of one site
        as boilerplate; a line shared by an article and its reprints counts once, so the kept
        copy keeps it. A page whose whole body is such lines is left to dedup; a chrome
        line's copies are chrome too."""
        stats = self._step("site_chrome", Unit.PARAGRAPHS)
        with stats.timed():
            self._copy_of("copy_of")
            copy_of = dict(self.con.execute("SELECT article_id, original FROM copy_of").fetchall())
            stories = {a: _story(a, copy_of) for a in copy_of}
            self.con.register(
                "stories",
                pa.table(
                    {
                        "article_id": pa.array(list(stories), pa.string()),
                        "story": pa.array(list(stories.values()), pa.string()),
                    }
                ),
            )
            self.con.execute(
                f"""
                CREATE TABLE chrome AS
                WITH lines AS (
                    SELECT k.article_id, k.paragraph_id, a.site, k.short_line,
                           coalesce(s.story, k.article_id) AS story
                    FROM kept_paragraphs k JOIN kept_articles a USING (article_id)
                    LEFT JOIN stories s USING (article_id)
                    WHERE k.short_line IS NOT NULL),
                shared AS (SELECT site, short_line FROM lines GROUP BY ALL
                           HAVING count(DISTINCT story) >= {int(self.site_repeat_min_pages)}),
                c AS (SELECT l.article_id, l.paragraph_id FROM lines l
                      JOIN shared USING (site, short_line)),
                n AS (SELECT article_id, count(*) AS n FROM c GROUP BY article_id),
                b AS (SELECT article_id, count(*) AS n FROM para
                      WHERE label IN ('{BODY}', 'duplicate') GROUP BY article_id)
                SELECT c.paragraph_id FROM c JOIN n USING (article_id)
                LEFT JOIN b USING (article_id) WHERE n.n <> coalesce(b.n, 0)
                """
            )
            self.con.execute(
                f"UPDATE para SET label = 'boilerplate', reason = '{SITE_REPEAT_RULE}', "
                "duplicate_of = NULL, cluster_id = NULL "
                "WHERE paragraph_id IN (SELECT paragraph_id FROM chrome) "
                "OR duplicate_of IN (SELECT paragraph_id FROM chrome)"
            )
            # A kept paragraph is in a cluster only while a paragraph points at it.
            self.con.execute(
                "UPDATE para SET cluster_id = NULL WHERE duplicate_of IS NULL "
                "AND cluster_id IS NOT NULL AND cluster_id NOT IN "
                "(SELECT duplicate_of FROM para WHERE duplicate_of IS NOT NULL)"
            )
            total, chrome = self._counts(f"reason = '{SITE_REPEAT_RULE}'")
        stats.keep(total - chrome)
        stats.drop(SITE_REPEAT_RULE, chrome)

    # --- 5. article links ---------------------------------------------------------------

    def link_articles(self) -> None:
        """Each article's ``duplicate_of_article`` and ``syndication_source``: its own first
        wire credit or, for a copy, that of the article it copies (this run or earlier)."""
        stats = self._step("article_links", Unit.ARTICLES)
        with stats.timed():
            self._copy_of("links")
            reader = _stream(
                self.con,
                "SELECT a.article_id, a.credits, "
                "coalesce(p.credits, r.credits) AS original_credits "
                "FROM kept_articles a LEFT JOIN links l USING (article_id) "
                "LEFT JOIN kept_articles r ON r.article_id = l.original "
                "LEFT JOIN published_articles p ON p.article_id = l.original "
                "WHERE len(a.credits) > 0 OR l.original IS NOT NULL",
                rows=ARTICLE_BATCH_ROWS,
            )
            ids, sources = [], []
            for batch in reader:
                for row in batch.to_pylist():
                    wires = [c for c in row["credits"] if WIRE_PATTERN.match(c)]
                    if not wires:
                        original = row["original_credits"] or []
                        wires = [c for c in original if WIRE_PATTERN.match(c)]
                    if wires:
                        ids.append(row["article_id"])
                        sources.append(wires[0])
            self.con.register(
                "syndication_arrow",
                pa.table(
                    {
                        "article_id": pa.array(ids, pa.string()),
                        "syndication_source": pa.array(sources, pa.string()),
                    }
                ),
            )
            self.con.execute("CREATE TABLE syndication AS SELECT * FROM syndication_arrow")
            total = self._count("SELECT count(*) FROM kept")
        stats.keep(total)  # links every article, drops none

    # --- 6. the tables ------------------------------------------------------------------

    def _labelled_paragraphs(
        self, text_columns: str, label_columns: str
    ) -> Iterator[tuple[pa.Table, pa.Table]]:
        """The staged paragraphs' ``text_columns`` and their state's ``label_columns``, in id
        order, in aligned slices of ``BATCH_ROWS`` rows.

        Two sorted streams zipped instead of one join: a hash join of the state with the
        texts ran out of DuckDB's memory at 100,000 pages, where two sorts spill to disk.
        Both have one row per kept paragraph, sorted on the same unique key.
        """
        texts_con, labels_con = self.con.cursor(), self.con.cursor()
        order = "ORDER BY article_id, position"
        try:
            texts = _stream(
                texts_con, f"SELECT {text_columns} FROM kept_paragraphs {order}", rows=BATCH_ROWS
            )
            labels = _stream(
                labels_con, f"SELECT {label_columns} FROM para {order}", rows=BATCH_ROWS
            )
            yield from zip(_rechunked(texts), _rechunked(labels), strict=True)
        finally:
            texts_con.close()
            labels_con.close()

    def paragraph_batches(self, run_id: str) -> Iterator[pa.RecordBatch]:
        """The run's paragraph rows in id order (``PARAGRAPHS_SCHEMA``)."""
        for texts, labels in self._labelled_paragraphs(
            "paragraph_id, article_id, position, text, line_start, line_end",
            "paragraph_id, label, reason, duplicate_of, cluster_id",
        ):
            if texts.column("paragraph_id")[-1] != labels.column("paragraph_id")[-1]:
                raise RuntimeError("staged paragraphs and their labels are out of step")
            columns = {
                **{name: texts.column(name) for name in texts.column_names},
                **{name: labels.column(name) for name in labels.column_names},
                "run_id": pa.repeat(pa.scalar(run_id, pa.string()), texts.num_rows),
            }
            table = pa.table({name: columns[name] for name in PARAGRAPHS_SCHEMA.names})
            yield from table.cast(PARAGRAPHS_SCHEMA).to_batches()

    def article_batches(self, run_id: str, processed_at: datetime) -> Iterator[pa.RecordBatch]:
        """The run's article rows in id order (``ARTICLES_SCHEMA``): metadata, links,
        version, the cleaned text (kept body paragraphs joined by a blank line) and counts."""
        counts = ", ".join(
            f"count(*) FILTER (WHERE label = '{label}') AS {column}"
            for label, column in zip(REMOVED_LABELS, REMOVED_COUNT_COLUMNS, strict=True)
        )
        kept = ", ".join(f"'{label}'" for label in sorted(KEPT_LABELS))
        meta = self.con.cursor()
        articles = _stream(
            meta,
            f"""
            WITH counts AS (
                SELECT article_id, count(*) FILTER (WHERE label IN ({kept}))
                       AS n_paragraphs_kept, {counts}
                FROM para GROUP BY article_id)
            SELECT a.article_id, a.source, a.url, a.input_format, a.extractor, a.encoding,
                   a.title, a.authors, a.credits, a.published_at, a.published_at_precision,
                   a.published_date, a.site_name, a.language, a.description,
                   l.original AS duplicate_of_article, s.syndication_source,
                   v.supersedes, coalesce(v.version, 1) AS version, a.n_paragraphs_in,
                   coalesce(c.n_paragraphs_kept, 0) AS n_paragraphs_kept,
                   {", ".join(f"coalesce(c.{col}, 0) AS {col}" for col in REMOVED_COUNT_COLUMNS)},
                   a.input_sha256, ? AS run_id, ? AS processed_at, a.decode_errors,
                   a.fetched_at
            FROM kept_articles a
            LEFT JOIN counts c USING (article_id)
            LEFT JOIN links l USING (article_id)
            LEFT JOIN syndication s USING (article_id)
            LEFT JOIN versions v USING (article_id)
            ORDER BY a.article_id
            """,
            [run_id, processed_at],
            rows=ARTICLE_BATCH_ROWS,
        )
        texts = _body_texts(self._labelled_paragraphs("article_id, text", "label"))
        pending: tuple[str, str] | None = next(texts, None)
        try:
            for batch in articles:
                ids = batch.column("article_id").to_pylist()
                article_texts: list[str] = []
                for article_id in ids:
                    while pending is not None and pending[0] < article_id:
                        pending = next(texts, None)
                    if pending is not None and pending[0] == article_id:
                        article_texts.append(pending[1])
                        pending = next(texts, None)
                    else:
                        article_texts.append("")
                table = pa.Table.from_batches([batch])
                table = table.append_column("text", pa.array(article_texts, pa.string()))
                table = table.append_column(
                    "word_count", pa.array([word_count(t) for t in article_texts], pa.int32())
                )
                table = table.append_column(
                    "content_hash", pa.array([content_hash(t) for t in article_texts])
                )
                yield from table.select(ARTICLES_SCHEMA.names).cast(ARTICLES_SCHEMA).to_batches()
        finally:
            meta.close()
            texts.close()

    def quarantine_table(self, run_id: str) -> pa.Table:
        """The run's quarantine rows, by source (a few per bad input: small)."""
        return self._arrow(
            "SELECT source, stage, reason, input_sha256, ? AS run_id FROM shard_quarantine "
            "ORDER BY source, stage, reason, input_sha256",
            [run_id],
        ).cast(QUARANTINE_SCHEMA)

    def skipped(self) -> list[SkippedInput]:
        """Inputs the shards skipped on purpose (already published, WARC records, ...)."""
        return [
            SkippedInput(source, reason, url)
            for source, reason, url in self.con.execute(
                "SELECT source, reason, url FROM shard_skipped ORDER BY source, reason"
            ).fetchall()
        ]

    def article_count(self) -> int:
        return self._count("SELECT count(*) FROM kept")

    def _count(self, query: str) -> int:
        ((count,),) = self.con.execute(query).fetchall()
        return int(count)

    def run(self, index_dir: Path | None) -> list[SkippedInput]:
        """Steps 1-5 in order; returns the inputs skipped as repeats."""
        repeated = self.keep_first_inputs()
        self.number_versions()
        self.deduplicate(index_dir)
        self.mark_site_chrome()
        self.link_articles()
        return repeated


def _stream(
    con: duckdb.DuckDBPyConnection,
    query: str,
    params: Sequence[Any] | None = None,
    *,
    rows: int,
) -> pa.RecordBatchReader:
    """A query's result as Arrow batches of ``rows`` rows, produced as they are read."""
    return con.sql(query, params=params).to_arrow_reader(rows)


def _grouped(reader: pa.RecordBatchReader, key: str) -> Iterator[list[dict[str, Any]]]:
    """Rows of a stream sorted by ``key``, one list per key value (across batch edges)."""
    group: list[dict[str, Any]] = []
    for batch in reader:
        for row in batch.to_pylist():
            if group and row[key] != group[0][key]:
                yield group
                group = []
            group.append(row)
    if group:
        yield group


def _body_texts(zipped: Iterator[tuple[pa.Table, pa.Table]]) -> Generator[tuple[str, str]]:
    """``(article_id, text)`` per article from its paragraphs in id order: the body ones
    joined by a blank line."""
    current: str | None = None
    parts: list[str] = []
    for texts, labels in zipped:
        body = texts.filter(pc.equal(labels.column("label"), BODY))
        for article_id, text in zip(
            body.column("article_id").to_pylist(), body.column("text").to_pylist(), strict=True
        ):
            if article_id != current:
                if current is not None:
                    yield current, "\n\n".join(parts)
                current, parts = article_id, []
            parts.append(text)
    if current is not None:
        yield current, "\n\n".join(parts)


def _rechunked(reader: pa.RecordBatchReader, rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    """The stream as tables of exactly ``rows`` rows (the last one shorter), whatever the
    batch sizes it comes in: two streams of the same rows cut this way line up."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in reader:
        pending.append(batch)
        held += batch.num_rows
        while held >= rows:
            table = pa.Table.from_batches(pending, reader.schema)
            yield table.slice(0, rows).combine_chunks()
            rest = table.slice(rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending, reader.schema).combine_chunks()


def _repeats_of(rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The rows of one article that :meth:`RunWide.mark_repeats` changes, changed."""
    at = {row["position"]: row for row in rows}
    was_body = {
        position
        for position, row in at.items()
        if row["label"] == BODY or row["reason"] in (DUPLICATE_RULE, EXACT_DUPLICATE_RULE)
    }
    changed: dict[int, dict[str, Any]] = {}
    for position in sorted(p for p, row in at.items() if row["repeats"]):
        row = at[position]
        earlier = next((q for q in row["repeats"] if q in was_body), None)
        if row["label"] != BODY or earlier is None:
            continue
        previous = at[earlier]
        root = previous["duplicate_of"] or previous["paragraph_id"]
        if previous["cluster_id"] is None:
            previous["cluster_id"] = root
            changed[earlier] = previous
        row.update(label="duplicate", reason=CONTAINED_RULE, duplicate_of=root, cluster_id=root)
        changed[position] = row
    for position in sorted(changed):
        yield changed[position]


def _story(article_id: str, copy_of: dict[str, str]) -> str:
    """The first article of the chain of copies ``article_id`` belongs to (an earlier run's
    article ends the chain)."""
    story, seen = article_id, set()
    while story in copy_of and story not in seen:
        seen.add(story)
        story = copy_of[story]
    return story


@dataclass(frozen=True, slots=True)
class RunWideResult:
    """What the flow needs from the run-wide task; the tables are in the staging folder."""

    articles: int
    paragraphs: int
    quarantined: list[QuarantineRecord]
    skipped: list[SkippedInput]
    stats: list[StepStats]


def run_wide(
    output: Path,
    run_id: str,
    config: PipelineConfig,
    index_dir: Path | None,
    published_articles: pa.Table | None,
    processed_at: datetime,
) -> RunWideResult:
    """Run the run-wide steps over the run's staged shards and stage its three tables."""
    staging = staging_dir(output, run_id)
    with RunWide(
        shard_sources(staging / SHARDS),
        staging / "runwide",
        config.dedup,
        published_articles,
        config.clean,
    ) as steps:
        repeated = steps.run(index_dir)
        tables = steps._step("tables", Unit.ARTICLES)
        with tables.timed():
            write_staged_table(
                output, run_id, "paragraphs", steps.paragraph_batches(run_id), PARAGRAPHS_SCHEMA
            )
            write_staged_table(
                output,
                run_id,
                "articles",
                steps.article_batches(run_id, processed_at),
                ARTICLES_SCHEMA,
            )
            articles = steps.article_count()
            paragraphs = steps._count("SELECT count(*) FROM para")
            quarantine = steps.quarantine_table(run_id)
            write_staged(output, run_id, {"quarantine": quarantine})
        tables.keep(articles)
        skipped = steps.skipped()
    # The shards' rows are in the tables now; validation and publishing read only those.
    shutil.rmtree(staging / SHARDS, ignore_errors=True)
    quarantined = [
        QuarantineRecord(row["source"], row["stage"], row["reason"], row["input_sha256"])
        for row in quarantine.to_pylist()
    ]
    return RunWideResult(
        articles=articles,
        paragraphs=paragraphs,
        quarantined=quarantined,
        skipped=sorted([*skipped, *repeated], key=lambda s: s.source),
        stats=list(steps.stats.values()),
    )


def label_articles(
    articles: Sequence[Article],
    config: DedupConfig | None = None,
    index_dir: Path | None = None,
    published_articles: pa.Table | None = None,
    clean: CleanConfig = DEFAULTS.clean,
) -> int:
    """Run the run-wide steps over ``articles`` and write their outcome back onto them.

    Labels, reasons and links of every paragraph, ``version``, ``supersedes``,
    ``duplicate_of_article`` and ``syndication_source``. ``published_articles`` stands for
    earlier runs (``article_id``, ``credits``, ``url``, ``version``). Articles must have
    distinct ids. Returns the number of paragraphs marked ``duplicate``.
    """
    config = config or DedupConfig()
    article_rows, paragraph_rows = shard_tables(articles, PipelineConfig(clean=clean, dedup=config))
    sources = Sources(
        article_rows,
        paragraph_rows,
        SHARD_QUARANTINE_SCHEMA.empty_table(),
        SHARD_SKIPPED_SCHEMA.empty_table(),
    )
    with (
        tempfile.TemporaryDirectory(prefix="newsclean-runwide-") as scratch,
        RunWide(sources, Path(scratch), config, published_articles, clean) as steps,
    ):
        steps.run(index_dir)
        paragraphs = steps.con.execute(
            "SELECT paragraph_id, label, reason, duplicate_of, cluster_id FROM para"
        ).fetchall()
        links = steps.con.execute(
            "SELECT a.article_id, l.original, s.syndication_source, v.version, v.supersedes "
            "FROM kept_articles a LEFT JOIN links l USING (article_id) "
            "LEFT JOIN syndication s USING (article_id) "
            "LEFT JOIN versions v USING (article_id)"
        ).fetchall()
    by_id = {a.paragraph_id(p.position): p for a in articles for p in a.paragraphs}
    for paragraph_id, label, reason, duplicate_of, cluster_id in paragraphs:
        paragraph = by_id[paragraph_id]
        paragraph.label, paragraph.reason = label, reason
        paragraph.duplicate_of, paragraph.cluster_id = duplicate_of, cluster_id
    by_article = {a.article_id: a for a in articles}
    for article_id, original, syndication, version, supersedes in links:
        article = by_article[article_id]
        article.duplicate_of_article, article.syndication_source = original, syndication
        article.version, article.supersedes = version or 1, supersedes
    return sum(label == "duplicate" for _, label, *_ in paragraphs)
