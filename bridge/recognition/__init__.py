"""Recognition: what a receiving institution needs from a verified credential, beyond the seal.

:func:`bridge.verify.verify_credential` builds the report; this module supplies its recognition parts —
the credential section (learner, awarding body, title, dates, ECTS, EQF, ISCED-F, learning outcomes
with ESCO skills, assessment and grade, mode, volume) and the revocation status kept by this service
for the credentials it issued.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class IssuedRecord:
    """What our own database knows of a credential id: its status and the payload we sealed."""

    status: str
    revoked_at: dt.datetime | None
    payload: bytes | None


Lookup = Callable[[str], IssuedRecord | None]
SkillLabels = Callable[[str], dict[str, str] | None]


def revocation_status(cred_id: Any, payload: bytes | None, seal_valid: bool, lookup: Lookup | None) -> dict[str, Any]:
    """Revocation is only known for our own credentials: same id *and* the very payload we sealed."""
    if lookup is None or not isinstance(cred_id, str) or payload is None or not seal_valid:
        return {"status": "not_checked"}
    record = lookup(cred_id)
    if record is None:
        return {"status": "unknown", "issued_here": False}
    if record.payload is not None and record.payload != payload:
        return {"status": "unknown", "issued_here": False,
                "note": "the credential id is one this service issued, but the content differs from what it sealed"}
    if record.status == "revoked":
        return {"status": "revoked", "issued_here": True,
                "revoked_at": record.revoked_at.isoformat().replace("+00:00", "Z") if record.revoked_at else None}
    return {"status": "not_revoked", "issued_here": True}


def credential_section(
    summary: dict[str, Any], credential: Any, lang: str, skill_labels: SkillLabels | None
) -> dict[str, Any]:
    """The report's ``credential`` part: the summary, with awarding dates, course links and ESCO
    labels in ``lang``."""
    achievements = [_achievement(a, lang, skill_labels) for a in summary.get("achievements") or []]
    for achievement, claim in zip(achievements, _claims(credential), strict=False):
        achievement["awarding_date"] = _first_str(_node(claim.get("awardedBy")).get("awardingDate"))
        achievement["learning_opportunity"] = _first_str(_node(claim.get("learningOpportunity")).get("id"))
    return {
        "id": summary.get("id"),
        "title": summary.get("title"),
        "learner": summary.get("learner") or {},
        "issuer": summary.get("issuer") or {},
        "issued": summary.get("issued"),
        "valid_from": summary.get("valid_from"),
        "expires": summary.get("expires"),
        "achievements": achievements,
    }


def _achievement(summary: dict[str, Any], lang: str, skill_labels: SkillLabels | None) -> dict[str, Any]:
    def label(skill: dict[str, Any]) -> dict[str, Any]:
        wanted = (skill_labels(skill["uri"]) or {}).get(lang) if skill_labels and skill.get("uri") else None
        return {"uri": skill.get("uri"), "label": wanted or skill.get("label")}

    out = dict(summary)
    out["esco_skills"] = [label(s) for s in summary.get("esco_skills") or []]
    out["learning_outcomes"] = [
        {**o, "esco_skills": [label(s) for s in o.get("esco_skills") or []]}
        for o in summary.get("learning_outcomes") or []
    ]
    return out


def _claims(credential: Any) -> list[dict[str, Any]]:
    subject = _node(credential.get("credentialSubject")) if isinstance(credential, dict) else {}
    claims = subject.get("hasClaim")
    items = claims if isinstance(claims, list) else [claims]
    return [c for c in items if isinstance(c, dict)]  # as bridge.elm.summary reads them, so they pair up


def _node(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else {}


def _first_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def issued_lookup(sessions: sessionmaker[Session]) -> Lookup:
    """A :data:`Lookup` over this sidecar's credentials table (ids are ``urn:credential:<uuid>``)."""
    from bridge.db.models import Credential
    from bridge.db.sealed_store import STORE, CorruptSealedFile

    def lookup(cred_id: str) -> IssuedRecord | None:
        key = cred_id.removeprefix("urn:credential:")
        if len(key) != 36:
            return None
        with sessions() as session:
            row = session.get(Credential, key)
            if row is None or row.sealed_zstd is None:
                return None
            try:
                stored = STORE.read(session, row)
            except CorruptSealedFile:  # still ours, and its revocation still counts; no payload to compare
                return IssuedRecord(status=row.status, revoked_at=row.revoked_at, payload=None)
            try:
                sealed = json.loads(stored)
            except ValueError:
                sealed = None
            payload = sealed.get("payload") if isinstance(sealed, dict) else None
            return IssuedRecord(status=row.status, revoked_at=row.revoked_at,
                                payload=payload.encode("utf-8") if isinstance(payload, str) else None)

    return lookup
