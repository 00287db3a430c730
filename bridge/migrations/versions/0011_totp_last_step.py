"""Staff accounts remember the TOTP time-step of the last code accepted, so a code is used once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 04:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("totp_last_step")
