"""A real, minimal RFC 3161 Time-Stamp Authority on loopback, for tests only (NOT product code).

It parses TimeStampReq with asn1crypto and answers a CMS SignedData TimeStampToken signed with a key and
certificate (timeStamping EKU, critical) created here, so the client in ``sealer.timestamps`` is exercised over
real HTTP against real DER. ``mode`` switches to the failure answers a client must handle.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import threading
import time
from dataclasses import dataclass, field

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def make_tsa_identity(
    *, eku: bool = True, key_type: str = "RSA"
) -> tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed TSA certificate; with ``eku`` it carries the critical timeStamping EKU."""
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if key_type == "RSA" else ec.generate_private_key(ec.SECP256R1())
    )
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "LU"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Loopback Test TSA")])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
    )
    if eku:
        usage = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING])
        builder = builder.add_extension(usage, critical=True)
    return key, builder.sign(key, hashes.SHA256())


@dataclass
class LoopbackTsa:
    """The TSA identity and behaviour; ``url`` is set once :func:`serve` started it.

    ``mode``: ok, reject (PKIStatus rejection), wrong_nonce, wrong_imprint, bad_signature, http_500,
    garbage (not a TimeStampResp), wrong_content_type, trickle (answers one byte every half second while
    the mode lasts: a hung authority that no per-read client timeout notices).
    """

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    mode: str = "ok"
    url: str = ""
    requests_seen: int = 0
    gen_time: dt.datetime | None = None
    delay: float = 0.0  # seconds each answer waits, like a TSA across the network
    in_flight: int = 0
    most_in_flight: int = 0  # the most requests this TSA was answering at once
    _serial: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, body: bytes) -> bytes:
        request = tsp.TimeStampReq.load(body)
        request.native  # noqa: B018 - parse fully: malformed DER must fail here, not later
        with self._lock:
            self.requests_seen += 1
            self._serial += 1
            serial = self._serial
        if self.mode == "reject":
            status = tsp.PKIStatusInfo({"status": "rejection", "status_string": ["policy refuses"],
                                        "fail_info": {"unaccepted_policy"}}).dump()
            return core.Sequence.load(b"\x30" + _der_length(len(status)) + status).dump()
        imprint = request["message_imprint"]
        hashed = imprint["hashed_message"].native
        if self.mode == "wrong_imprint":
            hashed = hashlib.sha256(b"something else").digest()
        nonce = request["nonce"].native
        if self.mode == "wrong_nonce" and nonce is not None:
            nonce += 1
        gen_time = (self.gen_time or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        info = tsp.TSTInfo({
            "version": "v1",
            "policy": "1.3.6.1.4.1.99999.1",
            "message_imprint": {"hash_algorithm": imprint["hash_algorithm"], "hashed_message": hashed},
            "serial_number": serial,
            "gen_time": gen_time,
            "nonce": nonce,
            "tsa": asn1_x509.GeneralName(name="directory_name", value=self._asn1_cert().subject),
        })
        token = self._sign(info)
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()

    def _asn1_cert(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.certificate.public_bytes(Encoding.DER))

    def _sign(self, info: tsp.TSTInfo) -> cms.ContentInfo:
        content = info.dump()
        cert = self._asn1_cert()
        cert_der = cert.dump()
        attrs = cms.CMSAttributes([
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(content).digest()]}),
            cms.CMSAttribute({"type": "signing_certificate_v2", "values": [tsp.SigningCertificateV2({
                "certs": [{"hash_algorithm": {"algorithm": "sha256"},
                           "cert_hash": hashlib.sha256(cert_der).digest()}]})]}),
        ])
        to_sign = attrs.dump()
        if isinstance(self.key, rsa.RSAPrivateKey):
            signature = self.key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
            sig_alg = "sha256_rsa"
        else:
            signature = self.key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
            sig_alg = "sha256_ecdsa"
        if self.mode == "bad_signature":
            signature = signature[:-1] + bytes([signature[-1] ^ 1])
        signer_info = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier(name="issuer_and_serial_number", value={
                "issuer": cert.issuer, "serial_number": cert.serial_number}),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": attrs,
            "signature_algorithm": {"algorithm": sig_alg},
            "signature": signature,
        })
        signed_data = cms.SignedData({
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(content)},
            "certificates": [cert],
            "signer_infos": [signer_info],
        })
        return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})


def serve(tsa: LoopbackTsa) -> http.server.ThreadingHTTPServer:
    """Start ``tsa`` on 127.0.0.1 at a free port; the caller must ``shutdown()`` the returned server."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with tsa._lock:
                tsa.in_flight += 1
                tsa.most_in_flight = max(tsa.most_in_flight, tsa.in_flight)
            try:
                if tsa.delay:
                    time.sleep(tsa.delay)
                self._answer(body)
            finally:
                with tsa._lock:
                    tsa.in_flight -= 1

        def _answer(self, body: bytes) -> None:
            if tsa.mode == "trickle":
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                while tsa.mode == "trickle":
                    self.wfile.write(b"\x30")
                    self.wfile.flush()
                    time.sleep(0.5)
                return
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self._reply(415, "text/plain", b"expected application/timestamp-query")
            elif tsa.mode == "http_500":
                self._reply(500, "text/plain", b"internal error")
            elif tsa.mode == "garbage":
                self._reply(200, "application/timestamp-reply", b"\x30\x03\x02\x01")
            else:
                try:
                    answer = tsa.answer(body)
                except ValueError:
                    self._reply(400, "text/plain", b"bad request")
                    return
                kind = "text/html" if tsa.mode == "wrong_content_type" else "application/timestamp-reply"
                self._reply(200, kind, answer)

        def _reply(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence test output
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tsa.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw
