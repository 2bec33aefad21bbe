"""The typed values of a digest edition, shared by the compiler, the store, the renderers,
the edit document and publishing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Status(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    PUBLISHED = "published"


@dataclass(frozen=True, slots=True)
class Item:
    """One line of an edition: a story, the sentence an editor may rewrite, its provenance."""

    id: int  # stable within the store; 0 for an item not stored yet
    section: str  # a section id ("news", "trending", "featured") or "alternates"
    position: int  # order within its section, from 1
    text: str  # the sentence printed (editable)
    url: str | None  # the representative article's link
    outlets: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    published: datetime | None = None
    story_id: int | None = None
    title: str | None = None  # headline (featured blocks print it)
    image_url: str | None = None  # featured blocks: lead image and its credit
    image_credit: str | None = None
    score: float = 0.0
    why: str = ""  # why the compiler chose it (shown to editors)
    edited: bool = False  # an editor changed it: drafting again never overwrites it


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    items: tuple[Item, ...] = ()


@dataclass(frozen=True, slots=True)
class Edition:
    day: date
    status: Status
    sections: tuple[Section, ...]
    alternates: tuple[Item, ...] = ()  # ranked candidates not chosen; editors may promote
    title: str = "Migration in the News"
    created_at: datetime | None = None
    updated_at: datetime | None = None
    published_at: datetime | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)  # what drafting did ("rebuilt")

    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)
