"""Trending verbs: "shared the story of <Name>, a <description> who ..." and "reported about".

Rule, for items flagged as trending (features, profiles, explainers):

* **shared the story of**: one of the first two sentences opens by introducing a named
  person, in one of three shapes (EN/FR/ES articles and relatives):

  - "Amina Diallo, a 24-year-old Guinean refugee, opened a bakery ..." ->
    "Amina Diallo, a 24-year-old Guinean refugee who opened a bakery ...";
  - "Amina Diallo, 24, fled Guinea ..." -> "Amina Diallo, 24, who fled Guinea ...";
  - "Amina Diallo is a 24-year-old refugee who ..." -> "Amina Diallo, a 24-year-old ...".

  The name is two to four capitalised words (particles such as "de", "van", "al" allowed)
  whose first word is neither a function word, a common word, nor a known proper word of
  the caller (a place, an organisation), and none of which is an acronym: "Human Rights
  Watch, a group, said" and "Médecins Sans Frontières, a charity, said" are no people.
* **reported about**: the title is a wh-clause and no question ("How refugee chefs are
  changing Paris" -> "reported about how refugee chefs are changing Paris").
* otherwise the caller falls back to "reported that".
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date

from aggregator.process.sentence_case import common_words, function_words
from aggregator.process.sentence_clean import finish_clause
from aggregator.process.sentence_dates import resolve_relative_dates
from aggregator.process.sentence_split import word_count

__all__ = ["about_clause", "story_clause"]

_UP = "A-ZÀ-ÖØ-Þ"
_PARTICLE = r"(?:de|da|di|van|von|der|al|el|bin|ben|ibn|del|dos|du)"
_NAME = rf"[{_UP}][\w'’\-]+(?:\s+(?:{_PARTICLE}\s+)?[{_UP}][\w'’\-]+){{1,3}}"
_STORY_WORDS = {
    "en": ("who", "an?", "is|was"),
    "fr": ("qui", "une?", "est|était"),
    "es": ("que", "una?", "es|era"),
}
_WH_TITLE = re.compile(
    r"^(?:how|why|what|where|when|who|comment|pourquoi|quand|où|cómo|por qué|qué|dónde"
    r"|cuándo|quién)\b",
    re.IGNORECASE,
)
SITE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]{2,40}$")


def story_clause(
    sentences: list[str], lang: str, day: date | None, proper: Collection[str], max_words: int
) -> tuple[str, str] | None:
    """(clause, source sentence) when the lead introduces a named person, else None."""
    for sentence in sentences[:2]:
        resolved = resolve_relative_dates(sentence, day, lang)
        for pattern in _patterns(lang):
            match = pattern.match(resolved)
            if match and _is_person(match.group("name"), lang, proper):
                text = _story_text(match, _STORY_WORDS[lang][0])
                text = _shorten(text, max_words, _STORY_WORDS[lang][0]) if text else None
                if text:
                    return text, sentence
    return None


def _shorten(text: str, max_words: int, relative: str) -> str | None:
    """Too long: cut at the first comma or "and" after the relative clause starts, keeping
    the name, the description and what the person did ("Amina Diallo, a 24-year-old
    Guinean refugee who opened a bakery in Lyon")."""
    if word_count(text) <= max_words:
        return text
    start = text.find(f" {relative} ")
    if start < 0:
        return None
    for cut in re.finditer(r",\s|\s(?:and|et|y)\s", text[start + len(relative) + 2 :]):
        head = text[: start + len(relative) + 2 + cut.start()].rstrip(" ,")
        return head if word_count(head) <= max_words else None
    return None


def about_clause(title: str, max_words: int) -> str | None:
    """The title as a "reported about" object when it is a wh-clause, else None."""
    headline = SITE_SUFFIX.sub("", title).strip().rstrip(".")
    if not _WH_TITLE.match(headline) or headline.endswith("?"):
        return None
    if not 4 <= word_count(headline) <= max_words:
        return None
    return headline[0].lower() + headline[1:]


def _patterns(lang: str) -> tuple[re.Pattern[str], ...]:
    relative, article, copula = _STORY_WORDS[lang]
    desc = rf"(?P<desc>(?:{article})\s+[^,;]{{3,120}}?)"
    return (
        re.compile(rf"(?P<name>{_NAME}),\s+{desc}(?:,\s+|\s+(?={relative}\b))(?P<rest>.*)$"),
        re.compile(rf"(?P<name>{_NAME}),\s+(?P<desc>\d{{1,3}}),\s+(?P<rest>.*)$"),
        re.compile(rf"(?P<name>{_NAME})\s+(?:{copula})\s+(?P<desc>(?:{article})\s+.+)$"),
    )


def _story_text(match: re.Match[str], relative: str) -> str | None:
    name, desc = match.group("name"), match.group("desc")
    rest = finish_clause(match.groupdict().get("rest") or "")
    if not rest:
        return f"{name}, {finish_clause(desc)}"
    if rest.split()[0].casefold() == relative:
        return f"{name}, {desc} {rest}"
    if not rest[0].islower():
        return None  # "Amina Diallo, a refugee, The ..." is no person introduction
    joiner = f", {relative}" if desc.isdigit() else f" {relative}"
    return f"{name}, {desc}{joiner} {rest}"


def _is_person(name: str, lang: str, proper: Collection[str]) -> bool:
    tokens = name.split()
    if name in proper or name.casefold() in proper or tokens[0] in proper:
        return False
    first = tokens[0].casefold()
    if first in function_words(lang) or first in common_words(lang):
        return False  # "Human Rights Watch, a group, ..." is no person
    return not any(t.isupper() and len(t) > 1 for t in tokens)
