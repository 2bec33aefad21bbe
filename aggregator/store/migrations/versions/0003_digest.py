"""Story signatures, digest editions and their items.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from aggregator.store.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "signatures",
        sa.Column(
            "entry_id",
            BigId,
            sa.ForeignKey("entries.id", name="fk_signatures_entry_id_entries", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("signature", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_articles_story", "articles", ["story_id"])
    op.create_table(
        "editions",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("published_at", UTCDateTime),
    )
    op.create_table(
        "edition_items",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "day",
            sa.String(10),
            sa.ForeignKey("editions.day", name="fk_edition_items_day_editions", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("section", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("outlets", sa.JSON, nullable=False),
        sa.Column("topics", sa.JSON, nullable=False),
        sa.Column("places", sa.JSON, nullable=False),
        sa.Column("published", UTCDateTime),
        sa.Column("story_id", BigId),
        sa.Column("title", sa.Text),
        sa.Column("image_url", sa.Text),
        sa.Column("image_credit", sa.Text),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("why", sa.Text, nullable=False),
        sa.Column("edited", sa.Boolean, nullable=False),
    )
    op.create_index("ix_edition_items_day", "edition_items", ["day"])
    op.create_index("ix_edition_items_story", "edition_items", ["story_id"])


def downgrade() -> None:
    op.drop_table("edition_items")
    op.drop_table("editions")
    op.drop_index("ix_articles_story", "articles")
    op.drop_table("signatures")
