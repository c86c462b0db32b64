"""The records that flow between steps: inputs, paragraphs, articles, quarantine entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from tasks.reasons import KEPT_LABELS as KEPT_LABELS
from tasks.reasons import REMOVED_LABELS as REMOVED_LABELS
from tasks.reasons import Label

# The labels live in tasks.reasons with the reasons that give them; these names stay for the
# modules that read labels from here.
TITLE, BODY = Label.TITLE, Label.BODY
LABELS: tuple[Label, ...] = tuple(Label)


class Rejected(Exception):
    """A per-input failure: the input is quarantined with this stage and reason, the run goes on.

    Anything else raised while processing an input is an infrastructure error and stops the run.
    """

    def __init__(
        self,
        stage: str,
        reason: str,
        *,
        input_sha256: str | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason
        # The SHA-256 of the bytes read before the rejection, when there were any.
        self.input_sha256 = input_sha256
        # Where in the input it failed when that is narrower than the file (``file#offset``).
        self.source = source


@dataclass(frozen=True, slots=True)
class InputRef:
    """One input file, with the path as the user gave it (``source``) and the resolved path."""

    source: str
    path: str


@dataclass(frozen=True, slots=True)
class Document:
    """One unit of input bytes to clean: a file, or one record of a WARC archive."""

    source: str
    data: bytes
    input_format: str
    url: str | None = None
    declared_charset: str | None = None
    # The WARC-Date of the response record (UTC); None for files.
    fetched_at: datetime | None = None


@dataclass(slots=True)
class Paragraph:
    position: int
    text: str
    label: str
    reason: str
    line_start: int
    line_end: int
    duplicate_of: str | None = None
    cluster_id: str | None = None

    @property
    def kept(self) -> bool:
        return self.label in KEPT_LABELS


@dataclass(slots=True)
class Article:
    """A cleaned article: metadata plus every input paragraph, kept or removed."""

    article_id: str
    source: str
    input_sha256: str
    input_format: str
    encoding: str
    extractor: str
    paragraphs: list[Paragraph]
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    credits: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    # "day", "minute" or "second": how much of published_at the page stated; None with no date.
    published_at_precision: str | None = None
    # The calendar day the page states, in its own UTC offset (published_at is the UTC instant).
    published_date: date | None = None
    url: str | None = None
    site_name: str | None = None
    language: str | None = None
    description: str | None = None
    duplicate_of_article: str | None = None
    syndication_source: str | None = None
    # Versions of one URL (tasks.dedup.runwide, step 2): the article this one replaces and its
    # number (1 for the first).
    supersedes: str | None = None
    version: int = 1
    # Paragraphs the extractor's text split into, counted before any filter or label: the
    # articles suite checks that every one of them is a row (kept or removed, with a reason).
    # None for articles built without ``process_document`` (then the rows are counted).
    paragraphs_in: int | None = None
    # Invalid byte sequences of the input read as U+FFFD (``tasks.inputs.read.decode``).
    decode_errors: int = 0
    # When the page was fetched: its WARC record's WARC-Date (UTC); None for files.
    fetched_at: datetime | None = None

    def paragraph_id(self, position: int) -> str:
        return f"{self.article_id}-{position:05d}"

    @property
    def body(self) -> list[Paragraph]:
        return [p for p in self.paragraphs if p.label == BODY]

    @property
    def text(self) -> str:
        """The cleaned body: kept body paragraphs joined by a blank line (title excluded)."""
        return "\n\n".join(p.text for p in self.body)


def article_of(paragraph_id: str) -> str:
    """The article id inside a paragraph id (``<article_id>-<position>``)."""
    return paragraph_id.rsplit("-", 1)[0]


@dataclass(frozen=True, slots=True)
class SkippedInput:
    """An input not turned into an article on purpose: already published or seen in this run,
    a WARC record that is no HTML page (``file#offset``, with its URL), an unsupported file."""

    source: str
    reason: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    source: str
    stage: str
    reason: str
    input_sha256: str | None = None
