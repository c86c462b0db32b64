"""Chrome by category (issue #25, finding 6) and text dumps read in their own language (7).

Each kind of chrome gets its own reason: newsletter, subscribe and follow prompts, "You may
also like", teaser headlines and sidebar paragraphs; FAQ answers are article text, not
captions. A page dump is read with the stop words of its detected language.
"""

from __future__ import annotations

import numpy as np

from tasks.clean import pagetext
from tasks.clean.document import dump_language, process_document
from tasks.clean.paragraphs import split_lines
from tasks.extract.html import dom_chrome, parse_html
from tasks.reasons import (
    APP_OR_FOLLOW_PROMO,
    ARTICLE_TEXT,
    NEWSLETTER_PROMO,
    RELATED_HEADING,
    SIDEBAR_PARAGRAPH,
    SUBSCRIBE_PROMPT,
    TEASER_HEADLINE,
)

BODY = (
    "The city council voted on Tuesday to expand the bike lane network across the northern "
    "districts, a plan that has been debated for nearly three years.",
    "Supporters said the new lanes would make commuting safer for thousands of residents, while "
    "opponents argued that the loss of parking would hurt small businesses on the main streets.",
    "Construction is expected to begin in the spring and to last about eighteen months, "
    "according to the transport department, which will publish a detailed schedule next month.",
    "The mayor said the council would review the effect on local traders after the first year "
    "and adjust the plan if needed.",
)
SUBSCRIBE = "Subscribe to City Daily on YouTube"
NEWSLETTER = "Get the best stories by subscribing to our newsletter."
FOLLOW = "Follow us on Twitter @citydaily"
ALSO_LIKE = "You may also like…"
TEASER = "The best bike helmets for commuting this year"
QUESTIONS = ("When will the work start?", "Where do the route photos come from?")
ANSWERS = (
    "The first section opens to traffic in the spring, the rest a year later.",
    "The photos of the route are licensed from Shutterstock and shown with permission",
)
SIDEBAR = (
    "Our reporters have covered city politics for more than forty years, and our archive "
    "holds every council vote since 1985, free to read for every resident."
)

PAGE = f"""<html lang="en"><head><title>Council expands bike lanes</title></head><body>
<header><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>
<main><article><h1>Council expands bike lanes</h1>
<p>{BODY[0]}</p><p>{BODY[1]}</p>
<p>{SUBSCRIBE}</p>
<p>{BODY[2]}</p>
<section class="recommended"><h2><a href="/shop/helmets">{TEASER}</a></h2></section>
<p>{BODY[3]}</p>
<p>{NEWSLETTER}</p>
<p>{FOLLOW}</p>
<h2>Frequently asked questions</h2>
<h3>{QUESTIONS[0]}</h3><p>{ANSWERS[0]}</p>
<h3>{QUESTIONS[1]}</h3><p>{ANSWERS[1]}</p>
</article></main>
<footer><p>Contact us</p></footer></body></html>"""


def _reasons(paragraphs: list) -> dict[str, str]:
    return {p.text: p.reason for p in paragraphs}


def test_chrome_on_a_page_gets_its_category_and_faq_answers_stay_body():
    reasons = _reasons(process_document(PAGE.encode(), "page.html").paragraphs)
    assert reasons[SUBSCRIBE] == SUBSCRIBE_PROMPT.name
    assert reasons[NEWSLETTER] == NEWSLETTER_PROMO.name
    assert reasons[FOLLOW] == APP_OR_FOLLOW_PROMO.name
    assert reasons[TEASER] == TEASER_HEADLINE.name
    for text in (*BODY, *QUESTIONS, *ANSWERS):
        assert reasons[text] == ARTICLE_TEXT.name, text


def test_chrome_in_a_page_dump_gets_its_category():
    dump = "\n\n".join(
        [
            "Home",
            "News",
            "Sport",
            "Council expands bike lanes",
            BODY[0],
            SUBSCRIBE,
            BODY[1],
            BODY[2],
            NEWSLETTER,
            BODY[3],
            FOLLOW,
            QUESTIONS[1],
            ANSWERS[1],
            ALSO_LIKE,
        ]
    )
    reasons = _reasons(process_document(dump.encode(), "page.txt").paragraphs)
    assert reasons[SUBSCRIBE] == SUBSCRIBE_PROMPT.name
    assert reasons[NEWSLETTER] == NEWSLETTER_PROMO.name
    assert reasons[FOLLOW] == APP_OR_FOLLOW_PROMO.name
    assert reasons[ALSO_LIKE] == RELATED_HEADING.name
    assert reasons[ANSWERS[1]] == ARTICLE_TEXT.name


def test_sidebar_paragraphs_and_teaser_headlines_go_by_their_place_in_the_dom():
    page = f"""<html><body><div class="layout has-sidebar">
    <article><h1>Council expands bike lanes</h1><p>{BODY[0]}</p><p>{BODY[1]}</p>
    <div class="product-card"><a href="/shop/helmets">{TEASER}</a></div>
    <p>{BODY[2]}</p></article>
    <div id="secondary" class="widget-area"><p>{SIDEBAR}</p></div></div></body></html>"""
    paragraphs = [BODY[0], BODY[1], TEASER, BODY[2], SIDEBAR]
    removed = dom_chrome(parse_html(page), paragraphs, "trafilatura")
    assert removed.get(2) == TEASER_HEADLINE
    assert removed.get(4) == SIDEBAR_PARAGRAPH
    # "has-sidebar" names the layout around the article, not a sidebar: the article stays.
    assert not {0, 1, 3} & removed.keys()


GERMAN = (
    "Seit fast drei Jahren wurde über den Plan gestritten, als die Stadt sich dann doch "
    "entschied, dass es schnell gehen muss."
)


def test_a_german_dump_is_read_with_german_stop_words():
    texts = split_lines("\n\n".join(["Startseite", GERMAN, GERMAN.replace("Plan", "Weg")]))[0]
    assert dump_language(texts) == "de"
    stop_density = pagetext.LOCAL_FEATURES.index("stop_density")
    german = pagetext.page_features([GERMAN, "they would say which one is for this"], "de")
    # German function words outside the old fixed list ("als", "dass", "wurde", "sich") count;
    # English ones do not, on a German page.
    assert german[0, stop_density] > 0.4
    assert german[1, stop_density] < 0.2
    assert {"als", "dass", "wurde", "sich"} <= pagetext.stop_words("de")
    assert not {"would", "which", "they"} & pagetext.stop_words("de")
    # No language detected: the fallback union, English and a few words of other languages.
    assert pagetext.stop_words("en") < pagetext.stop_words(None)
    assert "der" in pagetext.stop_words(None) and "der" not in pagetext.stop_words("en")


POLISH = (
    "Rada miasta zdecydowała we wtorek, że sieć dróg rowerowych na północy miasta zostanie "
    "wyraźnie rozbudowana.",
    "Od prawie trzech lat spierano się o ten plan, ale teraz wszystko ma pójść szybko.",
    "Zwolennicy mówią, że nowe drogi sprawią, że dojazd do pracy będzie bezpieczniejszy dla "
    "tysięcy ludzi.",
    "Przeciwnicy uważają natomiast, że przez likwidację miejsc parkingowych ucierpią przede "
    "wszystkim małe sklepy.",
    "Prace budowlane mają się rozpocząć wiosną i potrwać około osiemnastu miesięcy.",
    "Potem miasto chce sprawdzić, czy sytuacja handlowców się zmieniła.",
)
POLISH_FOOTER = ("Polityka prywatności", "Kontakt", "Regulamin")


def test_the_language_of_a_dump_decides_where_its_article_ends():
    """With a fixed list of a few Western languages' stop words, Polish prose has almost none,
    and the footer after the article looked as much like text as the article itself."""
    lines = ["Strona główna", "Polityka", "Sport", "Kultura", "Rada miasta buduje drogi"]
    dump = "\n".join([*lines, "", *(f"{p}\n" for p in POLISH), *POLISH_FOOTER])
    article = process_document(dump.encode(), "page.txt")
    reasons = _reasons(article.paragraphs)
    assert [reasons[p] for p in POLISH] == [ARTICLE_TEXT.name] * len(POLISH)
    assert all(reasons[line] != ARTICLE_TEXT.name for line in POLISH_FOOTER)
    texts = split_lines(dump)[0]
    fallback = pagetext.select_main_content(texts, language=None)
    assert np.any([fallback[texts.index(line)] is None for line in POLISH_FOOTER])
