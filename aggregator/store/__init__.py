"""Storage: SQLAlchemy 2 on SQLite (default) or PostgreSQL, migrated by Alembic on open."""

from aggregator.store.store import SourceRow, Store

__all__ = ["SourceRow", "Store"]
