"""Split the dateline off a news lead.

Wire copy and many outlets open with a dateline: a place, sometimes a date, a wire credit
and a separator ("GENEVA, Nov 24 (Reuters) - ", "MADRID, 25 Nov. (EFE).- ",
"(AFP) - ", "LONDON — "). A digest sentence drops it, and the credit is worth keeping.

Shapes recognised (EN/FR/ES conventions):

* ``PLACE[, Region][, DATE] (CREDIT) SEP`` - the credit makes it unambiguous; SEP optional.
* ``(CREDIT) SEP`` - the credit alone ("(AFP) - ", "(CNN)Migrants ...").
* ``PLACE[, Region][, DATE] SEP`` without a credit - only when SEP is a dash or colon and the
  place is upper case ("LONDON — ", "BEIRUT: ", "WASHINGTON, D.C. —"), or mixed case with a
  region or a date ("Rome, Italy – "). A colon needs an upper-case place.

Never taken for a dateline: a sentence start ("Italy's coast guard ...", "U.S. officials
said ..."), an appositive between two dashes ("IOM — the UN agency — said"), a dash later in
the sentence, or a parenthesis that is not a credit ("(pictured)", "(file)").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Dateline", "split_dateline"]


@dataclass(frozen=True, slots=True)
class Dateline:
    place: str | None  # the place as written: "GENEVA", "DAKAR, Senegal", "Ciudad de México"
    agencies: tuple[str, ...]  # wire credits found in the dateline: ("Reuters",), ("AFP",)
    rest: str  # the text with the dateline removed
    date: str | None = None  # the date as written in the dateline ("Nov 24", "25 nov 2026")


_UPPER = "A-ZÀ-ÖØ-Þ\u0100-\u017f"
_WORD = rf"[{_UPPER}][\w'’.]*(?:-[\w'’.]+)*"
_CONNECTOR = r"(?:de\s+la|de|del|du|des|la|le|el|es|da|do|dos|das|al|upon|sur|en)"
_SEGMENT = rf"{_WORD}(?:\s+(?:{_CONNECTOR}\s+)?{_WORD}){{0,4}}(?:/{_WORD}){{0,2}}"
_MONTH = (
    r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    r"|janv(?:ier)?|févr(?:ier)?|mars|avr(?:il)?|mai|juin|juil(?:let)?|août|octobre"
    r"|novembre|déc(?:embre)?|septembre|ene(?:ro)?|febrero|marzo|abr(?:il)?|mayo|junio"
    r"|julio|ago(?:sto)?|septiembre|octubre|noviembre|dic(?:iembre)?)"
)
_DATE = (
    rf"(?:{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:er|º|°)?\s+(?:de\s+)?{_MONTH}\.?(?:\s+(?:de\s+)?\d{{4}})?"
    r"|\d{1,2})"
)
_CREDIT = r"\(\s*(?P<credit>[^\W\d_][^()\d]{0,40}?)\s*\)"
_SEP = r"(?P<sep>\.\s?[-–—]|--|[-–—|:])"

_WITH_PLACE = re.compile(
    rf"\s*(?P<place>{_SEGMENT}(?:,\s*{_SEGMENT}){{0,2}}?)"
    rf"(?:,\s*(?P<date>{_DATE}))?"
    rf"(?:\s*{_CREDIT})?(?:\s*{_SEP})?"
    r"(?<=[)\-–—|:])"  # a credit or a separator must end the dateline
)
_CREDIT_ONLY = re.compile(rf"\s*{_CREDIT}(?:\s*{_SEP})?")

_NOT_CREDITS = frozenset(
    "photo photos file pictured video left right centre center archive archives updated top "
    "above below watch listen audio map graphic opinion analysis foto vidéo vídeo".split()
)
_LOWER_CREDITS = frozenset({"dpa", "apa", "efe", "afp", "ap", "ips", "aa"})
# all-caps labels that open a text like a dateline but are no place
_KICKERS = frozenset(
    "UPDATE|UPDATED|BREAKING|BREAKING NEWS|EXCLUSIVE|WATCH|LIVE|ANALYSIS|OPINION|VIDEO|PHOTOS"
    "|FACT CHECK|EDITORIAL|COMMENT|INTERVIEW|FEATURE|FILE PHOTO|PHOTO|EXPLAINER|URGENT|ALERTE"
    "|EN DIRECT|ÚLTIMA HORA|DIRECTO|REPORTAJE|ENTREVISTA|TRIBUNE|ÉDITO|INFO|VIDÉO|VÍDEO|FOTO"
    "|CORRECTION|CORRECTED|REFILE|NOTE".split("|")
)
_CREDIT_SPLIT = re.compile(r"\s*(?:/|,|&|\+|\band\b|\bet\b|\by\b)\s*")


def split_dateline(text: str) -> Dateline:
    """Return the dateline's place, wire credits and the text after it."""
    for attempt in (_with_place, _credit_only):
        found = attempt(text)
        if found is not None:
            return found
    return Dateline(place=None, agencies=(), rest=text)


def _with_place(text: str) -> Dateline | None:
    match = _WITH_PLACE.match(text)
    if match is None or not (match.group("credit") or match.group("sep")):
        return None
    place, date, sep = match.group("place"), match.group("date"), match.group("sep")
    agencies = _agencies(match.group("credit"))
    if match.group("credit") and agencies is None:
        return None
    rest = text[match.end() :]
    if agencies:
        if not sep and not _starts_like_text(rest):
            return None
    elif not _bare_place_ok(place, date, sep, rest):
        return None
    return Dateline(place=place.strip(), agencies=agencies or (), rest=rest.lstrip(), date=date)


def _credit_only(text: str) -> Dateline | None:
    match = _CREDIT_ONLY.match(text)
    if match is None:
        return None
    agencies = _agencies(match.group("credit"))
    rest = text[match.end() :]
    if not agencies or (not match.group("sep") and not _starts_like_text(rest)):
        return None
    return Dateline(place=None, agencies=agencies, rest=rest.lstrip())


def _agencies(credit: str | None) -> tuple[str, ...] | None:
    """The credits in a parenthesis, or None when it is not a wire credit."""
    if not credit:
        return None
    parts = tuple(p.strip() for p in _CREDIT_SPLIT.split(credit) if p.strip())
    if not parts or len(credit.split()) > 5:
        return None
    for part in parts:
        if part.casefold() in _NOT_CREDITS:
            return None
        if part == part.lower() and part not in _LOWER_CREDITS:
            return None
    return parts


def _bare_place_ok(place: str, date: str | None, sep: str | None, rest: str) -> bool:
    """A place with no wire credit counts only in the unmistakable shapes."""
    if not sep or not rest.strip():
        return False
    if sep != ":" and sep.strip(".- ") and _second_dash_soon(sep, rest):
        return False  # "IOM — the UN Migration Agency — said ..." is an appositive
    first = place.split(",")[0]
    if first.strip().upper() in _KICKERS:
        return False
    if _is_upper(first):
        return len(re.sub(r"\W", "", first)) >= 2
    if sep.strip() in ("–", "—") and rest[:1] == " " and rest.lstrip()[:1].isupper():
        return True  # "Panama City – Deaths ...", "Tripoli/Geneva – At least ...": releases
    return sep != ":" and sep != "|" and ("," in place or date is not None)


def _second_dash_soon(sep: str, rest: str) -> bool:
    dash = sep.strip(". ")
    return dash in rest[:100]


def _is_upper(segment: str) -> bool:
    letters = [c for c in segment if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _starts_like_text(rest: str) -> bool:
    stripped = rest.lstrip()
    return bool(stripped) and (
        stripped[0].isupper() or stripped[0].isdigit() or stripped[0] in "\"'“‘«¿¡"
    )
