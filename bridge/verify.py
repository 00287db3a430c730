"""Verify a sealed credential end to end — the one verification behind every way of asking.

``edc-bridge verify`` (plain, ``--json``, ``--report``), ``POST /api/v1/verify`` and the ``/verify``
page all call :func:`verify_credential` and render the one report it returns (version
:data:`REPORT_VERSION`, described in docs/verification-report.md and the OpenAPI description).

It answers, in order: is the file a credential file at all; is the seal valid (``sealer.validation``:
format, signature, chain to the anchors, revocation, proof of existence — an ETSI EN 319 102-1
verdict); does the credential's issuer (``issuer.eIDASIdentifier``) name the organisation that sealed
it (the seal certificate's ``organizationIdentifier``); does the content conform to the EDC shapes; was
it revoked by this service. The verdict is the worst of these: ``invalid`` beats ``indeterminate``
beats ``valid``. Content is summarised only when the seal vouches for it unambiguously.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from bridge.elm.conformance import ConformanceReport, shacl_validate
from bridge.elm.summary import summarise
from bridge.recognition import Lookup, SkillLabels, credential_section, revocation_status
from sealer.jades import strict_json
from sealer.validation import INDETERMINATE, INVALID, VALID, Trust, validate_seal
from sealer.validation.report import INDICATIONS

REPORT_VERSION = "1"
# Full SHACL of a large payload costs seconds of CPU: above this size the content is not checked
# (the verdict is then at best indeterminate), and results are kept per payload digest.
SHACL_MAX_BYTES = 1024 * 1024
_SHACL_CACHE_SIZE = 128
_BOM = b"\xef\xbb\xbf"


def verify_credential(
    data: bytes,
    *,
    trust: Trust = None,
    lang: str = "en",
    lookup: Lookup | None = None,
    skill_labels: SkillLabels | None = None,
    at: dt.datetime | None = None,
    fetch: bool = True,
) -> dict[str, Any]:
    """The verification report of ``data`` (a sealed credential file). Never raises for bad input.

    ``trust``: anchors (certificates, a file or folder of them, or a trusted-list cache); without them
    the verdict is at best ``indeterminate``. ``lookup(credential_id)``: this service's own record of a
    credential (revocation). ``skill_labels(uri)``: ESCO labels in ``lang``. ``at``: validation time.
    ``fetch``: whether OCSP responders and CRL servers may be asked.
    """
    refusal = _refuse_early(data)
    if refusal:
        return _refused(refusal)
    seal = validate_seal(data, trust=trust, at=at, fetch=fetch)
    seal_dict = seal.to_dict()
    errors: list[str] = list(seal.errors)
    warnings: list[str] = list(seal.warnings)
    failures: list[str] = []  # sub-indications that make the whole credential invalid
    if seal.verdict == INVALID:
        failures.append(seal.sub_indication or "FORMAT_FAILURE")
    payload = seal.payload if seal.findings.signature_intact and seal.verdict != INVALID else b""
    credential = _credential_object(payload, seal.findings.format, errors, failures)
    issuer = _issuer_check(credential, seal, errors, failures)
    content = _content(credential, payload, failures, errors)
    summary = summarise(credential, lang=lang) if credential is not None else {}
    revocation = revocation_status(summary.get("id"), payload or None, credential is not None, lookup)
    if revocation.get("note"):
        errors.append(revocation.pop("note"))
        failures.append("NOT_ISSUED_HERE_AS_SHOWN")
    if revocation["status"] == "revoked":
        failures.append("CREDENTIAL_REVOKED")
    if failures:
        verdict, sub = INVALID, failures[0]
    elif seal.verdict == INDETERMINATE:
        verdict, sub = INDETERMINATE, seal.sub_indication
    elif content["conforms"] is None and credential is not None:
        verdict, sub = INDETERMINATE, "CONTENT_NOT_CHECKED"
    else:
        verdict, sub = VALID, None
    # Content is shown when the seal vouches for it unambiguously (intact, one reading of the JSON); a
    # forged, wrapped or ambiguous file gets no content to mislead with.
    shown = credential is not None and "FORMAT_FAILURE" not in failures
    return {
        "report_version": REPORT_VERSION,
        "verdict": verdict,
        "indication": INDICATIONS[verdict],
        "sub_indication": sub,
        "ok": verdict == VALID,
        "refused": False,
        "seal": seal_dict,
        "issuer": issuer,
        "content": content,
        "revocation": revocation,
        "credential": credential_section(summary, credential, lang, skill_labels) if shown and summary else None,
        "errors": errors,
        "warnings": warnings,
    }


def _refused(message: str) -> dict[str, Any]:
    """The report of a file that is not a credential file at all."""
    return {
        "report_version": REPORT_VERSION,
        "verdict": INVALID,
        "indication": INDICATIONS[INVALID],
        "sub_indication": "FORMAT_FAILURE",
        "ok": False,
        "refused": True,
        "seal": None,
        "issuer": None,
        "content": {"conforms": None, "checked": False, "messages": []},
        "revocation": {"status": "not_checked"},
        "credential": None,
        "errors": [message],
        "warnings": [],
    }


def _refuse_early(data: bytes) -> str | None:
    """Plain explanations for files that are not a credential at all (before any parser sees them)."""
    if not isinstance(data, bytes | bytearray) or not data or not data.strip():
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


def _credential_object(payload: bytes, fmt: str, errors: list[str], failures: list[str]) -> dict[str, Any] | None:
    """The sealed JSON credential, read strictly; None for XML credentials and unusable payloads."""
    if not payload or fmt != "JAdES":
        return None
    try:
        credential = strict_json(payload)
    except (ValueError, RecursionError):
        errors.append("the sealed payload is not a JSON credential")
        failures.append("FORMAT_FAILURE")
        return None
    if not isinstance(credential, dict):
        errors.append("the sealed payload is not a JSON object")
        failures.append("FORMAT_FAILURE")
        return None
    return credential


def _issuer_check(credential: dict[str, Any] | None, seal: Any, errors: list[str],
                  failures: list[str]) -> dict[str, Any] | None:
    """``issuer.eIDASIdentifier`` must be the sealer's organizationIdentifier (EDC's own rule: the
    issuer seals; a mandate names the awarding body, never another sealer)."""
    cert = seal.findings.certificate
    if credential is None or cert is None or "issuer" not in credential:
        return None
    from sealer.certificates import summarise as certificate_summary

    sealer_id = certificate_summary(cert).organization_identifier
    issuer = credential.get("issuer")
    node = issuer[0] if isinstance(issuer, list) and issuer else issuer
    eidas = node.get("eIDASIdentifier") if isinstance(node, dict) else None
    eidas = eidas[0] if isinstance(eidas, list) and eidas else eidas
    named = eidas.get("notation") if isinstance(eidas, dict) else None
    matches = isinstance(named, str) and named == sealer_id
    if not matches:
        errors.append(f"the credential's issuer ({named or 'no eIDAS identifier'}) is not the organisation that "
                      f"sealed it ({sealer_id or 'no organizationIdentifier'})")
        failures.append("ISSUER_MISMATCH")
    return {"eidas_identifier": named, "sealer_identifier": sealer_id, "matches_sealer": matches}


def _content(credential: dict[str, Any] | None, payload: bytes, failures: list[str],
             errors: list[str]) -> dict[str, Any]:
    if credential is None:
        return {"conforms": None, "checked": False, "messages": []}
    if len(payload) > SHACL_MAX_BYTES:
        errors.append(f"the credential is larger than {SHACL_MAX_BYTES // 1024} KiB; its content was not "
                      "checked against the EDC shapes")
        return {"conforms": None, "checked": False, "messages": []}
    report = _shacl(payload, credential)
    if not report.conforms:
        failures.append("NOT_CONFORMANT")
    return {"conforms": report.conforms, "checked": True, "messages": list(report.messages)}


_CACHE: OrderedDict[bytes, ConformanceReport] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _shacl(payload: bytes, credential: dict[str, Any]) -> ConformanceReport:
    """Full SHACL, remembered per payload digest: the same file checked twice costs one validation."""
    key = hashlib.sha256(payload).digest()
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    report = shacl_validate(credential)
    with _CACHE_LOCK:
        _CACHE[key] = report
        while len(_CACHE) > _SHACL_CACHE_SIZE:
            _CACHE.popitem(last=False)
    return report
