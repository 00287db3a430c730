"""Delivery claims: the token of the run that owns a 'sending' row, its heartbeat, and the Message-ID
fixed for the delivery (the same on every resend after an unknown outcome).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 04:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('message_id', sa.String(length=255), nullable=True))
        batch_op.create_index('ix_deliveries_claim_token', ['claim_token'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_claim_token')
        batch_op.drop_column('message_id')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('claim_token')
