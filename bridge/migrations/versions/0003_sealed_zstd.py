"""Store sealed files as zstd frames, against per-template dictionaries (bridge.db.sealed_store).

Adds ``sealed_dictionaries`` and the ``credentials.sealed_zstd`` / ``sealed_dictionary_id`` columns,
converts every sealed text already stored (plain zstd: no dictionary is needed to read them back),
then drops the ``sealed`` text column. On PostgreSQL the frames are marked STORAGE EXTERNAL: they are
compressed already, so the server must never spend CPU compressing them again. Downgrading restores
the texts byte for byte.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 03:40:00
"""
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
import zstandard
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

BATCH = 500
FK = "fk_credentials_sealed_dictionary_id"


def upgrade() -> None:
    op.create_table(
        "sealed_dictionaries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("sealed_zstd", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("sealed_dictionary_id", sa.String(length=64), nullable=True))
        batch.create_foreign_key(FK, "sealed_dictionaries", ["sealed_dictionary_id"], ["id"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE credentials ALTER COLUMN sealed_zstd SET STORAGE EXTERNAL")
    compressor = zstandard.ZstdCompressor(level=3, write_checksum=True, write_content_size=True)
    update = sa.text("UPDATE credentials SET sealed_zstd = :frame WHERE id = :id")
    _convert(bind, ["sealed"], update,
             lambda row: {"id": row[0], "frame": compressor.compress(row[1].encode("utf-8"))})
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("sealed")


def downgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("sealed", sa.Text(), nullable=True))
    bind = op.get_bind()
    dictionaries = {ident: zstandard.ZstdCompressionDict(bytes(content), dict_type=zstandard.DICT_TYPE_RAWCONTENT)
                    for ident, content in bind.execute(sa.text("SELECT id, content FROM sealed_dictionaries"))}
    plain = zstandard.ZstdDecompressor()
    readers = {ident: zstandard.ZstdDecompressor(dict_data=d) for ident, d in dictionaries.items()}
    update = sa.text("UPDATE credentials SET sealed = :text WHERE id = :id")
    _convert(bind, ["sealed_zstd", "sealed_dictionary_id"], update, lambda row: {
        "id": row[0], "text": (readers[row[2]] if row[2] else plain).decompress(bytes(row[1])).decode("utf-8")})
    if bind.dialect.name == "postgresql" and bind.dialect.server_version_info >= (14,):
        lz4 = bind.execute(sa.text("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
                                   "AND 'lz4' = ANY(enumvals)")).first()
        if lz4 is not None:  # what 0002 set on the column
            op.execute("ALTER TABLE credentials ALTER COLUMN sealed SET COMPRESSION lz4")
    with op.batch_alter_table("credentials") as batch:
        batch.drop_constraint(FK, type_="foreignkey")
        batch.drop_column("sealed_dictionary_id")
        batch.drop_column("sealed_zstd")
    op.drop_table("sealed_dictionaries")


def _convert(bind: sa.Connection, columns: list[str], update: sa.TextClause,
             convert: Callable[[sa.Row[Any]], dict[str, Any]]) -> None:
    """Rewrite the rows whose first ``columns`` value is set, in batches: ids first, so the updates
    never disturb the read, and a large table is never held in memory at once."""
    credentials = sa.table("credentials", sa.column("id"), *(sa.column(name) for name in columns))
    present = credentials.c[columns[0]].is_not(None)
    ids = list(bind.execute(sa.select(credentials.c.id).where(present)).scalars())
    for start in range(0, len(ids), BATCH):
        chunk = bind.execute(sa.select(credentials.c.id, *(credentials.c[name] for name in columns))
                             .where(credentials.c.id.in_(ids[start:start + BATCH]))).all()
        bind.execute(update, [convert(row) for row in chunk])
