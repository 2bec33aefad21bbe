"""Tables of the store. Alembic migrations in ``migrations/versions`` create and change them;
this module describes the current shape for queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on both backends.

    PostgreSQL stores ``timestamptz``. SQLite has no date type: it stores fixed-width ISO
    text ("2026-11-25 06:00:00.000000"), which sorts and compares like the times it holds
    and converts in C both ways.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None).isoformat(" ", timespec="microseconds")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", String(64)),
    Column("last_fetched_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_status", String(16)),
    Column("last_http_status", Integer),
    Column("last_error", Text),
    Column("last_error_kind", String(32)),
    Column("last_error_at", UTCDateTime),
    Column("error_count", Integer, nullable=False, default=0),
    Column("next_fetch_at", UTCDateTime),
    Column("retry_after_until", UTCDateTime),
    Column("disabled_at", UTCDateTime),
    Column("disabled_reason", Text),
    Column("moved_to", Text),
)

fetch_events = Table(
    "fetch_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("duration", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("http_status", Integer),
    Column("error_kind", String(32)),
    Column("error", Text),
    Column("new_entries", Integer, nullable=False, default=0),
    Column("updated_entries", Integer, nullable=False, default=0),
    Column("bytes", Integer, nullable=False, default=0),
    Index("ix_fetch_events_source_started", "source_id", "started_at"),
)

entries = Table(
    "entries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("key", Text, nullable=False),
    Column("guid", Text),
    Column("url", Text),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("content_html", Text),
    Column("author", Text),
    Column("published_at", UTCDateTime, nullable=False),
    Column("date_fallback", String(16)),
    Column("categories", JSON, nullable=False),
    Column("image_url", Text),
    Column("content_hash", String(64), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("source_id", "key", name="uq_entries_source_key"),
    Index("ix_entries_first_seen", "first_seen_at"),
    Index("ix_entries_url", "url"),
)

# One row per processed entry: what processing made of it (issue: article processing).
articles = Table(
    "articles",
    metadata,
    Column("entry_id", ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("entry_hash", String(64), nullable=False),  # the entry's content_hash when processed
    Column("rules_hash", String(64), nullable=False),  # taxonomy + settings + code version
    Column("processed_at", UTCDateTime, nullable=False),
    Column("url", Text),
    Column("title", Text, nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
    Column("author", Text),
    Column("site_name", Text),
    Column("image_url", Text),
    Column("image_caption", Text),
    Column("image_credit", Text),
    Column("text", Text, nullable=False),
    Column("text_status", String(16), nullable=False),
    Column("text_reason", Text),
    Column("page_fetched_at", UTCDateTime),
    Column("page_http_status", Integer),
    Column("language", String(8), nullable=False),
    Column("relevant", Boolean, nullable=False),
    Column("relevance_score", Float, nullable=False),
    Column("relevance_reason", Text, nullable=False),
    Column("matched_terms", JSON, nullable=False),
    Column("topics", JSON, nullable=False),
    Column("routes", JSON, nullable=False),
    Column("places", JSON, nullable=False),
    Column("org_mentions", JSON, nullable=False),
    Column("outlets", JSON, nullable=False),
    Column("sentence", Text),
    Column("sentence_source", String(16)),
    Column("sentence_error", Text),
    Column("story_id", BigInteger().with_variant(Integer, "sqlite")),
    Index("ix_articles_relevant_published", "relevant", "published_at"),
    Index("ix_articles_source", "source_id"),
    Index("ix_articles_story", "story_id"),
)

# Sentences the LLM summarizer wrote, keyed on a hash of model, prompt and text.
summaries = Table(
    "summaries",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("sentence", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# The MinHash signature of a clustered article (see aggregator/stories), to restore the index.
signatures = Table(
    "signatures",
    metadata,
    Column("entry_id", ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True),
    Column("signature", LargeBinary, nullable=False),
)

# Digest editions, one per day, and their items (editable by editors).
editions = Table(
    "editions",
    metadata,
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD in the configured timezone
    Column("status", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime),
)

edition_items = Table(
    "edition_items",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("day", ForeignKey("editions.day", ondelete="CASCADE"), nullable=False),
    Column("section", String(32), nullable=False),
    Column("position", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("url", Text),
    Column("outlets", JSON, nullable=False),
    Column("topics", JSON, nullable=False),
    Column("places", JSON, nullable=False),
    Column("published", UTCDateTime),
    Column("story_id", BigInteger().with_variant(Integer, "sqlite")),
    Column("title", Text),
    Column("image_url", Text),
    Column("image_credit", Text),
    Column("score", Float, nullable=False),
    Column("why", Text, nullable=False),
    Column("edited", Boolean, nullable=False),
    Index("ix_edition_items_day", "day"),
    Index("ix_edition_items_story", "story_id"),
)
