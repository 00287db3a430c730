"""Generated EU-style trusted lists for tests (NOT product code): a List of Trusted Lists and national
lists in ETSI TS 119 612 form, each signed (enveloped XAdES, signxml) with a test key.

pyHanko checks a list's signature at the current time, so the list signers' certificates are made
around the clock of the run, like everything else these tests compare with each other.
"""
from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.xades import XAdESSigner

NS = "http://uri.etsi.org/02231/v2#"
EXTRA = "http://uri.etsi.org/02231/v2/additionaltypes#"
CA_QC = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
QTST = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"
GRANTED = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
WITHDRAWN = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn"
FOR_ESEALS = "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/ForeSeals"
LOTL_RULE = "http://uri.etsi.org/TrstSvc/TrustedList/schemerules/EUlistofthelists"
EU_COMMON = "http://uri.etsi.org/TrstSvc/TrustedList/schemerules/EUcommon"
TSL_MIME = "application/vnd.etsi.tsl+xml"


def signer_identity(name: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A list signer (scheme operator) certificate, valid around now."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "EU"), x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _el(parent: etree._Element, tag: str, text: str | None = None, ns: str = NS, **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, f"{{{ns}}}{tag}", **attrs)
    if text is not None:
        node.text = text
    return node


def _name(parent: etree._Element, tag: str, text: str) -> None:
    holder = _el(parent, tag)
    _el(holder, "Name", text, **{"{http://www.w3.org/XML/1998/namespace}lang": "en"})


def _b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii")


def _scheme(root: etree._Element, territory: str, issued: dt.datetime) -> etree._Element:
    info = _el(root, "SchemeInformation")
    _el(info, "TSLVersionIdentifier", "5")
    _el(info, "TSLSequenceNumber", "1")
    _el(info, "TSLType", "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric")
    _name(info, "SchemeOperatorName", f"Test scheme operator {territory}")
    uris = _el(info, "SchemeInformationURI")
    _el(uris, "URI", "https://scheme.test/info", **{"{http://www.w3.org/XML/1998/namespace}lang": "en"})
    _el(info, "SchemeTerritory", territory)
    _el(info, "ListIssueDateTime", issued.strftime("%Y-%m-%dT%H:%M:%SZ"))
    nxt = _el(info, "NextUpdate")
    _el(nxt, "dateTime", (issued + dt.timedelta(days=180)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return info


@dataclass
class Service:
    kind: str  # CA_QC or QTST
    name: str
    certificate: x509.Certificate
    since: dt.datetime
    status: str = GRANTED
    for_eseals: bool = True


def national_list(territory: str, services: list[Service], issued: dt.datetime) -> etree._Element:
    root = etree.Element(f"{{{NS}}}TrustServiceStatusList", nsmap={None: NS}, TSLTag="http://uri.etsi.org/19612/TSLTag",
                         Id=f"tsl-{territory}")
    _scheme(root, territory, issued)
    providers = _el(root, "TrustServiceProviderList")
    provider = _el(providers, "TrustServiceProvider")
    tsp_info = _el(provider, "TSPInformation")
    _name(tsp_info, "TSPName", f"Test QTSP {territory}")
    tsp_services = _el(provider, "TSPServices")
    for service in services:
        info = _el(_el(tsp_services, "TSPService"), "ServiceInformation")
        _el(info, "ServiceTypeIdentifier", service.kind)
        _name(info, "ServiceName", service.name)
        _el(_el(_el(info, "ServiceDigitalIdentity"), "DigitalId"), "X509Certificate", _b64(service.certificate))
        _el(info, "ServiceStatus", service.status)
        _el(info, "StatusStartingTime", service.since.strftime("%Y-%m-%dT%H:%M:%SZ"))
        if service.kind == CA_QC and service.for_eseals:
            ext = _el(_el(info, "ServiceInformationExtensions"), "Extension", Critical="false")
            asi = _el(ext, "AdditionalServiceInformation")
            _el(asi, "URI", FOR_ESEALS, **{"{http://www.w3.org/XML/1998/namespace}lang": "en"})
    return root


def list_of_lists(pointers: list[tuple[str, str, x509.Certificate]], issued: dt.datetime,
                  self_url: str, self_signer: x509.Certificate) -> etree._Element:
    """``pointers``: (territory, location, signer certificate) of each national list."""
    root = etree.Element(f"{{{NS}}}TrustServiceStatusList", nsmap={None: NS, "ns3": EXTRA},
                         TSLTag="http://uri.etsi.org/19612/TSLTag", Id="lotl")
    info = _scheme(root, "EU", issued)
    others = _el(info, "PointersToOtherTSL")
    for territory, location, signer, rules in [("EU", self_url, self_signer, LOTL_RULE),
                                               *[(t, loc, s, EU_COMMON) for t, loc, s in pointers]]:
        pointer = _el(others, "OtherTSLPointer")
        identities = _el(pointer, "ServiceDigitalIdentities")
        _el(_el(_el(identities, "ServiceDigitalIdentity"), "DigitalId"), "X509Certificate", _b64(signer))
        _el(pointer, "TSLLocation", location)
        extra = _el(pointer, "AdditionalInformation")
        community = _el(_el(extra, "OtherInformation"), "SchemeTypeCommunityRules")
        _el(community, "URI", rules, **{"{http://www.w3.org/XML/1998/namespace}lang": "en"})
        _el(_el(extra, "OtherInformation"), "SchemeTerritory", territory)
        _el(_el(extra, "OtherInformation"), "MimeType", TSL_MIME, ns=EXTRA)
    return root


def sign(root: etree._Element, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> bytes:
    signer = XAdESSigner(signature_algorithm=SignatureMethod.RSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256)
    signed = signer.sign(root, key=key, cert=[cert])
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
