"""The story index kept between the processing runs of one long-lived process.

Restoring the index from the stored signatures costs about 0.4 ms an article (13 s for the
30,000 a 1,000-feed week keeps), which a daemon would pay on every run. Instead the index
stays in memory and is checked against the store before each run: rows another process
clustered meanwhile are taken in; if an article the index holds has gone from the store (a
crash between writes, a reset), it is rebuilt. Days older than ``days`` are forgotten, so a
kept index holds what a restored one would.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from aggregator.stories.cluster import ArticleForClustering, StoryIndex

DAYS = timedelta(days=5)  # how far back stored signatures are read: the index's window and more


class ClusterRows(Protocol):
    def cluster_rows(
        self, since: datetime, ids: list[int] | None = None
    ) -> Iterable[tuple[ArticleForClustering, int, bytes]]: ...  # pragma: no cover

    def clustered_since(self, since: datetime) -> dict[int, datetime]: ...  # pragma: no cover


class StoryMemory:
    def __init__(self, days: timedelta = DAYS) -> None:
        self.days = days
        self._index: StoryIndex | None = None
        self._held: dict[int, datetime] = {}  # stored article id -> published
        self.restores = 0  # how many times the index was rebuilt from the store

    def index(self, store: ClusterRows, now: datetime) -> StoryIndex:
        """The index, in step with what ``store`` holds since ``now - days``."""
        since = now - self.days
        stored = store.clustered_since(since)
        self._held = {i: at for i, at in self._held.items() if at >= since}
        if self._index is None or not stored.keys() >= self._held.keys():
            return self._restore(store, since, stored)
        missing = sorted(stored.keys() - self._held.keys())
        if missing:
            self._index.absorb(store.cluster_rows(since, missing))
            self._held.update((i, stored[i]) for i in missing)
        self._index.forget(since)
        return self._index

    def stored(self, articles: list[tuple[int, datetime]]) -> None:
        """Articles the index clustered are now in the store."""
        self._held.update(articles)

    def drop(self) -> None:
        """Forget the index (a run failed half-way): the next run rebuilds it."""
        self._index, self._held = None, {}

    def _restore(
        self, store: ClusterRows, since: datetime, stored: dict[int, datetime]
    ) -> StoryIndex:
        newest = max(stored.values(), default=None)
        self._index = StoryIndex.restore(store.cluster_rows(since), newest)
        self._held = dict(stored)
        self.restores += 1
        return self._index
