"""The one vocabulary of paragraph decisions: the labels, and every reason a step can give.

Each paragraph row carries a ``label`` (kept: ``title``, ``body``; removed: the others) and
the ``reason`` that decided it. Every reason any step emits is registered here once, with
the label it gives, the step that gives it and a one-line meaning: the rules, the classifier,
the main-content selector, the DOM filter, deduplication and the report all name these
entries instead of writing strings of their own, docs/reasons.md's table is this registry
(``python -m tasks.reasons`` prints it), and tests hold both to it.

The quarantine ``stage`` names are registered the same way (``Stage``); the reasons of a
quarantined input are sentences with numbers in them and stay free text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Label(StrEnum):
    """A paragraph's fate. ``StrEnum``: a member equals the string stored in Parquet and SQL."""

    TITLE = "title"
    BODY = "body"
    AD = "ad"
    BYLINE = "byline"
    PROMO = "promo"
    CAPTION = "caption"
    BOILERPLATE = "boilerplate"
    DUPLICATE = "duplicate"


KEPT_LABELS = frozenset({Label.TITLE, Label.BODY})
REMOVED_LABELS: tuple[Label, ...] = tuple(label for label in Label if label not in KEPT_LABELS)


class Stage(StrEnum):
    """Where in the per-document steps an input was quarantined (the quarantine ``stage``)."""

    READ = "read"
    DECODE = "decode"
    EXTRACT = "extract"
    SPLIT = "split"
    CLEAN = "clean"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a paragraph got its label: the string written to ``paragraphs.reason`` is ``name``."""

    name: str
    label: Label
    step: str
    meaning: str


# The steps that give reasons, in the order a paragraph meets them.
DOM_FILTER = "dom_filter"
RULES = "rules"
STRUCTURE = "structure"
TITLE = "title"
MAIN_CONTENT = "main_content"
BODY = "body"
DEDUP = "dedup"
REPEATS = "repeats"
SITE_CHROME = "site_chrome"

_B, _P = Label.BOILERPLATE, Label.PROMO

# --- the extractor's DOM filter (tasks.extract.html, tasks.extract.domblocks)
# ---------------------------
DOM_CHROME = Reason(
    "dom_chrome", _B, DOM_FILTER, "The page's DOM places the extracted line in page chrome."
)

SIDEBAR_PARAGRAPH = Reason(
    "sidebar_paragraph",
    _B,
    DOM_FILTER,
    "The page's DOM places the line in a sidebar or widget box (<aside>), off the article.",
)
TEASER_HEADLINE = Reason(
    "teaser_headline",
    _P,
    DOM_FILTER,
    "A headline linking to another page from a teaser, card or related-content box.",
)

# --- the rule catalogue (tasks.clean.rules): one reason per rule, in catalogue order -------------
AD_MARKER = Reason(
    "ad_marker", Label.AD, RULES, "Ad slot labels left in the text where an ad was rendered."
)
TEMPLATE_RESIDUE = Reason(
    "template_residue",
    _B,
    RULES,
    "Unrendered template placeholders such as {{}} or {% ... %}.",
)
EMPTY_DATE_LABEL = Reason(
    "empty_date_label", _B, RULES, "A date label whose value the dump lost (template residue)."
)
SHARE_WIDGET = Reason(
    "share_widget", _B, RULES, "Share, bookmark and print buttons rendered as text."
)
TAG_LIST = Reason(
    "tag_list", _B, RULES, "Tag and category lists ('Tagged: a, b, c', also with the tags lost)."
)
COMMENT_FORM = Reason("comment_form", _B, RULES, "Comment forms and comment counters.")
COPYRIGHT_LINE = Reason("copyright_line", _B, RULES, "Copyright and all-rights-reserved lines.")
WIRE_CREDIT = Reason(
    "wire_credit",
    Label.BYLINE,
    RULES,
    "A wire service named on its own line (photo or story credit).",
)
SOURCE_CREDIT = Reason(
    "source_credit",
    Label.BYLINE,
    RULES,
    "'Source: X' credit lines naming where the story came from.",
)
REPORTING_CREDIT = Reason(
    "reporting_credit",
    Label.BYLINE,
    RULES,
    "'With reporting by A, B and C' and 'Editing by' credit lines.",
)
AUTHOR_BOX = Reason("author_box", Label.BYLINE, RULES, "Author box heading ('About Jane Doe').")
AUTHOR_HEADING = Reason(
    "author_heading",
    Label.BYLINE,
    RULES,
    "An 'About the Author' box heading; the bio after it goes with it (author_bio).",
)
BYLINE = Reason("byline", Label.BYLINE, RULES, "'By Jane Doe and John Roe' author lines.")
PHOTO_CAPTION = Reason("photo_caption", Label.CAPTION, RULES, "Photo captions and photo credits.")
HOMEPAGE_PROMO = Reason("homepage_promo", _P, RULES, "'Visit our homepage for more stories'.")
WATCH_PROMO = Reason(
    "watch_promo", _P, RULES, "'NOW WATCH:', 'READ MORE:', 'Related:' promos of other content."
)
RELATED_HEADING = Reason(
    "related_heading",
    _P,
    RULES,
    "The heading of a related / recommended stories list (the list after it goes with it).",
)
LINK_ARROW = Reason(
    "link_arrow", _P, RULES, "A line led by a link arrow: a teaser for another story."
)
INLINE_RELATED_LINK = Reason(
    "inline_related_link",
    _P,
    RULES,
    "'Topic:Headline' related-story links (no space after the colon, no sentence end).",
)
NAVIGATION_LINK = Reason(
    "navigation_link",
    _B,
    RULES,
    "Back, next, previous and see-all links as text ('Back to overview', 'Next »').",
)
NEWSLETTER_PROMO = Reason("newsletter_promo", _P, RULES, "Newsletter and subscription boxes.")
SUBSCRIBE_PROMPT = Reason(
    "subscribe_prompt",
    _P,
    RULES,
    "A prompt to subscribe or register, newsletters aside ('Subscribe to X on YouTube').",
)
# The colon tells it from a headline ("Iran says").
COMMENT_HEADER = Reason(
    "comment_header",
    _B,
    RULES,
    "A reader comment's 'Jane says:' header; with a timestamp it opens the comment section.",
)
APP_OR_FOLLOW_PROMO = Reason(
    "app_or_follow_promo", _P, RULES, "App download and social follow prompts."
)

# --- what a chrome heading opens, and bulleted headline runs (tasks.clean.classify) --------------
RELATED_LINK_LIST = Reason(
    "related_link_list",
    _P,
    STRUCTURE,
    "A run of two or more short bulleted lines without a sentence end: links to other stories.",
)
RELATED_LIST = Reason(
    "related_list",
    _P,
    STRUCTURE,
    "A bulleted headline right after a related-stories heading (related_heading, watch_promo).",
)
AUTHOR_BIO = Reason(
    "author_bio", _B, STRUCTURE, "The short paragraph after an 'About the Author' heading."
)
COMMENT_SECTION = Reason(
    "comment_section",
    _B,
    STRUCTURE,
    "Everything after a timestamped reader comment header: the comment section.",
)

# --- the title (tasks.clean.classify) -----------------------------------------------------------
TITLE_METADATA = Reason(
    "title_metadata", Label.TITLE, TITLE, "The paragraph equal to the title the page declares."
)
TITLE_FIRST_HEADLINE = Reason(
    "title_first_headline",
    Label.TITLE,
    TITLE,
    "No declared title: the first headline-shaped paragraph at the top of the text.",
)

# --- the main-content selector for whole-page text (tasks.clean.pagetext) -------------------------
MENU_RUN = Reason("menu_run", _B, MAIN_CONTENT, "Inside a run of short lines (a menu).")
OUTSIDE_MAIN_TEXT = Reason(
    "outside_main_text", _B, MAIN_CONTENT, "Before or after the article's span of prose."
)
BOILERPLATE_PHRASE = Reason(
    "boilerplate_phrase",
    _B,
    MAIN_CONTENT,
    "Inside the article span, with cookie, newsletter or share vocabulary.",
)
SHORT_NON_PROSE = Reason(
    "short_non_prose",
    _B,
    MAIN_CONTENT,
    "Inside the article span, a short line or one with few stop words, scored not prose.",
)
LOW_CONTENT_SCORE = Reason(
    "low_content_score",
    _B,
    MAIN_CONTENT,
    "Inside the article span, scored not article text by the selector's network.",
)

# --- what no step removed (tasks.clean.classify) --------------------------------------------------
ARTICLE_TEXT = Reason("article_text", Label.BODY, BODY, "Article text: no step removed it.")

# --- run-wide steps (tasks.dedup.index_sync, tasks.dedup.near_duplicates)
# ---------------------------------------------
EXACT_DUPLICATE = Reason(
    "exact_duplicate",
    Label.DUPLICATE,
    DEDUP,
    "The same words as a kept paragraph of this or an earlier run (duplicate_of names it).",
)
NEAR_DUPLICATE = Reason(
    "near_duplicate",
    Label.DUPLICATE,
    DEDUP,
    "Nearly the same words as a kept paragraph of this or an earlier run (duplicate_of).",
)
REPEATED_IN_ARTICLE = Reason(
    "repeated_in_article",
    Label.DUPLICATE,
    REPEATS,
    "Mostly contained in (or containing) an earlier paragraph of the same article.",
)
SITE_REPEAT = Reason(
    "site_repeat",
    _B,
    SITE_CHROME,
    "A line repeated on other pages of the same site: the site's chrome.",
)

REASONS: tuple[Reason, ...] = (
    DOM_CHROME,
    SIDEBAR_PARAGRAPH,
    TEASER_HEADLINE,
    AD_MARKER,
    TEMPLATE_RESIDUE,
    EMPTY_DATE_LABEL,
    SHARE_WIDGET,
    TAG_LIST,
    COMMENT_FORM,
    COPYRIGHT_LINE,
    WIRE_CREDIT,
    SOURCE_CREDIT,
    REPORTING_CREDIT,
    AUTHOR_BOX,
    AUTHOR_HEADING,
    BYLINE,
    PHOTO_CAPTION,
    HOMEPAGE_PROMO,
    WATCH_PROMO,
    RELATED_HEADING,
    LINK_ARROW,
    INLINE_RELATED_LINK,
    NAVIGATION_LINK,
    NEWSLETTER_PROMO,
    SUBSCRIBE_PROMPT,
    COMMENT_HEADER,
    APP_OR_FOLLOW_PROMO,
    RELATED_LINK_LIST,
    RELATED_LIST,
    AUTHOR_BIO,
    COMMENT_SECTION,
    TITLE_METADATA,
    TITLE_FIRST_HEADLINE,
    MENU_RUN,
    OUTSIDE_MAIN_TEXT,
    BOILERPLATE_PHRASE,
    SHORT_NON_PROSE,
    LOW_CONTENT_SCORE,
    ARTICLE_TEXT,
    EXACT_DUPLICATE,
    NEAR_DUPLICATE,
    REPEATED_IN_ARTICLE,
    SITE_REPEAT,
)
BY_NAME: dict[str, Reason] = {reason.name: reason for reason in REASONS}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table() -> str:
    """The registry as the table of docs/reasons.md (a test keeps the two equal)."""
    rows = [f"| `{r.name}` | `{r.label}` | {r.step} | {_cell(r.meaning)} |" for r in REASONS]
    return "\n".join(["| reason | label | step | meaning |", "|---|---|---|---|", *rows])


if __name__ == "__main__":
    print(markdown_table())
