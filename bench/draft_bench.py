"""Drafting an edition over a large archive, in one run.

Fills a SQLite store with N processed articles (default 1,000,000: about 1,000 relevant
articles a day over three years, clustered into stories of 1-6 articles, plus irrelevant
ones), then times `digest draft` for the last day, twice (a fresh draft, then drafting
again over it). Target: at most 2 s.

    python bench/draft_bench.py [--articles 1000000] [--db /tmp/draft-bench.db]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from aggregator.config import Config, Settings
from aggregator.digest.desk import Desk
from aggregator.sources import Source
from aggregator.store import Store
from aggregator.store.schema import articles, entries, sources

DAY = date(2026, 11, 25)
END = datetime(2026, 11, 25, 23, 0, tzinfo=UTC)
OUTLETS = ["AFP", "Reuters", "The Guardian", "Al Jazeera", "BBC", "DW", "El País", "Le Monde"]
TOPICS = ["missing_migrants_sar", "deportation_removal", "refugees_asylum", "labour_migration"]
BATCH = 20_000


def fill(store: Store, count: int, rng: random.Random) -> None:
    with store.write() as conn:
        conn.execute(
            insert(sources),
            [
                {"id": n + 1, "url": f"https://example.org/{n}", "name": name, "kind": "feed",
                 "created_at": END, "error_count": 0}
                for n, name in enumerate(OUTLETS)
            ],
        )  # fmt: skip
    story = 0
    for start in range(0, count, BATCH):
        entry_rows, article_rows = [], []
        for n in range(start, min(start + BATCH, count)):
            published = END - timedelta(minutes=n * 1.5)  # ~1,000 a day, newest first
            source = rng.randrange(len(OUTLETS))
            relevant = rng.random() < 0.3
            story = story + 1 if rng.random() < 0.4 else story
            entry_rows.append(_entry(n + 1, source + 1, published))
            article_rows.append(_article(n + 1, source, published, relevant, story, rng))
        with store.write() as conn:
            conn.execute(insert(entries), entry_rows)
            conn.execute(insert(articles), article_rows)


def _entry(n: int, source_id: int, published: datetime) -> dict:
    return {"id": n, "source_id": source_id, "key": f"k{n}", "url": f"https://e.org/{n}",
            "title": f"Story {n}", "summary": "", "published_at": published, "categories": [],
            "content_hash": "h", "first_seen_at": published, "updated_at": published}  # fmt: skip


def _article(
    n: int, source: int, published: datetime, relevant: bool, story: int, rng: random.Random
) -> dict:
    outlet = OUTLETS[source]
    return {
        "entry_id": n, "source_id": source + 1, "entry_hash": "h", "rules_hash": "r",
        "processed_at": published, "url": f"https://e.org/{n}", "title": f"Story {story}",
        "published_at": published, "text": "Migrants were rescued off Libya. " * 20,
        "text_status": "summary_only", "language": "en", "relevant": relevant,
        "relevance_score": 2.0, "relevance_reason": "", "matched_terms": [],
        "topics": [rng.choice(TOPICS)], "routes": [], "places": {"mentioned": ["LY"]},
        "org_mentions": [], "outlets": [outlet],
        "sentence": f"{outlet} reported that migrants were rescued in story {story}.",
        "story_id": story if relevant else None,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/draft-bench.db"))
    args = parser.parse_args()
    args.db.unlink(missing_ok=True)
    store = Store(f"sqlite:///{args.db}")
    started = time.perf_counter()
    fill(store, args.articles, random.Random(1))
    print(f"archive: {args.articles:,} articles written in {time.perf_counter() - started:.0f} s")
    config = Config(Path("sources.yaml"), Settings(), tuple(
        Source(name=name, url=f"https://example.org/{n}") for n, name in enumerate(OUTLETS)
    ))  # fmt: skip
    desk = Desk(store, config, lambda: END)
    for label in ("fresh draft", "drafting again"):
        started = time.perf_counter()
        drafted = desk.draft(DAY)
        seconds = time.perf_counter() - started
        items = len(drafted.edition.items())
        verdict = "PASS" if seconds <= 2 else "FAIL"
        print(f"{label}: {seconds:.2f} s, {items} items (target <= 2 s): {verdict}")
    store.close()


if __name__ == "__main__":
    main()
