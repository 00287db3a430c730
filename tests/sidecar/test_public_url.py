"""EDC_PUBLIC_URL is sealed into credentials: an unset or loopback one stops sealing with a real seal."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from bridge.app import public_url_notice
from bridge.config import Settings
from bridge.public_url import problem

from .conftest import example_completion, make_sidecar


def _real_seal(tmp_path: Path) -> Path:
    """A seal certificate that is not the development seal's (no NOT QUALIFIED marker)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Université Exemple"),
                      x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "VATFR-12345678901"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Université Exemple eSeal")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    path = tmp_path / "real.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"real", key, cert, None,
                                                           serialization.BestAvailableEncryption(b"pw")))
    return path


@pytest.mark.parametrize(("url", "ok"), [
    (None, False), ("", False), ("http://127.0.0.1:8080", False), ("http://localhost", False),
    ("https://edc.localhost/", False), ("http://[::1]:8080", False), ("http://0.0.0.0", False),
    ("ftp://edc.univ.example", False), ("https://edc.univ.example", True), ("http://sidecar.test", True),
])
def test_what_counts_as_a_public_url(url: str | None, ok: bool) -> None:
    env = {} if url is None else {"EDC_PUBLIC_URL": url}
    assert (problem(env) is None) is ok


def test_real_seal_with_a_loopback_url_is_refused_loudly(tmp_path: Path, db_url: str) -> None:
    car = make_sidecar(tmp_path, db_url, _real_seal(tmp_path), EDC_SEAL_PKCS12_PASSWORD="pw",
                       EDC_PUBLIC_URL="http://127.0.0.1:8080")
    health = car.client.get("/healthz")
    assert health.status_code == 503
    assert "sealing refused" in health.json["checks"]["public_url"]["error"]
    assert "refused" in (public_url_notice(car.settings) or "")
    car.add_source()
    car.put_template()
    cred_id = car.admin("POST", "/api/v1/completions", example_completion()).json["id"]
    car.drain()
    status = car.admin("GET", f"/api/v1/credentials/{cred_id}").json
    assert status["status"] in ("received", "assembled")  # kept, to be sealed once the setting is fixed
    assert "EDC_PUBLIC_URL" in status["error"]
    assert car.admin("GET", f"/api/v1/credentials/{cred_id}/sealed").status_code != 200


def test_dev_seal_tolerates_a_loopback_url_with_a_warning(tmp_path: Path, db_url: str, dev_seal_p12: Path) -> None:
    car = make_sidecar(tmp_path, db_url, dev_seal_p12, EDC_PUBLIC_URL="")
    check = car.client.get("/healthz").json["checks"]["public_url"]
    assert check["ok"] is True and "development seal" in check["warning"]
    car.add_source()
    car.put_template()
    cred_id = car.admin("POST", "/api/v1/completions", example_completion()).json["id"]
    car.drain()
    assert car.admin("GET", f"/api/v1/credentials/{cred_id}").json["status"] != "received"
    assert public_url_notice(Settings.from_env({"EDC_DEV_SEAL": "1"})).endswith("development seal is in use")
