"""Alliance catalogue: partners' catalogue feeds (validators, last harvest) and their harvested
learning opportunities.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 04:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalogue_feeds",
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(length=512), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("harvested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("left_out", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("partner"),
    )
    op.create_table(
        "catalogue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("iri", sa.String(length=2048), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["partner"], ["catalogue_feeds.partner"], name="fk_catalogue_entries_partner"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("partner", "iri", name="uq_catalogue_entries_partner_iri"),
    )
    with op.batch_alter_table("catalogue_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalogue_entries_partner"), ["partner"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("catalogue_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalogue_entries_partner"))
    op.drop_table("catalogue_entries")
    op.drop_table("catalogue_feeds")
