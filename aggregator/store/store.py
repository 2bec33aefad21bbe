"""The store: the only module that speaks SQL. Stages hand values in and get values out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Select, Table, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from aggregator.errors import StoreError
from aggregator.models import Entry, FetchOutcome, SourceState
from aggregator.sources import Source
from aggregator.store.articles import ArticleQueries
from aggregator.store.digests import DigestQueries
from aggregator.store.engine import create_engines, migrate
from aggregator.store.retention import RetentionQueries
from aggregator.store.schema import entries, fetch_events, sources

_STATE_FIELDS = tuple(f.name for f in fields(SourceState) if f.name != "url")
_ENTRY_FIELDS = tuple(f.name for f in fields(Entry))
_BATCH = 500


@dataclass(frozen=True, slots=True)
class SourceRow:
    id: int
    name: str
    kind: str
    state: SourceState
    entry_count: int


class Store(ArticleQueries, DigestQueries, RetentionQueries):
    def __init__(self, url: str) -> None:
        self.url = url
        self._writer, self._reader = create_engines(url)
        migrate(self._writer)
        self._insert_entries = _BulkInsert(entries, self._writer.dialect, ("source_id", "key"))

    def close(self) -> None:
        self._writer.dispose()
        self._reader.dispose()

    @property
    def dialect(self) -> str:
        return self._writer.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        try:
            with self._writer.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StoreError(f"database write failed: {exc}") from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self._reader.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StoreError(f"database read failed: {exc}") from exc

    def sync_sources(self, configured: Iterable[Source], now: datetime) -> dict[str, int]:
        """Make sure every configured source has a row; returns {url: id}."""
        configured = list(configured)
        with self.write() as conn:
            query = select(sources.c.url, sources.c.id, sources.c.name, sources.c.kind)
            rows = conn.execute(_only(query, [s.url for s in configured]))
            listed = {url: (row_id, (name, kind)) for url, row_id, name, kind in rows}
            known = {url: row_id for url, (row_id, _) in listed.items()}
            for source in configured:
                values = {"name": source.name, "kind": source.kind.value}
                if source.url in known:
                    if listed[source.url][1] != (source.name, source.kind.value):  # renamed
                        conn.execute(
                            update(sources).where(sources.c.id == known[source.url]), values
                        )
                else:
                    row = {"url": source.url, "created_at": now, "error_count": 0, **values}
                    conn.execute(self._insert(sources).values(row).on_conflict_do_nothing())
                    known[source.url] = conn.scalar(
                        select(sources.c.id).where(sources.c.url == source.url)
                    )
        return {s.url: known[s.url] for s in configured}

    def states(self, urls: Sequence[str] | None = None) -> dict[str, SourceState]:
        """The fetch state of every source, or of ``urls`` only."""
        with self.read() as conn:
            rows = conn.execute(_only(select(sources), urls)).mappings().all()
        return {row["url"]: _state(row) for row in rows}

    def record_fetch(
        self, source_id: int, outcome: FetchOutcome, state: SourceState
    ) -> tuple[int, int]:
        """Store one fetch whatever its outcome: entries, new source state, event.

        Returns (new entries, updated entries). Entries are keyed on (source, key), so
        recording the same outcome twice changes nothing.
        """
        return self.record_fetches([(source_id, outcome, state)])[0]

    def record_fetches(
        self, fetched: Sequence[tuple[int, FetchOutcome, SourceState]]
    ) -> list[tuple[int, int]]:
        """Several fetches in one transaction (one commit instead of one per source)."""
        counts = []
        with self.write() as conn:
            for source_id, outcome, state in fetched:
                found = outcome.feed.entries if outcome.feed else ()
                new, updated = self._upsert_entries(conn, source_id, found, outcome.started_at)
                values = {name: getattr(state, name) for name in _STATE_FIELDS}
                conn.execute(update(sources).where(sources.c.id == source_id), values)
                conn.execute(insert(fetch_events), [_event(source_id, outcome, new, updated)])
                counts.append((new, updated))
        return counts

    def _upsert_entries(
        self, conn: Connection, source_id: int, found: Sequence[Entry], now: datetime
    ) -> tuple[int, int]:
        new = updated = 0
        for start in range(0, len(found), _BATCH):
            batch = found[start : start + _BATCH]
            known = dict(
                conn.execute(
                    select(entries.c.key, entries.c.content_hash).where(
                        entries.c.source_id == source_id,
                        entries.c.key.in_([e.key for e in batch]),
                    )
                ).all()
            )
            fresh = [_entry_row(source_id, e, now) for e in batch if e.key not in known]
            if fresh:
                new += self._insert_entries(conn, fresh)
            changed = [e for e in batch if e.key in known and known[e.key] != e.content_hash]
            for entry in changed:
                conn.execute(
                    update(entries).where(
                        entries.c.source_id == source_id, entries.c.key == entry.key
                    ),
                    _entry_update(entry, now),
                )
            updated += len(changed)
        return new, updated

    def _insert(self, table: Any) -> Any:
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(table)

    def source_rows(self) -> list[SourceRow]:
        counts = (
            select(entries.c.source_id, func.count().label("n"))
            .group_by(entries.c.source_id)
            .subquery()
        )
        query = select(sources, counts.c.n).outerjoin(counts, counts.c.source_id == sources.c.id)
        with self.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [SourceRow(r["id"], r["name"], r["kind"], _state(r), r["n"] or 0) for r in rows]

    def count_entries(self, source_url: str | None = None) -> int:
        query = select(func.count()).select_from(entries)
        if source_url is not None:
            query = query.join(sources).where(sources.c.url == source_url)
        with self.read() as conn:
            return int(conn.scalar(query) or 0)

    def entries_of(self, source_url: str) -> list[dict[str, Any]]:
        query = (
            select(entries)
            .join(sources)
            .where(sources.c.url == source_url)
            .order_by(entries.c.published_at.desc(), entries.c.id)
        )
        with self.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def events_of(self, source_url: str) -> list[dict[str, Any]]:
        query = (
            select(fetch_events)
            .join(sources)
            .where(sources.c.url == source_url)
            .order_by(fetch_events.c.id)
        )
        with self.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]


class _BulkInsert:
    """``INSERT ... ON CONFLICT DO NOTHING`` of many rows, compiled once for the dialect.

    Values go through each column type's own bind processor (so SQLite and PostgreSQL get
    what they expect) and then straight to the driver's executemany: SQLAlchemy's generic
    per-row machinery cost half of recording a 75-item feed.
    """

    def __init__(self, table: Table, dialect: Dialect, conflict: tuple[str, ...]) -> None:
        columns = [c for c in table.columns if not c.primary_key]
        module = postgresql if dialect.name == "postgresql" else sqlite
        # inline(): no implicit RETURNING of the new ids, which PostgreSQL would add.
        statement = module.insert(table).inline().on_conflict_do_nothing(index_elements=conflict)
        compiled = statement.compile(dialect=dialect, column_keys=[c.name for c in columns])
        self._sql = compiled.string
        self._order = compiled.positiontup if compiled.positional else None
        self._processors = {
            c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns
        }

    def __call__(self, conn: Connection, rows: list[dict[str, Any]]) -> int:
        """Insert ``rows``; returns how many went in (clashing ones are skipped)."""
        memo: dict[tuple[str, Any], Any] = {}  # rows share timestamps: convert each once
        bound = [self._bind(row, memo) for row in rows]
        if self._order is not None:
            params: list[Any] = [tuple(row[name] for name in self._order) for row in bound]
        else:
            params = bound
        return int(conn.exec_driver_sql(self._sql, params).rowcount)

    def _bind(self, row: dict[str, Any], memo: dict[tuple[str, Any], Any]) -> dict[str, Any]:
        bound = {}
        for key, value in row.items():
            process = self._processors[key]
            if value is None or process is None:
                bound[key] = value
            elif isinstance(value, datetime):
                if (key, value) not in memo:
                    memo[key, value] = process(value)
                bound[key] = memo[key, value]
            else:
                bound[key] = process(value)
        return bound


def _state(row: Any) -> SourceState:
    return SourceState(url=row["url"], **{name: row[name] for name in _STATE_FIELDS})


def _entry_row(source_id: int, entry: Entry, now: datetime) -> dict[str, Any]:
    row = {name: getattr(entry, name) for name in _ENTRY_FIELDS}  # asdict() deep-copies: slow
    row["categories"] = list(entry.categories)
    row["date_fallback"] = entry.date_fallback.value if entry.date_fallback else None
    row.update(source_id=source_id, first_seen_at=now, updated_at=now)
    return row


def _entry_update(entry: Entry, now: datetime) -> dict[str, Any]:
    values = _entry_row(0, entry, now)
    for kept in ("source_id", "key", "first_seen_at"):
        values.pop(kept)
    if entry.date_fallback:  # keep the date we first saw it; a fallback is not news
        values.pop("published_at")
        values.pop("date_fallback")
    return values


def _event(source_id: int, outcome: FetchOutcome, new: int, updated: int) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "started_at": outcome.started_at,
        "duration": outcome.duration,
        "status": outcome.status.value,
        "http_status": outcome.http_status,
        "error_kind": outcome.error_kind,
        "error": outcome.error,
        "new_entries": new,
        "updated_entries": updated,
        "bytes": outcome.byte_count,
    }


FEW = 500  # up to this many sources are read by URL, more by reading the whole table


def _only(query: Select[Any], urls: Sequence[str] | None) -> Select[Any]:
    """``query`` on the sources ``urls`` only (a worker's one-source fetch reads one row)."""
    if urls is None or len(urls) > FEW:
        return query
    return query.where(sources.c.url.in_(urls))
