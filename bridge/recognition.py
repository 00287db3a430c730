"""Recognition report: what a receiving institution needs to decide on a credential it was given.

The ECCOE guide's receiving side asks, of an uploaded file: is the seal genuine, whose is it, is it
trusted, is the content a well-formed EDC, was it revoked, and — for recognition — who is the
learner, who awarded what, with how many ECTS at which EQF level, in which ISCED-F field, with
which learning outcomes and ESCO skills, how it was assessed and graded, in which mode and volume.

:func:`recognise` answers all of that in one JSON-ready dict, built on
:func:`bridge.verify.verify_credential` (seal + SHACL + summary) so the verification page, the JSON
API and ``edc-bridge verify --report`` can never disagree. It adds the checks that matter when the
file comes from a stranger rather than from our own pipeline: input that is not UTF-8 or not
complete JSON gets a plain explanation, and a sealed file is refused when it carries anything the
seal does not cover (members next to the JWS, or a payload with duplicate keys, which two readers
could show differently) — the signature-wrapping tricks that make a page show unsealed content.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy.orm import Session, sessionmaker

from bridge.verify import verify_credential

# Members a JAdES (JWS JSON serialization) file may carry; anything else sits outside the seal.
_JWS_MEMBERS = frozenset({"payload", "signatures", "protected", "header", "signature"})
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class IssuedRecord:
    """What our own database knows of a credential id: its status and the payload we sealed."""

    status: str
    revoked_at: dt.datetime | None
    payload: bytes | None


Lookup = Callable[[str], IssuedRecord | None]
SkillLabels = Callable[[str], dict[str, str] | None]


def recognise(
    data: bytes,
    *,
    lang: str = "en",
    trust_dir: str | Path | Sequence[x509.Certificate] | None = None,
    lookup: Lookup | None = None,
    skill_labels: SkillLabels | None = None,
) -> dict[str, Any]:
    """Verify ``data`` (a sealed credential file) and build the recognition report in ``lang``.

    ``lookup(credential_id)`` tells whether the credential is one of ours and whether it was
    revoked (None: not checked); ``trust_dir``: anchor certificates, or a file or folder of them
    (None: trust not checked); ``skill_labels(uri)`` gives ESCO labels, used when the credential
    carries none in ``lang``. Never raises for bad input: problems are listed in ``errors``.
    """
    refusal = _refuse_early(data)
    if refusal:
        return _refused(refusal)
    report = verify_credential(data, trust_dir=trust_dir, lang=lang)
    verified = report.to_dict()
    errors: list[str] = list(verified["errors"])
    payload = _sealed_payload(data) if verified.get("format") == "JAdES" else None
    wrapping = _outside_the_seal(data, verified.get("format")) + (_duplicate_members(payload) if payload else [])
    errors += wrapping
    summary = report.summary or {}
    credential = _loads(payload) if payload is not None else None
    revocation = _revocation(summary.get("id"), payload, bool(verified.get("signature_valid")), lookup)
    if revocation.get("note"):
        errors.append(revocation["note"])
    valid = bool(verified["ok"]) and not errors
    verdict = "revoked" if revocation["status"] == "revoked" else ("valid" if valid else "invalid")
    cert = verified.get("certificate") or {}
    return {
        "ok": verdict == "valid",
        "verdict": verdict,
        "seal": {
            "format": verified.get("format"),
            "level": verified.get("level"),
            "algorithm": verified.get("algorithm"),
            "signature_valid": verified.get("signature_valid"),
            "signing_time": verified.get("signing_time"),
            "timestamp": verified.get("timestamp"),
            "trusted": verified.get("trusted"),
            "trust_checked": trust_dir is not None,
            "sealed_by": {
                "organisation": cert.get("organization_name"),
                "organisation_identifier": cert.get("organization_identifier"),
                "country": cert.get("country"),
                "subject": cert.get("subject"),
                "certificate_issuer": cert.get("issuer"),
                "not_before": cert.get("not_before"),
                "not_after": cert.get("not_after"),
            } if cert else None,
        },
        "content": {
            "conforms": verified.get("shacl_conforms"),
            "messages": verified.get("shacl_messages") or [],
        },
        "revocation": {k: v for k, v in revocation.items() if k != "note"},
        # Content is only shown when the seal vouches for it, unambiguously: a forged or wrapped file
        # gets no report to mislead with.
        "credential": _credential(summary, credential, lang, skill_labels)
        if summary and verified.get("signature_valid") is True and not wrapping else None,
        "errors": errors,
        "warnings": verified.get("warnings") or [],
    }


def _refused(message: str) -> dict[str, Any]:
    return {
        "ok": False,
        "verdict": "invalid",
        "refused": True,
        "seal": {"format": None, "signature_valid": False, "trusted": None, "sealed_by": None},
        "content": {"conforms": None, "messages": []},
        "revocation": {"status": "not_checked"},
        "credential": None,
        "errors": [message],
        "warnings": [],
    }


def _refuse_early(data: bytes) -> str | None:
    """Plain explanations for files that are not a credential at all (before any parser sees them)."""
    if not data or not data.strip():
        return "the file is empty"
    body = data[len(_BOM):] if data.startswith(_BOM) else data
    head = body.lstrip()
    if head.startswith(b"<"):
        return None  # XML declares its own encoding; the XAdES parser judges it
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (f"the file is not UTF-8 text (invalid byte at position {exc.start}); a sealed credential is "
                "UTF-8 JSON (JAdES) or XML (XAdES)")
    if not head.startswith((b"{", b"[")):
        return "the file is neither a JAdES-sealed JSON credential nor a XAdES-sealed XML credential"
    try:
        json.loads(text)
    except RecursionError:
        return "the JSON is nested too deeply to be a credential"
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) - 1 or exc.msg.startswith("Unterminated string")
        ending = "; the file looks truncated" if truncated else ""
        return f"the file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}){ending}"
    return None


def _outside_the_seal(data: bytes, kind: str | None) -> list[str]:
    if kind != "JAdES":
        return []
    obj = _loads(data[len(_BOM):] if data.startswith(_BOM) else data)
    extra = sorted(set(obj) - _JWS_MEMBERS) if isinstance(obj, dict) else []
    if not extra:
        return []
    return [f"the file carries members outside the seal ({', '.join(extra[:5])}): only the sealed payload is "
            "a credential, and a file adding unsealed content next to it is refused"]


def _sealed_payload(data: bytes) -> bytes | None:
    obj = _loads(data[len(_BOM):] if data.startswith(_BOM) else data)
    payload = obj.get("payload") if isinstance(obj, dict) else None
    try:
        return payload.encode("utf-8") if isinstance(payload, str) else None
    except UnicodeEncodeError:
        return None


def _duplicate_members(payload: bytes) -> list[str]:
    """JSON readers disagree on duplicate keys (first or last wins), so the page could show one
    credential while another program reads a different one from the same sealed text."""
    found: list[str] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen and key not in found:
                found.append(key)
            seen.add(key)
        return dict(pairs)

    try:
        json.loads(payload, object_pairs_hook=hook)
    except (ValueError, RecursionError):
        return []  # reported by the verifier already
    if not found:
        return []
    return [f"the sealed payload repeats the member(s) {', '.join(repr(k) for k in found[:5])}: readers could "
            "show different content from it, so it is refused"]


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _revocation(cred_id: Any, payload: bytes | None, seal_valid: bool, lookup: Lookup | None) -> dict[str, Any]:
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


def _credential(
    summary: dict[str, Any], credential: Any, lang: str, skill_labels: SkillLabels | None
) -> dict[str, Any]:
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
            sealed = _loads(stored)
            payload = sealed.get("payload") if isinstance(sealed, dict) else None
            return IssuedRecord(status=row.status, revoked_at=row.revoked_at,
                                payload=payload.encode("utf-8") if isinstance(payload, str) else None)

    return lookup
