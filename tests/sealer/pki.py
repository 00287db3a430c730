"""A small test PKI around a pinned time, with a real OCSP responder and CRL server on loopback.

For tests only (NOT product code). Everything is made around ``PINNED`` — never around the clock — so
the tests give the same answers on any date: a root CA, an eSeal certificate naming the responder
(AIA OCSP) and the CRL (CRL distribution point), a TSA certificate under the same root, and a
responder built with ``cryptography``'s OCSP builders whose answers (good, revoked, unknown, or no
answer at all) the test sets per certificate.
"""
from __future__ import annotations

import datetime as dt
import http.server
import threading
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from sealer.keys import SoftwareKeySource

PINNED = dt.datetime(2031, 3, 14, 9, 26, 53, tzinfo=dt.UTC)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(cn: str, org_id: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, cn)]
    if org_id:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, org_id))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


@dataclass
class Responder:
    """What the loopback OCSP responder answers: ``status[serial]`` is good, revoked or unknown;
    ``down`` makes it answer HTTP 503. ``revoked_at`` dates revocations."""

    root: x509.Certificate
    root_key: rsa.RSAPrivateKey
    at: dt.datetime
    status: dict[int, str] = field(default_factory=dict)
    revoked_at: dict[int, dt.datetime] = field(default_factory=dict)
    down: bool = False
    asked: int = 0
    url: str = ""

    def ocsp(self, body: bytes) -> bytes:
        request = ocsp.load_der_ocsp_request(body)
        self.asked += 1
        state = self.status.get(request.serial_number, "unknown")
        cert_status = {"good": ocsp.OCSPCertStatus.GOOD, "revoked": ocsp.OCSPCertStatus.REVOKED,
                       "unknown": ocsp.OCSPCertStatus.UNKNOWN}[state]
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash, issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number, algorithm=request.hash_algorithm, cert_status=cert_status,
            this_update=self.at, next_update=self.at + dt.timedelta(days=7),
            revocation_time=self.revoked_at.get(request.serial_number) if state == "revoked" else None,
            revocation_reason=x509.ReasonFlags.key_compromise if state == "revoked" else None,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH, self.root)
        return builder.sign(self.root_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def crl(self) -> bytes:
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.root.subject)
                   .last_update(self.at).next_update(self.at + dt.timedelta(days=7))
                   .add_extension(x509.CRLNumber(1), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.root_key.public_key()),
                                  critical=False))
        for serial, state in self.status.items():
            if state == "revoked":
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder().serial_number(serial)
                    .revocation_date(self.revoked_at.get(serial, self.at)).build())
        return builder.sign(self.root_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def serve(responder: Responder) -> http.server.ThreadingHTTPServer:
    """Serve ``responder`` on 127.0.0.1 (``/ocsp`` POST, ``/root.crl`` GET); caller shuts it down."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if responder.down:
                self._reply(503, "text/plain", b"down")
                return
            self._reply(200, "application/ocsp-response", responder.ocsp(body))

        def do_GET(self) -> None:  # noqa: N802
            if responder.down:
                self._reply(503, "text/plain", b"down")
                return
            self._reply(200, "application/pkix-crl", responder.crl())

        def _reply(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    responder.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Pki:
    root: x509.Certificate
    root_key: rsa.RSAPrivateKey
    seal: SoftwareKeySource
    tsa_certificate: x509.Certificate
    tsa_key: rsa.RSAPrivateKey


def make_pki(base_url: str, *, at: dt.datetime = PINNED, seal_days: int = 30,
             org_id: str = "VATFR-00000000000", ocsp_url: bool = True, crl_url: bool = False) -> Pki:
    """Root (10 years), eSeal (``seal_days``, naming the responder at ``base_url``), TSA (10 years)."""
    root_key = _key()
    root_name = _name("Test Root CA")
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(at - dt.timedelta(days=365)).not_valid_after(at + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))

    def leaf(name: x509.Name, key: rsa.RSAPrivateKey, days: int, eku: x509.ObjectIdentifier | None,
             ocsp_too: bool, crl_too: bool) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(name).issuer_name(root_name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(at - dt.timedelta(days=1)).not_valid_after(at + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                                  critical=True)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                                  critical=False))
        if eku is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
        if ocsp_too:
            builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(f"{base_url}/ocsp"))]),
                critical=False)
        if crl_too:
            builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier(f"{base_url}/root.crl")], None, None, None)]), critical=False)
        return builder.sign(root_key, hashes.SHA256())

    seal_key = _key()
    seal_cert = leaf(_name("Université Exemple eSeal", org_id), seal_key, seal_days, None, ocsp_url, crl_url)
    tsa_key = _key()
    tsa_cert = leaf(_name("Test TSA"), tsa_key, 3650, ExtendedKeyUsageOID.TIME_STAMPING, False, False)
    return Pki(root, root_key, SoftwareKeySource(seal_key, seal_cert), tsa_cert, tsa_key)
