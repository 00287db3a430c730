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
from collections.abc import Callable, Sequence
from typing import Any

import requests
from cryptography import x509

from sealer import certificates, timestamps
from sealer.jades.parse import SIGT_FORMAT
from sealer.jose import b64url_encode, compact_json
from sealer.keys import KeySource
from sealer.ltv import ValidationData, ValidationDataError

TYP = "jose+json"
CTY = "octet-stream"
LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
# Gathers validation data: (seal chain, TSA chains) -> ValidationData, e.g. sealer.ltv.Collector.
ValidationDataSource = Callable[[Sequence[x509.Certificate], Sequence[Sequence[x509.Certificate]]], ValidationData]


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
    level: str | None = None,
    validation_data: ValidationDataSource | None = None,
) -> dict[str, Any]:
    """Seal ``payload`` (UTF-8 JSON text) and return the JWS JSON object (serialize with :func:`dumps`).

    ``level``: ``B-B``, ``B-T``, ``B-LT`` or ``B-LTA`` (default: B-T with a TSA, else B-B). From B-T up
    a TSA is needed: a signature time-stamp in ``etsiU`` and, like EDC, a content time-stamp ``adoTst``
    in the protected header unless ``content_timestamp`` is False. B-LT adds the validation data
    (``xVals``, ``rVals``) that ``validation_data`` gathers; B-LTA an archive time-stamp over it all.
    """
    level = check_level(level, tsa_url, validation_data)
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
    if level != "B-B" and content_timestamp:
        assert tsa_url is not None
        header["adoTst"] = tst_tokens(timestamp(tsa_url, bytes(payload)))
        crit.append("adoTst")
    header["crit"] = crit
    protected = b64url_encode(compact_json(header))
    signature = b64url_encode(key.sign(protected.encode("ascii") + b"." + bytes(payload), alg))
    entry: dict[str, Any] = {"protected": protected}
    if level != "B-B":
        assert tsa_url is not None
        sig_tst = timestamp(tsa_url, signature.encode("ascii"))
        etsi_u = [b64url_encode(compact_json({"sigTst": tst_tokens(sig_tst)}))]
        if level in ("B-LT", "B-LTA"):
            assert validation_data is not None
            data = gather(validation_data, key.chain, [sig_tst])
            etsi_u += long_term_entries(data, key.chain)
        if level == "B-LTA":
            etsi_u.append(archive_entry(tsa_url, bytes(payload), protected.encode("ascii"),
                                        signature.encode("ascii"), etsi_u))
        entry["header"] = {"etsiU": etsi_u}
    entry["signature"] = signature
    return {"payload": payload_text, "signatures": [entry]}


def check_level(level: str | None, tsa_url: str | None, validation_data: ValidationDataSource | None) -> str:
    """The level to seal at, refusing combinations that cannot produce it."""
    level = level or ("B-T" if tsa_url else "B-B")
    if level not in LEVELS:
        raise SealingError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if level != "B-B" and not tsa_url:
        raise SealingError(f"sealing at {level} needs a time-stamping authority (EDC_TSA_URL / --tsa)")
    if level in ("B-LT", "B-LTA") and validation_data is None:
        raise SealingError(f"sealing at {level} needs the root certificates to gather validation data for")
    return level


def gather(source: ValidationDataSource, chain: list[x509.Certificate],
           tokens: list[timestamps.TimestampToken]) -> ValidationData:
    """The validation data of the seal's chain and of the TSAs of ``tokens``; failures become SealingError."""
    tsa_chains = [[t.signer, *[c for c in t.certificates if c != t.signer]] for t in tokens]
    try:
        return source(chain, tsa_chains)
    except ValidationDataError as exc:
        raise SealingError(f"validation data for B-LT could not be gathered: {exc}") from None


def long_term_entries(data: ValidationData, x5c: list[x509.Certificate]) -> list[str]:
    """``xVals`` (the certificates not already in ``x5c``) and ``rVals`` as EDC writes them."""
    certs = [c for c in data.certificates if c not in x5c]
    entries = [b64url_encode(compact_json({"xVals": [
        {"x509Cert": {"val": base64.b64encode(certificates.der(c)).decode("ascii")}} for c in certs]}))]
    r_vals: dict[str, Any] = {}
    if data.crls:
        r_vals["crlVals"] = [{"val": base64.b64encode(c).decode("ascii")} for c in data.crls]
    if data.ocsps:
        r_vals["ocspVals"] = [{"val": base64.b64encode(o).decode("ascii")} for o in data.ocsps]
    if r_vals:
        entries.append(b64url_encode(compact_json({"rVals": r_vals})))
    return entries


def archive_input(payload: bytes, protected: bytes, signature: bytes, etsi_u: list[str]) -> bytes:
    """What the ``arcTst`` time-stamp covers: payload, protected header, signature and the ``etsiU``
    entries before it (ETSI TS 119 182-1 5.3.6.3, base64url-encoded components)."""
    return payload + b"." + protected + b"." + signature + b"." + "".join(etsi_u).encode("ascii")


def archive_entry(tsa_url: str, payload: bytes, protected: bytes, signature: bytes, etsi_u: list[str]) -> str:
    """The ``arcTst`` entry: a time-stamp over :func:`archive_input`."""
    covered = archive_input(payload, protected, signature, etsi_u)
    return b64url_encode(compact_json({"arcTst": tst_tokens(timestamp(tsa_url, covered))}))


def timestamp(url: str, data: bytes, *, session: requests.Session | None = None) -> timestamps.TimestampToken:
    """A token from the TSA at ``url`` over ``data``; a TSA failure becomes a SealingError."""
    try:
        return timestamps.request_timestamp(url, data, session=session)
    except timestamps.TimestampError as exc:
        raise SealingError(f"timestamp failed: {exc}") from None


def dumps(jws: dict[str, Any]) -> bytes:
    """The sealed file's bytes: compact UTF-8 JSON, as EDC writes it."""
    return compact_json(jws)
