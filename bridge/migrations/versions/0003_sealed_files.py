"""Sealed files in their own INSERT-only table (``sealed_files``), out of the credentials row.

Sealing a chunk becomes one narrow UPDATE of the statuses plus one multi-row INSERT of the files,
instead of one UPDATE per credential rewriting a wide row: on PostgreSQL that halved the server's
CPU per sealed credential. Existing sealed files move to the new table; downgrade moves them back.
The files keep LZ4 compression where 0002 set it (PostgreSQL 14+ built with LZ4).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 02:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _lz4(table: str, column: str) -> None:
    """Compress ``table.column`` with LZ4 when this server can (as migration 0002 does)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.dialect.server_version_info < (14,):
        return
    if bind.execute(sa.text("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
                            "AND 'lz4' = ANY(enumvals)")).first() is None:
        return
    op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")


def upgrade() -> None:
    op.create_table('sealed_files',
    sa.Column('credential_id', sa.String(length=36), nullable=False),
    sa.Column('sealed', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], ),
    sa.PrimaryKeyConstraint('credential_id')
    )
    _lz4("sealed_files", "sealed")
    op.execute("INSERT INTO sealed_files (credential_id, sealed) "
               "SELECT id, sealed FROM credentials WHERE sealed IS NOT NULL")
    # A plain DROP COLUMN (SQLite 3.35+): batch mode would copy the table, which foreign keys forbid.
    op.drop_column('credentials', 'sealed')


def downgrade() -> None:
    op.add_column('credentials', sa.Column('sealed', sa.Text(), nullable=True))
    _lz4("credentials", "sealed")
    op.execute("UPDATE credentials SET sealed = (SELECT f.sealed FROM sealed_files f "
               "WHERE f.credential_id = credentials.id)")
    op.drop_table('sealed_files')
