"""The story index a long-lived process keeps between runs: in step with the store, the
same stories as an index restored for every run, bounded in days."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from aggregator.stories import ArticleForClustering, StoryIndex
from aggregator.stories.memory import StoryMemory
from tests.test_cluster import by_time, load_events


class FakeStore:
    """What processing stores of a clustered article: its story and its signature."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[ArticleForClustering, int, bytes]] = {}
        self.reads = 0

    def cluster_rows(self, since, ids=None):
        self.reads += 1
        wanted = self.rows if ids is None else {i: self.rows[i] for i in ids}
        found = [row for row in wanted.values() if row[0].published >= since]
        return sorted(found, key=lambda row: (row[0].published, row[0].id))

    def clustered_since(self, since):
        return {i: (r[0].published, r[1]) for i, r in self.rows.items() if r[0].published >= since}


def run(memory: StoryMemory, store: FakeStore, batch: list[ArticleForClustering]) -> None:
    """One processing run as ProcessRun does it: index, add, store, tell the memory."""
    if not batch:
        return
    index = memory.index(store, min(a.published for a in batch))  # all it could match
    for article in batch:
        story = index.add(article)
        store.rows[article.id] = (article, story, index.signature(article.id))
    memory.stored([(a.id, a.published, store.rows[a.id][1]) for a in batch])


def restored_run(store: FakeStore, batch: list[ArticleForClustering]) -> None:
    """The same run with an index restored from the store (what a one-shot process does)."""
    if batch:
        run(StoryMemory(), store, batch)


def in_runs(articles: list[ArticleForClustering], size: int) -> list[list[ArticleForClustering]]:
    ordered = by_time(articles)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


@pytest.fixture(scope="module")
def events() -> list[ArticleForClustering]:
    return load_events()[0]


def stories(store: FakeStore) -> dict[int, int]:
    return {i: row[1] for i, row in store.rows.items()}


def test_a_kept_index_gives_the_stories_of_a_restored_one_without_rereading(events):
    kept, restored = FakeStore(), FakeStore()
    memory = StoryMemory()
    for batch in in_runs(events, 25):
        run(memory, kept, batch)
        restored_run(restored, batch)
    assert stories(kept) == stories(restored)
    assert memory.restores == 1 and kept.reads == 1  # one restore, then only checks


def test_articles_another_process_clustered_are_taken_in(events):
    store, mine, theirs = FakeStore(), StoryMemory(), StoryMemory()
    reference = FakeStore()
    for n, batch in enumerate(in_runs(events, 20)):
        run(mine if n % 2 else theirs, store, batch)  # two workers take turns
        restored_run(reference, batch)
    assert stories(store) == stories(reference)
    assert mine.restores == 1 and theirs.restores == 1


def test_an_article_gone_from_the_store_makes_it_rebuild(events):
    store, memory = FakeStore(), StoryMemory()
    first, second, third = in_runs(events, 40)[:3]
    run(memory, store, first)
    run(memory, store, second)
    del store.rows[second[0].id]  # e.g. a crash between two writes of another process
    run(memory, store, third)
    assert memory.restores == 2


def test_a_failed_run_is_followed_by_a_rebuild(events):
    store, memory = FakeStore(), StoryMemory()
    first, second = in_runs(events, 40)[:2]
    run(memory, store, first)
    memory.drop()
    run(memory, store, second)
    assert memory.restores == 2


def test_old_days_are_forgotten():
    memory, store = StoryMemory(days=timedelta(days=5)), FakeStore()
    start = datetime.fromisoformat("2026-03-02T08:00:00+00:00")
    for day in range(30):  # a month of distinct stories, a run a day
        when = start + timedelta(days=day)
        batch = [
            ArticleForClustering(
                day * 10 + n, f"https://example.org/{day}/{n}", None,
                f"Story {day}-{n} about border {n * 7 + day} crossings", "Text.",
                "Outlet", when + timedelta(minutes=n), "en",
            )
            for n in range(10)
        ]  # fmt: skip
        run(memory, store, batch)
    index = memory.index(store, start + timedelta(days=30))
    assert isinstance(index, StoryIndex)
    assert 40 <= len(index) <= 60  # about the last five days, not the month
    assert memory.restores == 1


def test_an_article_still_live_is_forgotten_once_it_has_expired():
    start = datetime.fromisoformat("2026-03-02T08:00:00+00:00")

    def at(article_id: int, days: float) -> ArticleForClustering:
        return ArticleForClustering(
            article_id, f"https://example.org/{article_id}", None,
            f"Boat {article_id} reaches port {article_id * 13}", "Text.", "Outlet",
            start + timedelta(days=days), "en",
        )  # fmt: skip

    index = StoryIndex()
    index.add(at(1, 0))
    index.add(at(2, 3))  # article 1 is still live (window and late: four days)
    index.forget(start + timedelta(hours=1))
    assert len(index) == 2
    index.add(at(3, 5))  # article 1 expires
    index.forget(start + timedelta(hours=1))
    assert len(index) == 2 and 1 not in index.stories()


def test_an_article_another_process_put_in_another_story_makes_it_rebuild(events):
    store, memory = FakeStore(), StoryMemory()
    first, second = in_runs(events, 40)[:2]
    run(memory, store, first)
    article, story, signature = store.rows[first[-1].id]
    store.rows[article.id] = (article, story + 100_000, signature)  # processed again elsewhere
    run(memory, store, second)
    assert memory.restores == 2


def test_very_many_rows_stored_by_others_make_it_rebuild(events, monkeypatch):
    from aggregator.stories import memory as kept

    monkeypatch.setattr(kept, "MAX_MISSING", 10)
    store, mine, theirs = FakeStore(), StoryMemory(), StoryMemory()
    first, second, third = in_runs(events, 30)[:3]
    run(mine, store, first)
    run(theirs, store, second)  # 30 rows mine has not seen
    run(mine, store, third)
    assert mine.restores == 2


def test_an_article_processed_again_after_it_expired_keeps_its_story_and_signature():
    start = datetime.fromisoformat("2026-03-02T08:00:00+00:00")
    old = ArticleForClustering(
        1, "https://example.org/1", None, "Boat with 40 aboard reaches Lampedusa", "Text.",
        "Outlet", start, "en",
    )  # fmt: skip
    index = StoryIndex()
    assert index.add(old) == 1
    for n in range(2, 1100):  # enough later articles that its signature left the recent ones
        index.add(
            ArticleForClustering(
                n, f"https://example.org/{n}", None, f"Council {n} votes on {n * 7} budgets",
                "Text.", "Outlet", start + timedelta(days=5, minutes=n), "en",
            )
        )  # fmt: skip
    assert index.add(old) == 1  # the entry changed: processed again
    assert len(index.signature(1)) == 96 * 4  # stored with it again, not a KeyError
