"""XAdES seals for XML credentials: enveloped XAdES-B-B with C14N 1.1, and verification.

EDC's XML credentials (ELM v2, and XML renderings of v3) are sealed with an enveloped ``ds:Signature``:
one reference covers the whole document (the signature itself excluded), one covers the XAdES
``SignedProperties`` (signing time and the digest + IssuerSerialV2 of the seal certificate), and —
written by signxml — one covers ``KeyInfo``. Signing goes through a :class:`~sealer.keys.KeySource`,
so PKCS#12 files and PKCS#11 tokens work alike (see :mod:`sealer.xades.key_adapter`).

Reading a seal trusts nothing the document says about itself: the signature is checked with the KeyInfo
certificate, and whether that certificate is trusted is left to :mod:`sealer.validation`. The payload
returned is the canonical form of exactly what the signature
covers, and a signature that does not cover the whole document is refused, so wrapped or appended
credential elements can never be passed off as sealed.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import replace

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, InvalidInput, SignXMLException
from signxml.xades import XAdESDataObjectFormat, XAdESSignatureConfiguration

from sealer import certificates, timestamps
from sealer.findings import (
    FORMAT_FAILURE,
    HASH_FAILURE,
    SIG_CRYPTO_FAILURE,
    Failure,
    SignatureFindings,
    TimestampFinding,
)
from sealer.keys import KeySource
from sealer.xades.dsig import (
    C14N_10,
    C14N_11,
    ENVELOPED,
    FILTER2,
    SIGNED_PROPERTIES_TYPE,
    EdcXadesSigner,
    EdcXadesVerifier,
    ancestor_xml_attributes,
    canonicalize,
    certificate_digest_matches,
    ds,
    parse,
    xades,
)
from sealer.xades.key_adapter import signing_adapter

__all__ = ["XadesError", "parse_xades", "seal_xades"]

_SIGNATURE_METHODS = {
    SignatureMethod.RSA_SHA256: "RS256",
    SignatureMethod.RSA_SHA384: "RS384",
    SignatureMethod.RSA_SHA512: "RS512",
    SignatureMethod.SHA256_RSA_MGF1: "PS256",
    SignatureMethod.SHA384_RSA_MGF1: "PS384",
    SignatureMethod.SHA512_RSA_MGF1: "PS512",
    SignatureMethod.ECDSA_SHA256: "ES256",
    SignatureMethod.ECDSA_SHA384: "ES384",
    SignatureMethod.ECDSA_SHA512: "ES512",
}
_SEAL_METHODS = {"RSA": SignatureMethod.RSA_SHA256, "EC": SignatureMethod.ECDSA_SHA256}
_CONFIG = XAdESSignatureConfiguration(
    expect_references=True,  # EDC/DSS seals carry 2 references, ours 3 (KeyInfo too)
    signature_methods=frozenset(_SIGNATURE_METHODS),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}),
)


class XadesError(ValueError):
    """The document cannot be sealed as given. The message names the argument and the reason."""


def seal_xades(
    xml: bytes, key: KeySource, *, signing_time: dt.datetime | None = None, tsa_url: str | None = None
) -> bytes:
    """Return ``xml`` with an enveloped XAdES ``ds:Signature``: B-B, or B-T with ``tsa_url``.

    The signature goes where EDC's legacy files carry it: inside ``vp:proof`` of a
    ``vp:verifiablePresentation`` (created when missing), else at the end of the root element.
    RSA keys seal with RSA-SHA256, P-256 keys with ECDSA-SHA256. ``signing_time`` (timezone-aware,
    default now) becomes the signed ``xades:SigningTime``. With ``tsa_url`` a ``SignatureTimeStamp``
    over the canonical ``ds:SignatureValue`` is added as an unsigned property. Comments outside the
    root element are not kept (canonical XML ignores comments, so they were never part of what a seal
    vouches for). A document that already carries a signature is refused (seal the unsigned one).
    Raises :class:`XadesError` for input that cannot be sealed, ``KeySourceError`` when the key fails,
    ``TimestampError`` when the TSA fails.
    """
    try:
        root = parse(xml)
    except ValueError as exc:
        raise XadesError(f"xml: {exc}") from None
    if root.tag == ds("Signature") or root.find(f".//{ds('Signature')}") is not None:
        raise XadesError("xml: the document already carries a ds:Signature; seal the unsigned document")
    if _outer_processing_instructions(root):
        raise XadesError(f"xml: {_OUTER_PI}")
    if signing_time is None:
        signing_time = dt.datetime.now(dt.UTC)
    elif signing_time.tzinfo is None:
        raise XadesError("signing_time: must be timezone-aware (e.g. UTC)")
    method = _SEAL_METHODS.get(key.key_type)
    if method is None:
        raise XadesError(f"key: key type {key.key_type!r} cannot seal (RSA or P-256 only)")
    signer = EdcXadesSigner(
        signing_time=signing_time,
        signing_certificate=key.certificate,
        signature_algorithm=method,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=C14N_11,
        data_object_format=XAdESDataObjectFormat(Description="Sealed credential", MimeType="text/xml"),
    )
    _signature_place(root)
    try:
        sealed = signer.sign(root, key=signing_adapter(key), cert=key.chain, always_add_key_value=False)
    except InvalidInput as exc:  # includes UnsupportedXml: a document signxml cannot sign faithfully
        raise XadesError(f"xml: {exc}") from None
    if tsa_url:
        _add_signature_timestamp(sealed, tsa_url)
    return etree.tostring(sealed, xml_declaration=True, encoding="UTF-8")


VP_NS = "http://data.europa.eu/snb/vp"


def _signature_place(root: etree._Element) -> None:
    """Put signxml's placeholder where EDC's legacy presentations carry their seal: ``vp:proof``."""
    if root.tag != f"{{{VP_NS}}}verifiablePresentation":
        return
    proof = root.find(f"{{{VP_NS}}}proof")
    if proof is None:
        proof = etree.SubElement(root, f"{{{VP_NS}}}proof")
    etree.SubElement(proof, ds("Signature"), Id="placeholder")


def _add_signature_timestamp(sealed: etree._Element, tsa_url: str) -> None:
    """XAdES B-T: a SignatureTimeStamp over the C14N 1.1 form of ds:SignatureValue (unsigned property)."""
    signature = next(sealed.iter(ds("Signature")))
    value = signature.find(ds("SignatureValue"))
    qualifying = signature.find(f"{ds('Object')}/{xades('QualifyingProperties')}")
    assert value is not None and qualifying is not None
    token = timestamps.request_timestamp(tsa_url, canonicalize(value, C14N_11))
    unsigned = etree.SubElement(qualifying, xades("UnsignedProperties"))
    properties = etree.SubElement(unsigned, xades("UnsignedSignatureProperties"))
    stamp = etree.SubElement(properties, xades("SignatureTimeStamp"))
    etree.SubElement(stamp, ds("CanonicalizationMethod"), Algorithm=C14N_11)
    etree.SubElement(stamp, xades("EncapsulatedTimeStamp")).text = base64.b64encode(token.der).decode("ascii")


def parse_xades(xml: bytes) -> SignatureFindings:
    """What an enveloped XAdES seal shows about itself. Never raises for a bad seal.

    The signature is checked with the KeyInfo certificate named by SigningCertificateV2; whose
    certificate that is, and whether it and the SignatureTimeStamp's TSA are trusted, is for
    :mod:`sealer.validation` to judge.
    """
    found = SignatureFindings(format="XAdES")
    errors: list[str] = []
    _parse_into(xml, found, errors)
    found.failures[:0] = [Failure(FORMAT_FAILURE, message) for message in errors]
    return found


def _parse_into(xml: bytes, found: SignatureFindings, errors: list[str]) -> None:
    try:
        root = parse(xml)
    except ValueError as exc:
        errors.append(str(exc))
        return
    if _outer_processing_instructions(root):
        errors.append(_OUTER_PI)
        return
    signatures = list(root.iter(ds("Signature")))
    if len(signatures) != 1:
        errors.append(
            "the document carries no ds:Signature" if not signatures
            else f"the document carries {len(signatures)} ds:Signature elements; exactly one seal is expected"
        )
        return
    signature = signatures[0]
    if signature is root:
        errors.append("the ds:Signature is the document element; an enveloped seal is expected")
        return
    method = signature.find(f"{ds('SignedInfo')}/{ds('SignatureMethod')}")
    method_uri = None if method is None else method.get("Algorithm")
    found.algorithm = _algorithm_name(method_uri)

    certs = _keyinfo_certificates(signature, errors)
    if not certs:
        return
    signed_props = _signed_properties(signature, errors)
    leaf = _signing_certificate(certs, signed_props, errors)
    found.certificate, found.chain = leaf, [c for c in certs if c is not leaf]
    found.claimed_time = _signing_time(signed_props, errors)

    verifier = EdcXadesVerifier(outer_xml_attributes=ancestor_xml_attributes(signature))
    # signxml refuses certificates outside their validity at its verification time; validity is judged
    # by sealer.validation at the proven sealing time, so give signxml a moment inside the validity period.
    inside = min(max(found.claimed_time or leaf.not_valid_before_utc, leaf.not_valid_before_utc),
                 leaf.not_valid_after_utc)
    try:
        results: list = verifier.verify(  # a list whenever expect_references is not exactly 1
            root, x509_cert=leaf, expect_config=_with_time(inside), validate_schema=True
        )
    except InvalidDigest as exc:
        found.fail(HASH_FAILURE, f"the seal does not verify: {_reason(exc)}")
        return
    except SignXMLException as exc:
        found.fail(SIG_CRYPTO_FAILURE, f"the seal does not verify: {_reason(exc)}")
        return
    except ValueError as exc:  # signxml's enums reject unknown algorithm URIs with a bare ValueError
        errors.append(f"the seal uses an unsupported algorithm: {exc}")
        return
    except etree.DocumentInvalid as exc:
        errors.append(f"the ds:Signature does not follow the XAdES schema: {exc.args[0]}")
        return

    references = signature.findall(f"{ds('SignedInfo')}/{ds('Reference')}")
    payload = _covered_document(root, signature, references, results, errors)
    _check_signed_properties_reference(signature, references, errors)
    _check_issuer_serial(leaf, signed_props, errors)
    if payload is None:
        return
    found.payload = payload
    _check_content_timestamps(signed_props, references, results, errors)
    found.signature_intact = not errors
    stamp = _signature_timestamp(signature, errors)
    if stamp is not None:
        found.timestamps.append(stamp)
    found.level = _level(signature, stamp is not None)
    found.validation_certs, found.crls, found.ocsps = _validation_data(signature, errors)


_OUTER_PI = (
    "processing instructions outside the root element are not supported (the seal covers the root "
    "element; move them inside or drop them)"
)


def _outer_processing_instructions(root: etree._Element) -> bool:
    """Whether the document has PIs beside its root: ``URI=""`` would have to cover them as well."""
    siblings = [*root.itersiblings(preceding=True), *root.itersiblings()]
    return any(isinstance(node, etree._ProcessingInstruction) for node in siblings)


def _b64(node: etree._Element) -> bytes:
    """Base64 element content; line breaks and indentation inside it are allowed by XML-DSig."""
    return base64.b64decode("".join((node.text or "").split()), validate=True)


def _algorithm_name(uri: str | None) -> str | None:
    try:
        return _SIGNATURE_METHODS.get(SignatureMethod(uri), uri)
    except ValueError:
        return uri


def _with_time(moment: dt.datetime) -> XAdESSignatureConfiguration:
    return replace(_CONFIG, verification_time=moment)


def _reason(exc: SignXMLException) -> str:
    """signxml's message, minus its advice to call signxml with other options."""
    text = str(exc).split(". Use ", 1)[0]
    return text or type(exc).__name__


def _keyinfo_certificates(signature: etree._Element, errors: list[str]) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for node in signature.findall(f"{ds('KeyInfo')}/{ds('X509Data')}/{ds('X509Certificate')}"):
        try:
            certs.append(x509.load_der_x509_certificate(_b64(node)))
        except (ValueError, binascii.Error):
            errors.append("a KeyInfo X509Certificate is not a valid base64 DER certificate")
            return []
    if not certs:
        errors.append("KeyInfo carries no X509Certificate; the sealing certificate is unknown")
    return certs


def _signed_properties(signature: etree._Element, errors: list[str]) -> etree._Element | None:
    found = signature.findall(
        f"{ds('Object')}/{xades('QualifyingProperties')}/{xades('SignedProperties')}"
    )
    if len(found) != 1:
        errors.append("the signature has no single xades:SignedProperties (not a XAdES seal)")
        return None
    qualifying = found[0].getparent()
    sig_id = signature.get("Id")
    if sig_id is None or qualifying.get("Target") != f"#{sig_id}":
        errors.append("xades:QualifyingProperties does not target this ds:Signature")
    return found[0]


def _signing_certificate(
    certs: list[x509.Certificate], signed_props: etree._Element | None, errors: list[str]
) -> x509.Certificate:
    """The KeyInfo certificate named by SigningCertificate(V2); the first one if none matches."""
    if signed_props is None:
        return certs[0]
    cert_nodes = signed_props.findall(
        f"{xades('SignedSignatureProperties')}/{xades('SigningCertificateV2')}/{xades('Cert')}"
    ) or signed_props.findall(
        f"{xades('SignedSignatureProperties')}/{xades('SigningCertificate')}/{xades('Cert')}"
    )
    if not cert_nodes:
        errors.append("SignedProperties carry no SigningCertificateV2")
        return certs[0]
    verdicts = [certificate_digest_matches(cert, cert_nodes[0]) for cert in certs]
    if None in verdicts:
        errors.append("the SigningCertificateV2 digest method is not supported")
        return certs[0]
    if True in verdicts:
        return certs[verdicts.index(True)]
    errors.append("the SigningCertificateV2 digest does not match any KeyInfo certificate")
    return certs[0]


def _signing_time(signed_props: etree._Element | None, errors: list[str]) -> dt.datetime | None:
    if signed_props is None:
        return None
    node = signed_props.find(f"{xades('SignedSignatureProperties')}/{xades('SigningTime')}")
    if node is None or not node.text:
        errors.append("SignedProperties carry no SigningTime")
        return None
    try:
        value = dt.datetime.fromisoformat(node.text.strip())
    except ValueError:
        errors.append("SigningTime is not an xs:dateTime")
        return None
    if value.tzinfo is None:
        errors.append("SigningTime has no time zone")
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _covered_document(
    root: etree._Element,
    signature: etree._Element,
    references: list[etree._Element],
    results: list,
    errors: list[str],
) -> bytes | None:
    """The signed bytes of the one reference that covers the whole document (minus the signature).

    Every other reference must point into the signature itself (SignedProperties, KeyInfo): a
    reference to a single element would leave the rest of the document unsealed, which is how
    signature-wrapping attacks smuggle in content.
    """
    root_id = next((root.get(name) for name in ("Id", "ID", "id") if root.get(name)), None)
    covering: list[bytes] = []
    for reference, result in zip(references, results, strict=True):
        uri = reference.get("URI")
        if uri == "" or (root_id is not None and uri == f"#{root_id}"):
            transforms = reference.findall(f"{ds('Transforms')}/{ds('Transform')}")
            if not {ENVELOPED, FILTER2} & {t.get("Algorithm") for t in transforms}:
                errors.append("the document reference does not exclude the signature (no enveloped "
                              "transform)")
                return None
            covering.append(result.signed_data)
            continue
        target = uri[1:] if uri and uri.startswith("#") else None
        inside = target is not None and any(
            node.get(name) == target for node in signature.iter() for name in ("Id", "ID", "id")
        )
        if not inside:
            errors.append(f"reference {uri!r} covers only part of the document; the whole document "
                          "must be sealed")
            return None
    if len(covering) != 1:
        errors.append("no reference covers the whole document" if not covering
                      else "more than one reference covers the whole document")
        return None
    return covering[0]


def _check_signed_properties_reference(
    signature: etree._Element, references: list[etree._Element], errors: list[str]
) -> None:
    props = signature.find(f"{ds('Object')}/{xades('QualifyingProperties')}/{xades('SignedProperties')}")
    if props is None:
        return
    wanted = f"#{props.get('Id')}"
    match = [r for r in references if r.get("URI") == wanted]
    if not match:
        errors.append("no reference covers xades:SignedProperties")
    elif match[0].get("Type") != SIGNED_PROPERTIES_TYPE:
        errors.append(f"the SignedProperties reference lacks Type={SIGNED_PROPERTIES_TYPE!r}")


def _check_issuer_serial(
    leaf: x509.Certificate, signed_props: etree._Element | None, errors: list[str]
) -> None:
    """IssuerSerialV2 (when present) must name the same certificate as the digest does."""
    if signed_props is None:
        return
    node = signed_props.find(
        f"{xades('SignedSignatureProperties')}/{xades('SigningCertificateV2')}/{xades('Cert')}/"
        f"{xades('IssuerSerialV2')}"
    )
    if node is None or not node.text:
        return
    try:
        value = certificates.IssuerSerial.load(_b64(node))
        names = [n.chosen for n in value["issuer"] if n.name == "directory_name"]
        serial = value["serial_number"].native
    except (ValueError, TypeError, binascii.Error):
        errors.append("IssuerSerialV2 is not a DER IssuerSerial")
        return
    issuer_der = leaf.issuer.public_bytes()
    expected = asn1_x509.Name.load(issuer_der)
    # Byte equality first: asn1crypto's RFC 5280 name comparison (case folding, stringprep) is slow.
    if serial != leaf.serial_number or not any(
        name.untag().dump() == issuer_der or name == expected for name in names
    ):
        errors.append("IssuerSerialV2 names a different certificate than the sealing certificate")


def _unsigned(signature: etree._Element, tag: str) -> list[etree._Element]:
    return signature.findall(
        f"{ds('Object')}/{xades('QualifyingProperties')}/{xades('UnsignedProperties')}/"
        f"{xades('UnsignedSignatureProperties')}/{xades(tag)}"
    )


def _signature_timestamp(signature: etree._Element, errors: list[str]) -> TimestampFinding | None:
    """The first xades:SignatureTimeStamp: token signature and imprint over ds:SignatureValue."""
    stamps = _unsigned(signature, "SignatureTimeStamp")
    if not stamps:
        return None
    stamp = stamps[0]
    method = stamp.find(ds("CanonicalizationMethod"))
    algorithm = C14N_10 if method is None else method.get("Algorithm", C14N_10)
    value = signature.find(ds("SignatureValue"))
    encapsulated = stamp.find(xades("EncapsulatedTimeStamp"))
    if value is None or encapsulated is None or not encapsulated.text:
        errors.append("SignatureTimeStamp carries no EncapsulatedTimeStamp")
        return None
    try:
        token = timestamps.verify_token(_b64(encapsulated), canonicalize(value, algorithm))
    except (binascii.Error, ValueError, InvalidInput, timestamps.TimestampError) as exc:
        errors.append(f"SignatureTimeStamp: {exc}")
        return None
    return TimestampFinding("signature", token, True)


def _level(signature: etree._Element, has_signature_timestamp: bool) -> str:
    """The XAdES baseline level the unsigned properties claim (a description, not a conformance test)."""
    if not has_signature_timestamp and not _unsigned(signature, "SignatureTimeStamp"):
        return "B-B"
    archive = signature.findall(
        f"{ds('Object')}/{xades('QualifyingProperties')}/{xades('UnsignedProperties')}/"
        f"{xades('UnsignedSignatureProperties')}/{{http://uri.etsi.org/01903/v1.4.1#}}ArchiveTimeStamp"
    )
    if archive:
        return "B-LTA"
    if _unsigned(signature, "CertificateValues") or _unsigned(signature, "RevocationValues"):
        return "B-LT"
    return "B-T"


def _validation_data(
    signature: etree._Element, errors: list[str]
) -> tuple[list[x509.Certificate], list[bytes], list[bytes]]:
    """Certificates and revocation data embedded by XAdES-B-LT/LTA seals (used for chain building)."""
    certs: list[x509.Certificate] = []
    crls: list[bytes] = []
    ocsps: list[bytes] = []
    try:
        for values in _unsigned(signature, "CertificateValues"):
            for node in values.findall(xades("EncapsulatedX509Certificate")):
                certs.append(x509.load_der_x509_certificate(_b64(node)))
        for values in _unsigned(signature, "RevocationValues"):
            crls += [_b64(n) for n in values.iter(xades("EncapsulatedCRLValue"))]
            ocsps += [_b64(n) for n in values.iter(xades("EncapsulatedOCSPValue"))]
    except (ValueError, binascii.Error):
        errors.append("CertificateValues/RevocationValues cannot be read")
    return certs, crls, ocsps



def _check_content_timestamps(
    signed_props: etree._Element | None,
    references: list[etree._Element],
    results: list,
    errors: list[str],
) -> None:
    """xades:AllDataObjectsTimeStamp: its imprint covers the processed data references, in order."""
    if signed_props is None:
        return
    stamps = signed_props.findall(
        f"{xades('SignedDataObjectProperties')}/{xades('AllDataObjectsTimeStamp')}/"
        f"{xades('EncapsulatedTimeStamp')}"
    )
    if not stamps:
        return
    data = b"".join(
        result.signed_data
        for reference, result in zip(references, results, strict=True)
        if reference.get("Type") != SIGNED_PROPERTIES_TYPE
    )
    for stamp in stamps:
        try:
            timestamps.verify_token(_b64(stamp), data)
        except (binascii.Error, ValueError, timestamps.TimestampError) as exc:
            errors.append(f"AllDataObjectsTimeStamp: {exc}")
