"""RFC 3161 timestamps: asking a TSA for a token, and checking a token found in a seal.

A baseline-T seal is only as good as its timestamp, so a token is never taken on trust: the response
status, our nonce, the message imprint and the CMS signature of the TSA (against the certificate embedded
in the token, whose ``timeStamping`` extended key usage is also checked) are all verified before a token
is put into a seal, and the same checks run again when a seal is verified. Whether the TSA itself is
trusted (its chain to an EU trusted list) is a separate question answered by :mod:`sealer.validation.anchors`.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
import urllib.parse
from dataclasses import dataclass

import requests
from asn1crypto import algos, cms, core, parser, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
TIMESTAMP_QUERY = "application/timestamp-query"
TIMESTAMP_REPLY = "application/timestamp-reply"


class TimeStampResp(core.Sequence):
    """RFC 3161 TimeStampResp. asn1crypto's own class makes the token mandatory, but a refusal has none."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


class TimestampError(Exception):
    """A timestamp could not be obtained or does not check out. Messages never contain credentials."""


@dataclass(frozen=True)
class TimestampToken:
    """A verified RFC 3161 token with the facts a report shows."""

    der: bytes
    gen_time: dt.datetime
    tsa_name: str | None
    signer: x509.Certificate
    hash_algorithm: str
    imprint: bytes
    serial_number: int
    certificates: tuple[x509.Certificate, ...] = ()


def redact_url(url: str) -> str:
    """The URL without user:password, so it can appear in errors and logs."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def digest(data: bytes, hash_algorithm: str = "sha256") -> bytes:
    if hash_algorithm not in _HASHES:
        raise TimestampError(f"hash algorithm {hash_algorithm!r} not supported for timestamps")
    return hashlib.new(hash_algorithm, data).digest()


def build_request(data: bytes, hash_algorithm: str = "sha256") -> tuple[tsp.TimeStampReq, int]:
    """A TimeStampReq over ``data`` with a fresh 64-bit nonce and certReq set (we verify the token)."""
    nonce = secrets.randbits(63) | (1 << 62)
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": hash_algorithm},
                "hashed_message": digest(data, hash_algorithm),
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return request, nonce


def request_timestamp(
    url: str,
    data: bytes,
    *,
    hash_algorithm: str = "sha256",
    timeout: float = 15.0,
    session: requests.Session | None = None,
) -> TimestampToken:
    """Obtain and verify a timestamp token over ``data`` from the TSA at ``url``."""
    request, nonce = build_request(data, hash_algorithm)
    where = redact_url(url)
    http = session or requests
    try:
        response = http.post(
            url, data=request.dump(), headers={"Content-Type": TIMESTAMP_QUERY}, timeout=timeout
        )
    except requests.RequestException as exc:
        raise TimestampError(f"TSA {where} could not be reached ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise TimestampError(f"TSA {where} answered HTTP {response.status_code}")
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type != TIMESTAMP_REPLY:
        shown = content_type or "no content type"
        raise TimestampError(f"TSA {where} answered {shown}, not {TIMESTAMP_REPLY}")
    return parse_response(response.content, data, nonce=nonce, hash_algorithm=hash_algorithm, source=where)


def parse_response(
    body: bytes, data: bytes, *, nonce: int | None, hash_algorithm: str = "sha256", source: str = "TSA"
) -> TimestampToken:
    """Check a TimeStampResp: granted status, our nonce, our imprint, a valid TSA signature."""
    try:
        response = TimeStampResp.load(body)
        status = response["status"]["status"].native
    except (ValueError, TypeError):
        raise TimestampError(f"{source} answered something that is not an RFC 3161 response") from None
    if status not in ("granted", "granted_with_mods"):
        detail = _status_detail(response["status"])
        raise TimestampError(f"{source} refused the timestamp request: {status}{detail}")
    token_info = response["time_stamp_token"]
    # No .native here: converting the token would make the .dump() below re-encode all of it (~1 s).
    if not isinstance(token_info, cms.ContentInfo) or not token_info.contents:
        raise TimestampError(f"{source} granted the request but sent no token")
    token = verify_token(token_info.dump(), data)
    if token.hash_algorithm != hash_algorithm:
        raise TimestampError(f"{source} used {token.hash_algorithm}, not the requested {hash_algorithm}")
    tst_nonce = _tst_info(cms.ContentInfo.load(token.der))["nonce"].native
    if nonce is not None and tst_nonce != nonce:
        raise TimestampError(f"{source} answered with a different nonce (replayed or mixed-up response)")
    return token


def _status_detail(status: tsp.PKIStatusInfo) -> str:
    parts = []
    if status["fail_info"].native:
        parts.append(", ".join(sorted(status["fail_info"].native)))
    if status["status_string"].native:
        parts.append("; ".join(status["status_string"].native))
    return f" ({' - '.join(parts)})" if parts else ""


def _tst_info(content_info: cms.ContentInfo) -> tsp.TSTInfo:
    if content_info["content_type"].native != "signed_data":
        raise TimestampError("timestamp token is not CMS SignedData")
    encap = content_info["content"]["encap_content_info"]
    if encap["content_type"].native != "tst_info":
        raise TimestampError("timestamp token does not contain TSTInfo")
    # Loaded from the raw bytes: parsing the OctetString in place would make asn1crypto re-encode the
    # whole token each time its signed content is read afterwards (tens of milliseconds).
    try:
        return tsp.TSTInfo.load(encap["content"].contents)
    except ValueError:
        raise TimestampError("timestamp token TSTInfo cannot be read") from None


def verify_token(token_der: bytes, data: bytes | None = None) -> TimestampToken:
    """Verify a TimeStampToken's CMS signature and, if ``data`` is given, that it timestamps ``data``."""
    try:
        content_info = cms.ContentInfo.load(token_der)
        info = _tst_info(content_info)
        signed_data = content_info["content"]
        imprint = info["message_imprint"]
        hash_algorithm = imprint["hash_algorithm"]["algorithm"].native
        hashed = imprint["hashed_message"].native
        gen_time = info["gen_time"].native
        serial = info["serial_number"].native
        tsa_field = info["tsa"]
    except TimestampError:
        raise
    except (ValueError, TypeError, KeyError):
        raise TimestampError("timestamp token is not valid DER") from None
    if data is not None:
        if hash_algorithm not in _HASHES:
            raise TimestampError(f"timestamp uses unsupported hash {hash_algorithm}")
        if digest(data, hash_algorithm) != hashed:
            raise TimestampError("timestamp imprint does not match the timestamped data")
    signer = _verify_signed_data(signed_data)
    tsa_name = _general_name(tsa_field, signer)
    return TimestampToken(
        der=token_der,
        gen_time=gen_time.astimezone(dt.UTC),
        tsa_name=tsa_name,
        signer=signer.certificate,
        hash_algorithm=hash_algorithm,
        imprint=hashed,
        serial_number=serial,
        certificates=_embedded_certificates(signed_data["certificates"]),
    )


def _embedded_certificates(certificate_set: cms.CertificateSet | core.Void) -> tuple[x509.Certificate, ...]:
    """Every certificate the token carries (the TSA's chain, when the TSA sends it)."""
    if isinstance(certificate_set, core.Void):
        return ()
    return tuple(f.certificate for f in _certificate_set_facts(certificate_set.contents or b""))


@functools.lru_cache(maxsize=64)
def _certificate_set_facts(contents: bytes) -> tuple[_CertificateFacts, ...]:
    """The certificates of a token's ``certificates`` field, keyed by its exact bytes: a TSA sends the
    same set with every token, so it is read once rather than once per token."""
    certificate_set = cms.CertificateSet.load(b"\x31" + _der_length(len(contents)) + contents)
    return tuple(_certificate_facts(choice.chosen.dump()) for choice in certificate_set
                 if choice.name == "certificate")


def _general_name(value: core.Asn1Value, signer: _CertificateFacts) -> str:
    """The TSA's name from TSTInfo, or the signer's subject when the TSA does not name itself."""
    if isinstance(value, core.Void):  # absent (optional); .native would convert the whole name
        return signer.subject
    if value.name == "directory_name":
        # Byte equality first: asn1crypto's RFC 5280 name comparison (stringprep) is slow.
        if value.chosen.contents == signer.subject_contents or \
                value.chosen == asn1_x509.Name.load(signer.subject_der):
            return signer.subject
        return value.chosen.human_friendly
    return str(value.native)


def _find_signer(signed_data: cms.SignedData, signer_info: cms.SignerInfo) -> _CertificateFacts:
    certificate_set = signed_data["certificates"]
    if isinstance(certificate_set, core.Void):
        raise TimestampError("timestamp token does not embed the TSA certificate that signed it")
    sid = signer_info["sid"]
    # Tokens of one TSA carry the same certificates and signer identifier: the match is kept, keyed by
    # the exact bytes of both.
    return _match_signer(certificate_set.contents or b"", sid.dump())


@functools.lru_cache(maxsize=64)
def _match_signer(certificate_set: bytes, sid_der: bytes) -> _CertificateFacts:
    sid = cms.SignerIdentifier.load(sid_der)
    if sid.name == "issuer_and_serial_number":
        wanted = sid.chosen
        wanted_key: tuple[str, object] = ("issuer_serial", (wanted["issuer"].dump(), wanted["serial_number"].native))
    else:
        wanted_key = ("key_id", sid.chosen.native)
    for facts in _certificate_set_facts(certificate_set):
        if wanted_key in (("issuer_serial", facts.issuer_serial), ("key_id", facts.key_id)):
            return facts
        if wanted_key[0] == "issuer_serial" and _same_issuer_serial(asn1_x509.Certificate.load(facts.der),
                                                                     sid.chosen):
            return facts
    raise TimestampError("timestamp token does not embed the TSA certificate that signed it")


@dataclass(frozen=True)
class _CertificateFacts:
    certificate: x509.Certificate
    der: bytes
    issuer_serial: tuple[bytes, int]
    key_id: bytes | None
    time_stamping: bool
    subject: str
    subject_der: bytes
    subject_contents: bytes


@functools.lru_cache(maxsize=256)
def _certificate_facts(der: bytes) -> _CertificateFacts:
    """What token checks need of an embedded certificate; TSAs reuse theirs for years, so it is kept."""
    cert = x509.load_der_x509_certificate(der)
    try:
        key_id: bytes | None = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        key_id = None
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        time_stamping = ExtendedKeyUsageOID.TIME_STAMPING in usages
    except x509.ExtensionNotFound:
        time_stamping = False
    return _CertificateFacts(cert, der, (cert.issuer.public_bytes(), cert.serial_number), key_id, time_stamping,
                             cert.subject.rfc4514_string(), cert.subject.public_bytes(),
                             asn1_x509.Name.load(cert.subject.public_bytes()).contents)


def _same_issuer_serial(cert: asn1_x509.Certificate, wanted: cms.IssuerAndSerialNumber) -> bool:
    """RFC 5280 name comparison, for issuers encoded differently in the token and the certificate."""
    return cert.serial_number == wanted["serial_number"].native and cert.issuer == wanted["issuer"]


# The attribute types a token check reads, by the bytes of their OID (no dotted-string conversion).
_ATTRIBUTE_TYPES = {core.ObjectIdentifier(oid).dump(): name for oid, name in (
    ("1.2.840.113549.1.9.3", "content_type"), ("1.2.840.113549.1.9.4", "message_digest"),
    ("1.2.840.113549.1.9.16.2.47", "signing_certificate_v2"))}
_TST_INFO_TYPE = core.ObjectIdentifier("1.2.840.113549.1.9.16.1.4").dump()
_SET, _SEQUENCE = (0, 1, 17), (0, 1, 16)  # (class, constructed, tag) of a universal SET / SEQUENCE


def _elements(data: bytes) -> list[tuple[tuple[int, int, int], bytes, bytes]]:
    """The ((class, method, tag), encoding, content) of each DER value concatenated in ``data``."""
    out = []
    while data:
        size = parser.peek(data)
        cls, method, tag, _header, content, _trailer = parser.parse(data[:size], strict=True)
        out.append(((cls, method, tag), data[:size], content))
        data = data[size:]
    return out


def _attributes(signed_attrs_der: bytes) -> dict[str, bytes]:
    """The DER of the first value of each signed attribute a token check reads, by name.

    Read with asn1crypto's DER parser alone: building asn1crypto objects for the attributes (each value's
    type worked out from its attribute type, by OID conversions) took most of a token check's time.
    """
    out: dict[str, bytes] = {}
    try:
        (kind, _encoding, attrs), = _elements(signed_attrs_der)
        if kind != _SET:
            raise ValueError
        for kind, _encoding, attribute in _elements(attrs):
            if kind != _SEQUENCE:
                raise ValueError
            (_oid_kind, oid, _oid), (values_kind, _values, values) = _elements(attribute)
            if values_kind != _SET:
                raise ValueError
            name = _ATTRIBUTE_TYPES.get(oid)
            if name is not None and name not in out:
                first = _elements(values)[:1]
                if not first:
                    raise TimestampError(f"timestamp token signed attribute {name} has no value")
                out[name] = first[0][1]
    except (ValueError, TypeError):
        raise TimestampError("timestamp token signed attributes cannot be read") from None
    return out


@functools.lru_cache(maxsize=64)
def _algorithm_name(der: bytes) -> str:
    """The name of a DigestAlgorithmIdentifier, kept by its exact bytes (the same in every token of a TSA)."""
    try:
        return str(algos.DigestAlgorithm.load(der)["algorithm"].native)
    except (ValueError, TypeError):
        raise TimestampError("timestamp token digest algorithm cannot be read") from None


@functools.lru_cache(maxsize=64)
def _signature_algorithm(der: bytes) -> tuple[str, str, str | None, int | None]:
    """(name, signature algorithm, PSS hash, PSS salt length) of a SignedDigestAlgorithm, kept by its
    exact bytes."""
    try:
        algorithm = algos.SignedDigestAlgorithm.load(der)
        name = str(algorithm["algorithm"].native)
        algo = algorithm.signature_algo
        if algo != "rsassa_pss":
            return name, algo, None, None
        params = algorithm["parameters"]
        return name, algo, params["hash_algorithm"]["algorithm"].native, params["salt_length"].native
    except (ValueError, TypeError, KeyError):
        raise TimestampError("timestamp token signature algorithm is not supported") from None


def _verify_signed_data(signed_data: cms.SignedData) -> _CertificateFacts:
    """RFC 5652 signature check of the token, plus the RFC 3161 rules on the signer certificate."""
    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise TimestampError("timestamp token must have exactly one signer")
    signer_info = signer_infos[0]
    signer = _find_signer(signed_data, signer_info)
    digest_name = _algorithm_name(signer_info["digest_algorithm"].dump())
    if digest_name not in _HASHES:
        raise TimestampError(f"timestamp token digest {digest_name} is not supported")
    content = signed_data["encap_content_info"]["content"].contents
    # The signature covers the attributes DER-encoded as a SET OF, not with their [0] IMPLICIT tag.
    # Taken from the received bytes, never re-encoded (asn1crypto could alter them).
    raw_attrs = signer_info["signed_attrs"].contents or b""
    if not raw_attrs:
        raise TimestampError("timestamp token has no signed attributes (RFC 3161 requires them)")
    to_be_signed = b"\x31" + _der_length(len(raw_attrs)) + raw_attrs
    attributes = _attributes(to_be_signed)
    message_digest = attributes.get("message_digest")
    try:
        expected = message_digest is not None and core.OctetString.load(message_digest).native
    except (ValueError, TypeError):
        expected = None
    if expected != digest(content, digest_name):
        raise TimestampError("timestamp token content does not match its signed message digest")
    if attributes.get("content_type") != _TST_INFO_TYPE:
        raise TimestampError("timestamp token signed content type is not TSTInfo")
    if "signing_certificate_v2" in attributes:
        _check_signing_certificate(attributes["signing_certificate_v2"], signer.der)
    _verify_cms_signature(signer.certificate, signer_info["signature_algorithm"].dump(), digest_name,
                          signer_info["signature"].native, to_be_signed)
    if not signer.time_stamping:
        raise TimestampError("the TSA certificate lacks the timeStamping extended key usage")
    return signer


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


@functools.lru_cache(maxsize=64)
def _check_signing_certificate(value: bytes, cert_der: bytes) -> None:
    """When the token binds its certificate (ESS signing-certificate-v2), it must be this one. The
    attribute is the same in every token of a TSA, so a passed check is kept by the exact bytes."""
    try:
        first = tsp.SigningCertificateV2.load(value)["certs"][0]
        hash_name = first["hash_algorithm"]["algorithm"].native
        cert_hash = first["cert_hash"].native
    except (ValueError, TypeError, KeyError, IndexError):
        raise TimestampError("timestamp token signing-certificate-v2 attribute cannot be read") from None
    if hash_name not in _HASHES and hash_name != "sha1":
        raise TimestampError(f"timestamp token certificate hash {hash_name} is not supported")
    if hashlib.new(hash_name, cert_der).digest() != cert_hash:
        raise TimestampError("timestamp token names a different TSA certificate than the one embedded")


def _verify_cms_signature(signer: x509.Certificate, algorithm_der: bytes, digest_name: str, signature: bytes,
                          data: bytes) -> None:
    key = signer.public_key()
    name, algo, pss_hash_name, salt = _signature_algorithm(algorithm_der)
    try:
        if algo == "rsassa_pss":
            pss_hash = _HASHES.get(pss_hash_name or "")
            if pss_hash is None or salt is None or not isinstance(key, rsa.RSAPublicKey):
                raise TimestampError("timestamp token uses an unsupported RSASSA-PSS variant")
            key.verify(signature, data, padding.PSS(padding.MGF1(pss_hash()), salt), pss_hash())
        elif algo == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), _HASHES[digest_name]())
        elif algo == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(_HASHES[digest_name]()))
        else:
            raise TimestampError(f"timestamp token signature algorithm {name} "
                                 "is not supported or does not fit the TSA key")
    except InvalidSignature:
        raise TimestampError("timestamp token signature is not valid") from None
