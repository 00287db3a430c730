"""The XML-DSig layer under :mod:`sealer.xades`: safe parsing, correct canonicalization, signxml glue.

signxml does the heavy lifting (SignedInfo, references, XAdES properties, signature checks), but three of
its behaviours would make our seals disagree with other verifiers (xmlsec1, EU DSS), so they are
corrected here rather than worked around at every call site:

* lxml's inclusive canonicalization of a *subtree* (SignedInfo, SignedProperties, KeyInfo) forgets the
  ``xml:lang``/``xml:space`` (and for C14N 1.0 ``xml:base``/``xml:id``) attributes that C14N requires to
  be copied from ancestors. An ELM document with ``xml:lang`` on its root would therefore get a seal
  that only signxml accepts. :func:`canonicalize` adds the inherited attributes.
* signxml silently skips transforms it does not know, e.g. the XPath Filter 2.0 transform used by the
  EU's EDC software. Unknown transforms are refused here, and the ``subtract`` filter that removes
  signatures is implemented.
* signxml's XAdES signer writes a SigningCertificateV2 without IssuerSerialV2 and a SigningTime from the
  clock; EDC wants both under the caller's control.
"""
from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree
from signxml.algorithms import CanonicalizationMethod
from signxml.exceptions import InvalidInput
from signxml.xades import XAdESSigner, XAdESVerifier

from sealer.certificates import issuer_serial_der

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
FILTER2_NS = "http://www.w3.org/2002/06/xmldsig-filter2"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
FILTER2 = FILTER2_NS
C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

# C14N 1.0 copies every xml:* attribute onto the apex of a subtree; 1.1 no longer copies xml:id and
# merges xml:base (a fix-up this module does not implement, so xml:base there is refused).
_INHERITED_10 = ("lang", "space", "base", "id")
_INHERITED_11 = ("lang", "space")


class UnsupportedXml(InvalidInput):
    """The document uses an XML feature whose canonical form this module cannot compute faithfully."""


def ds(tag: str) -> str:
    return f"{{{DS_NS}}}{tag}"


def xades(tag: str) -> str:
    return f"{{{XADES_NS}}}{tag}"


def safe_parser() -> etree.XMLParser:
    """A parser that never fetches, never expands entities and keeps libxml2's size limits.

    A new parser per document: lxml parsers keep state and are not meant to be shared across threads.
    """
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
    )


def parse(xml: bytes) -> etree._Element:
    """Parse untrusted XML. Raises ``ValueError`` with a short reason (line number, no content)."""
    if not isinstance(xml, bytes | bytearray):
        raise ValueError(f"expected XML as bytes, not {type(xml).__name__}")
    try:
        root = etree.fromstring(bytes(xml), parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else "?"
        raise ValueError(f"not well-formed XML (line {line}: {exc.msg.split(',')[0]})") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise ValueError("DOCTYPE declarations are not allowed (entity expansion and XXE protection)")
    if any(True for _ in root.iter(etree.Entity)):
        raise ValueError("entity references are not allowed")
    return root


def ancestor_xml_attributes(node: etree._Element) -> dict[str, str]:
    """The nearest value of each xml:* attribute among ``node``'s ancestors (not ``node`` itself)."""
    found: dict[str, str] = {}
    for ancestor in node.iterancestors():
        for name in _INHERITED_10:
            key = f"{{{XML_NS}}}{name}"
            if key in ancestor.attrib and key not in found:
                found[key] = ancestor.attrib[key]
    return found


def canonicalize(
    node: etree._Element,
    algorithm: str,
    *,
    inclusive_ns_prefixes: list[str] | None = None,
    outer_xml_attributes: dict[str, str] | None = None,
) -> bytes:
    """Canonical form of the subtree at ``node`` (an element that may sit deep in a document).

    ``outer_xml_attributes`` stands in for ancestors that are no longer attached, e.g. when a signature
    element has been copied out of its document (signxml does that before checking SignedInfo).
    """
    method = CanonicalizationMethod(algorithm)
    exclusive = method.value.startswith(EXC_C14N)
    with_comments = method.value.endswith("#WithComments")
    inherited: dict[str, str] = {}
    if not exclusive:
        names = _INHERITED_11 if method.value.startswith(C14N_11) else _INHERITED_10
        context = {**(outer_xml_attributes or {}), **ancestor_xml_attributes(node)}
        if method.value.startswith(C14N_11) and f"{{{XML_NS}}}base" in context:
            raise UnsupportedXml("xml:base above a signed element is not supported with C14N 1.1")
        for name in names:
            key = f"{{{XML_NS}}}{name}"
            if key in context and key not in node.attrib:
                inherited[key] = context[key]
    if inherited:
        # A standalone copy keeps every in-scope namespace declaration on its apex, as inclusive C14N
        # of the subtree must; the inherited xml:* attributes are then set where C14N renders them.
        node = etree.fromstring(etree.tostring(node, with_tail=False), parser=safe_parser())
        for key, value in inherited.items():
            node.set(key, value)
    return etree.tostring(
        node,
        method="c14n",
        exclusive=exclusive,
        with_comments=with_comments,
        inclusive_ns_prefixes=inclusive_ns_prefixes if exclusive else None,
    )


def remove_keeping_tail(node: etree._Element) -> None:
    """Detach ``node`` but keep the text that follows it, which belongs to the parent's content."""
    parent = node.getparent()
    if parent is None:
        raise InvalidInput("cannot remove the document element")
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


class _InheritingC14nMixin:
    """Route signxml's canonicalization through :func:`canonicalize`."""

    outer_xml_attributes: dict[str, str] = {}

    def _c14n(
        self, nodes: Any, algorithm: CanonicalizationMethod, inclusive_ns_prefixes: Any = None
    ) -> bytes:
        if not isinstance(nodes, list):
            nodes = [nodes]
        out = b""
        for node in nodes:
            detached_signature = node.getroottree().getroot().tag == ds("Signature")
            out += canonicalize(
                node,
                algorithm.value,
                inclusive_ns_prefixes=inclusive_ns_prefixes,
                outer_xml_attributes=self.outer_xml_attributes if detached_signature else None,
            )
        return out


class EdcXadesSigner(_InheritingC14nMixin, XAdESSigner):
    """signxml's XAdES signer with the signing time given, one signing certificate and IssuerSerialV2."""

    def __init__(self, *, signing_time: dt.datetime, signing_certificate: x509.Certificate, **kwargs: Any):
        super().__init__(**kwargs)
        self._signing_time = signing_time
        self._signing_certificate = signing_certificate

    def add_signing_time(
        self, signed_signature_properties: Any, sig_root: Any, signing_settings: Any
    ) -> None:
        node = etree.SubElement(signed_signature_properties, xades("SigningTime"), nsmap=self.namespaces)
        node.text = self._signing_time.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def add_signing_certificate(
        self, signed_signature_properties: Any, sig_root: Any, signing_settings: Any
    ) -> None:
        # Only the seal certificate: the chain is in KeyInfo, and a verifier must be able to match
        # every listed certificate (signxml's own verifier rejects unknown ones).
        cert = self._signing_certificate
        nsmap = self.namespaces
        v2 = etree.SubElement(signed_signature_properties, xades("SigningCertificateV2"), nsmap=nsmap)
        cert_node = etree.SubElement(v2, xades("Cert"), nsmap=nsmap)
        digest = etree.SubElement(cert_node, xades("CertDigest"), nsmap=nsmap)
        etree.SubElement(digest, ds("DigestMethod"), nsmap=nsmap, Algorithm=SHA256)
        value = etree.SubElement(digest, ds("DigestValue"), nsmap=nsmap)
        value.text = base64.b64encode(cert.fingerprint(hashes.SHA256())).decode("ascii")
        issuer_serial = etree.SubElement(cert_node, xades("IssuerSerialV2"), nsmap=nsmap)
        issuer_serial.text = base64.b64encode(issuer_serial_der(cert)).decode("ascii")

    def _add_reference_to_signed_info(self, sig_root: Any, node_to_reference: Any, **attrs: str) -> None:
        # Unlike signxml, name the canonicalization explicitly: without a Transform a verifier must use
        # C14N 1.0, and the reference would only verify where both happen to agree.
        signed_info = self._find(sig_root, "SignedInfo")
        nsmap = self.namespaces
        reference = etree.SubElement(signed_info, ds("Reference"), nsmap=nsmap)
        reference.set("URI", f"#{node_to_reference.get('Id')}")
        for name, value in attrs.items():
            reference.set(name, value)
        transforms = etree.SubElement(reference, ds("Transforms"), nsmap=nsmap)
        etree.SubElement(transforms, ds("Transform"), nsmap=nsmap, Algorithm=self.c14n_alg.value)
        etree.SubElement(reference, ds("DigestMethod"), nsmap=nsmap, Algorithm=self.digest_alg.value)
        digest_value = etree.SubElement(reference, ds("DigestValue"), nsmap=nsmap)
        digest = self._get_digest(self._c14n(node_to_reference, algorithm=self.c14n_alg), self.digest_alg)
        digest_value.text = base64.b64encode(digest).decode("ascii")


_C14N_URIS = frozenset(method.value for method in CanonicalizationMethod)


class EdcXadesVerifier(_InheritingC14nMixin, XAdESVerifier):
    """signxml's XAdES verifier with strict transforms and XPath Filter 2.0 ``subtract`` support."""

    def __init__(self, outer_xml_attributes: dict[str, str]) -> None:
        super().__init__()
        self.outer_xml_attributes = outer_xml_attributes

    def _apply_transforms(self, payload: Any, *, transforms_node: Any, signature: Any) -> bytes:
        transforms = [] if transforms_node is None else self._findall(transforms_node, "Transform")
        for position, transform in enumerate(transforms):
            algorithm = transform.get("Algorithm")
            if algorithm == ENVELOPED:
                if signature.getparent() is not None:
                    remove_keeping_tail(signature)
            elif algorithm == FILTER2:
                _subtract_filter(payload, transform)
            elif algorithm in _C14N_URIS:
                if position != len(transforms) - 1:
                    raise InvalidInput("transforms after canonicalization are not supported")
                return canonicalize(
                    payload, algorithm, inclusive_ns_prefixes=self._get_inclusive_ns_prefixes(transform)
                )
            else:
                raise InvalidInput(f"transform {algorithm} is not supported")
        # XML-DSig: a node-set left without explicit canonicalization is serialized with C14N 1.0.
        return canonicalize(payload, C14N_10)


def _subtract_filter(payload: etree._Element, transform: etree._Element) -> None:
    """XPath Filter 2.0 with only ``subtract`` filters that select ds:Signature elements.

    That is how enveloped signatures are excluded by the EU's EDC/DSS software. Anything else would
    leave parts of a credential unsealed, so it is refused rather than evaluated loosely.
    """
    filters = transform.findall(f"{{{FILTER2_NS}}}XPath")
    if not filters:
        raise InvalidInput("XPath Filter 2.0 transform without an XPath expression")
    for xpath in filters:
        kind = xpath.get("Filter")
        if kind != "subtract":
            raise InvalidInput(f"XPath Filter 2.0 filter {kind!r} is not supported (only 'subtract')")
        namespaces = {prefix: uri for prefix, uri in xpath.nsmap.items() if prefix}
        try:
            selected = payload.xpath(xpath.text or "", namespaces=namespaces)
        except etree.XPathError:
            raise InvalidInput("XPath Filter 2.0 expression cannot be evaluated") from None
        if not isinstance(selected, list) or not all(
            isinstance(node, etree._Element) and node.tag == ds("Signature") for node in selected
        ):
            raise InvalidInput("XPath Filter 2.0 may only subtract ds:Signature elements")
        for node in selected:
            remove_keeping_tail(node)


def certificate_digest_matches(cert: x509.Certificate, cert_node: etree._Element) -> bool | None:
    """Whether a xades:Cert's CertDigest names ``cert``; ``None`` for an unsupported digest method."""
    method = cert_node.find(f"{xades('CertDigest')}/{ds('DigestMethod')}")
    value = cert_node.find(f"{xades('CertDigest')}/{ds('DigestValue')}")
    if method is None or value is None or not value.text:
        return False
    algorithms: dict[str, hashes.HashAlgorithm] = {
        SHA256: hashes.SHA256(),
        "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384(),
        "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512(),
    }
    algorithm = algorithms.get(method.get("Algorithm", ""))
    if algorithm is None:
        return None
    try:
        wanted = base64.b64decode(value.text, validate=False)
    except ValueError:
        return False
    return wanted == cert.fingerprint(algorithm)

