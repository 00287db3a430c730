"""PostgreSQL: compress the sealed credential (and the unsealed text awaiting its seal) with LZ4.

Each sealed credential is ~20 KB of JSON, TOASTed and compressed on every write. With PostgreSQL's
default pglz that compression cost the server ~220 µs per credential, more than half what sealing
itself costs, on the same cores as the workers; LZ4 does it in ~70 µs with a similar size.
Existing values stay as they are (PostgreSQL decompresses either method); new writes use LZ4.
Servers older than 14 or built without LZ4 keep pglz; SQLite has no such setting.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 02:15:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

COLUMNS = ("sealed", "credential_json")


def _set_compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.dialect.server_version_info < (14,):
        return
    if method == "lz4" and bind.execute(sa.text(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
            "AND 'lz4' = ANY(enumvals)")).first() is None:
        return  # this server was built without LZ4
    for column in COLUMNS:
        op.execute(f"ALTER TABLE credentials ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")
