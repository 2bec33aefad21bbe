"""Processed articles and the LLM summary cache.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from aggregator.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column(
            "entry_id",
            BigId,
            sa.ForeignKey("entries.id", name="fk_articles_entry_id_entries", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "source_id",
            sa.Integer,
            sa.ForeignKey("sources.id", name="fk_articles_source_id_sources", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("rules_hash", sa.String(64), nullable=False),
        sa.Column("processed_at", UTCDateTime, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.Column("author", sa.Text),
        sa.Column("site_name", sa.Text),
        sa.Column("image_url", sa.Text),
        sa.Column("image_caption", sa.Text),
        sa.Column("image_credit", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_status", sa.String(16), nullable=False),
        sa.Column("text_reason", sa.Text),
        sa.Column("page_fetched_at", UTCDateTime),
        sa.Column("page_http_status", sa.Integer),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("relevant", sa.Boolean, nullable=False),
        sa.Column("relevance_score", sa.Float, nullable=False),
        sa.Column("relevance_reason", sa.Text, nullable=False),
        sa.Column("matched_terms", sa.JSON, nullable=False),
        sa.Column("topics", sa.JSON, nullable=False),
        sa.Column("routes", sa.JSON, nullable=False),
        sa.Column("places", sa.JSON, nullable=False),
        sa.Column("org_mentions", sa.JSON, nullable=False),
        sa.Column("outlets", sa.JSON, nullable=False),
        sa.Column("sentence", sa.Text),
        sa.Column("sentence_source", sa.String(16)),
        sa.Column("sentence_error", sa.Text),
        sa.Column("story_id", BigId),
    )
    op.create_index("ix_articles_relevant_published", "articles", ["relevant", "published_at"])
    op.create_index("ix_articles_source", "articles", ["source_id"])
    op.create_table(
        "summaries",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("sentence", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("summaries")
    op.drop_index("ix_articles_source", "articles")
    op.drop_index("ix_articles_relevant_published", "articles")
    op.drop_table("articles")
