"""Decide whether the first word of a clause keeps its capital after "reported that".

The first rule that applies decides:

1. function words (articles, determiners, pronouns, prepositions, conjunctions, number
   words: "The", "Some", "In", "Le", "Les", "El", "Los", "Un", "Une" ...) are lowered;
   an elided French article is lowered alone ("L'Italie" -> "l'Italie");
2. acronyms and words with an inner capital stay ("IOM", "U.S.", "McDonald", "eBay");
3. the caller's ``proper_words`` (places, demonyms, organisations, outlets), matched on
   the first one to four words, keep the capital;
4. a following capitalised word means a multi-word name ("Border Force", "White House"),
   unless the first word is common and the next one is a known proper word on its own
   ("Rescued Syrian migrants"); compass words always count ("South Sudan");
5. the text itself: the word seen capitalised mid-sentence elsewhere is a name, seen only
   in lower case it is common;
6. the packaged list of common lower-case words of the language
   (``aggregator/data/common_words/{en,fr,es}.txt``) lowers it;
7. otherwise, with no evidence, the capital stays (most likely a name).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cache
from importlib import resources

__all__ = ["adjust_first_word", "common_words", "function_words"]

_FUNCTION = {
    "en": "the a an this that these those some many several most few all both each every any "
    "no other another such his her its their our my your it he she they we there here in on "
    "at after before during since following despite amid amidst as when while if although "
    "though because for from with without by to of into over under about between among "
    "against across through according once also only more less nearly almost around just "
    "even still yet not nor but and or so then thus however meanwhile one two three four five "
    "six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty hundred "
    "hundreds thousand thousands million millions dozen dozens half until unlike like upon "
    "within where what which who whom whose why how",
    "fr": "le la les l un une des du de d ce cet cette ces son sa ses leur leurs mon ma mes "
    "notre nos votre vos il elle ils elles on nous vous en dans à au aux après avant depuis "
    "pendant selon malgré lors alors plus moins près environ quelque quelques plusieurs "
    "certains certaines chaque tous toutes tout toute aucun aucune deux trois quatre cinq "
    "six sept huit neuf dix onze douze vingt trente quarante cinquante cent cents mille si "
    "quand lorsque bien même encore déjà par pour sur sous avec sans entre contre vers chez "
    "et ou mais donc car ni or puis ainsi cependant qui que quoi dont où face suite",
    "es": "el la los las lo un una unos unas este esta estos estas ese esa esos esas aquel "
    "aquella su sus mi mis nuestro nuestra nuestros nuestras al del de en a con por para "
    "según tras desde hasta durante sin sobre entre hacia ante bajo contra cuando si aunque "
    "mientras más menos casi alrededor cerca ya también todo toda todos todas cada varios "
    "varias algunos algunas algún alguna muchos muchas otro otra otros otras dos tres cuatro "
    "cinco seis siete ocho nueve diez once doce veinte treinta cuarenta cincuenta cien "
    "ciento cientos mil miles él ella ellos ellas se no y e o u pero sino que quien quienes "
    "cual cuales donde como tanto tanta tantos tantas",
}
_COMPASS = frozenset(
    "north south east west northern southern eastern western central upper lower greater "
    "nord sud est ouest norte sur este oeste".split()
)
_FIRST = re.compile(r"^([^\w]*?)([^\W\d_][\w'’.\-]*)")
_WORDS = re.compile(r"[^\W\d_][\w'’.\-]*")
_ELISION = re.compile(r"^(?i:l|d|qu|jusqu|lorsqu|puisqu|c|s|n)'(?=\w)")
_POSSESSIVE = re.compile(r"(?:'s|')$")


@cache
def function_words(language: str) -> frozenset[str]:
    """Closed-class words that are never capitalised inside a sentence."""
    return frozenset(_FUNCTION.get(language, _FUNCTION["en"]).split())


@cache
def common_words(language: str) -> frozenset[str]:
    """The packaged list of common lower-case words (empty when there is none)."""
    name = f"{language if language in _FUNCTION else 'en'}.txt"
    try:
        data = (
            resources.files("aggregator")
            .joinpath("data", "common_words", name)
            .read_text(encoding="utf-8")
        )
    except (FileNotFoundError, OSError):
        return frozenset()
    return frozenset(w for w in data.split() if not w.startswith("#"))


def adjust_first_word(
    clause: str,
    *,
    language: str = "en",
    proper_words: Collection[str] = frozenset(),
    context: str = "",
) -> str:
    """Lower the clause's first word unless it is a name (see the module docstring)."""
    match = _FIRST.match(clause)
    if match is None:
        return clause
    word = match.group(2)
    start, end = match.span(2)
    elided = _ELISION.match(word)
    if elided:
        return clause[:start] + word[: elided.end()].lower() + clause[start + elided.end() :]
    if _keeps_capital(word, clause[end:], language, proper_words, context):
        return clause
    return clause[:start] + word[0].lower() + clause[start + 1 :]


def _keeps_capital(
    word: str, after: str, language: str, proper: Collection[str], context: str
) -> bool:
    if not word[0].isupper():
        return True  # nothing to lower
    base = _POSSESSIVE.sub("", word.rstrip(".")).split("-")[0]
    key = base.casefold()
    if key in function_words(language) and not (len(word) > 1 and word.isupper()):
        return False
    if _is_acronym(word) or any(p[:1].isupper() for p in word.split("-")[1:]):
        return True  # "IOM", "McDonald", "Al-Shabaab"
    following = _WORDS.findall(after[:80])[:3]
    if _is_proper(base, following, proper):
        return True
    if (
        following
        and _capitalised(following[0])
        and _names_a_pair(key, following[0], language, proper)
    ):
        return True
    seen = _evidence(base, context)
    if seen is not None:
        return seen
    return key not in common_words(language)


def _is_acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return True
    return any(c.isupper() for c in word[1:] if c.isalpha()) and "-" not in word


def _is_proper(base: str, following: list[str], proper: Collection[str]) -> bool:
    if not proper:
        return False
    words = [base, *(_POSSESSIVE.sub("", w) for w in following)]
    for size in range(len(words), 0, -1):
        phrase = " ".join(words[:size])
        if phrase in proper or phrase.casefold() in proper or phrase.lower() in proper:
            return True
    return False


def _names_a_pair(key: str, nxt: str, language: str, proper: Collection[str]) -> bool:
    """ "Border Force", "White House": unless "Rescued Syrian ..." (common + proper)."""
    if key in _COMPASS:
        return True
    nxt_base = _POSSESSIVE.sub("", nxt)
    if nxt_base.casefold() in function_words(language):
        return False
    known = _is_proper(nxt_base, [], proper)
    return not (known and key in common_words(language))


def _capitalised(word: str) -> bool:
    return word[:1].isupper()


def _evidence(base: str, context: str) -> bool | None:
    """True if seen capitalised mid-sentence, False if only seen lower case, else None."""
    if not context or len(base) < 2:
        return None
    upper = lower = 0
    pattern = re.compile(rf"(?<![\w'’\-]){re.escape(base)}(?![\w\-])", re.IGNORECASE)
    for hit in pattern.finditer(context):
        if hit.group(0)[0].islower():
            lower += 1
        elif not _at_sentence_start(context, hit.start()):
            upper += 1
    if upper and not lower:
        return True
    if lower and not upper:
        return False
    return None


def _at_sentence_start(text: str, pos: int) -> bool:
    before = text[max(0, pos - 4) : pos].rstrip(" ")
    return not before or before[-1] in ".!?:;\n—–-¿¡\"'«(["
