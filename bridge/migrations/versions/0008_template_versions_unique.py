"""One revision per version of a course template: a unique (source, course_id, version) index.

Before it, concurrent template PUTs could store one version number several times; of such
duplicates the latest revision (highest id) is kept, the others are removed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 04:00:00
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM template_revisions WHERE id NOT IN (SELECT max(id) FROM template_revisions "
               "GROUP BY source, course_id, version)")
    op.drop_index('ix_template_revisions_course', table_name='template_revisions')
    op.create_index('uq_template_revisions_course_version', 'template_revisions', ['source', 'course_id', 'version'],
                    unique=True)


def downgrade() -> None:
    op.drop_index('uq_template_revisions_course_version', table_name='template_revisions')
    op.create_index('ix_template_revisions_course', 'template_revisions', ['source', 'course_id', 'version'],
                    unique=False)
