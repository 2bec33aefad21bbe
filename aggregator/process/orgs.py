"""How an item mentions the organisation the digest is made for (IOM by default).

Three kinds, strongest first, as the digest's second sentence names them:

* ``quoted``: a named person of the organisation speaks ("IOM's Joel Millman said",
  "said Safa Msehli, a spokesperson for IOM", "la porte-parole de l'OIM, Jane Doe"), or a
  sentence quotes the organisation with quotation marks;
* ``cited_figures``: a sentence puts the organisation next to numbers ("according to IOM,
  more than 2,000 ...", "IOM figures show", the Missing Migrants Project, DTM);
* ``referenced``: any other mention.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from aggregator.process.matcher import PhraseIndex, tokenize

_UPPER = "A-ZÀ-ÖØ-ÞĀ-Ž"
_NAME_WORD = rf"[{_UPPER}][\w'’\-]+"
_PARTICLE = r"(?:de|da|del|di|van|von|der|dos|bin|al|el|la|le)"
NAME = rf"{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_NAME_WORD}){{1,3}}"
_ROLES = (
    r"(?i:spokes(?:person|man|woman)|director(?:[- ]general)?|chief|head|official|representative"
    r"|coordinator|officer|expert|researcher|envoy|(?:deputy )?chief of mission"
    r"|porte-parole|directeur(?:\s+général)?|directrice(?:\s+générale)?|responsable|chef"
    r"|représentante?|portavoz|director(?:a)?(?:\s+general)?|jefe|jefa|representante"
    r"|coordinadora?|funcionari[oa])"
)
_SENTENCE = re.compile(r"(?<=[.!?…])[\"'”»)]*\s+(?=[\"“«(¿¡]?[" + _UPPER + r"0-9])")
_NUMBER = re.compile(
    r"\d|\b(?:hundreds|thousands|millions|dozens|centaines|milliers|millions|dizaines"
    r"|cientos|miles|millones|decenas)\b",
    re.IGNORECASE,
)
_CITING = re.compile(
    r"\b(?:according to|figures|data|estimates?|statistics|recorded|counted|tally|report(?:ed|s)?"
    r"|selon|d'après|chiffres|données|estimations?|recensé|según|datos|cifras|estimaciones"
    r"|registr[óa]|informe)\b|missing migrants|displacement tracking|\bDTM\b",
    re.IGNORECASE,
)
_QUOTE = re.compile(r"[\"“”«»]")
_SAYS = re.compile(
    r"\b(?:said|says|told|added|warned|explained|a déclaré|a dit|a expliqué|selon|affirme"
    r"|dijo|afirmó|explicó|señaló|declaró|aseguró)\b",
    re.IGNORECASE,
)


# Capitalised names that are the organisation's programmes and bodies, not its people.
_NOT_PEOPLE = re.compile(
    r"\b(?:Project|Programme|Program|Matrix|Report|Office|Agency|Fund|Organization|Organisation"
    r"|Mission|Council|Unit|Centre|Center|Portal|Tracking|Appeal|Plan|Initiative)\b"
)


class MentionKind(StrEnum):
    QUOTED = "quoted"
    CITED_FIGURES = "cited_figures"
    REFERENCED = "referenced"


_RANK = {MentionKind.QUOTED: 0, MentionKind.CITED_FIGURES: 1, MentionKind.REFERENCED: 2}


@dataclass(frozen=True, slots=True)
class OrgMention:
    kind: MentionKind
    person: str | None
    evidence: str  # the sentence it was found in

    def as_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind.value, "person": self.person, "evidence": self.evidence}


class OrgFinder:
    def __init__(self, name: str, aliases: Sequence[str]) -> None:
        self.name = name
        self._index: PhraseIndex[str] = PhraseIndex()
        self._index.add_all([name, *aliases], name)
        words = sorted({re.escape(a) for a in (name, *aliases)}, key=len, reverse=True)
        self._alias = "(?:(?:the|l'|la|le|el)\\s*)?(?:" + "|".join(words) + ")"
        # A cheap first look, in C: any alias at all? (no accents or case folding: a superset
        # of what the word matcher accepts is all it must be)
        plain = {re.escape(_unaccent(a)) for a in (name, *aliases)}
        self._maybe = re.compile("|".join(sorted(plain | set(words))), re.IGNORECASE)

    def find(self, title: str, text: str) -> tuple[OrgMention, ...]:
        """Every mention, strongest kind first; one per sentence."""
        if not self._maybe.search(title) and not self._maybe.search(text):
            return ()  # the usual case, found without splitting sentences or words
        mentions = []
        for sentence in [title, *_SENTENCE.split(text)]:
            if sentence and self._index.scan(tokenize(sentence)):
                mentions.append(self._classify(sentence.strip()))
        return tuple(sorted(mentions, key=lambda m: _RANK[m.kind]))

    def _classify(self, sentence: str) -> OrgMention:
        person = self._person(sentence)
        if person or (_QUOTE.search(sentence) and _SAYS.search(sentence)):
            return OrgMention(MentionKind.QUOTED, person, sentence)
        if _NUMBER.search(sentence) and (_CITING.search(sentence) or _SAYS.search(sentence)):
            return OrgMention(MentionKind.CITED_FIGURES, None, sentence)
        return OrgMention(MentionKind.REFERENCED, None, sentence)

    def _person(self, sentence: str) -> str | None:
        alias, roles = self._alias, _ROLES
        patterns = (
            rf"{alias}['’]s\s+(?:(?:{roles})\s+)?(?P<n>{NAME})",
            rf"{alias}\s+(?:{roles})\s+(?P<n>{NAME})",
            rf"(?:{roles})\s+(?:(?:of|for|at|with|de|du|de la|del)\s+)?{alias},?\s+(?P<n>{NAME})",
            rf"(?P<n>{NAME}),\s+(?:(?:a|an|the|le|la|el|un|une|una)\s+)?(?:[\w-]+\s+){{0,3}}"
            rf"(?:{roles})\s+(?:(?:of|for|at|with|de|du|de la|del|à)\s+)?{alias}",
            rf"(?P<n>{NAME}),\s+{alias}['’]s\s+(?:[\w-]+\s+){{0,3}}(?:{roles})",
        )
        for pattern in patterns:
            match = re.search(pattern, sentence)
            if match and not _NOT_PEOPLE.search(match.group("n")):
                return match.group("n")
        return None


def _unaccent(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def strongest(mentions: Sequence[OrgMention]) -> OrgMention | None:
    return mentions[0] if mentions else None
