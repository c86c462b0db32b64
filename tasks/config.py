"""All pipeline options in one typed object; the defaults live here and nowhere else."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tasks.dedup.near_duplicates import DedupConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
MODELS_DIR = Path(__file__).resolve().parent
# Distributions whose release changes the text, metadata or ids a run publishes: the
# extractors and their parsers, the date reader, decoding, the dedup hashes. A release of any
# of them can change the output with the same options, so the fingerprint names them.
OUTPUT_SHAPING_LIBRARIES = (
    "newsclean",
    "trafilatura",
    "htmldate",
    "courlan",
    "justext",
    "lxml",
    "lxml_html_clean",
    "beautifulsoup4",
    "html-text",
    "charset-normalizer",
    "fastwarc",
    "rensa",
)


def library_versions(names: tuple[str, ...] = OUTPUT_SHAPING_LIBRARIES) -> dict[str, str]:
    """Installed version of each library in ``names`` (``"absent"`` when not installed)."""
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "absent"
    return versions


def model_digests() -> dict[str, str]:
    """SHA-256 of every model file the cleaning step loads (``*_model.json`` in ``tasks/``)."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(MODELS_DIR.rglob("*_model.json"))
    }


class _Checked:
    """Range checks from the fields' metadata, so that a bad value names its key in one line."""

    def __post_init__(self) -> None:
        for spec in fields(self):  # type: ignore[arg-type]
            low, high = spec.metadata.get("min"), spec.metadata.get("max")
            value = getattr(self, spec.name)
            outside = value != value  # NaN (`nan` in TOML) is in no range, yet compares False
            if outside or (low is not None and value < low) or (high is not None and value > high):
                bounds = f"in [{low}, {high}]" if high is not None else f">= {low}"
                raise ValueError(f"{spec.name} must be {bounds}, not {value!r}")


def _share(default: float) -> Any:
    """A field holding a share (a fraction of 0 to 1)."""
    return field(default=default, metadata={"min": 0.0, "max": 1.0})


def _at_least(default: int | float, low: int | float = 1) -> Any:
    """A field holding a count or a length (at least ``low``)."""
    return field(default=default, metadata={"min": low})


@dataclass(frozen=True)
class ReadConfig(_Checked):
    """Reading and decoding an input (``tasks.inputs.read``, ``tasks.inputs.warc``)."""

    # Inputs larger than this are quarantined unread: a page dump is rarely over 1 MB.
    max_input_bytes: int = _at_least(20 * 1024 * 1024)
    # Decoded text with more control characters than this share is binary data: text has none.
    max_control_share: float = _share(0.01)
    # windows-1252 (the web's default legacy charset) wins over a statistically better
    # single-byte guess within this much charset-normalizer "chaos": short Latin texts
    # otherwise decode as a random Central European code page.
    web_default_tolerance: float = _share(0.05)
    # A stated charset (BOM, HTTP header, meta tag; UTF-8 when none) "fails badly" when more
    # of its invalid byte sequences than one and than this share of the non-ASCII characters
    # it reads: the bytes are in another charset, which detection then finds. Below it, each
    # invalid sequence becomes U+FFFD (counted in ``decode_errors``): one stray byte in a UTF-8
    # page is one lost character, not a page garbled in a legacy code page. A windows-1252
    # page mislabelled UTF-8 has nearly all its non-ASCII bytes invalid (share ~1.0).
    max_decode_error_share: float = _share(0.1)
    # A text with more mojibake sequences than this share of its non-ASCII characters
    # (``tasks.inputs.mojibake``) is read again as UTF-8 or repaired, else quarantined:
    # garbled text scores 0.3-0.5, real pages 0.0 (at most 0.03 where a site double-encoded
    # a stray character, on the three development sets' pages that are not garbled).
    max_mojibake_share: float = _share(0.1)


@dataclass(frozen=True)
class ExtractConfig(_Checked):
    """Finding the main text of an HTML page (``tasks.extract.html``, ``domblocks``,
    ``readerable``)."""

    # trafilatura's recall-favouring mode: it keeps more of the page and the DOM chrome filter
    # then drops the chrome (``python -m benchmarks.extraction --ablate favor_recall``).
    favor_recall: bool = True
    # A script or style over this many characters is application state or a bundle, never
    # metadata: it is emptied after parsing, so that the readers searching the markup stay
    # bounded (a 15 MB script took 35 s); the largest on the 711 WCXB dev pages is 1.1 M.
    max_script_chars: int = _at_least(2_000_000)
    # A paragraph is chrome when the DOM model's probability that it is article text is under
    # this. The model's own cutoff (0.45, chosen on WCXB dev) dropped article text on the
    # other development sets; at 0.2, against 0.45, shingle F1 moves by -0.002 [-0.005,
    # +0.001] on WCXB dev, snippet F1 by +0.008 [+0.001, +0.015] on trafilatura-eval and
    # shingle F1 by +0.011 [+0.001, +0.023] on Readability's pages (first 300 / 300 / 130
    # pages, paired bootstrap); 0.1 and 0.0 (no filter) lose more on WCXB, gain nothing else.
    chrome_below: float = _share(0.2)
    # A teaser headline (``teaser_headline``): a line in a teaser, card or related box of the
    # DOM with at most this many words, no sentence end, and at least this share of its words
    # link text (the link to the other page). Such a box's headline is a link; a subheading
    # or a product name in the article text is not all link text.
    teaser_max_words: int = _at_least(20, 1)
    teaser_link_share: float = _share(0.9)
    # Readability's isProbablyReaderable: a block of prose counts from this many characters,
    # and the page has one once the blocks' sqrt(characters - 140) add up past the score.
    # Readability's own values: with them the port agrees on all 133 of its test pages.
    readerable_min_content_chars: int = _at_least(140, 0)
    readerable_min_score: float = _at_least(20.0, 0.0)


@dataclass(frozen=True)
class MetadataConfig(_Checked):
    """Reading authors, dates, the headline and the language (``tasks.extract.metadata``)."""

    # A declared author of more names than this is a sentence or a job title, not a person.
    max_author_name_words: int = _at_least(6)
    # An <h1> of more words than this is a paragraph, not the article's headline.
    max_headline_words: int = _at_least(40)
    # The page's only <h1> is its headline when it has this many words and shares this share
    # of them with the declared title (otherwise it may be the site's logo or a section name).
    min_lone_headline_words: int = _at_least(3, 0)
    lone_headline_shared: float = _share(0.5)
    # Dates outside these years are placeholders (``0001-01-01``, ``9999-12-31`` from CMSs),
    # not publication dates of news pages.
    earliest_year: int = _at_least(1900)
    latest_year: int = _at_least(2099)
    # A dateline or byline is looked for among this many text nodes after the headline (and a
    # quarter as many before it), in lines of at most this many characters: where they sit.
    dateline_nodes: int = _at_least(40, 0)
    dateline_max_chars: int = _at_least(120)
    # A header line outside date/byline markup is a dateline at up to this many words, unless
    # it has this many or more and ends like a sentence (then it is a line of the story).
    dateline_max_words: int = _at_least(12)
    dateline_sentence_words: int = _at_least(6)
    # A byline's element, or one of this many ancestors, has an author/byline class.
    max_byline_ancestors: int = _at_least(3, 0)
    # Fewer letters than this give py3langid no reliable guess: the language stays unknown.
    min_language_letters: int = _at_least(30, 0)
    # Language detection reads this many characters: enough for a sure guess, and ~1 ms.
    language_sample_chars: int = _at_least(5000)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.latest_year < self.earliest_year:
            raise ValueError("latest_year must be >= earliest_year")


@dataclass(frozen=True)
class SplitConfig(_Checked):
    """Splitting text into paragraphs and joining hard-wrapped lines
    (``tasks.clean.paragraphs``)."""

    # Ragged wraps: a block of three or more lines is one paragraph when at least this share
    # of its line breaks fall mid-sentence (a line of prose goes on in lower case).
    hard_wrap_min_share: float = _share(0.5)
    # Wrap width: widths below this many columns are not prose wrapping.
    wrap_min_width: int = _at_least(40)
    # A text is wrapped at its best width when at least this many of its line breaks, and
    # this share of them, are full there (the next word would not have fitted)...
    wrap_min_breaks: int = _at_least(2)
    wrap_min_share: float = _share(0.3)
    # ...and at least this share of the full lines go on in lower case.
    wrap_min_continued: float = _share(0.5)
    # A line breaks off mid-sentence only from this many characters (short lines are verse,
    # addresses, lists without markers).
    ragged_min_chars: int = _at_least(40, 0)
    # In a wrapped text, a line filling this share of the width that breaks off mid-sentence
    # is joined too (a list item without a full stop is usually shorter).
    ragged_min_fill: float = _share(0.75)


@dataclass(frozen=True)
class CleanConfig(_Checked):
    """Labelling paragraphs: rules, classifier and page filters (``tasks.clean.classify``, ...)."""

    # Run the whole-page main-content selector (``tasks.clean.pagetext``) on plain-text input.
    select_main_content: bool = True
    # Related-story link lists: a run of at least this many bulleted items, none ending a
    # sentence and none longer than this many words (a headline's length).
    link_list_min_run: int = _at_least(2)
    link_list_max_words: int = _at_least(25, 0)
    # Headline shape (the title of a page without one in its metadata): a line of this many
    # words that ends no sentence, among the first few paragraphs no rule claimed.
    title_min_words: int = _at_least(2, 0)
    title_max_words: int = _at_least(30, 0)
    title_search_depth: int = _at_least(3, 0)
    # An author bio is one paragraph of at most this many words after its heading.
    author_bio_max_words: int = _at_least(100, 0)
    # Page-text selector: a headline (a line of this many words) is looked for this many
    # paragraphs before the main text and kept: readers and the seed gold count it as article;
    # a line of at most this many words with newsletter/share vocabulary beside a dropped line
    # is a widget's title; a run of this many short lines is a menu; a page whose kept text is
    # more than this share lines repeated on the site's other pages is a duplicate page, left
    # to deduplication (chrome repeats, an article's text does not).
    headline_window: int = _at_least(8, 0)
    headline_min_words: int = _at_least(3, 0)
    headline_max_words: int = _at_least(30, 0)
    boiler_line_words: int = _at_least(12, 0)
    menu_run: int = _at_least(3)
    repeated_page_share: float = _share(0.5)
    # A page without a block of prose is no article when its body is under this many words or
    # this share of its characters is the text of its links of this many words or more (an
    # index or a listing; shorter links are menus); neither fires on the 711 WCXB dev
    # articles or the 458 trafilatura evaluation pages.
    not_article_max_words: int = _at_least(15, 0)
    not_article_link_share: float = _share(0.5)
    not_article_link_min_words: int = _at_least(3, 0)
    # Within one article, a later paragraph is a repeat (a lede inside a longer paragraph, a
    # pull quote) when this share of the smaller one's shingles is in an earlier one; only
    # paragraphs of this many words or more (``tasks.dedup.index_sync.find_repeats``).
    containment_threshold: float = _share(0.8)
    containment_min_words: int = _at_least(12, 0)
    # The head of an article (title, dateline, standfirst) ends at its first body paragraph
    # of this many words (its first prose). Within one article, dedup removes a copy of the
    # title or of a head paragraph; a copy of a later one (a heading, table row, list item,
    # question, speaker name) is the article's own structure and stays (``tasks.dedup.
    # runwide``). 20: a sentence, longer than the headings and rows repeated in WCXB dev
    # articles; measured in docs/benchmarks.md (issue #25).
    head_prose_words: int = _at_least(20, 1)
    # Site chrome across a run: a body line of at most this many words on this many pages of
    # one site (counted by story, reprints as one) is chrome (``tasks.dedup.index_sync``). 12 words
    # is
    # DedupConfig.scope_max_words; 3 pages, as two may be a story and its follow-up.
    site_repeat_min_pages: int = _at_least(3, 2)
    site_repeat_max_words: int = _at_least(12, 0)


# Options that cannot change what a run publishes, left out of the fingerprint (dotted paths):
# sharding, the dedup batch size (a memory bound: the same duplicates at any size) and where
# the suites live (the length limits read from them are in the fingerprint instead).
NOT_OUTPUT_CHANGING = frozenset(
    {"shard_size", "dedup.batch_size", "expectations_dir", "compact_after_parts"}
)


@dataclass(frozen=True)
class PipelineConfig:
    """Options of one run, a section per stage in data-flow order.

    Same inputs and the same config give the same dataset. Every threshold that changes the
    output is a field here, with its default, and in :meth:`fingerprint`.
    """

    read: ReadConfig = field(default_factory=ReadConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    metadata: MetadataConfig = field(default_factory=MetadataConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    # Inputs per Prefect task: large enough that orchestration (~90 ms a task) stays a
    # small fraction of the work (~5-20 ms an input).
    shard_size: int = 500
    # A run ends by compacting the published parts (tasks.output.compact) when a table has
    # more small parts than this (0: never; ``newsclean compact`` does it on demand): an
    # hourly schedule then merges about every four days, rewriting only the small parts.
    # The rows stay the same; only the files change.
    compact_after_parts: int = 100
    expectations_dir: Path = EXPECTATIONS_DIR

    def __post_init__(self) -> None:
        # A shard size of 0 or less used to run "0 shards", publish nothing and succeed.
        if self.shard_size < 1:
            raise ValueError("shard_size must be >= 1")
        if self.compact_after_parts < 0:
            raise ValueError("compact_after_parts must be >= 0 (0: never)")

    def options(self) -> dict[str, Any]:
        """Every option that changes the output, nested by section (all but NOT_OUTPUT_CHANGING)."""
        options = asdict(self)
        for path in NOT_OUTPUT_CHANGING:
            *sections, name = path.split(".")
            table = options
            for section in sections:
                table = table[section]
            del table[name]
        return options

    def fingerprint(self) -> str:
        """What decides the output besides the input, as canonical JSON (in the run report).

        Two runs with equal fingerprints on the same input publish the same bytes: every
        option that changes the output (:meth:`options`), the length limits the suites set
        (a title over its limit is dropped, a paragraph over its limit quarantines the
        input), the digests of the model files the cleaning step loads and the versions of
        the libraries that shape the text.
        """
        limits = length_limits(self.expectations_dir)
        identity = {
            "options": self.options(),
            "length_limits": {f"{table}.{column}": n for (table, column), n in limits.items()},
            "models": model_digests(),
            "libraries": library_versions(),
        }
        return json.dumps(identity, sort_keys=True, default=str)


def load_suite(expectations_dir: Path, table: str) -> dict[str, Any]:
    """The Great Expectations suite of ``table`` (``expectations/<table>.json``)."""
    suite: dict[str, Any] = json.loads(
        (expectations_dir / f"{table}.json").read_text(encoding="utf-8")
    )
    return suite


@lru_cache(maxsize=8)
def length_limits(expectations_dir: Path) -> dict[tuple[str, str], int]:
    """The longest value each suite allows a string column, as ``{(table, column): max}``.

    Read from the suites themselves (``expect_column_value_lengths_to_be_between``), so that
    the cleaning boundary applies the same bounds as validation: an input that breaks one (a
    900-character ``<title>``, a 300,000-character line) is handled on its own there, instead
    of failing validation, and so publishing, for the whole run.
    """
    return {
        key: int(value)
        for key, value in _suite_maxima(
            expectations_dir, "expect_column_value_lengths_to_be_between"
        ).items()
    }


@lru_cache(maxsize=8)
def value_limits(expectations_dir: Path) -> dict[tuple[str, str], float]:
    """The largest value each suite allows a column (``expect_column_values_to_be_between``),
    as ``{(table, column): max}``: the cleaning boundary applies them as :func:`length_limits`
    does (the articles' ``mojibake_share``)."""
    return {
        key: float(value)
        for key, value in _suite_maxima(
            expectations_dir, "expect_column_values_to_be_between"
        ).items()
    }


def _suite_maxima(expectations_dir: Path, expectation_type: str) -> dict[tuple[str, str], Any]:
    """The ``max_value`` of every expectation of one type in the articles and paragraphs
    suites, as ``{(table, column): max_value}``."""
    return {
        (table, expectation["kwargs"]["column"]): expectation["kwargs"]["max_value"]
        for table in ("articles", "paragraphs")
        for expectation in load_suite(expectations_dir, table)["expectations"]
        if expectation["type"] == expectation_type
        and expectation["kwargs"].get("max_value") is not None
    }


# The defaults, built once: a frozen config, and building one costs ~20 µs. Functions take
# their stage's section with this as the default (``config: SplitConfig = DEFAULTS.split``).
DEFAULTS = PipelineConfig()
