"""The DOM chrome filter: paragraphs found again in the page, their surroundings, the model."""

from __future__ import annotations

import numpy as np

from tasks.extract import domblocks
from tasks.extract.html import dom_chrome, parse_html
from tasks.reasons import DOM_CHROME

BODY = (
    "The harbour council voted on Tuesday to rebuild the old pier after a winter of storms "
    "left its eastern end unsafe for the ferries that have docked there since the last century."
)
SECOND = (
    "Engineers said the work would take eighteen months and that the ferry service would move "
    "to the northern quay while the pilings are replaced one section at a time by the crews."
)
PAGE = f"""<html><head><title>Pier</title></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li></ul></nav>
<article class="story-body"><h1>Council votes to rebuild the pier</h1>
<p>{BODY}</p>
<figure><img src="p.jpg"><figcaption>The eastern end of the pier after the storms.</figcaption>
</figure>
<p>{SECOND}</p>
<aside class="newsletter-signup"><p>Sign up for our morning newsletter and get the news first.</p>
</aside></article>
<footer><p>Copyright 2024 Harbour Times. All rights reserved.</p></footer>
</body></html>"""

PARAGRAPHS = [
    "Council votes to rebuild the pier",
    BODY,
    "The eastern end of the pier after the storms.",
    SECOND,
    "Sign up for our morning newsletter and get the news first.",
    "Copyright 2024 Harbour Times. All rights reserved.",
]


def _features() -> np.ndarray:
    tree = parse_html(PAGE)
    assert tree is not None
    return domblocks.paragraph_features(tree, PARAGRAPHS, "trafilatura")


def test_every_paragraph_is_found_in_the_page():
    x = _features()
    col = domblocks.FEATURES.index
    assert x.shape == (len(PARAGRAPHS), len(domblocks.FEATURES))
    assert x[:, col("aligned")].tolist() == [1.0] * len(PARAGRAPHS)


def test_features_describe_where_each_paragraph_sits():
    x = _features()
    col = domblocks.FEATURES.index
    assert x[2, col("t_figure")] == 1.0 and x[1, col("t_figure")] == 0.0
    assert x[4, col("t_aside")] == 1.0 and x[4, col("c_newsletter")] == 1.0
    assert x[5, col("t_footer")] == 1.0 and x[5, col("in_main")] == 0.0
    assert x[1, col("t_article")] == 1.0 and x[3, col("in_main")] == 1.0
    assert x[5, col("after_prose")] == 1.0 and x[0, col("before_prose")] == 1.0
    assert x[0, col("t_heading")] == 1.0


def test_paragraphs_missing_from_the_page_are_marked_unaligned():
    tree = parse_html(PAGE)
    x = domblocks.paragraph_features(tree, [BODY, "Words that the page never shows at all."], "x")
    assert x[:, domblocks.FEATURES.index("aligned")].tolist() == [1.0, 0.0]


def test_shipped_model_scores_are_probabilities():
    model = domblocks.load_model()
    scores = domblocks.predict(model, _features())
    assert scores.shape == (len(PARAGRAPHS),)
    assert np.all((scores >= 0) & (scores <= 1))
    assert 0 < model["cutoff"] < 1


def test_filter_never_empties_the_text_and_needs_a_tree(monkeypatch):
    assert dom_chrome(None, PARAGRAPHS, "trafilatura") == {}
    monkeypatch.setattr(
        "tasks.extract.html.chrome_filter", lambda tree, paragraphs, ex, config, kinds: [False] * 6
    )
    assert dom_chrome(parse_html(PAGE), PARAGRAPHS, "trafilatura") == {}
    keep = [True, True, False, True, False, False]
    monkeypatch.setattr(
        "tasks.extract.html.chrome_filter", lambda tree, paragraphs, ex, config, kinds: keep
    )
    removed = dom_chrome(parse_html(PAGE), PARAGRAPHS, "trafilatura")
    assert removed == {i: DOM_CHROME for i in (2, 4, 5)}
    assert (DOM_CHROME.label, DOM_CHROME.name) == ("boilerplate", "dom_chrome")


def test_page_text_skips_scripts_and_gives_each_tail_to_its_parent():
    tree = parse_html(
        "<html><body><div>One two three four<script>var x = 'hidden words';</script>"
        "nine ten eleven twelve <b>bold words here now</b> tail words after bold</div>"
        "<style>p { color: red }</style></body></html>"
    )
    dom = domblocks.PageDom(tree)
    nodes = [
        (key, node.element.tag, node.offset) for key, found in dom.index.items() for node in found
    ]
    assert sorted(nodes, key=lambda n: n[2]) == [
        (("one", "two", "three", "four"), "div", 0),
        (("nine", "ten", "eleven", "twelve"), "div", 4),
        (("bold", "words", "here", "now"), "b", 8),
        (("tail", "words", "after", "bold"), "div", 12),
    ]
