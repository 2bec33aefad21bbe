"""The store on both backends: migrations, idempotent upserts, state round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from aggregator.fetch.normalize import RawItem, to_entry
from aggregator.models import FetchOutcome, FetchStatus, ParsedFeed, SourceState
from aggregator.sources import Source
from aggregator.store import Store
from aggregator.store.engine import HEAD_REVISION, alembic_config, normalise_url

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
SOURCE = Source(name="InfoMigrants", url="https://www.infomigrants.net/en/rss/all.xml")


def feed(*titles: str) -> ParsedFeed:
    items = [
        RawItem(title=t, link=f"https://e.org/{i}", guid=f"g{i}", categories=("Asylum", t))
        for i, t in enumerate(titles)
    ]
    entries = tuple(to_entry(item, "https://e.org/", NOW) for item in items)
    return ParsedFeed("Feed", None, "en", entries, "test")


def outcome(parsed: ParsedFeed | None, status: FetchStatus = FetchStatus.OK) -> FetchOutcome:
    return FetchOutcome(SOURCE.url, status, NOW, 0.5, http_status=200, feed=parsed)


def test_head_revision_constant_matches_the_migration_files():
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_opening_twice_migrates_once(db_url):
    Store(db_url).close()
    store = Store(db_url)
    with store.read() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == HEAD_REVISION
    store.close()


def test_sqlite_runs_in_wal_mode(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def test_sqlite_file_directory_is_created(tmp_path):
    Store(f"sqlite:///{tmp_path / 'deep' / 'er' / 'a.db'}").close()
    assert (tmp_path / "deep" / "er" / "a.db").exists()


def test_recording_the_same_outcome_twice_changes_nothing(db_url):
    store = Store(db_url)
    (source_id,) = store.sync_sources([SOURCE], NOW).values()
    state = SourceState(SOURCE.url, etag='"x"', last_success_at=NOW, next_fetch_at=NOW)
    assert store.record_fetch(source_id, outcome(feed("A", "B")), state) == (2, 0)
    assert store.record_fetch(source_id, outcome(feed("A", "B")), state) == (0, 0)
    assert store.record_fetch(source_id, outcome(feed("A", "B2", "C")), state) == (1, 1)
    assert store.count_entries() == 3
    assert store.states()[SOURCE.url] == state
    assert [e["new_entries"] for e in store.events_of(SOURCE.url)] == [2, 0, 1]
    store.close()


def test_entries_keep_their_first_seen_time(db_url):
    store = Store(db_url)
    (source_id,) = store.sync_sources([SOURCE], NOW).values()
    store.record_fetch(source_id, outcome(feed("A")), SourceState(SOURCE.url))
    later = FetchOutcome(
        SOURCE.url, FetchStatus.OK, NOW + timedelta(hours=2), 0.1, feed=feed("A edited")
    )
    store.record_fetch(source_id, later, SourceState(SOURCE.url))
    (row,) = store.entries_of(SOURCE.url)
    assert row["title"] == "A edited"
    assert row["first_seen_at"] == NOW and row["updated_at"] == NOW + timedelta(hours=2)
    assert row["published_at"].tzinfo is not None
    assert row["categories"] == ["Asylum", "A edited"]
    store.close()


def test_sync_sources_is_idempotent_and_follows_renames(db_url):
    store = Store(db_url)
    first = store.sync_sources([SOURCE], NOW)
    renamed = SOURCE.model_copy(update={"name": "InfoMigrants EN"})
    assert store.sync_sources([renamed], NOW) == first
    assert [row.name for row in store.source_rows()] == ["InfoMigrants EN"]
    store.close()


def test_a_second_process_sees_committed_entries(db_url):
    writer, reader = Store(db_url), Store(db_url)
    (source_id,) = writer.sync_sources([SOURCE], NOW).values()
    writer.record_fetch(source_id, outcome(feed("A")), SourceState(SOURCE.url))
    assert reader.count_entries(SOURCE.url) == 1
    writer.close()
    reader.close()


def test_postgres_scheme_gets_the_installed_driver():
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_sqlite_integrity_after_writes(tmp_path):
    url = f"sqlite:///{tmp_path / 'i.db'}"
    store = Store(url)
    (source_id,) = store.sync_sources([SOURCE], NOW).values()
    store.record_fetch(
        source_id, outcome(feed(*[f"T{i}" for i in range(600)])), SourceState(SOURCE.url)
    )
    store.close()
    with create_engine(url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert conn.exec_driver_sql("SELECT count(*) FROM entries").scalar() == 600
