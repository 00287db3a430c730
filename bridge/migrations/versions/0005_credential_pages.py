"""The learner's credential page (public token, hide/show) and its stored, sealed PDF; on PostgreSQL,
credential rows stay whole up to 8160 bytes (sealed files with page images).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credential_pages",
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("token", sa.String(length=43), nullable=False),
        sa.Column("manage_token", sa.String(length=43), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("pdf_lang", sa.String(length=16), nullable=True),
        sa.Column("pdf_made_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["credentials.id"], name="fk_credential_pages_credential_id"),
        sa.PrimaryKeyConstraint("credential_id"),
        sa.UniqueConstraint("token"),
        sa.UniqueConstraint("manage_token"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # PDFs are compressed already: never spend CPU compressing them again.
        op.execute("ALTER TABLE credential_pages ALTER COLUMN pdf SET STORAGE EXTERNAL")
        # A sealed file now carries the learner's page images: its frame (~4 KB) passes the 2 KB at which
        # PostgreSQL moves values out of line into the TOAST table, which costs every seal an extra
        # write. Rows stay whole up to 8160 bytes.
        op.execute("ALTER TABLE credentials SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE credentials RESET (toast_tuple_target)")
    op.drop_table("credential_pages")
