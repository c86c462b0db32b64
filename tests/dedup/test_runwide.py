"""Run-wide dedup through the flow (across runs, with the index deleted, damaged or stale) and
the run-wide marking steps on small hand-made articles."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from flows.pipeline import DEDUP_STATE, newsclean_flow
from tasks.clean.paragraphs import split_paragraphs
from tasks.clean.staging import (
    SHARD_QUARANTINE_SCHEMA,
    SHARD_SKIPPED_SCHEMA,
    find_repeats,
    shard_tables,
    short_body_lines,
)
from tasks.config import CleanConfig, PipelineConfig
from tasks.dedup.near_duplicates import DedupConfig
from tasks.dedup.runwide import RunWide, Sources, label_articles
from tasks.models import Article, Paragraph
from tasks.output.tables import ARTICLES_SCHEMA, PARAGRAPHS_SCHEMA

from ..builders import articles_table, paragraphs_table
from ..conftest import SEEDS

ORIGINAL = SEEDS / "003_a7277c371bf19f06.txt"


def _reprint(path: Path, dateline: str = "TEHRAN (Reuters) — ") -> None:
    """A syndicated copy: new headline, dateline, trimmed ending, curly quotes."""
    paragraphs = [p for p in ORIGINAL.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    body = paragraphs[3:-3]  # drop share widget, title, credit; trim the ending
    body[0] = dateline + body[0]
    body = [p.replace('"', "”") for p in body]
    text = "Missiles hit bases housing US forces, Iran says\n\n" + "\n\n".join(body) + "\n"
    path.write_text(text, encoding="utf-8")


def _labels(output: Path) -> dict[str, tuple[str, str | None]]:
    rows = duckdb.sql(
        f"SELECT a.source, p.position, p.label, p.duplicate_of "
        f"FROM read_parquet('{output}/paragraphs/*.parquet') p "
        f"JOIN read_parquet('{output}/articles/*.parquet') a USING (article_id)"
    ).fetchall()
    return {f"{Path(s).name}:{pos}": (label, dup) for s, pos, label, dup in rows}


def _article_links(output: Path) -> dict[str, tuple[str, str | None, str | None]]:
    """File name -> (article_id, duplicate_of_article, syndication_source)."""
    return {
        Path(source).name: (article_id, copy_of, syndication)
        for source, article_id, copy_of, syndication in duckdb.sql(
            f"SELECT source, article_id, duplicate_of_article, syndication_source "
            f"FROM read_parquet('{output}/articles/*.parquet')"
        ).fetchall()
    }


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_second_run_dedups_against_the_first_and_index_rebuilds_identically(tmp_path):
    first_in, second_in = tmp_path / "in1", tmp_path / "in2"
    first_in.mkdir()
    second_in.mkdir()
    shutil.copy(ORIGINAL, first_in / "original.txt")
    _reprint(second_in / "reprint.txt")
    output = tmp_path / "out"

    first = newsclean_flow(inputs=[str(first_in)], output=str(output))
    assert first.published
    second = newsclean_flow(inputs=[str(second_in)], output=str(output))
    assert second.published and second.summary.inputs["published"] == 1

    labels = _labels(output)
    reprint = {k: v for k, v in labels.items() if k.startswith("reprint.txt")}
    original_ids = set(
        duckdb.sql(
            f"SELECT paragraph_id FROM "
            f"read_parquet('{output}/paragraphs/part-{first.run_id}-*.parquet')"
        )
        .to_arrow_table()
        .column("paragraph_id")
        .to_pylist()
    )
    duplicates = [dup for label, dup in reprint.values() if label == "duplicate"]
    assert len(duplicates) >= 20
    assert set(duplicates) <= original_ids  # earlier published copies win
    assert reprint["reprint.txt:0"][0] == "title"  # the new headline is not a duplicate
    links = _article_links(output)
    assert links["original.txt"][1:] == (None, "RFE/RL")
    assert links["reprint.txt"][1:] == (links["original.txt"][0], "Reuters")

    # Same second run against a copy whose index was deleted: rebuilt, same labels.
    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(output, rebuilt)
    for part in (rebuilt / "articles").glob(f"part-{second.run_id}*"):
        part.unlink()
    for part in (rebuilt / "paragraphs").glob(f"part-{second.run_id}*"):
        part.unlink()
    shutil.rmtree(rebuilt / DEDUP_STATE)
    again = newsclean_flow(inputs=[str(second_in)], output=str(rebuilt))
    assert again.summary.dedup_index == "rebuilt (missing)"
    assert _labels(rebuilt) == labels


@pytest.mark.slow
def test_copy_without_credit_inherits_the_source_of_the_article_it_copies(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(ORIGINAL, inputs / "a_original.txt")
    _reprint(inputs / "b_copy.txt", dateline="")
    (inputs / "c_other.txt").write_bytes((SEEDS / "000_4d8a93c36e8773f0.txt").read_bytes())
    result = newsclean_flow(inputs=[str(inputs)], output=str(tmp_path / "out"))
    assert result.published
    links = _article_links(tmp_path / "out")
    assert links["b_copy.txt"][1:] == (links["a_original.txt"][0], "RFE/RL")
    assert links["c_other.txt"][1:] == (None, "Associated Press")


def _publish_original(tmp_path: Path) -> tuple[Path, Path]:
    """A first run that publishes the original article; returns (output, its input folder)."""
    output, first_in = tmp_path / "out", tmp_path / "in1"
    first_in.mkdir()
    shutil.copy(ORIGINAL, first_in / "original.txt")
    newsclean_flow(inputs=[str(first_in)], output=str(output))
    return output, first_in


@pytest.mark.slow
def test_damaged_index_is_rebuilt_not_ignored(tmp_path):
    output, _ = _publish_original(tmp_path)
    data_file = next((output / DEDUP_STATE / "index").glob("*.paragraphs.parquet"))
    data_file.write_bytes(data_file.read_bytes()[:100])  # a torn write
    second_in = tmp_path / "in2"
    second_in.mkdir()
    _reprint(second_in / "reprint.txt")
    result = newsclean_flow(inputs=[str(second_in)], output=str(output))
    assert result.summary.dedup_index.startswith("rebuilt (damaged")
    assert any(label == "duplicate" for label, _ in _labels(output).values())


@pytest.mark.slow
def test_index_left_stale_by_a_crash_is_rebuilt(tmp_path):
    output, first_in = _publish_original(tmp_path)
    (output / DEDUP_STATE / "runs.json").write_text("[]")  # as if killed before recording
    result = newsclean_flow(inputs=[str(first_in)], output=str(output))
    assert result.summary.dedup_index == "rebuilt (stale)"
    assert result.summary.inputs["skipped"] == 1


@pytest.mark.slow
def test_short_lines_repeated_across_a_sites_pages_are_site_chrome(tmp_path):
    site = tmp_path / "example-site"
    site.mkdir()
    slogan = "Independent news for the valley since 1921"
    bodies = [
        [s.text for s in split_paragraphs(p.read_text(encoding="utf-8")) if len(s.text) > 150][:3]
        for p in sorted(SEEDS.glob("00[0-3]*"))
    ]
    for n, body in enumerate(bodies):
        paragraphs = "".join(f"<p>{text}</p>" for text in [body[0], slogan, *body[1:]])
        page = f"<html><body><article><h1>Story {n}</h1>{paragraphs}</article></body></html>"
        (site / f"page{n}.html").write_text(page, encoding="utf-8")
    result = newsclean_flow(inputs=[str(site)], output=str(tmp_path / "out"))
    assert result.published
    rows = duckdb.sql(
        f"SELECT label, reason FROM read_parquet('{tmp_path}/out/paragraphs/*.parquet') "
        f"WHERE text = '{slogan}'"
    ).fetchall()
    assert rows == [("boilerplate", "site_repeat")] * 4
    assert result.summary.removed_by_rule["site_repeat"] == 4


@pytest.mark.slow
def test_index_built_with_other_settings_is_rebuilt(tmp_path):
    output, _ = _publish_original(tmp_path)
    second_in = tmp_path / "in2"
    second_in.mkdir()
    _reprint(second_in / "reprint.txt")
    changed = PipelineConfig(dedup=DedupConfig(shingle_words=3, min_tokens=6))
    result = newsclean_flow(inputs=[str(second_in)], output=str(output), config=changed)
    assert result.summary.dedup_index.startswith("rebuilt (settings changed")
    assert any(label == "duplicate" for label, _ in _labels(output).values())


def _page(article_id: str, lines: list[str]) -> Article:
    paragraphs = [Paragraph(i, text, "body", "", i, i) for i, text in enumerate(lines)]
    article = Article(
        article_id, f"site/{article_id}.txt", article_id, "text", "utf-8", "text", paragraphs
    )
    return article


def test_site_chrome_marks_short_repeats_but_leaves_a_wholly_repeated_page_to_dedup():
    stories = [LEDE, LATER, REPRINTED[0]]  # three unrelated stories of one site
    slogan = "Sign in to read more"
    pages = [_page(f"a{n}", [story, slogan]) for n, story in enumerate(stories)]
    pages.append(_page("a3", [slogan]))  # only the slogan: a page left to deduplication
    label_articles(pages)
    assert [p.paragraphs[1].reason for p in pages[:3]] == ["site_repeat"] * 3
    assert pages[3].paragraphs[0].label == "body"
    assert all(p.paragraphs[0].label == "body" for p in pages[:3])


def test_the_site_chrome_and_containment_thresholds_come_from_the_config():
    """``[clean] site_repeat_min_pages`` and ``containment_min_words`` change the output."""
    stories = [LEDE, LATER, REPRINTED[0]]
    pages = [_page(f"a{n}", [story, "Sign in to read more"]) for n, story in enumerate(stories)]
    label_articles(pages, clean=CleanConfig(site_repeat_min_pages=4))
    assert [p.paragraphs[1].label for p in pages] == ["body"] * 3  # on 3 stories, not 4
    story = _story("s1", ["Bridge to close", LEDE, LATER, EXPANDED])
    assert label_articles([story], clean=CleanConfig(containment_min_words=40)) == 0
    assert find_repeats(story.paragraphs, 4, CleanConfig(containment_min_words=40)) == {}


def test_short_body_lines_are_normalised_short_body_paragraphs_by_position():
    page = _page("a", ["Sign in!", "A line of thirteen words is far too long to be the chrome"])
    page.paragraphs.append(Paragraph(2, "Advertisement", "ad", "ad_marker", 2, 2))
    page.paragraphs.append(Paragraph(3, "SIGN   in", "body", "", 3, 3))
    assert short_body_lines(page.paragraphs) == {0: "sign in", 3: "sign in"}


LEDE = "The city council voted on Tuesday to close the old harbour bridge to all traffic"
EXPANDED = (
    f"{LEDE}, a decision that residents of both banks had fought for years in meetings, "
    "petitions and one memorable protest on the water itself."
)
LATER = "Officials said repairs would take two years and cost more than the original estimate"


def _story(article_id: str, lines: list[str]) -> Article:
    article = _page(article_id, lines)
    article.paragraphs[0].label = "title"
    return article


def test_a_lede_repeated_inside_a_later_paragraph_points_at_the_lede():
    story = _story("s1", ["Bridge to close", LEDE, LATER, EXPANDED])
    assert find_repeats(story.paragraphs, DedupConfig().shingle_words) == {3: (1,)}
    assert label_articles([story], DedupConfig(), None) == 1
    repeat, lede = story.paragraphs[3], story.paragraphs[1]
    assert (repeat.label, repeat.reason) == ("duplicate", "repeated_in_article")
    assert repeat.duplicate_of == lede.cluster_id == story.paragraph_id(1)


def test_a_repeat_of_a_syndicated_paragraph_points_at_the_first_publication():
    first = _story("a1", ["Bridge to close", LEDE, LATER])
    reprint = _story("b2", ["Harbour bridge shuts", LEDE, EXPANDED])
    label_articles([first, reprint], DedupConfig(), None)
    assert reprint.paragraphs[1].duplicate_of == first.paragraph_id(1)
    assert reprint.paragraphs[2].reason == "repeated_in_article"
    assert reprint.paragraphs[2].duplicate_of == first.paragraph_id(1)


# --- chrome vs syndication, versions (issue #18) -------------------------------------------

REPRINTED = [
    "Podcasts for technology leaders are booming, and the best of them now reach more "
    "listeners than the trade press they were meant to replace, a survey found.",
    "Here, in IT, we all love podcasts.",
    "The survey of 1,200 chief technology officers found that most listen during their "
    "commute, and that one in three had changed a purchasing decision after an episode.",
    "Producers say advertisers have noticed: rates for technology shows doubled in two "
    "years, and several networks now make shows for one company's customers alone.",
]


def test_a_sentence_shared_by_reprints_on_one_site_is_not_chrome():
    """Four pages of one site that are one article and its three reprints: the short sentence
    they share is the article's (the old rule made it site_repeat on all four, the original
    included). The original keeps every paragraph; the reprints point at it."""
    original = _story("a0", ["Tech leaders tune in", *REPRINTED])
    reprints = [
        _story(f"a{n}", [f"Reprint {n}: tech leaders tune in", *REPRINTED]) for n in (1, 2, 3)
    ]
    label_articles([original, *reprints], DedupConfig(), None)
    assert all(p.label in ("title", "body") for p in original.paragraphs)
    for reprint in reprints:
        body = reprint.paragraphs[1:]
        assert [p.label for p in body] == ["duplicate"] * len(REPRINTED)
        assert [p.duplicate_of for p in body] == [original.paragraph_id(i) for i in (1, 2, 3, 4)]


def test_a_line_on_three_unrelated_stories_of_a_site_is_still_chrome():
    slogan = "Sign in to read more"
    stories = [
        _story(f"s{n}", [f"Story {n}", LEDE.replace("Tuesday", d), slogan])
        for n, d in enumerate(["Monday", "Wednesday", "Friday"])
    ]
    stories[1].paragraphs[1].text = LATER
    stories[2].paragraphs[1].text = EXPANDED.replace(LEDE, "Residents rejoiced")
    label_articles(stories, DedupConfig(), None)
    assert [s.paragraphs[2].reason for s in stories] == ["site_repeat"] * 3
    assert all(s.paragraphs[2].duplicate_of is None for s in stories)


def _versioned(article_id: str, url: str, published: datetime | None = None) -> Article:
    article = _story(article_id, ["Bridge to close", LEDE, LATER])
    article.url, article.published_at = url, published
    return article


def test_versions_of_a_url_are_numbered_in_canonical_order_whatever_the_input_order():
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    published = pa.table(
        {
            "article_id": ["old1", "old2", "other"],
            "url": ["https://news.example/a/", "http://www.news.example/a", "https://x.example/a"],
            "version": pa.array([1, 2, 1], pa.int32()),
            "credits": pa.array([[], [], []], pa.list_(pa.string())),
        }
    )
    for order in ([0, 1, 2], [2, 1, 0]):
        run = [
            _versioned("b", "https://news.example/a#top", t0),
            _versioned("a", "https://NEWS.example/a", t0),
            _versioned("c", "https://news.example/c", None),
        ]
        label_articles([run[i] for i in order], published_articles=published)
        got = {a.article_id: (a.version, a.supersedes) for a in run}
        assert got == {"a": (3, "old2"), "b": (4, "a"), "c": (1, None)}


def _page_html(url: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<html><head><title>Bridge to close</title><link rel="canonical" href="{url}">'
        f"</head><body><article><h1>Bridge to close</h1>{body}</article></body></html>"
    )


@pytest.mark.slow
def test_a_corrected_version_is_published_whole_and_linked_to_the_first(tmp_path):
    """Run 1 publishes a page; run 2 the same URL with a sentence added to each paragraph.
    The correction is version 2, superseding version 1, no paragraph removed as a copy of
    version 1 (the old flow removed them all as near duplicates); the README query picks it."""
    url = "https://news.example/2026/03/bridge"
    paragraphs = [LEDE + ".", LATER + ".", EXPANDED]
    corrected = [p + " This paragraph was corrected on Friday." for p in paragraphs]
    output = tmp_path / "out"
    for n, texts in enumerate((paragraphs, corrected)):
        folder = tmp_path / f"in{n}"
        folder.mkdir()
        (folder / "page.html").write_text(_page_html(url, texts), encoding="utf-8")
        assert newsclean_flow(inputs=[str(folder)], output=str(output)).published
    rows = duckdb.sql(
        f"SELECT article_id, version, supersedes, text "
        f"FROM read_parquet('{output}/articles/*.parquet') ORDER BY version"
    ).fetchall()
    assert [(r[1], r[2]) for r in rows] == [(1, None), (2, rows[0][0])]
    kept_v1, kept_v2 = (r[3].split("\n\n") for r in rows)
    assert len(kept_v2) == len(kept_v1) == rows[1][3].count("corrected on Friday")
    copies_of_v1 = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{output}/paragraphs/*.parquet') "
        f"WHERE article_id = '{rows[1][0]}' AND duplicate_of LIKE '{rows[0][0]}-%'"
    ).fetchall()
    assert copies_of_v1 == [(0,)]
    articles = f"read_parquet('{output}/articles/*.parquet')"
    latest = duckdb.sql(  # README, "Reading the output"
        f"SELECT a.article_id FROM {articles} AS a WHERE NOT EXISTS "
        f"(SELECT 1 FROM {articles} AS b WHERE b.supersedes = a.article_id)"
    ).fetchall()
    assert latest == [(rows[1][0],)]


@pytest.mark.slow
def test_reprints_on_one_site_keep_their_shared_sentence_through_the_flow(tmp_path):
    """Through the flow: one article and three reprints in one site's folder. The old flow
    labelled the shared short sentence site_repeat on all four pages, the kept copy's too."""
    site = tmp_path / "site"
    site.mkdir()
    for n in range(4):
        headline = "Tech leaders tune in" if n == 0 else f"Reprint {n}: tech leaders tune in"
        (site / f"page{n}.txt").write_text("\n\n".join([headline, *REPRINTED]), encoding="utf-8")
    output = tmp_path / "out"
    assert newsclean_flow(inputs=[str(site)], output=str(output)).published
    rows = duckdb.sql(
        f"SELECT article_id, label, reason, duplicate_of "
        f"FROM read_parquet('{output}/paragraphs/*.parquet') "
        f"WHERE text = '{REPRINTED[1]}' ORDER BY article_id"
    ).fetchall()
    kept, *copies = rows
    assert kept[1] == "body"
    assert [(label, dup) for _, label, _, dup in copies] == [("duplicate", f"{kept[0]}-00002")] * 3


def test_the_tables_streamed_out_are_the_published_rows_of_the_articles(tmp_path):
    """What the run-wide step writes is what the labelled articles say (the oracle builds the
    rows from the objects, tests/builders.py): ids, labels and links of every paragraph, the
    text joined from body paragraphs, counts per label, versions."""
    pages = [
        _story("a1", ["Bridge to close", LEDE, LATER, EXPANDED]),
        _story("b2", ["Harbour bridge shuts", LEDE, EXPANDED]),
        _page("c3", [REPRINTED[0], "Advertisement"]),
    ]
    pages[2].paragraphs[1].label, pages[2].paragraphs[1].reason = "ad", "ad_marker"
    config = PipelineConfig()
    article_rows, paragraph_rows = shard_tables(pages, config)
    sources = Sources(
        article_rows,
        paragraph_rows,
        SHARD_QUARANTINE_SCHEMA.empty_table(),
        SHARD_SKIPPED_SCHEMA.empty_table(),
    )
    when = datetime(2026, 3, 1, tzinfo=UTC)
    with RunWide(sources, tmp_path / "runwide", config.dedup, None, config.clean) as steps:
        steps.run(None)
        paragraphs = pa.Table.from_batches(list(steps.paragraph_batches("r")), PARAGRAPHS_SCHEMA)
        articles = pa.Table.from_batches(list(steps.article_batches("r", when)), ARTICLES_SCHEMA)
    assert label_articles(pages) == 3  # the same steps, written back onto the objects
    assert paragraphs.to_pylist() == paragraphs_table(pages, "r").to_pylist()
    assert articles.to_pylist() == articles_table(pages, "r", when).to_pylist()
    assert articles.column("n_removed_duplicate").to_pylist() == [1, 2, 0]


# --- structure kept within an article (issue #25) -----------------------------------------

REVIEW_TITLE = "Three budget earbuds that sound far better than their price"
STANDFIRST = (
    "Cheap earbuds have never sounded better, and three new pairs we tested this month "
    "prove that a small budget no longer has to mean a small sound."
)
DATELINE = "December 3, 2026"
PULLED = "The cheapest pair beat headphones that cost five times as much in our blind test."
PRODUCTS = [
    ("Acme Buds 2", ["Long battery life", "Comfortable fit"], ["No wireless charging"]),
    ("Zing Air", ["Punchy bass", "Comfortable fit"], ["Flimsy case"]),
    ("Nova Lite", ["Clear calls", "Long battery life"], ["No app", "Flimsy case"]),
]


def _review_page(site: str = "Gadget Desk") -> bytes:
    """A review page: three products, each with "Pros" and "Cons" headings, list items and
    spec rows that other products share; a pull quote repeating a body sentence; and at its
    foot the title, dateline and standfirst repeated (a template's echo)."""
    body = [
        "We spent four weeks with every pair, wearing them on commutes, at the gym and on long "
        "flights, and we measured battery life with the same playlist at the same volume.",
        f"Our panel of six listeners compared them without knowing which was which. {PULLED} "
        "Nobody on the panel guessed the prices right, and two of them asked to keep the winner.",
        "Fit matters as much as sound: a pair that falls out on a run is no bargain, so we also "
        "tested each one with every size of tip that came in its box and noted which stayed put.",
    ]
    products = "".join(
        f"<h2>{name}</h2><p>The {name} is one of the three pairs we liked best this month, and "
        f"here is what we found after four weeks of wearing the {name} every day.</p>"
        f"<h3>Pros</h3><ul>{''.join(f'<li>{x}</li>' for x in pros)}</ul>"
        f"<h3>Cons</h3><ul>{''.join(f'<li>{x}</li>' for x in cons)}</ul>"
        "<table><tr><th>Spec</th><th>Value</th></tr>"
        "<tr><td>Water resistance</td><td>IPX4</td></tr><tr><td>Bluetooth</td><td>5.3</td></tr>"
        "</table>"
        for name, pros, cons in PRODUCTS
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><title>{REVIEW_TITLE} | {site}</title>'
        f'<meta property="og:title" content="{REVIEW_TITLE}"></head><body>'
        f'<nav><a href="/">Home</a> <a href="/reviews">Reviews</a></nav>'
        f'<article><h1>{REVIEW_TITLE}</h1><p class="dateline">{DATELINE}</p>'
        f'<p class="standfirst">{STANDFIRST}</p>{"".join(f"<p>{p}</p>" for p in body)}'
        f'<blockquote class="pullquote"><p>{PULLED}</p></blockquote>{products}'
        f"<p>{REVIEW_TITLE}</p><p>{DATELINE}</p><p>{STANDFIRST}</p>"
        f"</article><footer>Copyright 2026 {site}</footer></body></html>"
    ).encode()


def _review(site: str = "Gadget Desk") -> Article:
    from tasks.clean.document import process_document

    return process_document(_review_page(site), "review.html")


def _all(article: Article, text: str) -> list[Paragraph]:
    return [p for p in article.paragraphs if p.text == text]


def test_repeated_structure_stays_while_the_repeated_head_and_pull_quote_go():
    """Headings, list items and table rows repeated in an article are its structure and stay
    body; the title, dateline and standfirst repeated at its foot and the pull quote are
    removed, pointing at their first copy (on the real path: extraction, then the run-wide
    labelling)."""
    review = _review()
    label_articles([review])
    for line in ("Pros", "Cons", "| Water resistance | IPX4 |", "| Bluetooth | 5.3 |"):
        assert [p.label for p in _all(review, line)] == ["body"] * 3, line
    for item in ("- Comfortable fit", "- Long battery life", "- Flimsy case"):
        assert [p.label for p in _all(review, item)] == ["body"] * 2, item
    assert sum(f"The {name} is one of" in review.text for name, *_ in PRODUCTS) == 3
    for echo in (REVIEW_TITLE, DATELINE, STANDFIRST):
        first, repeat = [p for p in review.paragraphs if p.text == echo]
        assert first.label in ("title", "body"), echo
        assert (repeat.label, repeat.reason) == ("duplicate", "exact_duplicate"), echo
        assert repeat.duplicate_of == review.paragraph_id(first.position)
    (pull_quote,) = _all(review, PULLED)
    assert (pull_quote.label, pull_quote.reason) == ("duplicate", "repeated_in_article")


def test_the_head_ends_where_the_config_says():
    """``[clean] head_prose_words``: with no paragraph long enough to end the head, only the
    title's copy is removed; the dateline's and standfirst's copies stay."""
    review = _review()
    label_articles([review], clean=CleanConfig(head_prose_words=1000))
    removed = [p.text for p in review.paragraphs if p.label == "duplicate"]
    assert removed == [PULLED, REVIEW_TITLE]


def test_a_reprint_of_the_page_still_copies_its_repeated_structure():
    """Across articles dedup is unchanged: a reprint's headings and rows (each of its three
    "Pros") are copies of the original's."""
    original, reprint = _review(), _review("Earbud Weekly")
    label_articles([original, reprint])
    assert all(p.label in ("title", "body") for p in _all(original, "Pros"))
    copies = _all(reprint, "Pros")
    assert [p.label for p in copies] == ["duplicate"] * 3
    (first,) = {p.duplicate_of for p in copies}
    assert first is not None and first.startswith(original.article_id)


def test_a_whole_paragraph_copied_is_no_containment_repeat():
    """Containment finds a pull quote or a lede inside a longer paragraph; a copy of a whole
    paragraph (a repeated list item) is dedup's to settle, not a containment repeat."""
    item = "- Included services: hotel-to-hotel baggage handling and a tour manager throughout"
    story = _story("s1", ["Tours compared", LEDE, item, LATER, item, EXPANDED])
    assert find_repeats(story.paragraphs, DedupConfig().shingle_words) == {5: (1,)}
