"""Recognition: partner institutions, credit recognition agreements (MCRA) and their course lines, and
the recognition desk's cases.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 04:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recognition_partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("erasmus_code", sa.String(length=40), nullable=True),
        sa.Column("schac_code", sa.String(length=255), nullable=True),
        sa.Column("eidas_identifier", sa.String(length=100), nullable=True),
        sa.Column("pic", sa.String(length=20), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recognition_partners_eidas_identifier", "recognition_partners", ["eidas_identifier"])
    op.create_table(
        "recognition_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("learning_kind", sa.String(length=32), nullable=False),
        sa.Column("our_unit", sa.String(length=300), nullable=True),
        sa.Column("their_unit", sa.String(length=300), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("min_grade", sa.String(length=40), nullable=True),
        sa.Column("assessment_type", sa.String(length=200), nullable=True),
        sa.Column("conditions", sa.Text(), nullable=True),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("signatories", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_pdf", sa.LargeBinary(), nullable=True),
        sa.Column("signatures", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["partner_id"], ["recognition_partners.id"],
                                name="fk_recognition_agreements_partner_id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recognition_agreements_partner_id", "recognition_agreements", ["partner_id"])
    op.create_index("ix_recognition_agreements_status", "recognition_agreements", ["status"])
    op.create_table(
        "recognition_agreement_courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("our_source", sa.String(length=64), nullable=True),
        sa.Column("our_course_id", sa.String(length=255), nullable=True),
        sa.Column("our_title", sa.String(length=300), nullable=True),
        sa.Column("their_lo_iri", sa.String(length=500), nullable=True),
        sa.Column("their_title", sa.String(length=300), nullable=True),
        sa.Column("their_ects", sa.Float(), nullable=True),
        sa.Column("their_eqf", sa.Integer(), nullable=True),
        sa.Column("counts_as", sa.String(length=16), nullable=False),
        sa.Column("ects", sa.Float(), nullable=True),
        sa.Column("elective_slot", sa.String(length=300), nullable=True),
        sa.Column("min_grade", sa.String(length=40), nullable=True),
        sa.Column("assessment_type", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["agreement_id"], ["recognition_agreements.id"],
                                name="fk_recognition_agreement_courses_agreement_id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recognition_agreement_courses_agreement_id", "recognition_agreement_courses",
                    ["agreement_id"])
    op.create_index("ix_recognition_agreement_courses_ours", "recognition_agreement_courses",
                    ["our_source", "our_course_id"])
    op.create_table(
        "recognition_cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("received_via", sa.String(length=16), nullable=False),
        sa.Column("credential_id", sa.String(length=300), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("issuer_identifier", sa.String(length=100), nullable=True),
        sa.Column("issuer_name", sa.String(length=300), nullable=True),
        sa.Column("course_title", sa.String(length=300), nullable=True),
        sa.Column("learning_opportunity", sa.String(length=500), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("match", sa.JSON(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.Column("equivalence", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["agreement_id"], ["recognition_agreements.id"],
                                name="fk_recognition_cases_agreement_id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recognition_cases_agreement_id", "recognition_cases", ["agreement_id"])
    op.create_index("ix_recognition_cases_created_at", "recognition_cases", ["created_at"])
    op.create_index("ix_recognition_cases_issuer_course", "recognition_cases", ["issuer_identifier", "course_title"])
    if op.get_bind().dialect.name == "postgresql":
        # Signed PDFs are compressed already.
        op.execute("ALTER TABLE recognition_agreements ALTER COLUMN signed_pdf SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("recognition_cases")
    op.drop_table("recognition_agreement_courses")
    op.drop_table("recognition_agreements")
    op.drop_table("recognition_partners")
