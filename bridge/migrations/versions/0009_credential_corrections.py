"""Corrections and re-issues: a learner's *current* credential of a course is unique, re-issued ones
are kept beside it (revoked, ``superseded`` 1, 2…, ``replaced_by``); ``revision`` counts the
completions that replaced the stored one before sealing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 04:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('superseded', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('replaced_by', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_constraint('uq_credentials_source_course_learner', type_='unique')
        batch_op.create_unique_constraint('uq_credentials_current',
                                          ['source', 'course_id', 'learner_id', 'superseded'])


def downgrade() -> None:
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_constraint('uq_credentials_current', type_='unique')
        batch_op.create_unique_constraint('uq_credentials_source_course_learner',
                                          ['source', 'course_id', 'learner_id'])
        batch_op.drop_column('revision')
        batch_op.drop_column('replaced_by')
        batch_op.drop_column('superseded')
