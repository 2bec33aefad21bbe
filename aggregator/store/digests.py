"""Queries of the digest stage: candidate stories, the topic history, editions and items."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from aggregator.digest.models import Edition, Item, Section, Status
from aggregator.store.schema import articles, edition_items, editions, sources

_ITEM_FIELDS = (
    "section", "position", "text", "url", "outlets", "topics", "places", "published",
    "story_id", "title", "image_url", "image_credit", "score", "why", "edited",
)  # fmt: skip
_CANDIDATE_COLUMNS = (
    articles.c.entry_id, articles.c.story_id, articles.c.url, articles.c.title,
    articles.c.published_at, articles.c.text, articles.c.text_status, articles.c.sentence,
    articles.c.outlets, articles.c.topics, articles.c.places, articles.c.org_mentions,
    articles.c.image_url, articles.c.image_credit, articles.c.language,
    articles.c.relevance_score, sources.c.url.label("source_url"),
    sources.c.name.label("source_name"),
)  # fmt: skip


class DigestQueries:
    """Mixed into Store, which provides ``read`` and ``write``."""

    def read(self) -> AbstractContextManager[Connection]: ...  # pragma: no cover
    def write(self) -> AbstractContextManager[Connection]: ...  # pragma: no cover

    def story_articles(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Every relevant article of the stories that have one published in [start, end)."""
        in_window = (
            select(articles.c.story_id)
            .where(articles.c.relevant.is_(True), articles.c.story_id.is_not(None))
            .where(articles.c.published_at >= start, articles.c.published_at < end)
        )
        query = (
            select(*_CANDIDATE_COLUMNS)
            .join(sources, sources.c.id == articles.c.source_id)
            .where(articles.c.relevant.is_(True), articles.c.published_at < end)
            .where(articles.c.story_id.in_(in_window))
            .order_by(articles.c.published_at, articles.c.entry_id)
        )
        with self.read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def topic_history(self, start: datetime, end: datetime) -> list[tuple[datetime, list[str]]]:
        """(published, topics) of the relevant articles in [start, end): trending baselines."""
        query = select(articles.c.published_at, articles.c.topics).where(
            articles.c.relevant.is_(True),
            articles.c.published_at >= start,
            articles.c.published_at < end,
        )
        with self.read() as conn:
            return [(when, list(topics or [])) for when, topics in conn.execute(query)]

    def published_stories(self, before: date) -> dict[int, datetime]:
        """Story id -> when an earlier edition that carried it was published."""
        query = (
            select(edition_items.c.story_id, editions.c.published_at)
            .join(editions, editions.c.day == edition_items.c.day)
            .where(editions.c.status == Status.PUBLISHED.value, editions.c.day < before.isoformat())
            .where(edition_items.c.story_id.is_not(None), edition_items.c.section != "alternates")
        )
        found: dict[int, datetime] = {}
        with self.read() as conn:
            for story_id, published_at in conn.execute(query):
                if published_at and (story_id not in found or published_at > found[story_id]):
                    found[story_id] = published_at
        return found

    def previous_edition_day(self, day: date) -> date | None:
        query = select(editions.c.day).where(editions.c.day < day.isoformat())
        with self.read() as conn:
            found = conn.scalar(query.order_by(editions.c.day.desc()).limit(1))
        return date.fromisoformat(found) if found else None

    def edition(self, day: date, titles: dict[str, str] | None = None) -> Edition | None:
        """The stored edition of ``day`` (section titles from the configuration)."""
        with self.read() as conn:
            head = (
                conn.execute(select(editions).where(editions.c.day == day.isoformat()))
                .mappings()
                .first()
            )
            if head is None:
                return None
            rows = (
                conn.execute(
                    select(edition_items)
                    .where(edition_items.c.day == day.isoformat())
                    .order_by(edition_items.c.section, edition_items.c.position)
                )
                .mappings()
                .all()
            )
        return _edition(head, [_item(r) for r in rows], titles or {})

    def published_editions(self, limit: int = 20) -> list[Edition]:
        query = (
            select(editions.c.day)
            .where(editions.c.status == Status.PUBLISHED.value)
            .order_by(editions.c.day.desc())
            .limit(limit)
        )
        with self.read() as conn:
            days = [date.fromisoformat(d) for d in conn.scalars(query)]
        return [e for d in days if (e := self.edition(d)) is not None]

    def save_edition(self, edition: Edition, now: datetime) -> Edition:
        """Store ``edition`` whole (its items replaced); returns it with the items' ids."""
        day = edition.day.isoformat()
        head = {
            "status": edition.status.value,
            "title": edition.title,
            "updated_at": now,
            "published_at": edition.published_at,
        }
        with self.write() as conn:
            exists = conn.scalar(select(editions.c.day).where(editions.c.day == day))
            if exists:
                conn.execute(update(editions).where(editions.c.day == day), head)
            else:
                conn.execute(insert(editions), [{"day": day, "created_at": now, **head}])
            conn.execute(delete(edition_items).where(edition_items.c.day == day))
            for item in (*edition.items(), *edition.alternates):
                conn.execute(insert(edition_items), [_item_row(day, item)])
        titles = {s.id: s.title for s in edition.sections}
        saved = self.edition(edition.day, titles)
        assert saved is not None  # written just above
        return saved

    def set_status(self, day: date, status: Status, now: datetime) -> None:
        values: dict[str, Any] = {"status": status.value, "updated_at": now}
        if status is Status.PUBLISHED:
            values["published_at"] = now
        with self.write() as conn:
            conn.execute(update(editions).where(editions.c.day == day.isoformat()), values)


def _item_row(day: str, item: Item) -> dict[str, Any]:
    row = {name: getattr(item, name) for name in _ITEM_FIELDS}
    for name in ("outlets", "topics", "places"):
        row[name] = list(row[name])
    row["day"] = day
    if item.id:
        row["id"] = item.id  # keep the ids editors see in the edit document
    return row


def _item(row: Any) -> Item:
    values = {name: row[name] for name in _ITEM_FIELDS}
    for name in ("outlets", "topics", "places"):
        values[name] = tuple(values[name] or ())
    return Item(id=row["id"], **values)


def _edition(head: Any, items: Sequence[Item], titles: dict[str, str]) -> Edition:
    order = list(titles) + sorted({i.section for i in items} - set(titles) - {"alternates"})
    sections = tuple(
        Section(sid, titles.get(sid, sid.title()), tuple(i for i in items if i.section == sid))
        for sid in order
    )
    return Edition(
        day=date.fromisoformat(head["day"]),
        status=Status(head["status"]),
        sections=sections,
        alternates=tuple(i for i in items if i.section == "alternates"),
        title=head["title"],
        created_at=head["created_at"],
        updated_at=head["updated_at"],
        published_at=head["published_at"],
    )
