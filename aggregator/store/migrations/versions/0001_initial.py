"""Sources with their fetch state, fetch events and entries.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from aggregator.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("body_hash", sa.String(64)),
        sa.Column("last_fetched_at", UTCDateTime),
        sa.Column("last_success_at", UTCDateTime),
        sa.Column("last_status", sa.String(16)),
        sa.Column("last_http_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_kind", sa.String(32)),
        sa.Column("last_error_at", UTCDateTime),
        sa.Column("error_count", sa.Integer, nullable=False),
        sa.Column("next_fetch_at", UTCDateTime),
        sa.Column("retry_after_until", UTCDateTime),
        sa.Column("disabled_at", UTCDateTime),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("moved_to", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_sources"),
        sa.UniqueConstraint("url", name="uq_sources_url"),
    )
    op.create_table(
        "fetch_events",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("source_id", sa.Integer, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("error_kind", sa.String(32)),
        sa.Column("error", sa.Text),
        sa.Column("new_entries", sa.Integer, nullable=False),
        sa.Column("updated_entries", sa.Integer, nullable=False),
        sa.Column("bytes", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fetch_events"),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name="fk_fetch_events_source_id_sources",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_fetch_events_source_started", "fetch_events", ["source_id", "started_at"])
    op.create_table(
        "entries",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("source_id", sa.Integer, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("guid", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("content_html", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.Column("date_fallback", sa.String(16)),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("image_url", sa.Text),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("first_seen_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_entries"),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_entries_source_id_sources", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("source_id", "key", name="uq_entries_source_key"),
    )
    op.create_index("ix_entries_first_seen", "entries", ["first_seen_at"])
    op.create_index("ix_entries_url", "entries", ["url"])


def downgrade() -> None:
    op.drop_table("entries")
    op.drop_table("fetch_events")
    op.drop_table("sources")
