"""``edc-bridge keys``: dev seal creation, info and test-sign against PKCS#12 files and a SoftHSM2 token."""
from __future__ import annotations

import datetime as dt
import os

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from softhsm import SoftHsm

from bridge.cli import main
from sealer.keys import Pkcs12KeySource
from sealer.keys.devseal import create_dev_seal

WRONG_PIN = "CLI-wrong-pin-77ab"


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    """A runner whose environment configures no key, so each test says which key it means."""
    for name in list(os.environ):
        if name.startswith("EDC_"):
            monkeypatch.delenv(name)
    return CliRunner()


def token_args(hsm: SoftHsm, name: str) -> list[str]:
    key = hsm.keys[name]
    return ["--pkcs11-module", hsm.module, "--token-label", key.token_label, "--key-label", key.key_label,
            "--pin-file", str(hsm.pin_file())]


def test_keys_group_is_registered(runner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "keys" in result.output


def test_dev_seal_writes_files_and_warns(runner, tmp_path) -> None:
    target = tmp_path / "seal"
    result = runner.invoke(main, ["keys", "dev-seal", "--dir", str(target), "--org", "Université Exemple",
                                  "--org-id", "VATFR-12345678901", "--country", "fr", "--key-type", "EC"])
    assert result.exit_code == 0, result.output
    assert "NOT QUALIFIED — for development and tests only" in result.stderr
    for name in ("dev-seal.p12", "dev-seal.pem", "dev-ca.pem", "dev-seal.password"):
        assert str(target / name) in result.stdout
        assert (target / name).is_file()
    assert oct((target / "dev-seal.password").stat().st_mode & 0o777) == "0o600"
    source = Pkcs12KeySource(target / "dev-seal.p12", (target / "dev-seal.password").read_text().strip())
    assert source.key_type == "EC"
    assert "2.5.4.97=VATFR-12345678901" in source.certificate.subject.rfc4514_string()
    assert "C=FR" in source.certificate.subject.rfc4514_string()

    again = runner.invoke(main, ["keys", "dev-seal", "--dir", str(target)])
    assert again.exit_code == 1
    assert "already exists" in again.output and "--force" in again.output
    forced = runner.invoke(main, ["keys", "dev-seal", "--dir", str(target), "--force"])
    assert forced.exit_code == 0
    assert Pkcs12KeySource(target / "dev-seal.p12", "dev-seal").certificate != source.certificate


def test_dev_seal_default_directory_is_what_edc_dev_seal_reuses(runner, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path))
    created = runner.invoke(main, ["keys", "dev-seal", "--org-id", "NTRBE-0123456789", "--country", "BE"])
    assert created.exit_code == 0, created.output
    monkeypatch.setenv("EDC_DEV_SEAL", "1")
    shown = runner.invoke(main, ["keys", "info"])
    assert shown.exit_code == 0, shown.output
    assert "organizationIdentifier: NTRBE-0123456789" in shown.stdout
    assert "development seal" in shown.stderr


def test_dev_seal_refuses_a_malformed_organisation_identifier(runner, tmp_path) -> None:
    result = runner.invoke(main, ["keys", "dev-seal", "--dir", str(tmp_path), "--org-id", "12345"])
    assert result.exit_code == 1
    assert "ETSI EN 319 412-1" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "dev-seal.p12").exists()


def test_info_on_a_pkcs12_file_with_password_from_environment(runner, tmp_path, monkeypatch) -> None:
    seal = create_dev_seal(tmp_path, organization_identifier="VATES-A00000000", country="ES",
                           password="p12-Secret-x93k")
    monkeypatch.setenv("MY_P12_PASSWORD", seal.password)
    result = runner.invoke(main, ["keys", "info", "--pkcs12", str(seal.pkcs12_path),
                                  "--password-env", "MY_P12_PASSWORD"])
    assert result.exit_code == 0, result.output
    assert "organizationIdentifier: VATES-A00000000" in result.stdout
    assert "RSA 2048 bits" in result.stdout
    assert "RS256 (default), PS256" in result.stdout
    assert "none: NOT a qualified eSeal" in result.stdout
    assert seal.password not in result.output


def test_info_reports_an_expired_certificate_with_status_1(runner, tmp_path) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=1000)
    seal = create_dev_seal(tmp_path, valid_days=30, now=long_ago)
    password = tmp_path / "pw"
    password.write_text(seal.password + "\n")
    result = runner.invoke(main, ["keys", "info", "--pkcs12", str(seal.pkcs12_path),
                                  "--password-file", str(password)])
    assert result.exit_code == 1
    assert "Valid until:" in result.stdout  # the details are still shown
    assert "expired" in result.stderr


def test_info_refuses_a_certificate_without_organisation_identifier(runner, tmp_path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Just a name")])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=9))
            .sign(key, hashes.SHA256()))
    p12 = tmp_path / "plain.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(b"k", key, cert, None, serialization.NoEncryption()))
    result = runner.invoke(main, ["keys", "info", "--pkcs12", str(p12)])
    assert result.exit_code == 1
    assert "EC secp256r1" in result.stdout
    for missing in ("organizationIdentifier (2.5.4.97)", "organisation name (O)", "country (C)"):
        assert f"has no {missing}" in result.stderr


@pytest.mark.parametrize(("name", "key", "algs"), [("rsa", "RSA 2048 bits", "RS256 (default), PS256"),
                                                  ("ec", "EC secp256r1", "ES256 (default)")])
def test_info_on_the_softhsm_token(runner, softhsm: SoftHsm, name: str, key: str, algs: str) -> None:
    result = runner.invoke(main, ["keys", "info", *token_args(softhsm, name)])
    assert result.exit_code == 0, result.output
    cert: x509.Certificate = softhsm.keys[name].certificate
    assert f"Key source:             PKCS#11 token '{softhsm.keys[name].token_label}'" in result.stdout
    assert f"Subject:                {cert.subject.rfc4514_string()}" in result.stdout
    assert "organizationIdentifier: VATFR-99999999999" in result.stdout
    assert f"Key:                    {key}" in result.stdout
    assert f"Algorithms:             {algs}" in result.stdout
    assert f"{cert.serial_number:x}" in result.stdout


def test_info_reads_the_token_settings_from_the_environment(runner, softhsm: SoftHsm, monkeypatch) -> None:
    key = softhsm.keys["rsa-bare"]
    monkeypatch.setenv("EDC_SEAL_PKCS11_MODULE", softhsm.module)
    monkeypatch.setenv("EDC_SEAL_PKCS11_TOKEN_LABEL", key.token_label)
    monkeypatch.setenv("EDC_SEAL_PKCS11_KEY_LABEL", key.key_label)
    monkeypatch.setenv("EDC_SEAL_PKCS11_PIN", softhsm.user_pin)
    monkeypatch.setenv("EDC_SEAL_PKCS11_CERT", str(key.certificate_path))
    result = runner.invoke(main, ["keys", "info"])
    assert result.exit_code == 0, result.output
    assert "key 'bare'" in result.stdout
    assert softhsm.user_pin not in result.output


def test_token_errors_exit_1_with_a_clear_message(runner, softhsm: SoftHsm, tmp_path, monkeypatch) -> None:
    wrong = runner.invoke(main, ["keys", "info", *token_args(softhsm, "rsa")[:-1],
                                 str(softhsm.pin_file(WRONG_PIN))])
    assert wrong.exit_code == 1
    assert "wrong PIN" in wrong.stderr
    assert WRONG_PIN not in wrong.output and softhsm.user_pin not in wrong.output

    args = token_args(softhsm, "rsa")
    args[args.index("--token-label") + 1] = "edc-rsaa"
    unknown = runner.invoke(main, ["keys", "info", *args])
    assert unknown.exit_code == 1
    assert "no token labelled 'edc-rsaa'" in unknown.stderr and "'edc-rsa'" in unknown.stderr

    unset = runner.invoke(main, ["keys", "info", *token_args(softhsm, "rsa")[:-2], "--pin-env", "NO_SUCH_PIN"])
    assert unset.exit_code == 1
    assert "environment variable NO_SUCH_PIN is not set" in unset.stderr

    missing = runner.invoke(main, ["keys", "info", "--pkcs11-module", softhsm.module])
    assert missing.exit_code == 1
    assert "EDC_SEAL_PKCS11_TOKEN_LABEL" in missing.stderr
    assert "Traceback" not in missing.output


@pytest.mark.parametrize(("name", "algs"), [("rsa", ("RS256", "PS256")), ("ec", ("ES256",))])
def test_test_sign_on_the_token(runner, softhsm: SoftHsm, name: str, algs: tuple[str, ...]) -> None:
    result = runner.invoke(main, ["keys", "test-sign", *token_args(softhsm, name)])
    assert result.exit_code == 0, result.output
    for alg in algs:
        assert f"{alg}: ok" in result.stdout
    assert "FAILED" not in result.stdout
