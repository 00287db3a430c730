"""XAdES sealing and verification: structure, xmlsec1 as independent verifier, tampering and wrapping."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from xades_support import DS, NS, XADES, edit, xmlsec1_verify

from sealer import timestamps
from sealer.certificates import IssuerSerial, issuer_serial_der
from sealer.keys import KeySourceError, Pkcs12KeySource
from sealer.keys.devseal import create_dev_seal
from sealer.keys.pkcs11 import Pkcs11KeySource
from sealer.validation import validate_seal
from sealer.xades import XadesError, parse_xades, seal_xades
from sealer.xades.dsig import C14N_11, EdcXadesSigner, canonicalize
from sealer.xades.key_adapter import signing_adapter

SIGNED_AT = dt.datetime(2026, 11, 20, 10, 0, 0, tzinfo=dt.UTC)
AT = SIGNED_AT + dt.timedelta(hours=1)  # every validation happens at this pinned time, never the clock's


def check(data: bytes, **kwargs):
    """Validate at the pinned time, offline."""
    kwargs.setdefault("at", AT)
    return validate_seal(data, fetch=False, **kwargs)
# xml:lang on the root is inherited by every signed subtree under C14N; non-ASCII text and indentation
# check that the canonical forms agree with xmlsec1's byte for byte.
CREDENTIAL = """<?xml version="1.0" encoding="UTF-8"?>
<credential xmlns="http://data.europa.eu/snb/model/elm/" xml:lang="fr" id="urn:credential:42">
  <title>Analyse de données avec Python</title>
  <learner><givenName>Camille</givenName><familyName>Martin</familyName></learner>
  <grade>Très bien</grade>
</credential>
""".encode()


@pytest.fixture(scope="module")
def seals(tmp_path_factory):
    out = {}
    for key_type in ("RSA", "EC"):
        seal = create_dev_seal(tmp_path_factory.mktemp(key_type), key_type=key_type,
                               organization_identifier="VATFR-12345678901", organisation="Université Exemple",
                               now=SIGNED_AT)
        out[key_type] = (seal, Pkcs12KeySource(seal.pkcs12_path, seal.password))
    return out


@pytest.fixture(params=["RSA", "EC"])
def seal(request, seals):
    return seals[request.param]


@pytest.fixture(scope="module")
def sealed_rsa(seals) -> bytes:
    return seal_xades(CREDENTIAL, seals["RSA"][1], signing_time=SIGNED_AT)


def _ca(seal_files) -> x509.Certificate:
    return x509.load_pem_x509_certificate(seal_files.ca_certificate_path.read_bytes())


def test_round_trip_reports_signer_time_and_exact_payload(seal) -> None:
    files, key = seal
    sealed = seal_xades(CREDENTIAL, key, signing_time=SIGNED_AT)
    report = check(sealed, trust=[_ca(files)])
    assert report.errors == []
    assert report.signature_intact and report.chain_trusted is True and report.ok
    assert report.format == "XAdES" and report.level == "B-B"
    assert report.algorithm == ("RS256" if key.key_type == "RSA" else "ES256")
    assert report.signing_time == SIGNED_AT
    assert report.certificate.organization_identifier == "VATFR-12345678901"
    assert report.certificate.organization_name == "Université Exemple"
    # The payload is the canonical form of the document as it was before sealing.
    assert report.payload == etree.tostring(etree.fromstring(CREDENTIAL), method="c14n")


def test_trust_is_none_without_anchors_and_false_with_foreign_ones(sealed_rsa, tmp_path) -> None:
    assert check(sealed_rsa).chain_trusted is None
    other = create_dev_seal(tmp_path, key_type="EC")
    report = check(sealed_rsa, trust=other.ca_certificate_path)  # a file path works too
    assert report.signature_intact and report.chain_trusted is False and not report.ok
    assert report.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert any("no chain" in e for e in report.errors)


def test_seal_structure_is_xades_baseline_b(seals, sealed_rsa) -> None:
    cert = seals["RSA"][1].certificate
    root = etree.fromstring(sealed_rsa)
    signature = root[-1]
    assert signature.tag == f"{{{DS}}}Signature"  # appended to the root element
    assert root.xpath("count(//ds:Signature)", namespaces=NS) == 1
    info = signature.find("ds:SignedInfo", NS)
    assert info.find("ds:CanonicalizationMethod", NS).get("Algorithm") == C14N_11
    refs = info.findall("ds:Reference", NS)
    assert refs[0].get("URI") == ""
    assert [t.get("Algorithm") for t in refs[0].findall("ds:Transforms/ds:Transform", NS)] == [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature", C14N_11]
    props = signature.find("ds:Object/xades:QualifyingProperties/xades:SignedProperties", NS)
    props_ref = [r for r in refs if r.get("URI") == "#" + props.get("Id")]
    assert props_ref[0].get("Type") == "http://uri.etsi.org/01903#SignedProperties"
    assert props.findtext("xades:SignedSignatureProperties/xades:SigningTime", namespaces=NS) == \
        "2026-11-20T10:00:00Z"
    cert_node = props.find("xades:SignedSignatureProperties/xades:SigningCertificateV2/xades:Cert", NS)
    assert cert_node.find("xades:CertDigest/ds:DigestMethod", NS).get("Algorithm") == \
        "http://www.w3.org/2001/04/xmlenc#sha256"
    digest = base64.b64decode(cert_node.findtext("xades:CertDigest/ds:DigestValue", namespaces=NS))
    assert digest == hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()
    issuer_serial_b64 = cert_node.findtext("xades:IssuerSerialV2", namespaces=NS)
    issuer_serial = IssuerSerial.load(base64.b64decode(issuer_serial_b64))
    assert issuer_serial["serial_number"].native == cert.serial_number
    assert issuer_serial["issuer"][0].chosen == asn1_x509.Name.load(cert.issuer.public_bytes())
    keyinfo = signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    assert base64.b64decode(keyinfo[0].text) == cert.public_bytes(Encoding.DER)
    assert signature.find("ds:KeyInfo/ds:KeyValue", NS) is None  # no second, ambiguous key


def test_xmlsec1_verifies_our_seal_and_its_chain(seal, tmp_path) -> None:
    files, key = seal
    sealed = seal_xades(CREDENTIAL, key, signing_time=SIGNED_AT)
    ok, output = xmlsec1_verify(sealed, tmp_path, trusted_pem=files.ca_certificate_path, at=AT)
    assert ok, output
    assert "References (ok/all): 3/3" in output


def _set_text(root) -> None:
    root.find("{*}grade").text = "Passable"


def _set_signing_time(root) -> None:
    root.find(".//xades:SigningTime", NS).text = "2026-11-19T10:00:00Z"


def _append_credential(root) -> None:
    extra = etree.SubElement(root, "{http://data.europa.eu/snb/model/elm/}grade")
    extra.text = "Excellent"


def _wrap_in_new_root(root) -> None:
    # Classic wrapping: the signed document becomes the child of an attacker-made root.
    original = etree.fromstring(etree.tostring(root))
    for child in list(root):
        root.remove(child)
    root.tag = "{http://data.europa.eu/snb/model/elm/}credentials"
    root.append(original)


TAMPERING = {
    "text node": _set_text,
    "SigningTime": _set_signing_time,
    "extra credential element": _append_credential,
    "wrapped in a new root": _wrap_in_new_root,
}


@pytest.mark.parametrize("change", TAMPERING.values(), ids=TAMPERING.keys())
def test_tampering_is_detected_by_us_and_by_xmlsec1(seals, sealed_rsa, tmp_path, change) -> None:
    tampered = edit(sealed_rsa, change)
    report = check(tampered, trust=[_ca(seals["RSA"][0])])
    assert not report.signature_intact and not report.ok
    assert report.payload == b""  # nothing unsealed is ever handed out as the credential
    assert any("does not verify" in e for e in report.errors), report.errors
    ok, output = xmlsec1_verify(tampered, tmp_path, trusted_pem=seals["RSA"][0].ca_certificate_path, at=AT)
    assert not ok, output


def test_swapped_keyinfo_certificate_is_detected(seals, sealed_rsa, tmp_path) -> None:
    intruder = seals["EC"][1].certificate  # another organisation's valid certificate

    def swap(root) -> None:
        node = root.find(".//ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
        node.text = base64.b64encode(intruder.public_bytes(Encoding.DER)).decode()

    tampered = edit(sealed_rsa, swap)
    report = check(tampered)
    assert not report.signature_intact
    assert "the SigningCertificateV2 digest does not match any KeyInfo certificate" in report.errors
    # The report says whose certificate the document presented, not whose it claims to be.
    assert report.certificate.serial_number == intruder.serial_number
    ok, output = xmlsec1_verify(tampered, tmp_path, trusted_pem=seals["EC"][0].ca_certificate_path, at=AT)
    assert not ok, output


def test_signature_over_one_element_cannot_vouch_for_the_document(seals, tmp_path) -> None:
    """A seal that references only one credential element leaves room for unsigned siblings."""
    files, key = seals["RSA"]
    doc = etree.fromstring(
        b'<credentials xmlns="urn:x"><credential Id="c1"><grade>C</grade></credential></credentials>')
    signer = EdcXadesSigner(signing_time=SIGNED_AT, signing_certificate=key.certificate,
                            c14n_algorithm=C14N_11)
    signed = signer.sign(doc, key=signing_adapter(key), cert=key.chain, reference_uri=["#c1"],
                         always_add_key_value=False)
    evil = etree.SubElement(signed, "{urn:x}credential")
    etree.SubElement(evil, "{urn:x}grade").text = "A+"
    wrapped = etree.tostring(signed)
    # Plain XML-DSig is satisfied: the referenced element is intact ...
    ok, output = xmlsec1_verify(wrapped, tmp_path, trusted_pem=files.ca_certificate_path,
                                id_elements=("urn:x:credential",), at=AT)
    assert ok, output
    # ... but the seal does not cover the credential as a whole, so we refuse it.
    report = check(wrapped)
    assert not report.signature_intact and report.payload == b""
    assert any("covers only part of the document" in e for e in report.errors), report.errors


def test_a_second_signature_is_refused(sealed_rsa) -> None:
    def duplicate(root) -> None:
        root.append(etree.fromstring(etree.tostring(root[-1])))

    report = check(edit(sealed_rsa, duplicate))
    assert not report.signature_intact
    assert report.errors == ["the document carries 2 ds:Signature elements; exactly one seal is expected"]


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE credential [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<credential><name>&secret;</name></credential>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<credential><name>&lol3;</name></credential>"""


@pytest.mark.parametrize("document", [XXE, LAUGHS], ids=["external entity", "entity expansion"])
def test_doctype_and_entities_are_refused(seals, sealed_rsa, document) -> None:
    with pytest.raises(XadesError, match="^xml: DOCTYPE declarations are not allowed"):
        seal_xades(document, seals["RSA"][1])
    # The same with a genuinely sealed document that someone prefixed with a DTD.
    body = sealed_rsa.split(b"?>", 1)[1]
    report = check(document.split(b"<credential>")[0] + body)
    assert not report.signature_intact
    assert report.errors == ["DOCTYPE declarations are not allowed (entity expansion and XXE protection)"]
    assert "root:" not in repr(report.to_dict())  # nothing of /etc/passwd was read


def test_bad_seal_input_names_the_argument(seals, sealed_rsa) -> None:
    key = seals["RSA"][1]
    with pytest.raises(XadesError, match=r"^xml: not well-formed XML \(line 1"):
        seal_xades(b"<credential><unclosed></credential>", key)
    with pytest.raises(XadesError, match="^xml: expected XML as bytes"):
        seal_xades("<credential/>", key)  # type: ignore[arg-type]
    with pytest.raises(XadesError, match="^signing_time: must be timezone-aware"):
        seal_xades(CREDENTIAL, key, signing_time=dt.datetime(2026, 1, 1))
    with pytest.raises(XadesError, match="^xml: the document already carries a ds:Signature"):
        seal_xades(sealed_rsa, key)
    with pytest.raises(XadesError, match="^xml: xml:base above a signed element is not supported"):
        seal_xades(b'<credential xml:base="https://example.org/"><a/></credential>', key)
    with pytest.raises(XadesError, match="^xml: processing instructions outside the root element"):
        seal_xades(b'<?xml-stylesheet href="show.xsl"?><credential/>', key)


def test_processing_instruction_beside_the_root_is_reported(sealed_rsa) -> None:
    body = sealed_rsa.split(b"?>", 1)[1]
    report = check(b'<?xml-stylesheet href="show.xsl"?>' + body)
    assert not report.signature_intact
    assert report.errors[0].startswith("processing instructions outside the root element are not supported")


def test_removing_any_part_of_the_signature_invalidates_it_without_raising(sealed_rsa) -> None:
    count = len(list(etree.fromstring(sealed_rsa)[-1].iter()))
    for index in range(1, count):  # every element below ds:Signature, one at a time
        root = etree.fromstring(sealed_rsa)
        node = list(root[-1].iter())[index]
        node.getparent().remove(node)
        report = check(etree.tostring(root))
        assert not report.signature_intact and report.errors, etree.QName(node).localname
        assert report.payload == b""


@pytest.mark.parametrize(("document", "error"), [
    (b"", "not well-formed XML (line 1"),
    (b"{\"not\": \"xml\"}", "not well-formed XML (line 1"),
    (b"<credential/>", "the document carries no ds:Signature"),
])
def test_unsealed_or_broken_input_gives_a_report_not_an_exception(document, error) -> None:
    report = parse_xades(document)
    assert not report.signature_intact and report.failures
    assert report.errors[0].startswith(error)


def test_unknown_or_weak_algorithms_are_reported(sealed_rsa) -> None:
    def method(uri):
        def change(root) -> None:
            root.find(".//ds:SignatureMethod", NS).set("Algorithm", uri)
        return change

    sha1 = check(edit(sealed_rsa, method("http://www.w3.org/2000/09/xmldsig#rsa-sha1")))
    assert not sha1.signature_intact and "RSA_SHA1 forbidden" in sha1.errors[0]
    unknown = check(edit(sealed_rsa, method("urn:example:homemade")))
    assert not unknown.signature_intact
    assert unknown.errors == ["the seal does not verify: Unrecognized SignatureMethod: urn:example:homemade"]


def _resign(root, key) -> bytes:
    """Sign SignedInfo again after editing it, as a signer who really wrote those references would."""
    info = root.find(".//ds:SignedInfo", NS)
    value = key.sign(canonicalize(info, C14N_11), "RS256")
    root.find(".//ds:SignatureValue", NS).text = base64.b64encode(value).decode()
    return etree.tostring(root)


def test_unknown_transforms_are_refused_not_skipped(seals) -> None:
    """signxml alone ignores transforms it does not know; a seal must not verify on a guess."""
    key = seals["RSA"][1]
    root = etree.fromstring(seal_xades(CREDENTIAL, key, signing_time=SIGNED_AT))
    transforms = root.find(".//ds:Reference/ds:Transforms", NS)
    transforms.insert(0, etree.Element(f"{{{DS}}}Transform",
                                       Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"))
    report = check(_resign(root, key))
    assert not report.signature_intact
    assert report.errors == [
        "the seal does not verify: transform http://www.w3.org/TR/1999/REC-xslt-19991116 is not supported"]


def test_issuer_serial_v2_must_name_the_sealing_certificate(seals) -> None:
    """Even when the signer signs it, an IssuerSerialV2 of another certificate is a broken XAdES rule."""
    key = seals["RSA"][1]
    other = seals["EC"][1].certificate
    root = etree.fromstring(seal_xades(CREDENTIAL, key, signing_time=SIGNED_AT))
    props = root.find(".//xades:SignedProperties", NS)
    props.find(".//xades:IssuerSerialV2", NS).text = base64.b64encode(issuer_serial_der(other)).decode()
    reference = root.find(".//ds:Reference[@Type]", NS)
    digest = hashlib.sha256(canonicalize(props, C14N_11)).digest()
    reference.find("ds:DigestValue", NS).text = base64.b64encode(digest).decode()
    report = check(_resign(root, key))
    assert not report.signature_intact and not report.ok
    assert report.errors == ["IssuerSerialV2 names a different certificate than the sealing certificate"]


@pytest.mark.parametrize(("kind", "xpath", "error"), [
    ("subtract", "/descendant::ds:Signature", None),
    ("subtract", "//elm:grade", "XPath Filter 2.0 may only subtract ds:Signature elements"),
    ("intersect", "/", "XPath Filter 2.0 filter 'intersect' is not supported (only 'subtract')"),
])
def test_xpath_filter2_subtracts_signatures_only(seals, kind, xpath, error) -> None:
    """EDC/DSS exclude the signature with XPath Filter 2.0; nothing else may be cut out of a seal."""
    key = seals["RSA"][1]
    root = etree.fromstring(seal_xades(CREDENTIAL, key, signing_time=SIGNED_AT))
    transforms = root.find(".//ds:Reference/ds:Transforms", NS)
    transforms[0].set("Algorithm", "http://www.w3.org/2002/06/xmldsig-filter2")
    f2 = etree.SubElement(transforms[0], "{http://www.w3.org/2002/06/xmldsig-filter2}XPath",
                          nsmap={"elm": "http://data.europa.eu/snb/model/elm/"}, Filter=kind)
    f2.text = xpath
    report = check(_resign(root, key))
    if error is None:
        assert report.signature_intact and report.errors == [], report.errors
        assert report.payload == etree.tostring(etree.fromstring(CREDENTIAL), method="c14n")
    else:
        assert not report.signature_intact
        assert report.errors == [f"the seal does not verify: {error}"]


def test_signing_adapter_only_signs(seals) -> None:
    adapter = signing_adapter(seals["RSA"][1])
    with pytest.raises(KeySourceError, match="can only sign"):
        adapter.private_numbers()
    with pytest.raises(KeySourceError, match="can only sign"):
        adapter.private_bytes(Encoding.PEM, None, None)  # type: ignore[arg-type]
    with pytest.raises(KeySourceError, match="SHA-256 only"):
        adapter.sign(b"x", padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - asserting refusal


def test_seal_with_keys_generated_on_a_pkcs11_token(softhsm, tmp_path) -> None:
    """The adapter path: the key never leaves SoftHSM2, signxml only ever calls KeySource.sign."""
    for name in ("rsa", "ec"):
        token_key = softhsm.keys[name]
        source = Pkcs11KeySource(softhsm.module, token_key.token_label, token_key.key_label,
                                 pin=softhsm.user_pin)
        # The token's test certificates are made around the clock of this run: sealed and checked at it.
        now = dt.datetime.now(dt.UTC)
        sealed = seal_xades(CREDENTIAL, source, signing_time=now)
        report = check(sealed, trust=[softhsm.ca_certificate], at=now + dt.timedelta(minutes=1))
        assert report.ok and report.chain_trusted, report.errors
        assert report.certificate.serial_number == token_key.certificate.serial_number
        ok, output = xmlsec1_verify(sealed, tmp_path, trusted_pem=softhsm.ca_certificate_path,
                                    at=now + dt.timedelta(minutes=1))
        assert ok, output



def _add_signature_timestamp(root, token: bytes) -> None:
    """Add a xades:SignatureTimeStamp (an unsigned property: no re-signing needed), as B-T seals have."""
    qualifying = root.find(".//xades:QualifyingProperties", NS)
    unsigned = etree.SubElement(qualifying, f"{{{XADES}}}UnsignedProperties")
    usp = etree.SubElement(unsigned, f"{{{XADES}}}UnsignedSignatureProperties")
    stamp = etree.SubElement(usp, f"{{{XADES}}}SignatureTimeStamp")
    etree.SubElement(stamp, f"{{{DS}}}CanonicalizationMethod", Algorithm=C14N_11)
    etree.SubElement(stamp, f"{{{XADES}}}EncapsulatedTimeStamp").text = base64.b64encode(token).decode()


def test_signature_timestamp_is_checked_against_the_signature_value(seals, loopback) -> None:
    key = seals["EC"][1]
    root = etree.fromstring(seal_xades(CREDENTIAL, key, signing_time=SIGNED_AT))
    loopback.gen_time = SIGNED_AT + dt.timedelta(minutes=1)  # the TSA's time follows the signing time
    value = canonicalize(root.find(".//ds:SignatureValue", NS), C14N_11)
    token = timestamps.request_timestamp(loopback.url, value)
    _add_signature_timestamp(root, token.der)
    report = check(etree.tostring(root), trust=[_ca(seals["EC"][0])])
    assert report.ok, report.errors
    assert report.level == "B-T"
    assert report.timestamps[0].time == token.gen_time and "Loopback Test TSA" in report.timestamps[0].tsa

    stale = etree.fromstring(seal_xades(CREDENTIAL, key, signing_time=SIGNED_AT))
    _add_signature_timestamp(stale, token.der)  # a genuine token, but over another signature value
    report = check(etree.tostring(stale))
    assert report.timestamps == [] and not report.ok
    assert report.errors == ["SignatureTimeStamp: timestamp imprint does not match the timestamped data"]


LEGACY_LIKE = (b'<?xml version="1.0" encoding="UTF-8"?>'
               b'<vp:verifiablePresentation xmlns:vp="http://data.europa.eu/snb/vp" xmlns="http://data.europa.eu/snb">'
               b'<vp:verifiableCredential><title xml:lang="fr">Dipl\xc3\xb4me</title></vp:verifiableCredential>'
               b'</vp:verifiablePresentation>')


def test_b_t_seal_inside_vp_proof_like_edc_legacy_files(seals, loopback, tmp_path) -> None:
    files, key = seals["RSA"]
    loopback.gen_time = SIGNED_AT + dt.timedelta(seconds=2)
    sealed = seal_xades(LEGACY_LIKE, key, tsa_url=loopback.url, signing_time=SIGNED_AT)
    root = etree.fromstring(sealed)
    signature = root.find("{http://data.europa.eu/snb/vp}proof/ds:Signature", NS)
    assert signature is not None and signature.get("Id") != "placeholder"
    report = check(sealed, trust=[_ca(files)])
    assert report.level == "B-T" and report.verdict == "valid", report.errors
    assert [t.kind for t in report.timestamps] == ["signature"] and report.timestamps[0].covers_data
    ok, output = xmlsec1_verify(sealed, tmp_path, trusted_pem=files.ca_certificate_path, at=AT)
    assert ok, output
    with pytest.raises(XadesError, match="already carries a ds:Signature"):
        seal_xades(sealed, key)
