"""Text features for story clustering: title keys, cross-language terms, numbers.

Everything here is a pure function of an article's title, lead text and outlet, so an index
rebuilt from stored rows computes exactly the same features as the one that first saw them.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import urlsplit

from aggregator.fetch.normalize import canonical_url

# "UPDATE 2-", "EXCLUSIVE:", "WATCH |" at the start of a headline say nothing about the event.
_TITLE_PREFIX = re.compile(
    r"^(?:(?:update[sd]?|breaking(?: news)?|exclusive|watch|video|live|analysis|explainer|"
    r"factbox|urgent|direct|en direct|ultima hora|última hora|exclusiva)\s*\d*\s*[-:|–—]\s*)+",
    re.IGNORECASE,
)
# " - Reuters", " | AP News", " — Le Monde": a separator, then a short trailing segment.
_TITLE_SUFFIX = re.compile(r"\s+[-|–—•:]\s+([^-|–—•:]{1,60})$")
_TRAILING_NOTE = re.compile(r"\s*[(\[][^()\[\]]{1,25}[)\]]\s*$")  # "(updated)", "[video]"
_NUMBER = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:(?:[,.]|\s)\d{3})+(?![,.]?\d)|\d+(?:[.,]\d+)?)"
    r"(?:\s*(%|bn\b|m\b|k\b))?",
)
_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W_]+")  # a normalised number is one token
_SPACES = re.compile(r"\s+")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

SCALES = {
    "thousand": 1e3,
    "thousands": 1e3,
    "mil": 1e3,
    "k": 1e3,
    "million": 1e6,
    "millions": 1e6,
    "millon": 1e6,
    "millones": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "billions": 1e9,
    "milliard": 1e9,
    "milliards": 1e9,
    "bn": 1e9,
}
_NUMBER_NAMES = """2 two deux dos|3 three trois tres|4 four quatre cuatro|5 five cinq cinco
    |6 six seis|7 seven sept siete|8 eight huit ocho|9 nine neuf nueve|10 ten dix diez
    |11 eleven onze once|12 twelve douze doce|13 thirteen treize trece|14 fourteen quatorze catorce
    |15 fifteen quinze quince|16 sixteen seize dieciseis|17 seventeen diecisiete
    |18 eighteen dieciocho|19 nineteen diecinueve|20 twenty vingt veinte|30 thirty trente treinta
    |40 forty quarante cuarenta|50 fifty cinquante cincuenta|60 sixty soixante sesenta
    |70 seventy setenta|80 eighty ochenta quatre-vingt quatre-vingts|90 ninety noventa"""
NUMBER_WORDS = {
    name: float(value)
    for value, *names in (entry.split() for entry in _NUMBER_NAMES.split("|"))
    for name in names
}
_HUNDRED = frozenset({"hundred", "cent", "cents", "cien", "ciento", "cientos"})
_NUMBER_JOINERS = frozenset({"and", "et", "y"})
MONTHS = frozenset(
    """january february march april may june july august september october november december
    janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre
    enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre
    jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
# Function words of four letters or more (shorter words are dropped anyway), reporting verbs
# and weekdays: they occur in every story, so they only blur the comparison.
STOPWORDS = frozenset(
    """about after against also among around been before being between both could does during
    each from further have having here into just last least less like made many more most much
    only other over same says said should since some such than that their them then there these
    they this those though through told under until very were what when where which while will
    with within without would year years according including added adding reported
    monday tuesday wednesday thursday friday saturday sunday week
    aussi alors apres avant avec avoir cela celle celui cette ceux chez comme contre dans depuis
    donc dont elle elles encore entre etaient etait etre leur leurs lors mais meme moins notamment
    nous pour plus parmi quand quel quelle selon sont sous tous tout toute toutes tres vers
    indique annonce declare precise ajoute lundi mardi mercredi jeudi vendredi samedi dimanche
    semaine
    ante aunque cada como con contra cual cuando desde donde durante ella ellos entre esta este
    esto estos estas fueron habia hace hasta mientras muy nada otra otro otros para pero porque
    segun sido sobre solo tambien tiene tras unas unos fue han informo dijo anadio indico
    lunes martes miercoles jueves viernes sabado domingo semana""".split()
)
PREFIX_LEN = 5  # "migrants"/"migrantes" -> "migra": cognates meet across EN/FR/ES


@dataclass(frozen=True, slots=True)
class Features:
    """What the clustering compares, computed once per article."""

    title_key: str  # normalised headline, "" when too short to identify a story
    # The sets below are frozensets; an article kept live in the index holds tuples instead
    # (a quarter of the memory, see compact()).
    # Stems, numbers and places: the same event in other words.
    terms: frozenset[str] | tuple[str, ...]
    # Counts that identify the event (tolls, people, money).
    numbers: frozenset[float] | tuple[float, ...]
    # The counts of the headline and the lead's first words: the event's own figures (a
    # background figure quoted deeper down must not join two events).
    title_numbers: frozenset[float] | tuple[float, ...]


def fold(text: str) -> str:
    """Lower-case, accents removed, typographic quotes made plain."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return _COMBINING.sub("", decomposed).casefold()


def clean_title(title: str, outlet: str = "") -> str:
    """The headline without an outlet suffix, a wire prefix or a trailing note."""
    text = _SPACES.sub(" ", title).strip()
    text = _TITLE_PREFIX.sub("", text)
    for _ in range(2):  # "Title - Section - Outlet"
        stripped = _strip_suffix(text, outlet)
        if stripped == text:
            break
        text = stripped
    return _TRAILING_NOTE.sub("", text).strip()


def _strip_suffix(text: str, outlet: str) -> str:
    match = _TITLE_SUFFIX.search(text)
    if not match or match.start() < 15:
        return text
    tail = match.group(1).strip()
    words = tail.split()
    outlet_words = set(_WORD.findall(fold(outlet)))
    names_outlet = bool(outlet_words & set(_WORD.findall(fold(tail))))
    looks_like_name = len(words) <= 4 and all(w[:1].isupper() or w[:1].isdigit() for w in words)
    return text[: match.start()].rstrip() if names_outlet or looks_like_name else text


def title_key(title: str, outlet: str = "", min_words: int = 4) -> str:
    """Comparable headline: cleaned, folded, punctuation dropped; "" if under min_words."""
    words = _WORD.findall(fold(clean_title(title, outlet)))
    return " ".join(words) if len(words) >= min_words else ""


def words(text: str) -> list[str]:
    """Folded word tokens, with numbers normalised ("1,500", "1 500", "1.500" -> "1500")."""
    return _TOKEN.findall(_NUMBER.sub(_number_token, fold(text)))


def _number_token(match: re.Match[str]) -> str:
    value = _parse_number(match.group(1))
    if value is None:
        return match.group(0)
    value *= SCALES.get(match.group(2) or "", 1.0)
    return f" {value:.12g} "


def _parse_number(raw: str) -> float | None:
    compact = re.sub(r"\s", "", raw)
    if re.fullmatch(r"\d{1,3}(?:[,.]\d{3})+", compact):
        compact = re.sub(r"[,.]", "", compact)  # 1,500 / 1.500: thousands
    try:
        return float(compact.replace(",", "."))  # 83,4: decimal comma
    except ValueError:
        return None


def terms(tokens: list[str], numbers: frozenset[float], places: tuple[str, ...]) -> frozenset[str]:
    """Language-light bag: 5-letter stems of content words, numbers, place codes."""
    stems = {t[:PREFIX_LEN] for t in tokens if len(t) >= 4 and t not in STOPWORDS and t.isalpha()}
    stems |= {f"#{n:.12g}" for n in numbers}
    stems |= {f"@{code.upper()}" for code in places}
    # Interned: the live index holds tens of thousands of these sets over a small vocabulary.
    return frozenset({sys.intern(stem) for stem in stems})


@lru_cache(maxsize=4096)
def _scale(word: str) -> float:
    return SCALES.get(word, 1.0)


def salient_numbers(tokens: list[str]) -> frozenset[float]:
    """Counts in the text: digits or number words (EN/FR/ES) with their scale.

    Dropped: 0 and 1 ("one of the deadliest"), years, day-of-month next to a month name.
    """
    found: set[float] = set()
    i = 0
    while i < len(tokens):
        value, nxt = _read_number(tokens, i)
        if value is None:
            i += 1
            continue
        scale = _scale(tokens[nxt]) if nxt < len(tokens) else 1.0
        if _is_date(tokens, i, nxt, value) or value <= 1:
            i = nxt
            continue
        found.add(round(value * scale, 3))
        i = nxt + (scale != 1.0)
    return frozenset(found)


def _read_number(tokens: list[str], i: int) -> tuple[float | None, int]:
    token = tokens[i]
    if token[0].isdigit():
        try:
            return float(token), i + 1
        except ValueError:
            return None, i + 1
    if token not in NUMBER_WORDS and token not in _HUNDRED:
        return None, i + 1
    total, j = 0.0, i
    while j < len(tokens):
        word = tokens[j]
        if word in NUMBER_WORDS:
            total += NUMBER_WORDS[word]
        elif word in _HUNDRED:
            total = max(total, 1.0) * 100
        elif not (
            word in _NUMBER_JOINERS and j + 1 < len(tokens) and tokens[j + 1] in NUMBER_WORDS
        ):
            break
        j += 1
    return (total or None), j


def _is_date(tokens: list[str], start: int, end: int, value: float) -> bool:
    if value.is_integer() and 1990 <= value <= 2040:
        return True
    near = tokens[max(0, start - 1) : start] + tokens[end : end + 2]
    return value <= 31 and any(t in MONTHS for t in near)


def url_key(url: str | None) -> str | None:
    """The URL as an identity: canonical, host without "www.", no scheme, no trailing slash."""
    canonical = canonical_url(url.strip()) if url else None
    if not canonical:
        return None
    parts = urlsplit(canonical)
    host = (parts.hostname or "").removeprefix("www.")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{parts.path.rstrip('/')}{query}"


LEAD_WORDS = 40  # the lead sentence, capped: it carries the event's own figures
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9À-Þ\"“«¿¡])")


def _lead_tokens(text: str) -> list[str]:
    lead = _SENTENCE_END.split(text, maxsplit=1)[0]
    return _joined_number_words(words(lead))[:LEAD_WORDS]


def compact(found: Features) -> Features:
    """The same features in less memory, for an article kept for comparison."""
    return replace(
        found,
        terms=tuple(found.terms),
        numbers=tuple(found.numbers),
        title_numbers=tuple(found.title_numbers),
    )


def features(title: str, text: str, outlet: str, places: tuple[str, ...]) -> Features:
    """All features of one article."""
    cleaned = clean_title(title, outlet)
    title_tokens = _joined_number_words(words(cleaned))
    text_tokens = _joined_number_words(words(text))
    tokens = [*title_tokens, *text_tokens]
    numbers = salient_numbers(tokens)
    return Features(
        title_key=title_key(title, outlet),
        terms=terms(tokens, numbers, places),
        numbers=numbers,
        title_numbers=salient_numbers([*title_tokens, *_lead_tokens(text)]),
    )


def _joined_number_words(tokens: list[str]) -> list[str]:
    # "quatre-vingt" was split by the tokenizer; put it back so it reads as 80.
    out: list[str] = []
    for token in tokens:
        if token in ("vingt", "vingts") and out and out[-1] == "quatre":
            out[-1] = "quatre-vingt"
        else:
            out.append(token)
    return out
