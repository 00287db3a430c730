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
    DateTime,
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

    The unique (source, course_id, learner_id) constraint is the idempotency guarantee: whatever
    the adapters, retries or races do, the database cannot hold two credentials for one learner
    and course.
    """

    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("source", "course_id", "learner_id", name="uq_credentials_source_course_learner"),
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
    """One channel's delivery of one credential; retried on transient failures until its cap."""

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

    credential: Mapped[Credential] = relationship(back_populates="deliveries")


class SeenSignature(Base):
    """Request signatures already accepted, kept for the replay window so a capture cannot be replayed."""

    __tablename__ = "seen_signatures"

    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[int] = mapped_column(Integer, index=True)
