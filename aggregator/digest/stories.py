"""Candidate stories for an edition, gathered from the store's article rows, and their scores.

News score (hard news): 1.5 per outlet that carried the story (up to 6), up to 2 for
recency (halving every 12 hours), 1 when it mentions the organisation, 0.5 per outlet
that is a wire service. Trending score: see ``trend``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aggregator.process.analyse import WIRES
from aggregator.process.sentence import join_outlets

WIRE_NAMES = frozenset(WIRES.values())
MIN_BASELINE = 50  # topic mentions in the trailing week below which growth means nothing
SOFT_PATHS = re.compile(
    r"/(?:opinion|opinions|comment|commentisfree|features?|long-?reads?|culture|arts|books"
    r"|film|video|podcasts?|magazine|lifestyle|society|tribune|opinion|cultura|opinión)/",
    re.IGNORECASE,
)
SOFT_TITLES = re.compile(
    r"\b(?:the story of|meet|profile|portrait|how (?:a|an|one)|why|what it's like|op-ed"
    r"|opinion|documentary|film|book|novel|memoir|exhibition|festival|music|art|photo essay"
    r"|in pictures|portrait de|l'histoire de|rencontre avec|tribune|la historia de|conoce a"
    r"|documental|exposición|libro)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A story with every relevant article of it, as the compiler weighs it."""

    story_id: int
    rows: tuple[Mapping[str, Any], ...]  # by publication time

    @property
    def first(self) -> datetime:
        return self.rows[0]["published_at"]

    @property
    def last(self) -> datetime:
        return self.rows[-1]["published_at"]

    @property
    def outlets(self) -> tuple[str, ...]:
        """Every outlet that carried it: wire services first, then by first publication."""
        seen = dict.fromkeys(o for row in self.rows for o in (row["outlets"] or ()))
        return tuple(sorted(seen, key=lambda o: o not in WIRE_NAMES))

    @property
    def topics(self) -> tuple[str, ...]:
        counts = Counter(t for row in self.rows for t in (row["topics"] or ()))
        return tuple(t for t, _ in counts.most_common())

    @property
    def places(self) -> tuple[str, ...]:
        counts = Counter(
            p for row in self.rows for p in ((row["places"] or {}).get("mentioned") or ())
        )
        return tuple(p for p, _ in counts.most_common())

    @property
    def source_urls(self) -> frozenset[str]:
        return frozenset(row["source_url"] for row in self.rows)

    @property
    def mentions_org(self) -> bool:
        return any(row["org_mentions"] for row in self.rows)

    def representative(self) -> Mapping[str, Any]:
        """The article whose sentence stands for the story: full text and a wire first."""

        def rank(row: Mapping[str, Any]) -> tuple[bool, bool, bool, datetime]:
            wire = bool(set(row["outlets"] or ()) & WIRE_NAMES)
            return (
                not row["sentence"],
                row["text_status"] != "full",
                not wire,
                row["published_at"],
            )

        return min(self.rows, key=rank)

    def sentence(self, max_outlets: int = 4) -> str:
        """The representative's sentence, crediting every outlet of the story."""
        row = self.representative()
        text = row["sentence"] or row["title"]
        prefix = join_outlets(list(row["outlets"] or ())) + " "
        english = row["language"] not in ("fr", "es")  # their verbs agree with the subject
        if row["sentence"] and english and text.startswith(prefix):
            text = join_outlets(list(self.outlets[:max_outlets])) + " " + text[len(prefix) :]
        return text


def gather(rows: Iterable[Mapping[str, Any]]) -> list[Candidate]:
    by_story: dict[int, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_story.setdefault(row["story_id"], []).append(row)
    return [
        Candidate(sid, tuple(sorted(found, key=lambda r: (r["published_at"], r["entry_id"]))))
        for sid, found in by_story.items()
    ]


def news_score(story: Candidate, end: datetime) -> tuple[float, str]:
    outlets = len(story.outlets)
    hours = max(0.0, (end - story.last).total_seconds() / 3600)
    recency = 2 * 0.5 ** (hours / 12)
    wires = sum(1 for o in story.outlets if o in WIRE_NAMES)
    org = 1.0 if story.mentions_org else 0.0
    score = 1.5 * min(outlets, 6) + recency + org + 0.5 * wires
    why = f"news score {score:.1f}: {outlets} outlet(s), recency {recency:.1f}"
    return score, why + (", mentions the organisation" if org else "")


@dataclass(frozen=True, slots=True)
class Trend:
    score: float
    reasons: tuple[str, ...]
    human_interest: bool


def topic_growth(
    history: Sequence[tuple[datetime, Sequence[str]]], end: datetime
) -> dict[str, float]:
    """Topic -> articles in the last 24 hours over the daily mean of the 7 days before."""
    recent: Counter[str] = Counter()
    before: Counter[str] = Counter()
    for when, topics in history:
        age = end - when
        if timedelta(0) <= age < timedelta(days=1):
            recent.update(topics)
        elif timedelta(days=1) <= age < timedelta(days=8):
            before.update(topics)
    if sum(before.values()) < MIN_BASELINE:
        return {}  # no trailing week worth comparing with (a new store): no growth to tell
    return {t: n / max(before[t] / 7, 0.5) for t, n in recent.items()}


def trend(
    story: Candidate,
    growth: Mapping[str, float],
    end: datetime,
    trending_sources: frozenset[str],
) -> Trend:
    """Distinct outlets in the last 24 h, growth of its topics against the trailing week,
    recency, sources in the `trending` section, and human-interest cues."""
    day_ago = end - timedelta(days=1)
    fresh = {o for row in story.rows if row["published_at"] >= day_ago for o in row["outlets"]}
    rise = max((growth.get(t, 0.0) for t in story.topics), default=0.0)
    hours = max(0.0, (end - story.last).total_seconds() / 3600)
    recency = 0.5 ** (hours / 24)
    from_trending = bool(story.source_urls & trending_sources)
    cues = _human_interest(story)
    score = (
        len(fresh)
        + min(math.log2(1 + rise), 2.0)
        + recency
        + (2.0 if from_trending else 0.0)
        + (1.5 if cues else 0.0)
    )
    reasons = [f"{len(fresh)} outlet(s) in 24 h", f"topic growth x{rise:.1f}"]
    reasons += [f"recency {recency:.1f}"]
    reasons += ["a trending source"] if from_trending else []
    reasons += [f"human interest ({cues})"] if cues else []
    return Trend(round(score, 2), tuple(reasons), bool(cues) or from_trending)


def _human_interest(story: Candidate) -> str | None:
    for row in story.rows:
        if "shared the story of" in (row["sentence"] or ""):
            return "a profile of a named person"
        if SOFT_PATHS.search(row["url"] or ""):
            return "a feature, opinion or culture page"
        if SOFT_TITLES.search(row["title"] or ""):
            return "a feature or culture headline"
    return None
