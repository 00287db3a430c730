"""Reading a JAdES seal: structure, JOSE rules, signature, time-stamps and validation data.

:func:`parse_jades` checks everything that a JAdES file says about itself and reports it as
:class:`~sealer.findings.SignatureFindings`; whether the certificate chains to anything trusted, and
whether the seal existed while it was valid, is decided by :mod:`sealer.validation`.

The file must be exactly one JWS in the JSON serialization: no member beside the JWS members, one
signature, no duplicate member at any depth (two JSON readers could otherwise see two different
credentials in one sealed text), nothing after the JSON value. The payload, when it is JSON, must not
repeat a member either. Time-stamps are checked against what ETSI TS 119 182-1 says they cover:
``adoTst`` the payload, ``sigTst`` the base64url signature value, ``arcTst`` the payload, ``.``, the
protected header, ``.``, the signature, ``.`` and the base64url ``etsiU`` entries before it (5.3.6.3, as
EDC's own B-LTA samples compute it).
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any

from cryptography import x509

from sealer import certificates, timestamps
from sealer.findings import FORMAT_FAILURE, HASH_FAILURE, SIG_CRYPTO_FAILURE, SignatureFindings, TimestampFinding
from sealer.jose import JoseFormatError, algorithm, b64_decode, b64url_decode, verify_signature

SIGT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_SIGT_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
# Header parameters this implementation understands and processes, so they may appear in "crit".
UNDERSTOOD_CRIT = frozenset({"b64", "sigT", "adoTst"})
_GENERAL_MEMBERS = frozenset({"payload", "signatures"})
_FLATTENED_MEMBERS = frozenset({"payload", "protected", "header", "signature"})
_BOM = b"\xef\xbb\xbf"


class DuplicateMember(ValueError):
    """A JSON object repeats a member name."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for name, value in pairs:
        if name in seen:
            raise DuplicateMember(name)
        seen[name] = value
    return seen


def strict_json(text: bytes | str) -> Any:
    """JSON with no duplicate member at any depth. Raises DuplicateMember or ValueError (incl. trailing
    data, which ``json.loads`` calls "Extra data"), or RecursionError for hostile nesting."""
    return json.loads(text, object_pairs_hook=_unique)


def _load(text: bytes | str, what: str) -> Any:
    try:
        return strict_json(text)
    except DuplicateMember as exc:
        raise JoseFormatError(f"{what} repeats the member {exc.args[0]!r}") from None
    except RecursionError:
        raise JoseFormatError(f"{what} is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        extra = " (data follows the JSON value)" if "Extra data" in str(exc) else ""
        raise JoseFormatError(f"{what} is not valid JSON{extra}") from None


def split_jws(data: bytes | str | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(payload text, the one signature entry) of a general or flattened JWS JSON, refusing anything
    that is not exactly one JWS."""
    if isinstance(data, bytes | bytearray) and bytes(data).startswith(_BOM):
        data = bytes(data)[len(_BOM):]
    obj = data if isinstance(data, dict) else _load(data, "the sealed file")
    if not isinstance(obj, dict):
        raise JoseFormatError("the sealed file is not a JWS JSON object")
    if "signatures" in obj:
        extra = sorted(set(obj) - _GENERAL_MEMBERS)
        signatures = obj["signatures"]
        if not isinstance(signatures, list) or len(signatures) != 1:
            raise JoseFormatError("signatures must be a list with exactly one seal")
        entry = signatures[0]
    elif "signature" in obj:
        extra = sorted(set(obj) - _FLATTENED_MEMBERS)
        entry = {k: obj[k] for k in ("protected", "header", "signature") if k in obj}
    else:
        raise JoseFormatError("the seal has no 'signatures' member")
    if extra:
        raise JoseFormatError(
            f"the file carries members outside the seal ({', '.join(extra[:5])}): only the sealed payload "
            "is a credential"
        )
    if not isinstance(entry, dict):
        raise JoseFormatError("signatures[0] must be an object")
    stray = sorted(set(entry) - {"protected", "header", "signature"})
    if stray:
        raise JoseFormatError(f"signatures[0] carries unknown members ({', '.join(stray[:5])})")
    payload = obj.get("payload")
    if not isinstance(payload, str):
        raise JoseFormatError("payload must be present as a string (enveloping JAdES)")
    for name in ("protected", "signature"):
        if not isinstance(entry.get(name), str):
            raise JoseFormatError(f"signatures[0].{name} must be a string")
    if "header" in entry and not isinstance(entry["header"], dict):
        raise JoseFormatError("signatures[0].header must be an object")
    return payload, entry


def parse_jades(data: bytes | str | dict[str, Any]) -> SignatureFindings:
    """Everything the JAdES file shows about itself. Never raises for a bad seal."""
    found = SignatureFindings(format="JAdES")
    try:
        payload_text, entry = split_jws(data)
        header = _load(b64url_decode(entry["protected"], "protected header"), "protected header")
        if not isinstance(header, dict):
            raise JoseFormatError("protected header must be a JSON object")
        signature = b64url_decode(entry["signature"], "signature")
        alg = algorithm(header.get("alg"))
    except JoseFormatError as exc:
        found.fail(FORMAT_FAILURE, str(exc))
        return found
    found.algorithm = alg.name
    try:
        payload = payload_text.encode("utf-8")
    except UnicodeEncodeError:
        found.fail(FORMAT_FAILURE, "payload is not valid Unicode text (unpaired surrogate escape)")
        return found
    found.payload = payload
    _check_payload(payload, found)
    unprotected: dict[str, Any] = entry.get("header", {})
    _check_header_rules(header, unprotected, found)
    found.claimed_time = _parse_sigt(header.get("sigT"), found)
    chain = _leaf_and_chain(header, found)
    if not chain:
        return found
    found.certificate, found.chain = chain[0], chain[1:]
    signing_input = entry["protected"].encode("ascii") + b"." + payload
    found.signature_intact = verify_signature(alg, chain[0].public_key(), signature, signing_input)
    if not found.signature_intact:
        found.fail(SIG_CRYPTO_FAILURE, "the signature does not match the payload, header and certificate")
    if "adoTst" in header:
        found.timestamps += _timestamps("content", "adoTst", header["adoTst"], payload, found)
    _unsigned_properties(unprotected, entry, payload, found)
    return found


def _check_payload(payload: bytes, found: SignatureFindings) -> None:
    """A JSON payload must be unambiguous: readers disagree on repeated members (first or last wins)."""
    head = payload.lstrip()[:1]
    if head not in (b"{", b"["):
        return
    try:
        strict_json(payload)
    except DuplicateMember as exc:
        found.fail(FORMAT_FAILURE, f"the sealed payload repeats the member {exc.args[0]!r}: readers could show "
                                   "different content from it")
    except (ValueError, RecursionError):
        return  # not JSON after all: the content checks say what it is


def _check_header_rules(header: dict[str, Any], unprotected: dict[str, Any], found: SignatureFindings) -> None:
    """RFC 7515 4.1.11 and RFC 7797 3, as JAdES profiles them."""
    overlap = sorted(set(header) & set(unprotected))
    if overlap:
        found.fail(FORMAT_FAILURE, f"header parameters {overlap} appear in both protected and unprotected headers")
    crit = header.get("crit")
    if not isinstance(crit, list) or not crit or not all(isinstance(c, str) for c in crit):
        found.fail(FORMAT_FAILURE, "protected header 'crit' must be a non-empty list of names")
        crit = []
    if len(set(crit)) != len(crit):
        found.fail(FORMAT_FAILURE, "protected header 'crit' lists a name twice")
    for name in crit:
        if name not in UNDERSTOOD_CRIT:
            found.fail(FORMAT_FAILURE, f"critical header parameter {name!r} is not understood")
        elif name not in header:
            found.fail(FORMAT_FAILURE, f"critical header parameter {name!r} is missing from the protected header")
    for required in ("b64", "sigT"):
        if required not in crit:
            found.fail(FORMAT_FAILURE, f"protected header 'crit' must list {required!r}")
    if header.get("b64") is not False:
        found.fail(FORMAT_FAILURE, "protected header 'b64' must be false (unencoded payload)")
    stray = sorted(set(unprotected) - {"etsiU"})
    if stray:
        found.fail(FORMAT_FAILURE, f"the unprotected header carries {stray[:5]}; only 'etsiU' is allowed")


def _leaf_and_chain(header: dict[str, Any], found: SignatureFindings) -> list[x509.Certificate]:
    chain_b64 = header.get("x5c")
    if not isinstance(chain_b64, list) or not chain_b64:
        found.fail(FORMAT_FAILURE, "protected header 'x5c' must hold the sealing certificate")
        return []
    chain: list[x509.Certificate] = []
    for index, item in enumerate(chain_b64):
        try:
            chain.append(certificates.load_der(b64_decode(item, f"x5c[{index}]")))
        except (JoseFormatError, ValueError):
            found.fail(FORMAT_FAILURE, f"x5c[{index}] is not a base64 DER certificate")
            return []
    leaf = chain[0]
    if "x5t#S256" in header and header["x5t#S256"] != certificates.x5t_s256(leaf):
        found.fail(FORMAT_FAILURE, "x5t#S256 does not match the certificate in x5c[0]")
    if "kid" in header:
        _check_kid(header["kid"], leaf, found)
    return chain


def _check_kid(kid: Any, leaf: x509.Certificate, found: SignatureFindings) -> None:
    """An IssuerSerial kid (EDC's form) must name the x5c leaf; other kid forms are opaque to JOSE."""
    if not isinstance(kid, str):
        found.fail(FORMAT_FAILURE, "kid must be a string")
        return
    try:
        raw = base64.b64decode(kid, validate=True)
    except (ValueError, TypeError):
        return
    if raw == certificates.issuer_serial_der(leaf):
        return
    try:
        certificates.IssuerSerial.load(raw).native  # noqa: B018 - full parse: junk is an opaque kid
    except (ValueError, TypeError):
        return
    found.fail(FORMAT_FAILURE, "kid (issuer and serial) does not identify the certificate in x5c[0]")


def _parse_sigt(value: Any, found: SignatureFindings) -> dt.datetime | None:
    if not isinstance(value, str) or not _SIGT_PATTERN.fullmatch(value):
        found.fail(FORMAT_FAILURE, "sigT must be a UTC time 'YYYY-MM-DDThh:mm:ssZ'")
        return None
    try:  # the pattern fixed the layout; datetime checks the values (strptime is ten times slower)
        return dt.datetime(int(value[0:4]), int(value[5:7]), int(value[8:10]), int(value[11:13]),
                           int(value[14:16]), int(value[17:19]), tzinfo=dt.UTC)
    except ValueError:
        found.fail(FORMAT_FAILURE, f"sigT {value!r} is not a valid date and time")
        return None


def _unsigned_properties(
    unprotected: dict[str, Any], entry: dict[str, Any], payload: bytes, found: SignatureFindings
) -> None:
    """sigTst, xVals, rVals and arcTst from ``etsiU`` (base64url JSON texts, as EDC writes them)."""
    items = unprotected.get("etsiU", [])
    if not isinstance(items, list):
        found.fail(FORMAT_FAILURE, "etsiU must be an array")
        return
    if items and len({isinstance(i, str) for i in items}) != 1:
        found.fail(FORMAT_FAILURE, "etsiU entries must all be base64url texts or all be JSON objects")
        return
    signature_b64 = entry["signature"].encode("ascii")
    archived = payload + b"." + entry["protected"].encode("ascii") + b"." + signature_b64 + b"."
    has = {"sigTst": False, "arcTst": False, "vals": False}
    for index, item in enumerate(items):
        try:
            value = item if isinstance(item, dict) else _load(b64url_decode(item, f"etsiU[{index}]"),
                                                                 f"etsiU[{index}]")
        except JoseFormatError as exc:
            found.fail(FORMAT_FAILURE, str(exc))
            return
        if not isinstance(value, dict) or len(value) != 1:
            found.fail(FORMAT_FAILURE, f"etsiU[{index}] must be an object with a single property")
            return
        name, content = next(iter(value.items()))
        if name == "sigTst":
            if has["sigTst"]:
                found.fail(FORMAT_FAILURE, "etsiU carries more than one sigTst")
            has["sigTst"] = True
            found.timestamps += _timestamps("signature", "sigTst", content, signature_b64, found)
        elif name == "arcTst":
            has["arcTst"] = True
            covered = archived if isinstance(item, str) else None  # clear JSON would need canonicalisation
            found.timestamps += _timestamps("archive", "arcTst", content, covered, found)
        elif name == "xVals":
            has["vals"] = True
            _x_vals(content, found)
        elif name == "rVals":
            has["vals"] = True
            _r_vals(content, found)
        else:
            found.fail(FORMAT_FAILURE, f"etsiU[{index}] holds {name!r}, which this verifier does not process")
        if isinstance(item, str):
            archived += item.encode("ascii")
    found.level = _level(has["sigTst"], has["vals"], has["arcTst"])


def _timestamps(
    kind: str, what: str, value: Any, covered: bytes | None, found: SignatureFindings
) -> list[TimestampFinding]:
    """Every token of a JAdES time-stamp property; a broken token or one over other data fails the seal
    (it would otherwise be shown as a time-stamp of this seal)."""
    if not isinstance(value, dict) or not isinstance(value.get("tstTokens"), list) or not value["tstTokens"]:
        found.fail(FORMAT_FAILURE, f"{what} must be {{'tstTokens': [{{'val': ...}}]}}")
        return []
    out: list[TimestampFinding] = []
    for index, token in enumerate(value["tstTokens"]):
        try:
            if not isinstance(token, dict):
                raise JoseFormatError(f"{what}.tstTokens[{index}] must be an object")
            parsed = timestamps.verify_token(b64_decode(token.get("val"), f"{what}.tstTokens[{index}].val"))
        except (JoseFormatError, timestamps.TimestampError) as exc:
            found.fail(FORMAT_FAILURE, f"{what}: {exc}")
            out.append(TimestampFinding(kind, None, None, str(exc)))
            continue
        covers = None if covered is None else timestamps.digest(covered, parsed.hash_algorithm) == parsed.imprint
        if covers is False:
            found.fail(HASH_FAILURE, f"{what}: the time-stamp imprint does not match the time-stamped data")
        out.append(TimestampFinding(kind, parsed, covers))
    return out


def _x_vals(value: Any, found: SignatureFindings) -> None:
    try:
        for item in _array(value):
            found.validation_certs.append(certificates.load_der(b64_decode(item["x509Cert"]["val"], "xVals")))
    except (JoseFormatError, ValueError, TypeError, KeyError):
        found.fail(FORMAT_FAILURE, "the certificates in xVals cannot be read")


def _r_vals(value: Any, found: SignatureFindings) -> None:
    try:
        if not isinstance(value, dict):
            raise TypeError("rVals must be an object")
        found.crls += [b64_decode(i["val"], "rVals crlVals") for i in _array(value.get("crlVals", []))]
        found.ocsps += [b64_decode(i["val"], "rVals ocspVals") for i in _array(value.get("ocspVals", []))]
    except (JoseFormatError, ValueError, TypeError, KeyError):
        found.fail(FORMAT_FAILURE, "the revocation data in rVals cannot be read")


def _array(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("expected an array")
    return value


def _level(sig_tst: bool, validation_data: bool, arc_tst: bool) -> str:
    """The JAdES baseline level the unsigned properties claim (not a full conformance check)."""
    if not sig_tst:
        return "B-B"
    if arc_tst:
        return "B-LTA"
    return "B-LT" if validation_data else "B-T"
