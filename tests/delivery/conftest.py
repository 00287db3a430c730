"""Fixtures for the delivery tests: a real aiosmtpd server on loopback, TLS material, sample data."""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fakes.wallet import WalletStub

SMTP_USER = "bridge"
SMTP_PASSWORD = "pw-Zq8!never-logged"


@dataclass
class Received:
    """One message as the SMTP server got it, plus how the session was established."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    tls: bool
    authenticated: bool
    peer: Any = None  # the client's (address, port): tells connections apart while they are open

    def parsed(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]


@dataclass
class RecordingHandler:
    """aiosmtpd handler keeping what arrived; ``answers`` maps a recipient to a canned RCPT reply."""

    received: list[Received] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    data_answer: str | None = None
    connections: int = 0  # TCP connections accepted (counted by the controller)
    rcpt_calls: int = 0
    mail_answers: list[str] = field(default_factory=list)  # canned MAIL replies, used up one per MAIL
    hang_up_after_data: bool = False  # close the connection right after answering 250 to DATA
    hang_up_before_data_reply: bool = False  # keep the message, then close without answering it
    quits: int = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if self.mail_answers:
            return self.mail_answers.pop(0)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        self.rcpt_calls += 1
        if address in self.answers:
            return self.answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_answer:
            return self.data_answer
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                raw=envelope.original_content or envelope.content,
                tls=session.ssl is not None,
                authenticated=bool(session.authenticated),
                peer=session.peer,
            )
        )
        if self.hang_up_before_data_reply:
            server.transport.close()
        elif self.hang_up_after_data:
            server.loop.call_soon(server.transport.close)  # after the 250 below is written
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802
        self.quits += 1
        return "221 Bye"


class EphemeralController(Controller):
    """A Controller bound to port 0: the kernel picks a free port, read back once listening."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

    def factory(self):  # called once per accepted TCP connection (STARTTLS keeps the same one)
        self.handler.connections += 1
        return super().factory()


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1/localhost, generated for this test run."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edc-bridge test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return TlsFiles(cert_path, key_path)


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def smtp_server_factory() -> Iterator[Any]:
    """Start aiosmtpd servers with the given options; all are stopped after the test."""
    controllers: list[Controller] = []

    def start(*, auth: bool = False, **kwargs: Any) -> SmtpServer:
        handler = RecordingHandler()
        if auth:
            kwargs.update(authenticator=_authenticator, auth_required=True)
        controller = EphemeralController(handler, hostname="127.0.0.1", port=0, **kwargs)
        controller.start()
        handler.connections = 0  # not the controller's own start-up probe
        controllers.append(controller)
        return SmtpServer("127.0.0.1", controller.port, handler)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: Any) -> SmtpServer:
    return smtp_server_factory()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections but never says anything (a hung server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def make_sealed(credential_id: str | None = None) -> bytes:
    """Bytes shaped like an EDC JAdES file (enveloping JWS JSON with the credential as payload)."""
    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1", "http://data.europa.eu/snb/model/context/edc-ap"],
        "id": credential_id or f"urn:credential:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
    }
    payload = json.dumps(credential, ensure_ascii=False, indent=1)
    sealed = {"payload": payload, "signatures": [{"protected": "eyJhbGciOiJSUzI1NiJ9", "signature": "c2ln"}]}
    return json.dumps(sealed, ensure_ascii=False).encode("utf-8") + b"\n"


@pytest.fixture
def sealed_bytes() -> bytes:
    return make_sealed()


@pytest.fixture
def summary() -> dict[str, Any]:
    return {
        "learner": {"name": "Camille Martin"},
        "issuer": {"name": {"en": "Example University", "fr": "Université Exemple"}},
        "title": {"en": "Data Analysis with Python", "fr": "Analyse de données avec Python"},
        "issued": "2026-11-20T10:00:00Z",
        "achievements": [
            {
                "title": {"en": "Data Analysis with Python", "fr": "Analyse de données avec Python"},
                "ects": 2.5,
                "eqf": 6,
                "isced_f": "0613",
                "skills": [
                    {
                        "uri": "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4",
                        "label": {"en": "adapt to change", "fr": "s’adapter au changement"},
                    }
                ],
                "outcomes": [{"en": "Adapt to change at work", "fr": "S'adapter au changement"}],
                "grade": {"score": 87.5, "max": 100, "text": {"fr": "Très bien", "en": "Very good"}},
            }
        ],
    }


@pytest.fixture
def wallet_stub() -> Iterator[WalletStub]:
    with WalletStub() as stub:
        yield stub
