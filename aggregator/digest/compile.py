"""Drafting an edition from candidate stories; re-drafting without losing an editor's work.

Sections are filled in the order featured, trending, news, whatever their order on the page:
featured takes the organisation's own stories (sources in the `featured` section, or the
section's `sources`); trending takes soft stories (from `trending` sources, or with
human-interest cues) by trending score; news takes the rest by news score, with at most
``max_per_outlet`` items led by one outlet and a penalty for a third story on one topic or
place, then tops up to its ``min`` without those limits. One item per story. A story that
an earlier published edition carried is left out unless it has an article published since.
Whatever is not chosen becomes the ranked alternates.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from aggregator.digest.models import Edition, Item, Section, Status
from aggregator.digest.settings import DigestSettings, Rule, SectionRule
from aggregator.digest.stories import Candidate, Trend, news_score, trend
from aggregator.process.dateline import split_dateline
from aggregator.sources import Section as SourceSection
from aggregator.sources import Source

TRENDING_FLOOR = 2.5  # a soft story below this trending score is not "trending"


@dataclass(frozen=True, slots=True)
class DraftInput:
    day: date
    end: datetime  # the window's end (exclusive); trending and recency are measured from it
    candidates: Sequence[Candidate]
    growth: Mapping[str, float]  # topic growth (see stories.topic_growth)
    published: Mapping[int, datetime]  # story id -> when a published edition carried it
    sources: Mapping[str, Source]  # by URL
    settings: DigestSettings
    now: datetime | None = None  # drafting time: today's edition is scored as of now

    @property
    def at(self) -> datetime:
        """The time recency and the last 24 hours are measured from."""
        return min(self.end, self.now) if self.now else self.end


@dataclass(slots=True)
class _Pick:
    story: Candidate
    score: float
    why: str


def draft(given: DraftInput) -> Edition:
    """A new draft (items not stored yet: id 0)."""
    pool = {c.story_id: c for c in given.candidates if _is_new(c, given.published)}
    chosen: dict[str, list[_Pick]] = {}
    for rule in _fill_order(given.settings.sections):
        chosen[rule.id] = _fill(rule, pool, given)
        for pick in chosen[rule.id]:
            pool.pop(pick.story.story_id, None)
    sections = tuple(
        Section(rule.id, rule.title, _items(rule, chosen[rule.id]))
        for rule in given.settings.sections
    )
    rest = sorted(
        (_Pick(c, *news_score(c, given.at)) for c in pool.values()), key=lambda p: -p.score
    )
    alternates = tuple(
        _item("alternates", n, pick, featured=False)
        for n, pick in enumerate(rest[: given.settings.alternates], 1)
    )
    return Edition(given.day, Status.DRAFT, sections, alternates, given.settings.title)


def merge(stored: Edition, fresh: Edition) -> tuple[Edition, int]:
    """Drafting again: the stored edition keeps every item as the editor left it (unedited
    ones take the story's new outlets and text); stories it does not have yet are added where
    the fresh draft put them. Returns the edition and how many items were added."""
    fresh_by_story = {i.story_id: i for i in (*fresh.items(), *fresh.alternates)}
    known = {i.story_id for i in (*stored.items(), *stored.alternates)}
    added = 0
    sections = []
    for section in stored.sections:
        kept = [_refresh(i, fresh_by_story.get(i.story_id)) for i in section.items]
        new = [i for i in _section_items(fresh, section.id) if i.story_id not in known]
        added += len(new)
        sections.append(replace(section, items=_renumber([*kept, *new])))
    alternates = [_refresh(i, fresh_by_story.get(i.story_id)) for i in stored.alternates]
    new_alternates = [i for i in fresh.alternates if i.story_id not in known]
    return (
        replace(
            stored,
            sections=tuple(sections),
            alternates=tuple(_renumber([*alternates, *new_alternates])),
        ),
        added,
    )


def _is_new(story: Candidate, published: Mapping[int, datetime]) -> bool:
    carried = published.get(story.story_id)
    return carried is None or story.last > carried


def _fill_order(rules: Sequence[SectionRule]) -> list[SectionRule]:
    order = {Rule.FEATURED: 0, Rule.TRENDING: 1, Rule.NEWS: 2}
    return sorted(rules, key=lambda r: order[r.rule])


def _fill(rule: SectionRule, pool: Mapping[int, Candidate], given: DraftInput) -> list[_Pick]:
    eligible = [c for c in pool.values() if _feeds(rule, c, given.sources)]
    if rule.rule is Rule.FEATURED:
        own = [_own(c, rule, given.sources) for c in eligible]
        picks = [_Pick(c, 0.0, "the organisation's own story") for c in own]
        return sorted(picks, key=lambda p: p.story.last, reverse=True)[: rule.max]
    if rule.rule is Rule.TRENDING:
        return _trending(rule, eligible, given)
    return _news(rule, eligible, given)


def _feeds(rule: SectionRule, story: Candidate, sources: Mapping[str, Source]) -> bool:
    feeding = [sources[u] for u in story.source_urls if u in sources]
    if rule.sources:
        return any(s.name in rule.sources for s in feeding)
    if rule.rule is Rule.FEATURED:
        return any(s.section is SourceSection.FEATURED for s in feeding)
    return not any(s.section is SourceSection.FEATURED for s in feeding)


def _own(story: Candidate, rule: SectionRule, sources: Mapping[str, Source]) -> Candidate:
    """The story as its featured sources tell it: their release is the block, not a reprint."""
    rows = tuple(r for r in story.rows if _feeds(rule, _single(r), sources))
    return replace(story, rows=rows or story.rows)


def _single(row: Mapping[str, object]) -> Candidate:
    return Candidate(0, (row,))


def _trending(rule: SectionRule, eligible: list[Candidate], given: DraftInput) -> list[_Pick]:
    trending_urls = frozenset(
        url for url, s in given.sources.items() if s.section is SourceSection.TRENDING
    )
    scored: list[tuple[Candidate, Trend]] = [
        (c, trend(c, given.growth, given.at, trending_urls)) for c in eligible
    ]
    soft = [(c, t) for c, t in scored if t.human_interest and t.score >= TRENDING_FLOOR]
    soft.sort(key=lambda pair: -pair[1].score)
    return [_Pick(c, t.score, "trending: " + "; ".join(t.reasons)) for c, t in soft[: rule.max]]


def _news(rule: SectionRule, eligible: list[Candidate], given: DraftInput) -> list[_Pick]:
    ranked = sorted((_Pick(c, *news_score(c, given.at)) for c in eligible), key=lambda p: -p.score)
    chosen: list[_Pick] = []
    leads: Counter[str] = Counter()
    subjects: Counter[str] = Counter()
    for pick in ranked:
        if len(chosen) >= rule.max:
            break
        # The outlet cap is for single-outlet stories: a story many outlets carried is no
        # sign of one outlet crowding the section, even when a wire is named first.
        lead = pick.story.outlets[0] if len(pick.story.outlets) == 1 else ""
        if (lead and leads[lead] >= given.settings.max_per_outlet) or _crowded(
            pick.story, subjects
        ):
            continue
        chosen.append(pick)
        leads[lead] += 1
        subjects.update(_subjects(pick.story))
    for pick in ranked:  # top up to the minimum, limits aside
        if len(chosen) >= rule.min:
            break
        if pick not in chosen:
            chosen.append(pick)
    return chosen


def _subjects(story: Candidate) -> list[str]:
    return [f"topic:{t}" for t in story.topics[:1]] + [f"place:{p}" for p in story.places[:1]]


def _crowded(story: Candidate, subjects: Counter[str]) -> bool:
    """A third story on the same main topic and place is left for the alternates."""
    keys = _subjects(story)
    return len(keys) == 2 and all(subjects[k] >= 2 for k in keys)


def _items(rule: SectionRule, picks: Sequence[_Pick]) -> tuple[Item, ...]:
    featured = rule.rule is Rule.FEATURED
    return tuple(_item(rule.id, n, pick, featured) for n, pick in enumerate(picks, 1))


def _item(section: str, position: int, pick: _Pick, featured: bool) -> Item:
    story = pick.story
    row = story.representative()
    outlets = story.outlets
    carriers = dict.fromkeys(row["source_name"] for row in story.rows)
    why = (
        f"{len(outlets)} outlet(s): {', '.join(outlets[:6])}"
        f" (carried by {', '.join(carriers)}); {pick.why}"
    )
    return Item(
        id=0,
        section=section,
        position=position,
        text=_teaser(row) if featured else story.sentence(),
        url=row["url"],
        outlets=outlets,
        topics=story.topics,
        places=story.places,
        published=story.first,
        story_id=story.story_id,
        title=row["title"],
        image_url=row["image_url"] if featured else None,
        image_credit=row["image_credit"] if featured else None,
        score=round(pick.score, 2),
        why=why,
    )


def _teaser(row: Mapping[str, object]) -> str:
    """A featured block's teaser: the first sentences of the text, about 60 words."""
    text = split_dateline(str(row["text"] or row["title"] or "")).rest  # no "Geneva –"
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    teaser = ""
    for sentence in sentences:
        if teaser and len((teaser + " " + sentence).split()) > 60:
            break
        teaser = f"{teaser} {sentence}".strip()
    return teaser


def _section_items(edition: Edition, section_id: str) -> list[Item]:
    for section in edition.sections:
        if section.id == section_id:
            return list(section.items)
    return []


def _refresh(item: Item, fresh: Item | None) -> Item:
    """The story's latest outlets and reasons; its text too unless an editor touched it."""
    if fresh is None:
        return item
    kept = replace(
        item, outlets=fresh.outlets, score=fresh.score, why=fresh.why, url=item.url or fresh.url
    )
    return kept if item.edited else replace(kept, text=fresh.text)


def _renumber(items: Sequence[Item]) -> list[Item]:
    return [replace(item, position=n) for n, item in enumerate(items, 1)]
