"""Make relative day words absolute from the article's published date, or drop them.

A digest is read on another day than the article's, so "on Monday" or "hier" must become a
date: "on 23 November" (UK style, the year only when it differs from the published year),
"le 23 novembre", "el 23 de noviembre".

* yesterday/today/tonight/tomorrow, "last night", "this morning" and their FR/ES forms are
  counted from the published date;
* a weekday resolves to the most recent such day on or before the published date (within
  7 days; "last Monday" on a Monday is a week back);
* a weekday in a future context ("will vote on Monday", "lundi prochain", "el próximo
  lunes") and every relative word when the published date is unknown are dropped;
* names are left alone: "Good Friday", "Sunday Times", "USA Today", and weekdays already
  followed by a date ("Monday, Nov. 23", "lundi 23 novembre").
"""

from __future__ import annotations

import re
from datetime import date, timedelta

__all__ = ["resolve_relative_dates"]

_EN_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_FR_MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
).split()
_ES_MONTHS = (
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
).split()
_WEEKDAYS = {
    "en": "monday tuesday wednesday thursday friday saturday sunday".split(),
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche".split(),
    "es": "lunes martes miércoles jueves viernes sábado domingo".split(),
}
_OFFSETS = {
    "yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1,
    "hier": -1, "aujourd'hui": 0, "demain": 1, "avant-hier": -2,
    "ayer": -1, "hoy": 0, "anoche": -1, "anteayer": -2, "antier": -2, "mañana": 1,
}  # fmt: skip
_EN_WD = "|".join(_WEEKDAYS["en"])
_FR_WD = "|".join(_WEEKDAYS["fr"])
_ES_WD = "|".join(_WEEKDAYS["es"])
_PATTERNS = {
    "en": re.compile(
        r"(?:\b(?P<prep>on|since|until|till|by|from|before|after)\s+)?"
        r"(?:\b(?P<mod>late|early|last|this|next|past)\s+)?"
        rf"\b(?P<word>the\s+day\s+before\s+yesterday|yesterday|today|tonight|tomorrow|{_EN_WD}"
        r"|morning|afternoon|evening|night)(?P<poss>'s)?"
        r"(?:\s+(?P<part>morning|afternoon|evening|night))?\b",
        re.IGNORECASE,
    ),
    "fr": re.compile(
        rf"\bdans\s+la\s+nuit\s+de\s+(?P<n1>{_FR_WD})\s+à\s+(?P<n2>{_FR_WD})\b"
        r"|(?:\b(?P<prep>depuis|dès|jusqu'à|d'ici|avant|après|à\s+partir\s+de|de)\s+)?"
        r"(?:\b(?P<mod>ce|cet|cette)\s+)?"
        rf"\b(?P<word>avant-hier|hier|aujourd'hui|demain|{_FR_WD}|matin|soir|après-midi|nuit)"
        r"(?:\s+(?P<when>dernier|prochain))?(?:\s+(?P<part>matin|soir|après-midi))?\b",
        re.IGNORECASE,
    ),
    "es": re.compile(
        r"(?:\b(?P<prep>desde|hasta|antes\s+de|después\s+de)\s+)?"
        r"(?:\b(?P<mod>el|este|esta|del|al)\s+)?(?:\b(?P<past>pasado|próximo)\s+)?"
        rf"\b(?P<word>anteayer|antier|ayer|anoche|hoy|{_ES_WD}|mañana|tarde|noche)"
        rf"(?:\s+(?P<wd2>{_ES_WD})\b)?"
        r"(?:\s+(?P<when>pasado|próximo|que\s+viene))?"
        r"(?:\s+(?P<part>(?:por|en)\s+la\s+(?:mañana|tarde|noche)))?\b",
        re.IGNORECASE,
    ),
}
_FUTURE = {
    "en": re.compile(r"\b(?:will|would|shall|due|scheduled|expected|set to|plans?|planned|next"
                     r"|upcoming|ahead of)\b", re.I),
    "fr": re.compile(r"\b(?:va|vont|devra|devront|devrait|devraient|doit|doivent|prévue?s?"
                     r"|prochaine?|sera|seront|aura|auront|d'ici)\b", re.I),
    "es": re.compile(r"\b(?:va|van|será|serán|prevé|prevén|previst[oa]s?|próxim[oa]|deberá"
                     r"|deberán|tendrá|tendrán|para)\b", re.I),
}  # fmt: skip
_MONTHS_RE = "|".join(
    sorted({m[:3] for m in _EN_MONTHS + _FR_MONTHS + _ES_MONTHS} | {"juil", "sept"}, key=len)
)
_DATE_AFTER = {
    "en": re.compile(
        rf",?\s+(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS_RE})|(?:{_MONTHS_RE})\w*\.?\s+\d)", re.I
    ),
    "fr": re.compile(rf",?\s+\d{{1,2}}(?:er)?\s+(?:{_MONTHS_RE})", re.I),
    "es": re.compile(rf",?\s+\d{{1,2}}\s+de\s+(?:{_MONTHS_RE})", re.I),
}
_HABITUAL = {"le", "les", "chaque", "tous", "los", "cada", "todos", "every"}
_PARTS = frozenset({"morning", "afternoon", "evening", "night", "matin", "soir", "après-midi",
                    "nuit", "mañana", "tarde", "noche"})  # fmt: skip
_TIDY = (
    (re.compile(r"\(\s*\)"), ""),
    (re.compile(r"\s+([,.;:])"), r"\1"),
    (re.compile(r",\s*,"), ","),
    (re.compile(r"[ ]{2,}"), " "),
    (re.compile(r"^[\s,;:]+"), ""),
)


def resolve_relative_dates(text: str, published: date | None, language: str = "en") -> str:
    """Rewrite relative day words in one sentence; drop those that cannot be resolved."""
    lang = language if language in _PATTERNS else "en"
    changed = False

    def replace(match: re.Match[str]) -> str:
        nonlocal changed
        new = _rewrite(match, text, published, lang)
        if new is None:
            return match.group(0)
        changed = True
        if new and match.start() == 0 and match.group(0)[:1].isupper():
            new = new[0].upper() + new[1:]
        return new

    result = _PATTERNS[lang].sub(replace, text)
    return _tidy(result) if changed else text


def _rewrite(m: re.Match[str], text: str, published: date | None, lang: str) -> str | None:
    """The replacement for one match: a phrase, "" to drop it, None to leave it."""
    if lang == "fr" and m.group("n1"):
        return _fr_night(m, published)
    word = m.group("word").casefold()
    if not _is_relative(m, text, word, lang):
        return None
    day = _resolve(m, text, word, published, lang)
    if day is None:  # dropped; "after Monday's vote" keeps "after the vote"
        prep = m.groupdict().get("prep") or ""
        return f"{prep} the".strip() if m.groupdict().get("poss") else ""
    return _RENDER[lang](m, day, published)  # type: ignore[misc]


def _is_relative(m: re.Match[str], text: str, word: str, lang: str) -> bool:
    mod = (m.group("mod") or "").casefold()
    if word == "mañana" and not mod:  # "mañana" alone is tomorrow, "la mañana" a morning
        return _previous_word(text, m.start()) not in {"la", "por", "de", "cada", "esta"}
    if word in _PARTS:  # "this morning", "last night", "ce soir", "esta noche"
        return bool(mod) and mod not in {"el", "del", "al", "late", "early", "next", "past"}
    end = m.end("word") if lang != "es" or not m.group("wd2") else m.end("wd2")
    if _DATE_AFTER[lang].match(text, end):
        return False  # "Monday, Nov. 23", "lundi 23 novembre", "el lunes 23 de noviembre"
    if not m.group("prep") and not mod and _previous_word(text, m.start()) in _HABITUAL:
        return lang == "en" and word not in _WEEKDAYS["en"]  # "le lundi", "los lunes"
    return not _is_name_part(m, text, lang)


def _is_name_part(m: re.Match[str], text: str, lang: str) -> bool:
    """ "Good Friday", "USA Today", "Sunday Times": a capitalised neighbour makes a name."""
    if lang != "en" or m.group("prep") or m.group("mod") or _sentence_start(text, m.start()):
        return False
    before = _previous_word(text, m.start(), keep_case=True)
    after = re.match(r"\s+([A-Z][a-z]+)", text[m.end() :])
    month = after is not None and after.group(1).casefold()[:3] in {
        n[:3].casefold() for n in _EN_MONTHS
    }
    if after and not month:
        return True
    return bool(before[:1].isupper())


def _resolve(
    m: re.Match[str], text: str, word: str, published: date | None, lang: str
) -> date | None:
    if published is None:
        return None
    mod = (m.group("mod") or "").casefold()
    if word in _PARTS and mod:
        return published - timedelta(days=1) if mod == "last" else published
    if word in _OFFSETS:
        return published + timedelta(days=_OFFSETS[word])
    when = (m.groupdict().get("when") or m.groupdict().get("past") or "").casefold()
    if mod == "next" or when in {"prochain", "próximo", "que viene"}:
        return None
    window = text[max(0, m.start() - 50) : m.start()]
    if _FUTURE[lang].search(window) and mod not in {"last", "past"} and not when:
        return None
    back = (published.weekday() - _WEEKDAYS[lang].index(word)) % 7
    if back == 0 and (mod in {"last", "past"} or when in {"dernier", "pasado"}):
        back = 7
    return published - timedelta(days=back)


def _en(m: re.Match[str], day: date, published: date | None) -> str:
    text = f"{day.day} {_EN_MONTHS[day.month - 1]}{_year(day, published, ' ')}"
    part = (m.group("part") or m.group("word")).casefold()
    prep = (m.group("prep") or "").casefold()
    mod = (m.group("mod") or "").casefold()
    if m.group("poss"):
        return f"{prep + ' ' if prep else ''}the {text}"
    core = f"the night of {text}" if part in {"night", "tonight"} else text
    if mod in {"late", "early"}:
        core = f"{mod} on {core}"
        return f"{prep} {core}" if prep and prep != "on" else core
    return f"{prep if prep and prep != 'on' else 'on'} {core}"


def _fr(m: re.Match[str], day: date, published: date | None) -> str:
    text = _fr_date(day, published)
    prep = re.sub(r"\s+", " ", (m.group("prep") or "").casefold())
    part = (m.group("part") or m.group("word")).casefold()
    suffix = {"matin": " au matin", "soir": " au soir", "après-midi": " dans l'après-midi",
              "nuit": " dans la nuit"}.get(part, "")  # fmt: skip
    if prep in {"de", "à partir de"}:
        return f"{prep[:-2]}du {text}{suffix}".strip()
    if prep == "jusqu'à":
        return f"jusqu'au {text}{suffix}"
    return f"{prep + ' ' if prep else ''}le {text}{suffix}"


def _es(m: re.Match[str], day: date, published: date | None) -> str:
    text = f"{day.day} de {_ES_MONTHS[day.month - 1]}{_year(day, published, ' de ')}"
    prep = re.sub(r"\s+", " ", (m.group("prep") or "").casefold())
    mod = (m.group("mod") or "").casefold()
    word = m.group("word").casefold()
    part = (m.group("part") or "").split()[-1:]
    if word == "anoche":
        core = f"la noche del {text}"
    elif word in _PARTS and mod:
        core = f"la {word} del {text}"  # "esta mañana", "esta noche"
    elif part:
        core = f"la {part[0]} del {text}"  # "el lunes por la noche"
    else:
        core = f"{mod if mod in {'del', 'al'} else 'el'} {text}"
    if (prep.endswith(" de") or mod == "del") and core.startswith("la "):
        core = f"de {core}"
        prep = prep.removesuffix(" de")
    if prep.endswith(" de") and core.startswith("el "):
        return f"{prep[:-3]} del {core[3:]}"
    return f"{prep + ' ' if prep else ''}{core}"


_RENDER = {"en": _en, "fr": _fr, "es": _es}


def _fr_night(m: re.Match[str], published: date | None) -> str:
    if published is None:
        return ""
    back = (published.weekday() - _WEEKDAYS["fr"].index(m.group("n2").casefold())) % 7
    second = published - timedelta(days=back)
    first = second - timedelta(days=1)
    start = str(first.day) if first.month == second.month else _fr_date(first, published)
    start = "1er" if start == "1" else start
    return f"dans la nuit du {start} au {_fr_date(second, published)}"


def _fr_date(day: date, published: date | None) -> str:
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {_FR_MONTHS[day.month - 1]}{_year(day, published, ' ')}"


def _year(day: date, published: date | None, joiner: str) -> str:
    return "" if published is not None and day.year == published.year else f"{joiner}{day.year}"


def _previous_word(text: str, pos: int, keep_case: bool = False) -> str:
    match = re.search(r"([\w'’]+)\W*$", text[max(0, pos - 30) : pos])
    word = match.group(1) if match else ""
    return word if keep_case else word.casefold()


def _sentence_start(text: str, pos: int) -> bool:
    before = text[:pos].rstrip()
    return not before or before[-1] in ".!?:\"'«(\n"


def _tidy(text: str) -> str:
    for pattern, replacement in _TIDY:
        text = pattern.sub(replacement, text)
    return text.strip()
