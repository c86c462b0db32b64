"""The rule catalogue: general patterns of news-page chrome, one named rule each.

Every rule gives one registered reason (``tasks.reasons``: name, label, meaning) and, where
it carries metadata (bylines, credits), a function that pulls the names out. Rules match
whole paragraphs (whitespace-normalised); they describe *kinds* of chrome seen across news
sites, never the sentences of one page. Order matters: the first matching rule decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import compress
from operator import is_, itemgetter
from typing import Any, AnyStr, TypeAlias, cast

from tasks.clean.regexlead import lead_strings, required_marks
from tasks.reasons import (
    AD_MARKER,
    APP_OR_FOLLOW_PROMO,
    AUTHOR_BOX,
    AUTHOR_HEADING,
    BYLINE,
    COMMENT_FORM,
    COMMENT_HEADER,
    COPYRIGHT_LINE,
    EMPTY_DATE_LABEL,
    HOMEPAGE_PROMO,
    INLINE_RELATED_LINK,
    LINK_ARROW,
    NAVIGATION_LINK,
    NEWSLETTER_PROMO,
    PHOTO_CAPTION,
    RELATED_HEADING,
    REPORTING_CREDIT,
    SHARE_WIDGET,
    SOURCE_CREDIT,
    SUBSCRIBE_PROMPT,
    TAG_LIST,
    TEMPLATE_RESIDUE,
    WATCH_PROMO,
    WIRE_CREDIT,
    Label,
    Reason,
)

# Wire services and syndication sources that appear as credits, in datelines and in
# "with reporting by" lines. Longest names first so alternation prefers them.
WIRE_SERVICES: tuple[str, ...] = (
    "Agence France-Presse",
    "Associated Press",
    "Bloomberg News",
    "Deutsche Presse-Agentur",
    "Press Trust of India",
    "United Press International",
    "Canadian Press",
    "Kyodo News",
    "Al Jazeera",
    "Anadolu Agency",
    "Bloomberg",
    "Interfax",
    "Reuters",
    "Xinhua",
    "RFE/RL",
    "Yonhap",
    "Kyodo",
    "ANSA",
    "TASS",
    "AFP",
    "APA",
    "CNN",
    "dpa",
    "EFE",
    "IANS",
    "PTI",
    "UPI",
    "AAP",
    "AP",
    "PA",
)
_WIRE = "|".join(re.escape(name) for name in WIRE_SERVICES)
WIRE_PATTERN = re.compile(rf"^(?:the )?(?:{_WIRE})$", re.I)
DATELINE_CREDIT = re.compile(rf"^[A-Z][A-Za-z .,'’-]{{1,40}}\((?P<wire>(?i:{_WIRE}))\)\s*[—–-]")

_NAME = r"[A-Z][\w.'’-]*(?: (?:[A-Z][\w.'’-]*|van|von|de|da|del|der|bin|al|la|le))*"
_NAME_LIST = rf"{_NAME}(?:(?:, | and | & |, and ){_NAME})*"
_LIST_SPLIT = re.compile(r"\s*(?:,\s*and\s+|,|;|\band\b|&)\s*")


_ROLE_PREFIX = re.compile(
    r"^(?:(?:with )?(?:additional )?(?:reporting|writing|editing|research)(?: by| from)?)\s+",
    re.I,
)
_LOCATION_SUFFIX = re.compile(r"\s+in\s+[A-Z][\w .'-]*$")


def split_names(text: str) -> list[str]:
    """Split ``"A, B and C; Editing by D"`` into names, dropping roles and locations."""
    names = []
    for part in _LIST_SPLIT.split(text):
        name = _LOCATION_SUFFIX.sub("", _ROLE_PREFIX.sub("", part.strip(" ."))).strip(" .")
        if name and name not in names:
            names.append(name)
    return names


@dataclass(frozen=True, slots=True)
class Rule:
    """A named pattern that labels a whole paragraph.

    ``name``, ``label`` and ``description`` are its reason's (``tasks.reasons``): the name is
    the ``reason`` of the paragraphs it matches. ``authors``/``credits`` turn the match into
    metadata, so nothing stripped is lost.
    """

    name: str
    label: Label
    pattern: re.Pattern[str]
    description: str
    authors: Callable[[re.Match[str]], list[str]] | None = None
    credits: Callable[[re.Match[str]], list[str]] | None = None
    max_chars: int = 200
    first: re.Pattern[str] | None = None
    tail: tuple[str, ...] = ()
    head: re.Pattern[str] | None = None


def _group_names(group: str) -> Callable[[re.Match[str]], list[str]]:
    return lambda match: split_names(match.group(group))


def _whole(match: re.Match[str]) -> list[str]:
    return [match.group(0).strip()]


def _rule(
    reason: Reason,
    pattern: str,
    *,
    flags: int = re.I,
    authors: Callable[[re.Match[str]], list[str]] | None = None,
    credits: Callable[[re.Match[str]], list[str]] | None = None,
    max_chars: int = 200,  # at most the longest possible match + 1 (a newline before '$')
    first: str,
    tail: tuple[str, ...] = (),
    tail_pattern: str = "",
) -> Rule:
    """The catalogue rule giving ``reason`` (its name, label and description) to matches.

    ``first``: a character class (same flags) holding the first character of every match
    that does not have one of the lower-case ``tail`` strings in its last ``TAIL_CHARS``;
    ``match_rules`` uses it for paragraphs whose opening is not ASCII (else the lead strings
    of the pattern), and ``""`` makes a rule that is tried only with a ``tail`` string.
    ``tail_pattern``: alternatives tried after ``pattern`` that only match with a ``tail``
    string (they scan the whole paragraph); without one, ``match_rules`` tries ``pattern`` alone.
    """
    head = re.compile(pattern, flags)
    return Rule(
        reason.name,
        reason.label,
        re.compile(f"(?:{pattern})|(?:{tail_pattern})", flags) if tail_pattern else head,
        reason.meaning,
        authors,
        credits,
        max_chars,
        re.compile(first, flags) if first else None,
        tail,
        head if tail_pattern else None,
    )


_SHARE_WORDS = (
    r"share|shares|sharing|bookmark|tweet|email|e-mail|print|pin|save|copy link|facebook|twitter"
    r"|x|linkedin|whatsapp|reddit|pinterest|telegram|messenger|flipboard|comments?|\d++"
    r"|teilen|drucken|merken|partager|imprimer|compartir|imprimir|condividi|stampa|delen"
    r"|udostępnij|compartilhar"
)
# Share, like and rating widgets in other words: "Teilen mit:", "Diese Geschichte teilen", "Like
# this:", "%d bloggers like this:", "Artikel bewerten".
_WIDGET_PHRASES = (
    r"(?:teilen|partager|compartir|condividi|delen|share)(?: (?:sie )?(?:dies|das|this))?"
    r"(?: mit| on| sur| en| su)?"
    r"|(?:(?:diese[nrs]?|den|die|das) (?:geschichte|seite|artikel|beitrag|story) |mit (?:anderen"
    r"|freunden) )(?:mit (?:anderen|freunden) )?teilen"
    r"|(?:share|partagez|comparte|condividi) (?:this|cet|l'|este|esta|questo|questa)"
    r"(?: (?:article|story|post|page|artículo|noticia|articolo))?"
    r"|gefällt mir(?: wird geladen\.*)?|%d (?:bloggern gefällt das|bloggers like this)"
    r"|like this|like loading\.*|j'aime chargement…|me gusta cargando\.*"
    r"|(?:(?:artikel|beitrag) )?bewerten|rate this(?: article| post| story)?|valora esta noticia"
)

RULES: tuple[Rule, ...] = (
    # --- ads -------------------------------------------------------------------------
    _rule(
        AD_MARKER,
        r"^(?:advertisement|advertising|advert|ad|ads|sponsored(?: content| post| links?)?"
        r"|paid (?:content|post|partner content)|promoted(?: content| stories)?"
        r"|(?:story|article) continues (?:below|after)(?: (?:this )?(?:advertisement|ad))?"
        r"|continue reading (?:below|after the ad(?:vertisement)?)"
        r"|scroll (?:down )?to continue(?: with content)?|skip ad|report (?:this )?ad"
        # ... and in other languages: the label, or an affiliate-link notice
        r"|anzeige|werbung|publicit[ée]|publicidad|pubblicit[àa]|advertentie|reklama"
        r"|(?:anzeige, )?(?:enthält )?affiliate[ -]?links?)"
        r"[.:]?$",
        max_chars=44,
        first="[aspcrwe]",
    ),
    # --- template residue and widgets ------------------------------------------------
    _rule(
        TEMPLATE_RESIDUE,
        r"^(?:\{\{[^}]*\}\}|\{%[^%]*%\}|\$\{[^}]*\}|<%[^%]*%>|\[\[[^\]]*\]\]|\s)+$",
        first=r"[{$<\[\s]",
    ),
    _rule(
        EMPTY_DATE_LABEL,
        r"^(?:posted|published|updated|last updated|modified|date)(?: on| at)?:?$",
        max_chars=17,
        first="[pulmd]",
    ),
    _rule(
        SHARE_WIDGET,
        rf"^(?:(?:{_SHARE_WORDS})(?: (?:this|the|on|and|to|via|by|a|an|article|story|post|page))*"
        rf"[\s|/·•,:]*)+$|^(?:{_WIDGET_PHRASES})\s*:?$",
        first=r"[sbtepcfxlwrmdgiu%jv\d]",
    ),
    _rule(
        TAG_LIST,
        r"^(?:tagged|tags|topics|filed under|categories|category|related topics|schlagwörter"
        r"|schlagworte|stichwörter|kategorien?|themen|étiquettes|mots-clés|catégories?|etiquetas"
        r"|categorías?|temas|argomenti|categorie|trefwoorden|tagi|kategorie)\s*(?::|,|$)"
        r"[^.!?]{0,400}$"
        # blog engines' post footers: "Filed under X", "This entry was posted in X ..."
        r"|^(?:abgelegt unter|veröffentlicht in|posted in|publié dans|publicado en|pubblicato in)"
        r" [^.!?]{1,400}$"
        r"|^(?:this entry was posted|dieser eintrag wurde (?:am [^.!?]{1,40} )?veröffentlicht"
        r"|der beitrag wurde am .{1,60}? veröffentlicht|cette entrée a été publiée)"
        r"\b.{0,400}$",
        max_chars=500,
        first="[tfcrsékeaavpdb]",
    ),
    _rule(
        COMMENT_FORM,
        r"^(?:leave a (?:reply|comment)|post a comment|add a comment|write a comment"
        r"|\d+ comments?|comments? (?:are )?closed\.?|join the (?:conversation|discussion)"
        r"|your email address will not be published\b.*|required fields are marked.*"
        r"|cancel reply|submit comment|post comment|log ?in to (?:comment|reply).*"
        r"|be the first to comment.*|show comments|view comments|load comments"
        r"|notify me of (?:follow-up|new) (?:comments|posts).*"
        r"|\d+ (?:responses?|replies) to [“\"«„‘'].*"
        r"|(?:e-?)?mail \((?:required|will not be published|wird (?:benötigt|nicht veröffentlicht))"
        r"[^)]*\).*|comments? \(\d+\)"
        # ... and in other languages (blog engines' comment forms)
        r"|hinterlasse (?:eine[n]?) (?:antwort|kommentar)|kommentar (?:verfassen|schreiben|abgeben"
        r"|hinterlassen)(?: antwort abbrechen)?|antwort(?:en)? abbrechen|kommentieren sie hier"
        r"|\d+ (?:kommentare?|antworten|commentaires?|comentarios?|commenti|reacties"
        r"|komentarz[ey]?)"
        r"(?: (?:zu|à|a|su|op|do) [“\"«„‘'].*)?|kommentare? \(\d+\)|kommentare insgesamt: \d+"
        r"|(?:keine kommentare\.? )?kommentare (?:sind )?geschlossen\.?|keine kommentare\.?"
        r"|(?:deine|ihre) e-mail-adresse wird nicht veröffentlicht\b.*"
        r"|du musst angemeldet sein, um (?:einen kommentar abzugeben|kommentieren zu können)\.?"
        r"|benachrichtige mich über (?:nachfolgende|neue) (?:kommentare|beiträge)\b.*"
        r"|votre adresse (?:e-mail|de messagerie) ne sera pas publiée\b.*"
        r"|laisser un commentaire|tu dirección de correo electrónico no será publicada\b.*"
        r"|deja un comentario|lascia un commento|il tuo indirizzo email non sarà pubblicato\b.*"
        r"|laat een reactie achter|dodaj komentarz)$",
        max_chars=300,
        first=r"[lpaw\dcjyrsbvnemhkdtv]",
    ),
    _rule(
        COPYRIGHT_LINE,
        r"^(?:©|\(c\)|copyright\b).{0,200}$",
        max_chars=300,
        first="[©(c]",
        tail=("all rights reserved",),
        tail_pattern=r"^.{0,200}\ball rights reserved\b.{0,40}$",
    ),
    # --- bylines and credits (become metadata) ----------------------------------------
    _rule(
        WIRE_CREDIT,
        WIRE_PATTERN.pattern,
        max_chars=31,
        first=f"[t{''.join(sorted({w[0] for w in WIRE_SERVICES}))}]",
        credits=_whole,
    ),
    _rule(
        SOURCE_CREDIT,
        r"^(?:(?:source|sources|via|credit|credits)\s*:|courtesy of|originally published"
        r" (?:by|in|at))\s*(?P<names>[^.!?]{2,80})$",
        first="[svco]",
        credits=_group_names("names"),
    ),
    _rule(
        REPORTING_CREDIT,
        r"^(?:with )?(?:additional )?(?:reporting|writing|editing|contributions?|research)"
        r"(?: and (?:writing|editing|reporting))? (?:by|from)\s+(?P<names>[^.!?]{2,200})\.?$",
        first="[warec]",
        credits=_group_names("names"),
    ),
    _rule(
        AUTHOR_BOX,
        r"^(?i:about (?:the )?(?:author )?)(?P<names>[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){1,3})$",
        first="(?i:a)",
        flags=0,
        authors=_group_names("names"),
    ),
    _rule(
        AUTHOR_HEADING,
        r"^about (?:the )?(?:authors?|writers?|contributors?)\s*:?$",
        first="a",
    ),
    _rule(
        BYLINE,
        r"^(?i:by|written by|words by|author:?|posted by|story by|reported by|von|verfasst von:?"
        r"|geschrieben von:?|autor(?:in)?:|par|écrit par|por|escrito por|door)\s+"
        rf"(?P<names>{_NAME_LIST})(?:,\s*(?P<org>(?:the )?[A-Z][\w&/.' -]{{1,40}}))?"
        r"(?:\s*[|·•–—-]\s*.{0,40})?$",
        first="(?i:[bwapsrvgéed])",
        flags=0,
        authors=_group_names("names"),
    ),
    # --- captions --------------------------------------------------------------------
    _rule(
        PHOTO_CAPTION,
        r"^(?:in this (?:undated |handout |file |aerial )*(?:photo|picture|image|photograph"
        r"|video|screen ?grab|still)\b.*"
        r"|(?:file |handout )?(?:photo|image|picture|photograph)(?: credit)?\s*(?::|by\b).*"
        # ... and in other languages: "Foto: X", "Bild: X", "Abbildung 4: ..."
        r"|(?:foto|fotos|bild|titelbild|bildquelle|abbildung|abb\.|imagen|immagine|afbeelding"
        r"|zdjęcie|fot\.|crédits? photo)(?: \d{1,3})?\s*:.*)",
        max_chars=600,
        first="[ifhpbtaczé]",
        tail=(")", "getty", "ap photo/", "reuters/", "shutterstock", "istock"),
        # An agency's credit ends a caption: a credit mark before it, no sentence after it (an
        # answer that names the agency in a sentence is not a caption).
        tail_pattern=r"^(?:.*\((?:AP|AFP|Reuters|Getty|EPA|Xinhua)(?: Photo| Images)?(?:/[^)]*)?\)$"
        r"|.*(?:[|/©:(]|\b(?:credit|courtesy|photo|foto|bild|image|picture)\b)[^.!?]{0,40}"
        r"\b(?:Getty Images|AP Photo/|Reuters/|AFP via Getty|Shutterstock|iStock)\b[^.!?]{0,60}$)",
    ),
    # --- promos and related links ------------------------------------------------------
    _rule(
        HOMEPAGE_PROMO,
        r"^[•*·-]?\s*(?:visit|go to|head to|check out) .{0,60}(?:home ?page|website|site)"
        r" for (?:more|the latest).*$",
        first=r"[•*·\-\svghc]",
    ),
    _rule(
        WATCH_PROMO,
        r"^(?:now watch|watch|watch now|watch next|video|listen|listen now|podcast|don't miss"
        r"|read more|read next|read also|more|more from|related|see also|recommended"
        r"|also read|also see|up next|top stories|trending|most read|popular"
        # ... and in other languages
        r"|weiterlesen|lesen sie (?:auch|mehr|hier)|siehe auch|auch interessant|mehr zum thema"
        r"|lire (?:aussi|la suite|plus)|voir aussi|à lire|leer más|lee también|ver también"
        r"|(?:también )?(?:le|te) puede interesar|leggi (?:anche|tutto)|vedi anche"
        r"|lees (?:ook|meer)"
        r"|zie ook|dowiedz się więcej|czytaj (?:też|także|więcej)|zobacz (?:też|także)|leia também"
        r"|veja também)\s*[:|›»>-].*$",
        first="[nwvlpdrmsautàzcs]",
    ),
    _rule(
        RELATED_HEADING,
        r"^(?:related(?: articles?| posts?| stories| reading| content| links| news)?"
        r"|you (?:might|may|will|could) also (?:like|love|enjoy|be interested in)"
        r"|(?:more|other) (?:stories|articles|news|posts)(?: (?:like this|from [\w .'’&-]{1,40}"
        r"|you (?:might|may) like))?|recommended(?: for you| reading| articles| stories)?"
        r"|further reading|don't miss|(?:most )?popular (?:posts|stories|articles)"
        r"|(?:das|dies) (?:könnte|dürfte) (?:sie|dich|euch|ihnen) auch interessieren"
        r"|auch interessant|empfehlungen (?:aus der|der) redaktion|unsere empfehlungen"
        r"|weitere (?:artikel|beiträge|meldungen|nachrichten|themen|news)(?: (?:zum thema|aus der"
        r" rubrik|aus|zu|von) [^.!?:]{1,40})?|ähnliche (?:artikel|beiträge|themen)"
        r"|mehr (?:zum thema|aus der rubrik|dazu|artikel)(?: [^.!?:]{1,40})?"
        r"|lesen sie auch(?: die folgenden beiträge)?|(?:à )?lire aussi|articles similaires"
        r"|sur le même sujet|vous (?:aimerez|pourriez aimer|aimerez aussi)(?: aussi)?"
        r"|artículos relacionados|(?:también )?te (?:puede|podría) interesar|leggi anche"
        r"|(?:ti )?potrebbe(?:ro)? (?:anche )?interessarti|articoli correlati"
        r"|gerelateerde artikelen|lees ook|dit vind je misschien ook leuk|polecamy"
        r"|zobacz (?:też|także)|czytaj (?:też|także)|veja também|leia também)"
        r"\s*(?::|…|\.\.\.)?$",
        first="[rymfdwälstagàeuoapvgzcd]",
    ),
    _rule(
        LINK_ARROW,
        r"^(?:>>|»|›|→|►|▶|⟶|←|◄|◀)\s*\S.*$",
        first="[>»›→►▶⟶←◄◀]",
    ),
    _rule(
        INLINE_RELATED_LINK,
        r"^[A-Z][\w ,'’-]{2,60}+:[A-Z\"“‘][^.!?]*$",  # possessive: ':' is not in the class
        first="[A-Z]",
        flags=0,
    ),
    _rule(
        NAVIGATION_LINK,
        r"^(?:(?:weiter|next|suivant|siguiente|avanti|volgende|zurück|back|previous|précédent"
        r"|anterior|vorige)\s*[»›>→«‹<←]*"
        r"|(?:vorheriger|voriger|nächster|previous|next) (?:artikel|beitrag|eintrag|post|article"
        r"|story|entry)\b.{0,150}"
        r"|(?:zurück (?:zur|zum|nach)|back to|retour (?:à|au|aux)|volver a|torna a|terug naar)"
        r" [^.!?]{1,40}|(?:alle )?anzeigen|alle (?:artikel|beiträge|meldungen)|(?:see|view|show)"
        r" (?:all|more)|voir tout|ver todo)$",
        first="[nsaztbprvtsv]",
    ),
    _rule(
        NEWSLETTER_PROMO,
        r"^.{0,80}\b(?:sign(?:ing)? up|subscrib\w*|get our|join our|register|abonnier\w*"
        r"|anmelden|inscri\w*|abonne[rz]\w*|suscr[ií]b\w*|iscriv\w*|aanmelden|zapisz się"
        r"|assine)\b.{0,60}\b(?:newsletters?|[\w-]+-newsletters?|briefing|alerts|digest|inbox"
        r"|boletín|nieuwsbrief)\b.{0,80}$"
        # ... or the newsletter named first: "Jetzt zum kostenlosen Newsletter anmelden"
        r"|^.{0,60}\bnewsletters?\b.{0,40}\b(?:anmelden|abonnieren|bestellen|sign up"
        r"|subscribe|abonnez-vous|suscríbete|iscriviti)\b[^.!?]{0,40}$",
        first="",
        tail=(
            "newsletter",
            "briefing",
            "alerts",
            "digest",
            "inbox",
            "bolet",
            "nieuwsbrief",
            "anmelden",
            "abonnieren",
            "bestellen",
            "sign up",
            "subscribe",
        ),
    ),
    _rule(
        COMMENT_HEADER,
        r"^[^.!?:,]{2,40}?\s+(?:says|sagt|schreibt|dit|dice|scrive|zegt|pisze)\s?:"
        r"(?:\s{1,3}[\w ,.]{3,30}?\s{1,3}at\s{1,3}\d{1,2}:\d{2}\s{0,3}(?:[ap]m)?)?$",
        first="",
        tail=("says", "sagt", "schreibt", "dit", "dice", "scrive", "zegt", "pisze", "am", "pm"),
    ),
    _rule(
        SUBSCRIBE_PROMPT,
        # A line that opens with the call: "Subscribe to X on YouTube", "Jetzt registrieren".
        r"^(?:(?:jetzt|hier|now) )?(?:(?:kostenlos|gratis|free) )?(?:subscribe|abonniere[nt]?"
        r"|abonnez-vous|suscr[ií]b(?:e|ete|ase)|iscriviti|abonneer|subskrybuj|assine)\b[^.!?]{0,120}"
        r"[.!]?$|^(?:jetzt|hier)(?: (?:kostenlos|gratis))? (?:registrieren|anmelden|abonnieren)\b"
        r"[^.!?]{0,40}$|^(?:register|sign up) (?:now|for free|today)\b[^.!?]{0,40}$",
        max_chars=160,
        first="[jhnkgfsaiar]",
    ),
    _rule(
        APP_OR_FOLLOW_PROMO,
        r"^(?:download (?:our|the) app|get the app|follow us on|follow .{1,30} on "
        r"(?:twitter|facebook|instagram|x|tiktok|linkedin|youtube|threads|bluesky|mastodon)"
        r"|like us on facebook|click here (?:to|for)|tap here to"
        # ... and in other languages
        r"|folge(?:n sie)? uns|folgt uns|suivez-nous|síguenos|seguici|volg ons|obserwuj nas"
        r"|siga-nos|(?:lade|laden sie) (?:dir )?(?:die|unsere) app|téléchargez (?:l'|notre )app"
        r"|descarga (?:la|nuestra) app).*$",
        first="[dgflctsvoí]",
    ),
)

# Lists of headlines: bullet items without a sentence end, in a run (the run's length and the
# items' words are ``CleanConfig.link_list_min_run`` / ``link_list_max_words``).
BULLET = re.compile(r"^(?:[-•*·–—▪■►]|\d{1,2}[.)])\s+\S")
SENTENCE_END = re.compile(r"""[.!?…]["'”’)\]]*$""")


# Which rules to try on a paragraph. Each attempt costs ``re`` ~0.3 µs even when the first
# word already rules it out, and most paragraphs match nothing, so a paragraph is screened:
# - by its first LEAD_CHARS characters: every match of a rule's head starts with one of the
#   lead strings read off its parse tree (``tasks.clean.regexlead``), looked up once per distinct
#   opening (cached); an opening that is not all ASCII falls back to the ``first`` classes;
# - by the punctuation every match contains: a rule that needs a mark other than a space
#   (``inline_related_link`` needs a ':', and its lead strings admit any capital) is tried
#   only on paragraphs where one search over the joined page found its mark;
# - tail rules (matches not pinned to the start) find their keywords in the last TAIL_CHARS
#   characters (the patterns allow at most 80 characters after them): the page's tails are
#   searched for all keywords at once, and only paragraphs with a hit try those rules.
LEAD_CHARS = 4
TAIL_CHARS = 100
_TAIL_KEYS = tuple(dict.fromkeys(key for rule in RULES for key in rule.tail))
_TAIL_MAX_CHARS = max(rule.max_chars for rule in RULES if rule.tail)
_HEADS = tuple(rule.head or rule.pattern for rule in RULES)
# Each tail keyword with the bits of the rules it belongs to.
_KEY_RULES = tuple(
    (key.encode("ascii"), sum(1 << bit for bit, rule in enumerate(RULES) if key in rule.tail))
    for key in _TAIL_KEYS
)
# Non-ASCII characters that re.IGNORECASE matches to an ASCII letter, as that letter.
_ASCII_FOLD = str.maketrans({"İ": "i", "ı": "i", "ſ": "s", "\u212a": "k"})
_FOLDED = frozenset("İıſ\u212a")

Candidates = tuple[tuple[Rule, re.Pattern[str], str], ...]
# A trie of lead prefixes: a character -> the subtrie; None -> the bits of the rules admitted.
_Trie: TypeAlias = dict[str | None, Any]


def _lead_tables() -> tuple[_Trie, dict[str, int]]:
    """A trie of lead prefixes (nested dicts, the bits of the rules a prefix admits under
    the key ``None``) and whole short texts -> bits; rules without a ``first`` class are
    tried only with their tail keywords."""
    trie: _Trie = {None: 0}
    wholes: dict[str, int] = {}
    for bit, rule in enumerate(RULES):
        if rule.first is None:
            continue
        starts, whole = lead_strings(_HEADS[bit], LEAD_CHARS)
        for lead in starts:
            node = trie
            for char in lead:
                node = node.setdefault(char, {None: 0})
            node[None] |= 1 << bit
        for lead in (*whole, *(w + "\n" for w in whole)):
            wholes[lead] = wholes.get(lead, 0) | 1 << bit
    return trie, wholes


_LEAD_TRIE, _LEAD_WHOLES = _lead_tables()
# The pattern tried and the mark it needs, per rule: (head, its mark, whole pattern, mark).
_TRIED = tuple(
    (_HEADS[bit], required_marks(_HEADS[bit])[:1], rule.pattern, required_marks(rule.pattern)[:1])
    for bit, rule in enumerate(RULES)
)
# Marks other than a space, each with the bits of the rules screened by it page-wide.
_MARK_RULES = tuple(
    (mark, sum(1 << bit for bit, tried in enumerate(_TRIED) if tried[1] == mark))
    for mark in dict.fromkeys(tried[1] for tried in _TRIED)
    if mark.strip()
)
_MARKED = sum(bits for _, bits in _MARK_RULES)
_BY_MASKS: dict[tuple[int, int], Candidates] = {}
_LEADS: dict[str, int] = {}
_MAX_OPENINGS = 1 << 16  # beyond this many distinct openings, screen without caching
_OPENING = itemgetter(slice(0, LEAD_CHARS))


def _lead_mask(opening: str) -> int:
    """Bits of the rules whose head can match a text starting with ``opening`` (its first
    LEAD_CHARS characters; shorter when that is the whole text), marked rules left out."""
    if len(_LEADS) < _MAX_OPENINGS:
        _LEADS[opening] = _opening_mask(opening) & ~_MARKED
        return _LEADS[opening]
    return _opening_mask(opening) & ~_MARKED


def _opening_mask(opening: str) -> int:
    if not opening.isascii():
        first = opening[:1]
        return sum(
            1 << bit
            for bit, rule in enumerate(RULES)
            if rule.first is not None and rule.first.fullmatch(first)
        )
    low = opening.lower()
    node: Any = _LEAD_TRIE  # a _Trie, or None once the opening leaves it
    mask: int = _LEAD_TRIE[None] | _LEAD_WHOLES.get(low, 0)
    for char in low:  # down the trie while the opening's characters lead somewhere
        node = node.get(char)
        if node is None:
            break
        mask |= node[None]
    return mask


def _candidates(lead: int, tails: int) -> Candidates:
    """The rules to try, in catalogue order, each with its pattern (the whole one when its
    tail keywords are present, else its head) and a mark every match of that pattern has."""
    key = (lead, tails)
    found = _BY_MASKS.get(key)
    if found is None:
        found = _BY_MASKS[key] = tuple(
            (rule, *(_TRIED[bit][2:] if tails >> bit & 1 else _TRIED[bit][:2]))
            for bit, rule in enumerate(RULES)
            if (lead | tails) >> bit & 1
        )
    return found


def _mark_hits(texts: Sequence[str]) -> dict[int, int]:
    """Paragraph index -> bits of the marked rules whose mark it contains."""
    found: dict[int, int] = {}
    if not _MARK_RULES:
        return found
    page = "\n".join(texts)
    if page.count("\n") != len(texts) - 1:  # a paragraph with a line break: one at a time
        for index, text in enumerate(texts):
            for mark, bits in _MARK_RULES:
                if mark in text:
                    found[index] = found.get(index, 0) | bits
        return found
    return _hits_by_line(page, _MARK_RULES, "\n")


def _hits_by_line(
    joined: AnyStr, needles: Sequence[tuple[AnyStr, int]], newline: AnyStr
) -> dict[int, int]:
    """Line index -> OR of the bits of the ``needles`` found in that line of ``joined``.

    One search per needle over the whole text; a hit's line is the line breaks before it,
    counted once over the sorted hits.
    """
    hits = []
    for needle, bits in needles:
        at = joined.find(needle)
        while at >= 0:
            hits.append((at, bits))
            at = joined.find(needle, at + 1)
    hits.sort()
    found: dict[int, int] = {}
    index = counted = 0
    for at, bits in hits:
        index += joined.count(newline, counted, at)
        counted = at
        found[index] = found.get(index, 0) | bits
    return found


_LAST_CHARS = itemgetter(slice(-TAIL_CHARS, None))
_IS_NONE = partial(is_, None)


def _tail_hits(texts: Sequence[str]) -> dict[int, int]:
    """Paragraph index -> bits of the rules whose tail keywords (case-insensitive, as re.I
    matches them) occur in its last TAIL_CHARS characters; paragraphs longer than
    _TAIL_MAX_CHARS are left out. One search per keyword over the page's joined tails."""
    tails = "\n".join(map(_LAST_CHARS, texts))
    if not tails.isascii() and any(map(tails.__contains__, _FOLDED)):
        tails = tails.translate(_ASCII_FOLD)
    # One byte per character (other characters become '?', in no keyword), ASCII lower-cased.
    data = tails.encode("latin-1", "replace").lower()
    if data.count(b"\n") != len(texts) - 1:  # a paragraph with a line break: one at a time
        return {i: hits for i, text in enumerate(texts) if (hits := _tail_hits_of(text))}
    found = _hits_by_line(data, _KEY_RULES, b"\n")
    return {i: bits for i, bits in found.items() if len(texts[i]) <= _TAIL_MAX_CHARS}


def _tail_hits_of(text: str) -> int:
    if len(text) > _TAIL_MAX_CHARS:
        return 0
    data = text[-TAIL_CHARS:].translate(_ASCII_FOLD).encode("latin-1", "replace").lower()
    found = 0
    for key, bits in _KEY_RULES:
        if key in data:
            found |= bits
    return found


def match_rules(texts: Sequence[str]) -> dict[int, tuple[Rule, re.Match[str]]]:
    """For the paragraphs of a page that a rule matches: index -> the first catalogue rule
    matching the whole paragraph, with its match. Same answer as trying every rule in order
    (within its ``max_chars``), but most paragraphs try none, and are not even visited by
    Python code: openings are looked up with ``map``."""
    openings = list(map(_OPENING, texts))
    # None where an opening is not cached yet: filled just below.
    leads = cast("list[int]", list(map(_LEADS.get, openings)))
    for index in compress(range(len(leads)), map(_IS_NONE, leads)):
        leads[index] = _lead_mask(openings[index])
    marks = _mark_hits(texts)
    tails = _tail_hits(texts)
    found: dict[int, tuple[Rule, re.Match[str]]] = {}
    for index in sorted({*compress(range(len(leads)), leads), *marks, *tails}):
        text = texts[index]
        lead = leads[index] | marks.get(index, 0)
        for rule, pattern, mark in _candidates(lead, tails.get(index, 0)):
            if mark in text and len(text) <= rule.max_chars and (match := pattern.match(text)):
                found[index] = rule, match
                break
    return found


def match_rule(text: str) -> tuple[Rule, re.Match[str]] | None:
    """The first catalogue rule matching the whole paragraph, with its match."""
    return match_rules((text,)).get(0)


def dateline_credit(text: str) -> str | None:
    """The wire service of a 'CITY (AP) —' dateline, normalised to its catalogue spelling."""
    # DATELINE_CREDIT's '(' follows one capital and 1-40 place characters: index 2 to 41.
    # Looking for it first spares the regex on nearly every body paragraph.
    if "(" not in text[2:42]:
        return None
    match = DATELINE_CREDIT.match(text)
    if not match:
        return None
    wire = match.group("wire").lower()
    return next(name for name in WIRE_SERVICES if name.lower() == wire)
