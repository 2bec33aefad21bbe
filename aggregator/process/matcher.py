"""Whole-word phrase matching for the taxonomy, fast enough for thousands of items a second.

Text and phrases go through the same tokenizer: runs of letters and digits, so hyphens,
apostrophes and dots split words ("asylum-seekers" = "asylum seekers", "U.S." = "u s").
Tokens are compared case-folded and without accents, except phrases written in capitals
(ICE, TPS), which match only capitals. Where phrases overlap the longest wins and takes its
words, so a trap phrase ("se trata de") hides the shorter keyword inside it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

T = TypeVar("T")
_TOKEN = re.compile(r"[^\W_]+")


@lru_cache(maxsize=262_144)
def fold(token: str) -> str:
    """Case-folded, accents removed ("Réfugiés" -> "refugies")."""
    if token.isascii():
        return token.casefold()
    # Decompose before and after case-folding: "ᴬ" -> "A" -> "a", "İ" -> "i" + dot -> "i".
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", token).casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class Tokens:
    """A text cut into words: as written, folded, and where each starts."""

    raw: tuple[str, ...]
    folded: tuple[str, ...]
    starts: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.raw)

    def span(self, text: str, start: int, end: int) -> str:
        """The text as written from word ``start`` to word ``end`` (exclusive)."""
        last = self.starts[end - 1] + len(self.raw[end - 1])
        return text[self.starts[start] : last]


def tokenize(text: str, limit: int | None = None) -> Tokens:
    raw: list[str] = []
    starts: list[int] = []
    for match in _TOKEN.finditer(text):
        raw.append(match.group())
        starts.append(match.start())
        if limit is not None and len(raw) >= limit:
            break
    return Tokens(tuple(raw), tuple(fold(t) for t in raw), tuple(starts))


def is_case_sensitive(phrase: str) -> bool:
    letters = [c for c in phrase if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


@dataclass(frozen=True, slots=True)
class Hit(Generic[T]):
    start: int  # word index
    end: int  # exclusive
    values: tuple[T, ...]  # everything registered under the phrase


class PhraseIndex(Generic[T]):
    """Phrases mapped to values; ``scan`` finds them in tokens, longest first."""

    def __init__(self) -> None:
        self._folded: dict[str, dict[tuple[str, ...], list[T]]] = {}
        self._exact: dict[str, dict[tuple[str, ...], list[T]]] = {}
        self._longest = 1

    def add(self, phrase: str, value: T) -> None:
        words = tokenize(phrase)
        if not words.raw:
            return
        exact = is_case_sensitive(phrase)
        key = words.raw if exact else words.folded
        table = self._exact if exact else self._folded
        table.setdefault(key[0], {}).setdefault(key, []).append(value)
        self._longest = max(self._longest, len(key))

    def add_all(self, phrases: Iterable[str], value: T) -> None:
        for phrase in phrases:
            self.add(phrase, value)

    def scan(self, tokens: Tokens) -> list[Hit[T]]:
        hits: list[Hit[T]] = []
        i, n = 0, len(tokens)
        while i < n:
            best = self._best_at(tokens, i)
            if best is None:
                i += 1
                continue
            length, values = best
            hits.append(Hit(i, i + length, tuple(values)))
            i += length
        return hits

    def _best_at(self, tokens: Tokens, i: int) -> tuple[int, list[T]] | None:
        best: tuple[int, list[T]] | None = None
        for table, words in ((self._folded, tokens.folded), (self._exact, tokens.raw)):
            candidates = table.get(words[i])
            if not candidates:
                continue
            for key, values in candidates.items():
                size = len(key)
                if (best is None or size > best[0]) and tuple(words[i : i + size]) == key:
                    best = (size, values)
        return best
