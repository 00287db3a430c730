"""Database models.

The credential row is the outbox: every state the pipeline reaches is written here first, and the
broker only carries "look at row X" messages, so a lost message or a killed worker is repaired by
the sweep. Personal data (learner names, email) lives only in these rows, never in logs.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    """Timezone-aware now; stored as UTC in both SQLite and PostgreSQL."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        # SQLite compares datetimes as text: store them naive UTC so every value has one format.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base shared with the Alembic environment."""


# Credential life cycle. `received` → `assembled` (built, conformant, not yet sealed) → `sealed`
# → `delivered` | `partially_delivered` | `failed`; `skipped` when the course policy issues
# nothing; `revoked` is final and keeps the sealed file.
CREDENTIAL_STATUSES = (
    "received", "assembled", "sealed", "delivered", "partially_delivered", "failed", "skipped", "revoked",
)
PENDING_CREDENTIAL_STATUSES = ("received", "assembled")
DELIVERY_STATUSES = ("pending", "delivered", "failed", "cancelled")
CHANNELS = ("email", "wallet")


class Source(Base):
    """An LMS allowed to post completions; only the SHA-256 of its API key is kept."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Key rotation: the previous key keeps signing until ``previous_key_until``, so the LMS can be
    # given the new key without a window of refused requests.
    previous_key_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    previous_key_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    key_rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CourseTemplate(Base):
    """The credential template of one course of one source, with its issuing policy."""

    __tablename__ = "course_templates"
    __table_args__ = (UniqueConstraint("source", "course_id", name="uq_course_templates_source_course"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    course_id: Mapped[str] = mapped_column(String(255))
    template: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Every ORM UPDATE of a template says "WHERE version = <the version read>": two writers that read
    # the same version cannot both store the next one (StaleDataError for the second), even on a
    # database without row locks. Writers set the new version themselves.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class Batch(Base):
    """One bulk intake; progress is counted live from its credentials."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Credential(Base):
    """One completion and the credential issued for it.

    The unique (source, course_id, learner_id, superseded) constraint is the idempotency guarantee:
    whatever the adapters, retries or races do, the database cannot hold two *current* credentials
    (``superseded = 0``) for one learner and course. A re-issued credential stays (revoked, so that
    verifiers see it revoked) with ``superseded`` set to 1, 2… and ``replaced_by`` naming its successor.
    """

    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("source", "course_id", "learner_id", "superseded", name="uq_credentials_current"),
        Index("ix_credentials_status_updated", "status", "updated_at"),
        Index("ix_credentials_batch_status", "batch_id", "status"),
        Index("ix_credentials_created", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    course_id: Mapped[str] = mapped_column(String(255))
    learner_id: Mapped[str] = mapped_column(String(255))
    batch_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("batches.id"), nullable=True)
    completion: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(32), default="received")
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    template_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The assembled credential while it waits for its seal (so a retry seals the same text); cleared
    # once sealed, since the sealed JWS carries it as its payload.
    credential_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The sealed file as a zstd frame, against a dictionary when one is named (bridge.db.sealed_store).
    sealed_zstd: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    sealed_dictionary_id: Mapped[str | None] = mapped_column(String(64), ForeignKey(
        "sealed_dictionaries.id", name="fk_credentials_sealed_dictionary_id"), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sealed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # 0 for the learner's current credential of the course; 1, 2… for those a re-issue replaced.
    superseded: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    replaced_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # Bumped when a new completion replaces the stored one before sealing: the pipeline's seal is a
    # compare-and-set on (status, revision), so a credential built from the old completion is not stored.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="credential", order_by="Delivery.channel", lazy="selectin"
    )


class SealedDictionary(Base):
    """The text shared by the sealed files of one template (no personal data), their zstd dictionary.

    Named by the SHA-256 of its content; never changed nor deleted, so every stored frame stays readable.
    """

    __tablename__ = "sealed_dictionaries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """One channel's delivery of one credential; retried on transient failures until its cap.

    While ``sending``, the row belongs to the run holding ``claim_token``: that run keeps
    ``heartbeat_at`` fresh and is the only one allowed to record the outcome (see ``bridge.tasks.claims``).
    ``message_id`` is the e-mail's Message-ID, chosen at the first attempt and reused by every retry.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("credential_id", "channel", name="uq_deliveries_credential_channel"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credential_id: Mapped[str] = mapped_column(String(36), ForeignKey("credentials.id"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)

    credential: Mapped[Credential] = relationship(back_populates="deliveries")


class CredentialPage(Base):
    """The learner's page of a credential (``/c/{token}``) and its PDF, made once on the delivery side.

    ``token`` is the page's unguessable public address; ``manage_token`` the learner's own link to
    hide the page and show it again (sent in the e-mail). A hidden page answers 404 like any unknown
    link. The PDF is sealed (PAdES) and stored, so downloads never lay it out again.
    """

    __tablename__ = "credential_pages"

    credential_id: Mapped[str] = mapped_column(String(36), ForeignKey(
        "credentials.id", name="fk_credential_pages_credential_id"), primary_key=True)
    token: Mapped[str] = mapped_column(String(43), unique=True)
    manage_token: Mapped[str] = mapped_column(String(43), unique=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    pdf_lang: Mapped[str | None] = mapped_column(String(16), nullable=True)
    pdf_made_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SeenSignature(Base):
    """Request signatures already accepted, kept for the replay window so a capture cannot be replayed."""

    __tablename__ = "seen_signatures"

    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[int] = mapped_column(Integer, index=True)


# --- Staff console (bridge.console) ----------------------------------------------------------------

STAFF_ROLES = ("admin", "registrar", "course_team", "recognition_officer", "viewer")


class StaffUser(Base):
    """A person who signs in to the staff console: a local account (password, optional TOTP) or an
    identity provider's account (linked by issuer and subject on first sign-in)."""

    __tablename__ = "staff_users"
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_staff_users_oidc"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True, index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The TOTP time-step (RFC 6238 T) of the last code accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    oidc_issuer: Mapped[str | None] = mapped_column(String(500), nullable=True)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    roles: Mapped[list[StaffRole]] = relationship(back_populates="user", lazy="selectin",
                                                  cascade="all, delete-orphan", order_by="StaffRole.id")


class StaffRole(Base):
    """One role of a user; a course team role names its course (source and course id)."""

    __tablename__ = "staff_roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(64), nullable=True)
    course_id: Mapped[str | None] = mapped_column(String(255), nullable=True)

    user: Mapped[StaffUser] = relationship(back_populates="roles")


class StaffSession(Base):
    """A server-side console session; the cookie holds a random token, the row its SHA-256 only."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("staff_users.id", ondelete="CASCADE"),
                                                nullable=True, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(200), nullable=True)


class AuditEntry(Base):
    """Who did what, when and from where. Append-only: database triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    actor_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    target_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(200), nullable=True)


class TemplateRevision(Base):
    """Every stored version of a course template, with who stored it (diffs and history in the console)."""

    __tablename__ = "template_revisions"
    # One revision per version of a course: the database refuses a version number written twice.
    __table_args__ = (Index("uq_template_revisions_course_version", "source", "course_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    course_id: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    template: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(200))


class DeliveryAttempt(Base):
    """One attempt of one delivery and the answer it got (a credential's timeline in the console)."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credential_id: Mapped[str] = mapped_column(String(36), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class SourceTraffic(Base):
    """Requests and refused requests of one LMS source per hour (last contact and error rate)."""

    __tablename__ = "source_traffic"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    last_contact_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)


class CatalogueFeed(Base):
    """One partner's catalogue feed (``EDC_CATALOGUE_PARTNERS``): its validators and the last harvest.

    ``status``: ``never`` (not harvested yet), ``ok`` (the entries are its last good copy),
    ``refused`` (the last harvest was malformed, oversized or too slow; ``reason`` says why and the
    previous entries stay) or ``failed`` (the partner could not be reached).
    """

    __tablename__ = "catalogue_feeds"

    partner: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(512), nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="never")
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    harvested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    left_out: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)


class CatalogueEntry(Base):
    """One learning opportunity harvested from a partner, as the catalogue shows and searches it."""

    __tablename__ = "catalogue_entries"
    __table_args__ = (UniqueConstraint("partner", "iri", name="uq_catalogue_entries_partner_iri"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner: Mapped[str] = mapped_column(String(64), ForeignKey("catalogue_feeds.partner",
                                                                name="fk_catalogue_entries_partner"), index=True)
    iri: Mapped[str] = mapped_column(String(2048))
    position: Mapped[int] = mapped_column(Integer)
    view: Mapped[dict[str, Any]] = mapped_column(JSON)


# --- Recognition: the MCRA register and the recognition desk (bridge.recognition) ----------------

AGREEMENT_STATUSES = ("draft", "agreed", "signed", "expired")
# "incoming": we recognise the partner's courses; "outgoing": the partner recognises ours.
AGREEMENT_DIRECTIONS = ("incoming", "outgoing", "two_way")
LEARNING_KINDS = ("formal_faculty", "formal_institution", "non_formal_faculty", "non_formal_institution")
COUNTS_AS = ("credits", "equivalent", "elective")
DECISIONS = ("recognised", "partly", "refused")


class Partner(Base):
    """A partner institution of credit recognition agreements, with the identifiers it is known by.

    ``eidas_identifier`` is the organisation identifier its eSeal certificate carries (e.g.
    ``VATBE-0123456789``): the recognition desk matches credentials on it, never on a name.
    """

    __tablename__ = "recognition_partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str] = mapped_column(String(2))
    erasmus_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    schac_code: Mapped[str | None] = mapped_column(String(255), nullable=True)
    eidas_identifier: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    pic: Mapped[str | None] = mapped_column(String(20), nullable=True)
    website: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Agreement(Base):
    """A credit recognition agreement (the ECCOE MCRA template's sections) between us and a partner.

    Its content can change only while it is a draft; ``agreed`` freezes it for signing, ``signed``
    (a signed PDF uploaded with intact signatures) makes it count for recognition between its
    validity dates, ``expired`` ends it. ``version`` grows with every change of content.
    """

    __tablename__ = "recognition_agreements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(Integer, ForeignKey(
        "recognition_partners.id", name="fk_recognition_agreements_partner_id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    direction: Mapped[str] = mapped_column(String(16))
    learning_kind: Mapped[str] = mapped_column(String(32))
    our_unit: Mapped[str | None] = mapped_column(String(300), nullable=True)
    their_unit: Mapped[str | None] = mapped_column(String(300), nullable=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    min_grade: Mapped[str | None] = mapped_column(String(40), nullable=True)
    assessment_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    conditions: Mapped[str | None] = mapped_column(Text, nullable=True)
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    signatories: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    signed_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    signatures: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)

    partner: Mapped[Partner] = relationship(lazy="joined")
    courses: Mapped[list[AgreementCourse]] = relationship(
        back_populates="agreement", lazy="selectin", cascade="all, delete-orphan",
        order_by="AgreementCourse.position")


class AgreementCourse(Base):
    """One line of an agreement: a course of one side and what it counts as on the other.

    ``incoming``: the partner's course (their LearningOpportunity IRI, or title/ECTS/EQF) counts here as
    credits, our course (``our_source``/``our_course_id``) or an elective slot. ``outgoing``: our course
    (by its template) counts at the partner as credits, their course or an elective slot.
    """

    __tablename__ = "recognition_agreement_courses"
    __table_args__ = (Index("ix_recognition_agreement_courses_ours", "our_source", "our_course_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(Integer, ForeignKey(
        "recognition_agreements.id", name="fk_recognition_agreement_courses_agreement_id", ondelete="CASCADE"),
        index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    direction: Mapped[str] = mapped_column(String(16))
    our_source: Mapped[str | None] = mapped_column(String(64), nullable=True)
    our_course_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    our_title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    their_lo_iri: Mapped[str | None] = mapped_column(String(500), nullable=True)
    their_title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    their_ects: Mapped[float | None] = mapped_column(Float, nullable=True)
    their_eqf: Mapped[int | None] = mapped_column(Integer, nullable=True)
    counts_as: Mapped[str] = mapped_column(String(16))
    ects: Mapped[float | None] = mapped_column(Float, nullable=True)
    elective_slot: Mapped[str | None] = mapped_column(String(300), nullable=True)
    min_grade: Mapped[str | None] = mapped_column(String(40), nullable=True)
    assessment_type: Mapped[str | None] = mapped_column(String(200), nullable=True)

    agreement: Mapped[Agreement] = relationship(back_populates="courses")


class RecognitionCase(Base):
    """One credential brought to the recognition desk, what it matched, and the decision taken.

    ``report`` is the verification report (it names the learner: it stays in this row); statistics
    read only the issuer, course, outcome and dates columns.
    """

    __tablename__ = "recognition_cases"
    __table_args__ = (Index("ix_recognition_cases_issuer_course", "issuer_identifier", "course_title"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    received_via: Mapped[str] = mapped_column(String(16))
    credential_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    verdict: Mapped[str] = mapped_column(String(16))
    issuer_identifier: Mapped[str | None] = mapped_column(String(100), nullable=True)
    issuer_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    course_title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    learning_opportunity: Mapped[str | None] = mapped_column(String(500), nullable=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    match: Mapped[dict[str, Any]] = mapped_column(JSON)
    agreement_id: Mapped[int | None] = mapped_column(Integer, ForeignKey(
        "recognition_agreements.id", name="fk_recognition_cases_agreement_id"), nullable=True, index=True)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reasons: Mapped[str | None] = mapped_column(Text, nullable=True)
    equivalence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
