"""EU trusted lists through pyHanko: a generated LOTL and two national lists, signed with test keys and
served over loopback HTTP; anchors, qualification and refusal of a tampered list."""
from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from pyhanko.sign.ades.qualified_asn1 import QcCertificateType, QcStatements
from trusted_list_factory import CA_QC, QTST, WITHDRAWN, Service, list_of_lists, national_list, sign, signer_identity

from bridge.cli import main
from sealer.jades import dumps, seal_jades
from sealer.keys import SoftwareKeySource
from sealer.validation import validate_seal
from sealer.validation.trusted_lists import TrustedListError, update

QC_STATEMENTS = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")


def _seal_certificate(ca_key: rsa.RSAPrivateKey, ca: x509.Certificate, *, qualified: bool) -> SoftwareKeySource:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Université Exemple"),
                                        x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "VATFR-12345678901"),
                                        x509.NameAttribute(NameOID.COMMON_NAME, "Université Exemple eSeal")]))
               .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=20))
               .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                              critical=True))
    if qualified:
        statements = QcStatements([{"statement_id": "qc_compliance"}, {"statement_id": "qc_sscd"},
                                   {"statement_id": "qc_type", "statement_info": QcCertificateType(["qct_eseal"])}])
        builder = builder.add_extension(x509.UnrecognizedExtension(QC_STATEMENTS, statements.dump()), critical=False)
    return SoftwareKeySource(key, builder.sign(ca_key, hashes.SHA256()))


def _ca(name: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"), x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=2))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


class _Lists:
    """Served lists, by path; ``files`` may be changed by a test (tampering)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.url = ""


@pytest.fixture
def europe(tmp_path: Path) -> Iterator[dict]:
    lists = _Lists()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = lists.files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/vnd.etsi.tsl+xml")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lists.url = f"http://127.0.0.1:{server.server_address[1]}"
    now = dt.datetime.now(dt.UTC)
    lotl_key, lotl_cert = signer_identity("Test LOTL signer")
    fr_key, fr_cert = signer_identity("Test FR scheme operator")
    be_key, be_cert = signer_identity("Test BE scheme operator")
    ca_key, ca = _ca("FR Qualified CA for eSeals")
    withdrawn_key, withdrawn = _ca("BE withdrawn CA")
    tsa_key, tsa = _ca("FR QTST unit")
    since = now - dt.timedelta(days=1)
    fr = national_list("FR", [Service(CA_QC, "FR QC CA", ca, since), Service(QTST, "FR QTST", tsa, since)], now)
    be = national_list("BE", [Service(CA_QC, "BE old CA", withdrawn, since, status=WITHDRAWN)], now)
    lists.files["/fr.xml"] = sign(fr, fr_key, fr_cert)
    lists.files["/be.xml"] = sign(be, be_key, be_cert)
    lotl = list_of_lists([("FR", f"{lists.url}/fr.xml", fr_cert), ("BE", f"{lists.url}/be.xml", be_cert)], now,
                         f"{lists.url}/lotl.xml", lotl_cert)
    lists.files["/lotl.xml"] = sign(lotl, lotl_key, lotl_cert)
    signers = tmp_path / "lotl-signers.pem"
    signers.write_bytes(lotl_cert.public_bytes(Encoding.PEM))
    yield {"lists": lists, "lotl_cert": lotl_cert, "signers": signers, "ca": (ca_key, ca),
           "withdrawn": (withdrawn_key, withdrawn), "folder": tmp_path / "trust"}
    server.shutdown()
    server.server_close()


def test_update_then_a_qualified_seal_is_recognised(europe: dict) -> None:
    result = CliRunner().invoke(main, ["trust", "update", "--dir", str(europe["folder"]), "--lotl-url",
                                       f"{europe['lists'].url}/lotl.xml", "--lotl-signers", str(europe["signers"])])
    assert result.exit_code == 0, result.output
    assert "2 trusted list(s) checked" in result.output and "FR" in result.output and "BE" in result.output
    qseal = _seal_certificate(*europe["ca"], qualified=True)
    sealed = dumps(seal_jades(b'{"a":1}', qseal))
    report = validate_seal(sealed, trust=europe["folder"], fetch=False)
    assert report.verdict == "valid", report.errors
    assert report.qualification["qualified_seal"] is True and report.qualification["type"] == "QC_ESEAL"
    plain = _seal_certificate(*europe["ca"], qualified=False)
    not_qualified = validate_seal(dumps(seal_jades(b'{"a":1}', plain)), trust=europe["folder"], fetch=False)
    assert not_qualified.verdict == "valid" and not_qualified.qualification["qualified_seal"] is False
    # A CA whose service was withdrawn is no anchor at all.
    old = _seal_certificate(*europe["withdrawn"], qualified=True)
    gone = validate_seal(dumps(seal_jades(b'{"a":1}', old)), trust=europe["folder"], fetch=False)
    assert gone.verdict == "indeterminate" and gone.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    cli = CliRunner().invoke(main, ["verify", "-", "--json", "--offline", "--trust", str(europe["folder"])],
                             input=sealed)
    assert '"qualified_seal": true' in cli.output


def test_tampered_national_list_is_refused_clearly(europe: dict) -> None:
    lists = europe["lists"]
    lists.files["/fr.xml"] = lists.files["/fr.xml"].replace(b"FR QC CA", b"FR QC CB")
    result = update(europe["folder"], lotl_url=f"{lists.url}/lotl.xml", lotl_signers=[europe["lotl_cert"]])
    assert [entry["territory"] for entry in result.lists if entry["kind"] == "tl"] == ["BE"]
    assert len(result.refused) == 1 and result.refused[0].startswith("FR (")


def test_tampered_lotl_is_refused_clearly(europe: dict) -> None:
    lists = europe["lists"]
    lists.files["/lotl.xml"] = lists.files["/lotl.xml"].replace(b"/be.xml", b"/bx.xml")
    with pytest.raises(TrustedListError, match="List of Trusted Lists .* is refused: its signature"):
        update(europe["folder"], lotl_url=f"{lists.url}/lotl.xml", lotl_signers=[europe["lotl_cert"]])
    lists.files["/lotl.xml"] = lists.files["/lotl.xml"].replace(b"/bx.xml", b"/be.xml")
    with pytest.raises(TrustedListError, match="is refused"):
        update(europe["folder"], lotl_url=f"{lists.url}/lotl.xml",
               lotl_signers=[signer_identity("Someone else")[1]])


def test_the_cache_is_checked_again_when_read(europe: dict) -> None:
    lists = europe["lists"]
    result = update(europe["folder"], lotl_url=f"{lists.url}/lotl.xml", lotl_signers=[europe["lotl_cert"]])
    fr = next(entry for entry in result.lists if entry.get("territory") == "FR")
    cached = europe["folder"] / fr["file"]
    cached.write_bytes(cached.read_bytes().replace(b"FR QC CA", b"FR QC CB"))
    report = validate_seal(dumps(seal_jades(b"{}", _seal_certificate(*europe["ca"], qualified=True))),
                           trust=europe["folder"], fetch=False)
    assert report.verdict == "indeterminate"
    assert any("trusted list of FR" in e and "refused" in e for e in report.errors)
