"""JAdES seals for JSON credentials, shaped exactly like those of the European Digital Credentials service.

EDC (through DSS) seals a credential as a JWS in the general JSON serialization, enveloping and with an
unencoded payload (RFC 7797 ``b64: false``): the ``payload`` member is the credential JSON text itself,
so the sealed file stays readable and the signing input is ``ASCII(BASE64URL(protected)) || "." ||
payload``. The protected header carries, in EDC's order: ``alg``, ``cty``, ``kid`` (base64 DER
IssuerSerial), ``x5t#S256``, ``x5c``, ``typ`` (``jose+json``), ``b64``, ``sigT``, optionally ``adoTst``
(a content timestamp over the payload), and ``crit``. Baseline T adds, in the unprotected ``etsiU``
array, a base64url-encoded JSON ``{"sigTst": {"tstTokens": [{"val": <base64 DER token>}]}}`` whose
message imprint is the hash of the base64url signature value (ETSI TS 119 182-1, sigTst; checked
against the signature timestamps of EDC's samples).

The verifier accepts EDC's own B-LTA seals: it checks every timestamp token it finds, and uses the
certificates of ``xVals`` and the revocation data of ``rVals`` for chain validation.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509

from sealer import certificates, timestamps
from sealer.findings import SealReport, TimestampInfo
from sealer.jose import (
    JoseFormatError,
    algorithm,
    b64_decode,
    b64url_decode,
    b64url_encode,
    compact_json,
    verify_signature,
)
from sealer.keys import KeySource
from sealer.validation import anchors as trust

TYP = "jose+json"
CTY = "octet-stream"
# Header parameters this implementation understands and processes, so they may appear in "crit".
UNDERSTOOD_CRIT = frozenset({"b64", "sigT", "adoTst"})
SIGT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_SIGT_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class SealingError(Exception):
    """The seal could not be produced (bad input, key problem, TSA failure). Names the cause."""


def _sigt(value: dt.datetime | None) -> str:
    moment = value or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise SealingError("signing_time must be timezone-aware")
    return moment.astimezone(dt.UTC).strftime(SIGT_FORMAT)


def key_header(key: KeySource, alg: str, *, kid: bool = True) -> dict[str, Any]:
    """The protected header members that depend only on the key, in EDC's order (``alg`` to ``b64``).

    ``sigT``, ``adoTst`` and ``crit`` follow per seal. Shared with the bulk sealer
    (:mod:`sealer.jades.bulk`), which computes this once per key. Refuses an ``alg`` that does not
    fit the key.
    """
    key.check_alg(alg)
    leaf = key.certificate
    header: dict[str, Any] = {"alg": alg, "cty": CTY}
    if kid:
        header["kid"] = certificates.kid_for(leaf)
    header["x5t#S256"] = certificates.x5t_s256(leaf)
    header["x5c"] = [base64.b64encode(certificates.der(c)).decode("ascii") for c in key.chain]
    header["typ"] = TYP
    header["b64"] = False
    return header


def tst_tokens(token: timestamps.TimestampToken) -> dict[str, Any]:
    """The JAdES timestamp property value holding one token (adoTst, sigTst)."""
    return {"tstTokens": [{"val": base64.b64encode(token.der).decode("ascii")}]}


def seal_jades(
    payload: bytes,
    key: KeySource,
    *,
    alg: str | None = None,
    tsa_url: str | None = None,
    signing_time: dt.datetime | None = None,
    kid: bool = True,
    content_timestamp: bool = True,
) -> dict[str, Any]:
    """Seal ``payload`` (UTF-8 JSON text) and return the JWS JSON object (serialize with :func:`dumps`).

    Baseline B without ``tsa_url``. With ``tsa_url``, baseline T: a signature timestamp in ``etsiU``
    and, like EDC, also a content timestamp ``adoTst`` in the protected header unless
    ``content_timestamp`` is False.
    """
    if not isinstance(payload, bytes | bytearray):
        raise SealingError("payload must be bytes (the UTF-8 JSON text of the credential)")
    try:
        payload_text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError:
        raise SealingError("payload is not valid UTF-8 text; JAdES with b64=false needs text") from None
    alg = alg or key.default_alg
    header = key_header(key, alg, kid=kid)
    header["sigT"] = _sigt(signing_time)
    crit = ["b64", "sigT"]
    if tsa_url and content_timestamp:
        header["adoTst"] = tst_tokens(timestamp(tsa_url, bytes(payload)))
        crit.append("adoTst")
    header["crit"] = crit
    protected = b64url_encode(compact_json(header))
    signature = b64url_encode(key.sign(protected.encode("ascii") + b"." + bytes(payload), alg))
    entry: dict[str, Any] = {"protected": protected}
    if tsa_url:
        sig_tst = timestamp(tsa_url, signature.encode("ascii"))
        entry["header"] = {"etsiU": [b64url_encode(compact_json({"sigTst": tst_tokens(sig_tst)}))]}
    entry["signature"] = signature
    return {"payload": payload_text, "signatures": [entry]}


def timestamp(url: str, data: bytes) -> timestamps.TimestampToken:
    """A token from the TSA at ``url`` over ``data``; a TSA failure becomes a SealingError."""
    try:
        return timestamps.request_timestamp(url, data)
    except timestamps.TimestampError as exc:
        raise SealingError(f"timestamp failed: {exc}") from None


def dumps(jws: dict[str, Any]) -> bytes:
    """The sealed file's bytes: compact UTF-8 JSON, as EDC writes it."""
    return compact_json(jws)


# ---------------------------------------------------------------------------------------------- verify


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """RFC 7515 4: header parameter names must be unique; a duplicate could hide what was signed."""
    seen: dict[str, Any] = {}
    for name, value in pairs:
        if name in seen:
            raise JoseFormatError(f"duplicate member {name!r}")
        seen[name] = value
    return seen


def _loads(text: bytes | str, what: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates)
    except JoseFormatError as exc:
        raise JoseFormatError(f"{what}: {exc}") from None
    except (ValueError, UnicodeDecodeError):
        raise JoseFormatError(f"{what} is not valid JSON") from None


def parse_jws(data: bytes | str | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return (payload text, the single signature object) of a general or flattened JWS JSON."""
    obj = data if isinstance(data, dict) else _loads(data, "the seal")
    if not isinstance(obj, dict):
        raise JoseFormatError("the seal is not a JWS JSON object")
    if "signatures" in obj:
        signatures = obj["signatures"]
        if not isinstance(signatures, list) or len(signatures) != 1:
            raise JoseFormatError("signatures must be a list with exactly one seal")
        entry = signatures[0]
    elif "signature" in obj:
        entry = {k: obj[k] for k in ("protected", "header", "signature") if k in obj}
    else:
        raise JoseFormatError("the seal has no 'signatures' member")
    if not isinstance(entry, dict):
        raise JoseFormatError("signatures[0] must be an object")
    payload = obj.get("payload")
    if not isinstance(payload, str):
        raise JoseFormatError("payload must be present as a string (enveloping JAdES)")
    for name in ("protected", "signature"):
        if not isinstance(entry.get(name), str):
            raise JoseFormatError(f"signatures[0].{name} must be a string")
    if "header" in entry and not isinstance(entry["header"], dict):
        raise JoseFormatError("signatures[0].header must be an object")
    return payload, entry


def _check_header_rules(header: dict[str, Any], unprotected: dict[str, Any], errors: list[str]) -> None:
    """RFC 7515 4.1.11 and RFC 7797 3, as JAdES profiles them."""
    overlap = sorted(set(header) & set(unprotected))
    if overlap:
        errors.append(f"header parameters {overlap} appear in both protected and unprotected headers")
    crit = header.get("crit")
    if not isinstance(crit, list) or not crit or not all(isinstance(c, str) for c in crit):
        errors.append("protected header 'crit' must be a non-empty list of names")
        crit = []
    if len(set(crit)) != len(crit):
        errors.append("protected header 'crit' lists a name twice")
    for name in crit:
        if name not in UNDERSTOOD_CRIT:
            errors.append(f"critical header parameter {name!r} is not understood")
        elif name not in header:
            errors.append(f"critical header parameter {name!r} is missing from the protected header")
    for required in ("b64", "sigT"):
        if required not in crit:
            errors.append(f"protected header 'crit' must list {required!r}")
    if header.get("b64") is not False:
        errors.append("protected header 'b64' must be false (unencoded payload)")
    if "crit" in unprotected or "b64" in unprotected:
        errors.append("'crit' and 'b64' must be in the protected header only")


def _leaf_and_chain(header: dict[str, Any], errors: list[str]) -> list[x509.Certificate]:
    chain_b64 = header.get("x5c")
    if not isinstance(chain_b64, list) or not chain_b64:
        errors.append("protected header 'x5c' must hold the sealing certificate")
        return []
    chain: list[x509.Certificate] = []
    for index, item in enumerate(chain_b64):
        try:
            chain.append(x509.load_der_x509_certificate(b64_decode(item, f"x5c[{index}]")))
        except (JoseFormatError, ValueError):
            errors.append(f"x5c[{index}] is not a base64 DER certificate")
            return []
    leaf = chain[0]
    if "x5t#S256" in header and header["x5t#S256"] != certificates.x5t_s256(leaf):
        errors.append("x5t#S256 does not match the certificate in x5c[0]")
    if "kid" in header:
        _check_kid(header["kid"], leaf, errors)
    return chain


def _check_kid(kid: Any, leaf: x509.Certificate, errors: list[str]) -> None:
    """An IssuerSerial kid (EDC's form) must name the x5c leaf; other kid forms are opaque to JOSE."""
    if not isinstance(kid, str):
        errors.append("kid must be a string")
        return
    try:
        raw = base64.b64decode(kid, validate=True)
        parsed = certificates.IssuerSerial.load(raw)
        parsed.native  # noqa: B018 - forces full parsing, so junk is told apart from IssuerSerial
    except (ValueError, TypeError):
        return
    if raw != certificates.issuer_serial_der(leaf):
        errors.append("kid (issuer and serial) does not identify the certificate in x5c[0]")


def _parse_sigt(value: Any, errors: list[str]) -> dt.datetime | None:
    if not isinstance(value, str) or not _SIGT_PATTERN.match(value):
        errors.append("sigT must be a UTC time 'YYYY-MM-DDThh:mm:ssZ'")
        return None
    try:
        return dt.datetime.strptime(value, SIGT_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        errors.append(f"sigT {value!r} is not a valid date and time")
        return None


def _etsi_u(unprotected: dict[str, Any], errors: list[str]) -> list[dict[str, Any]]:
    """etsiU entries, each a base64url JSON text (EDC) or, as JAdES also allows, a plain JSON object."""
    items = unprotected.get("etsiU", [])
    if not isinstance(items, list):
        errors.append("etsiU must be an array")
        return []
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            value = item if isinstance(item, dict) else _loads(b64url_decode(item, f"etsiU[{index}]"),
                                                               f"etsiU[{index}]")
        except JoseFormatError as exc:
            errors.append(str(exc))
            continue
        if not isinstance(value, dict) or len(value) != 1:
            errors.append(f"etsiU[{index}] must be an object with a single property")
            continue
        out.append(value)
    return out


def _tokens(value: Any, what: str) -> list[bytes]:
    if not isinstance(value, dict) or not isinstance(value.get("tstTokens"), list) or not value["tstTokens"]:
        raise JoseFormatError(f"{what} must be {{'tstTokens': [{{'val': ...}}]}}")
    out = []
    for index, token in enumerate(value["tstTokens"]):
        if not isinstance(token, dict):
            raise JoseFormatError(f"{what}.tstTokens[{index}] must be an object")
        out.append(b64_decode(token.get("val"), f"{what}.tstTokens[{index}].val"))
    return out


def _check_timestamp(
    what: str, value: Any, data: bytes | None, errors: list[str]
) -> tuple[timestamps.TimestampToken | None, bool]:
    """Verify every token of a JAdES timestamp property; returns the first token and whether its
    imprint covers ``data``. A token whose signature fails is dropped, one that covers other data is
    kept (to be reported) but flagged, so it never serves as proof of time."""
    try:
        tokens = [timestamps.verify_token(der) for der in _tokens(value, what)]
    except (JoseFormatError, timestamps.TimestampError) as exc:
        errors.append(f"{what}: {exc}")
        return None, False
    imprint_ok = True
    if data is not None:
        for token in tokens:
            if timestamps.digest(data, token.hash_algorithm) != token.imprint:
                errors.append(f"{what}: timestamp imprint does not match the timestamped data")
                imprint_ok = False
                break
    return tokens[0], imprint_ok


def _usable_for_seals(cert: x509.Certificate) -> bool:
    """RFC 5280 4.2.1.3: when key usage is present, a signing certificate must allow signatures."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return usage.digital_signature or usage.content_commitment


def _validity(cert: x509.Certificate, moment: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc


def _evidence_certs(
    entries: list[dict[str, Any]], errors: list[str]
) -> tuple[list[x509.Certificate], list[bytes], list[bytes]]:
    """Certificates (xVals) and revocation data (rVals) embedded by B-LT/B-LTA seals."""
    certs: list[x509.Certificate] = []
    crls: list[bytes] = []
    ocsps: list[bytes] = []
    for entry in entries:
        try:
            for item in _list(entry.get("xVals", [])):
                certs.append(x509.load_der_x509_certificate(b64_decode(item["x509Cert"]["val"], "xVals")))
            rvals = entry.get("rVals", {})
            crls += [b64_decode(i["val"], "rVals crlVals") for i in _list(rvals.get("crlVals", []))]
            ocsps += [b64_decode(i["val"], "rVals ocspVals") for i in _list(rvals.get("ocspVals", []))]
        except (JoseFormatError, ValueError, TypeError, KeyError, AttributeError):
            errors.append("validation data (xVals/rVals) in etsiU cannot be read")
    return certs, crls, ocsps


def _level(sig_tst: bool, validation_data: bool, arc_tst: bool) -> str:
    """The JAdES baseline level the seal's unsigned properties claim (not a full conformance check)."""
    if not sig_tst:
        return "B-B"
    if arc_tst:
        return "B-LTA"
    return "B-LT" if validation_data else "B-T"


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("expected an array")
    return value


TrustRoots = Sequence[x509.Certificate] | str | Path | None


def verify_jades(
    data: bytes | str | dict[str, Any], *, trust_roots: TrustRoots = None, at: dt.datetime | None = None
) -> SealReport:
    """Verify a JAdES seal. Never raises for a bad seal: everything wrong ends up in ``errors``.

    ``trust_roots``: anchor certificates, or a file/directory to load them from; without them
    ``trusted`` is None. The chain is validated at ``at`` if given, otherwise at the best proven time of
    sealing (the signature timestamp, else ``sigT``), so a seal stays valid after its certificate
    expires; expiry relative to now is reported in ``warnings``.
    """
    report = SealReport(format="JAdES")
    errors = report.errors
    try:
        payload_text, entry = parse_jws(data)
        header = _loads(b64url_decode(entry["protected"], "protected header"), "protected header")
        if not isinstance(header, dict):
            raise JoseFormatError("protected header must be a JSON object")
        signature = b64url_decode(entry["signature"], "signature")
        alg = algorithm(header.get("alg"))
    except JoseFormatError as exc:
        errors.append(str(exc))
        return report
    report.algorithm = alg.name
    try:
        payload = payload_text.encode("utf-8")
    except UnicodeEncodeError:
        errors.append("payload is not valid Unicode text (unpaired surrogate escape)")
        return report
    report.payload = payload
    unprotected: dict[str, Any] = entry.get("header", {})
    _check_header_rules(header, unprotected, errors)
    chain = _leaf_and_chain(header, errors)
    report.signing_time = _parse_sigt(header.get("sigT"), errors)
    if not chain:
        return report
    leaf = chain[0]
    report.certificate = certificates.summarise(leaf)
    signing_input = entry["protected"].encode("ascii") + b"." + payload
    report.signature_valid = verify_signature(alg, leaf.public_key(), signature, signing_input)
    if not report.signature_valid:
        errors.append("the signature does not match the payload, header and certificate")

    entries = _etsi_u(unprotected, errors)
    if "adoTst" in header:
        _check_timestamp("adoTst", header["adoTst"], payload, errors)
    sig_tst: timestamps.TimestampToken | None = None
    sig_tst_ok = False
    has_arc_tst = False
    for item in entries:
        if "sigTst" in item:
            sig_tst, sig_tst_ok = _check_timestamp("sigTst", item["sigTst"], entry["signature"].encode("ascii"),
                                                   errors)
        elif "arcTst" in item:
            # The archive-timestamp imprint (ETSI TS 119 182-1 arcTst) is not recomputed; its token is checked.
            _check_timestamp("arcTst", item["arcTst"], None, errors)
            has_arc_tst = True
    extra_certs, crls, ocsps = _evidence_certs(entries, errors)
    has_sig_tst = any("sigTst" in item for item in entries)
    report.level = _level(has_sig_tst, bool(extra_certs or crls or ocsps), has_arc_tst)

    if sig_tst is not None:
        report.timestamp = TimestampInfo(time=sig_tst.gen_time, tsa=sig_tst.tsa_name, imprint_valid=sig_tst_ok)
        if not sig_tst_ok:
            sig_tst = None  # a timestamp over something else proves nothing about this seal
    if sig_tst is not None:
        if report.signing_time and sig_tst.gen_time < report.signing_time - dt.timedelta(minutes=5):
            errors.append("the signature timestamp is earlier than the claimed signing time sigT")
        if not _validity(leaf, sig_tst.gen_time):
            errors.append("the certificate was not valid at the signature timestamp time")
    if not _usable_for_seals(leaf):
        errors.append("the certificate's key usage allows neither digitalSignature nor nonRepudiation")
    if report.signing_time and not _validity(leaf, report.signing_time):
        errors.append("the certificate was not valid at the signing time sigT")
    now = dt.datetime.now(dt.UTC)
    if leaf.not_valid_after_utc < now:
        report.warnings.append(
            f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}, after sealing; "
            "the seal itself stays valid"
            if report.signing_time and report.signing_time <= leaf.not_valid_after_utc
            else f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}"
        )

    if trust_roots is not None:
        moment = at or (sig_tst.gen_time if sig_tst else report.signing_time) or dt.datetime.now(dt.UTC)
        trust.check_report_trust(report, leaf, chain[1:] + extra_certs, trust_roots, moment, crls, ocsps)
    return report



