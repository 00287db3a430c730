"""Test signers for agreement PDFs (NOT product code): a root CA and two signers' certificates made
around a pinned time, and PAdES signing with pyHanko as the partners' signing tools do."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

PINNED = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)  # the sidecar tests' pinned clock


def _name(cn: str, org: str, org_id: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if org_id:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, org_id))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@dataclass
class TestPki:
    root: x509.Certificate
    root_key: ec.EllipticCurvePrivateKey

    @classmethod
    def make(cls) -> TestPki:
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name("Test Signing Root", "Test Trust Services")
        root = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(PINNED - dt.timedelta(days=365)).not_valid_after(PINNED + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), True)
                .sign(key, hashes.SHA256()))
        return cls(root, key)

    def signer(self, cn: str, org: str, org_id: str | None = None) -> signers.SimpleSigner:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(_name(cn, org, org_id)).issuer_name(self.root.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(PINNED - dt.timedelta(days=30)).not_valid_after(PINNED + dt.timedelta(days=730))
                .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), True)
                .sign(self.root_key, hashes.SHA256()))
        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        return signers.SimpleSigner(signing_cert=_asn1(cert), signing_key=asn1_keys.PrivateKeyInfo.load(der),
                                    cert_registry=SimpleCertificateStore.from_certs([_asn1(self.root)]))

    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)


def sign(pdf: bytes, signer: signers.SimpleSigner, field_name: str) -> bytes:
    """``pdf`` with one more PAdES signature (an incremental update), as a signing tool adds it."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(field_name=field_name, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=signer).sign_pdf(writer, output=out)
    return out.getvalue()
