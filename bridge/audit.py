"""The audit log: who did what, when, from where, and with what outcome.

Every console action (sign-in attempts included) and every action taken through the HTTP API (the
admin token, or an LMS source's key) appends one entry, written in its own transaction so that a
refused or failed action is recorded too. The table is append-only (database triggers,
migration 0004). Entries never hold secrets or passwords; learner personal data stays in the
credential rows and entries point at them by id.
"""
from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request
from sqlalchemy.orm import Session, sessionmaker

from bridge.auth import Principal
from bridge.db.models import AuditEntry, utcnow

MAX_DETAIL_TEXT = 500


def _clean(detail: dict[str, Any] | None) -> dict[str, Any] | None:
    if not detail:
        return None
    return {k: (v[:MAX_DETAIL_TEXT] if isinstance(v, str) else v) for k, v in detail.items()}


def api_actor(principal: Principal) -> tuple[str, None, str]:
    """The audit actor of an HTTP API call: kind "api", named "admin-token" or after the LMS source whose key it was."""
    return ("api", None, "admin-token" if principal.is_admin else principal.source or "-")


def record(sessions: sessionmaker[Session], action: str, *, target_type: str | None = None,
           target_id: str | None = None, outcome: str = "ok", detail: dict[str, Any] | None = None,
           actor: tuple[str, int | None, str] | None = None) -> None:
    """Append one entry. ``actor`` is (kind, user id, name); by default the signed-in identity."""
    if actor is None:
        identity = g.get("console_identity") if has_request_context() else None
        actor = (identity.kind, identity.user_id, identity.display_name) if identity else ("anonymous", None, "-")
    ip = agent = None
    if has_request_context():
        ip = (request.remote_addr or "")[:64] or None
        agent = (request.headers.get("User-Agent") or "")[:200] or None
    with sessions() as session:
        session.add(AuditEntry(at=utcnow(), actor_kind=actor[0], actor_id=actor[1], actor_name=actor[2][:200],
                               action=action, target_type=target_type,
                               target_id=None if target_id is None else str(target_id)[:300], outcome=outcome,
                               detail=_clean(detail), ip=ip, user_agent=agent))
        session.commit()
