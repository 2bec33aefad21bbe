"""The story index kept between the processing runs of one long-lived process.

Rebuilding the index from the stored signatures costs about 0.13 ms an article (4 s for the
32,000 a 1,000-feed store kept in the soak bench), which a daemon would pay on every run.
Instead the index stays in memory and is checked against the store before each run (one
query): rows another process clustered meanwhile are taken in. It is rebuilt when an article
it holds has gone from the store (a crash between writes, a reset) or sits in another story
there (another process processed it again), or when others stored very many. Days older than
``days`` are forgotten, so a kept index holds about what a rebuilt one would.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol

from aggregator.stories.cluster import ArticleForClustering, StoryIndex

DAYS = timedelta(days=5)  # how far back stored signatures are read: the index's window and more
MAX_MISSING = 5000  # more rows stored by others than this: rebuild (streamed) rather than add
Held = tuple[datetime, int]  # an article's publication time and story id
Row = tuple[ArticleForClustering, int, bytes]  # a stored article, its story, its signature


class ClusterRows(Protocol):
    def cluster_rows(
        self, since: datetime, ids: list[int] | None = None
    ) -> Iterable[tuple[ArticleForClustering, int, bytes]]: ...  # pragma: no cover

    def clustered_since(self, since: datetime) -> dict[int, Held]: ...  # pragma: no cover


class StoryMemory:
    def __init__(self, days: timedelta = DAYS) -> None:
        self.days = days
        self._index: StoryIndex | None = None
        self._held: dict[int, Held] = {}  # stored article id -> (published, story id)
        self.restores = 0  # how many times the index was rebuilt from the store

    def index(self, store: ClusterRows, now: datetime) -> StoryIndex:
        """The index, in step with what ``store`` holds since ``now - days``."""
        since = now - self.days
        stored = store.clustered_since(since)
        self._held = {i: held for i, held in self._held.items() if held[0] >= since}
        missing = sorted(stored.keys() - self._held.keys())
        if self._index is None or not self._agrees(stored) or len(missing) > MAX_MISSING:
            return self._restore(store, since, stored)
        if missing:
            with _streamed(store.cluster_rows(since, missing)) as rows:
                self._index.absorb(rows)
            self._held.update((i, stored[i]) for i in missing)
        self._index.forget(since)
        return self._index

    def stored(self, articles: list[tuple[int, datetime, int]]) -> None:
        """Articles the index clustered are now in the store: (id, published, story id)."""
        self._held.update((i, (published, story)) for i, published, story in articles)

    def drop(self) -> None:
        """Forget the index (a run failed half-way): the next run rebuilds it."""
        self._index, self._held = None, {}

    def _agrees(self, stored: dict[int, Held]) -> bool:
        """Every article held is still stored, in the same story (another process may have
        processed it again meanwhile, and clustered it otherwise)."""
        return all(stored.get(i) == held for i, held in self._held.items())

    def _restore(self, store: ClusterRows, since: datetime, stored: dict[int, Held]) -> StoryIndex:
        newest = max((published for published, _ in stored.values()), default=None)
        with _streamed(store.cluster_rows(since)) as rows:
            self._index = StoryIndex.restore(rows, newest)
        self._held = dict(stored)
        self.restores += 1
        return self._index


@contextmanager
def _streamed(rows: Iterable[Row]) -> Iterator[Iterator[Row]]:
    """The rows, closed however the reading ends (a stream from the store holds a read
    connection until it is closed)."""
    stream = iter(rows)
    try:
        yield stream
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
