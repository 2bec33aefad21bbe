"""Pruning old raw entries (and fetch events) so the store does not grow without end.

An entry goes when both its publication and the moment it was first seen are older than
the cut-off, unless an edition refers to it: an edition item names the entry's story or
its URL. Deleting an entry deletes its article and story signature with it (foreign keys
cascade). Deletion runs in small transactions so a long prune never holds SQLite's writer
lock for long, and each batch checks the editions again, so an edition saved meanwhile
keeps its articles.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, select

from aggregator.store.schema import articles, edition_items, entries, fetch_events

PRUNE_BATCH = 500


@dataclass(frozen=True, slots=True)
class Pruned:
    entries: int
    fetch_events: int


class RetentionQueries:
    """Mixed into Store, which provides ``read`` and ``write``."""

    def read(self) -> AbstractContextManager[Connection]: ...  # pragma: no cover
    def write(self) -> AbstractContextManager[Connection]: ...  # pragma: no cover

    def prune(self, before: datetime, batch: int = PRUNE_BATCH) -> Pruned:
        """Delete the entries and fetch events older than ``before`` that no edition needs."""
        removed = 0
        while True:
            with self.write() as conn:
                ids = list(conn.scalars(_prunable(before).limit(batch)))
                if ids:
                    conn.execute(delete(entries).where(entries.c.id.in_(ids)))
            removed += len(ids)
            if len(ids) < batch:
                break
        with self.write() as conn:
            events = conn.execute(delete(fetch_events).where(fetch_events.c.started_at < before))
        return Pruned(removed, int(events.rowcount or 0))

    def count_prunable(self, before: datetime) -> int:
        """How many entries :meth:`prune` would delete now."""
        with self.read() as conn:
            return len(list(conn.scalars(_prunable(before))))


def _prunable(before: datetime) -> Any:
    """Ids of the entries older than ``before`` that no edition item refers to."""
    article = articles.alias("article")
    by_story = exists().where(
        article.c.entry_id == entries.c.id,
        article.c.story_id.is_not(None),
        exists().where(edition_items.c.story_id == article.c.story_id),
    )
    by_url = exists().where(
        and_(edition_items.c.url.is_not(None), edition_items.c.url == entries.c.url)
    )
    by_article_url = exists().where(
        article.c.entry_id == entries.c.id,
        article.c.url.is_not(None),
        exists().where(edition_items.c.url == article.c.url),
    )
    return (
        select(entries.c.id)
        .where(entries.c.published_at < before, entries.c.first_seen_at < before)
        .where(~by_story, ~by_url, ~by_article_url)
        .order_by(entries.c.id)
    )
