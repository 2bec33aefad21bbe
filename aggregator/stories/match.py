"""Deciding whether two articles report the same event (the verification step after LSH).

LSH only proposes candidates; every candidate pair is checked here on the full feature sets:
close enough in time, no disagreeing counts, no disagreeing places, and enough shared terms.
"""

from __future__ import annotations

from collections.abc import Collection, Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.stories.text import Features


@dataclass(frozen=True, slots=True)
class MatchRules:
    """Thresholds of the verification step (measured values: see ``cluster``'s docstring)."""

    window: timedelta = timedelta(days=3)  # further apart than this: different stories
    min_similarity: float = 0.15  # Jaccard of the term sets, same language
    min_similarity_across: float = 0.10  # other languages share names, figures and cognates only
    min_shared: int = 3  # terms in common, so two short texts cannot match on one word
    use_numbers: bool = True  # counts that disagree veto a match
    use_places: bool = True  # disjoint place codes veto a match


@dataclass(frozen=True, slots=True)
class Profile:
    """One article as the verification step sees it."""

    article_id: int
    published: datetime
    language: str
    features: Features
    places: frozenset[str]


def numbers_conflict(a: Collection[float], b: Collection[float]) -> bool:
    """True when both texts give counts and none of them agree.

    One text giving more figures than the other is normal (a rewrite adds the survivors);
    two tolls with nothing in common are two events. A round figure agrees with any count
    within its rounding unit ("over 400" and "412", "more than 1,100" and "1,195").
    """
    if not a or not b or not frozenset(a).isdisjoint(b):
        return False
    return not (_rounded_match(a, b) or _rounded_match(b, a))


def _rounded_match(rounded: Collection[float], exact: Collection[float]) -> bool:
    for x in rounded:
        unit = rounding_unit(x)
        if unit and any(abs(x - y) <= unit for y in exact):
            return True
    return False


def rounding_unit(value: float) -> float:
    """The power of ten a round count was rounded to, at most a tenth of it; 0 for others."""
    if value < 20 or value % 10:
        return 0.0
    unit = 10
    while value % (unit * 10) == 0:
        unit *= 10
    return min(unit, value / 10)


def places_conflict(a: Set[str], b: Set[str]) -> bool:
    """True when both articles are placed and share no place."""
    return bool(a) and bool(b) and a.isdisjoint(b)


def score(new: Profile, old: Profile, rules: MatchRules) -> float | None:
    """Similarity of a verified pair, or None when the pair is not the same event.

    The set intersection runs first: it is the cheapest test and rejects most candidates.
    """
    mine, theirs = new.features, old.features
    shared = len(frozenset(mine.terms).intersection(theirs.terms))
    if shared < rules.min_shared:
        return None
    similarity = shared / (len(mine.terms) + len(theirs.terms) - shared)
    same_language = new.language == old.language or not new.language or not old.language
    if similarity < (rules.min_similarity if same_language else rules.min_similarity_across):
        return None
    return None if _vetoed(new, old, rules) else similarity


def _vetoed(new: Profile, old: Profile, rules: MatchRules) -> bool:
    if abs(new.published - old.published) > rules.window:
        return True
    mine, theirs = new.features, old.features
    if rules.use_numbers and (
        numbers_conflict(mine.numbers, theirs.numbers)
        or numbers_conflict(mine.title_numbers, theirs.title_numbers)
    ):
        return True
    return rules.use_places and places_conflict(new.places, old.places)
