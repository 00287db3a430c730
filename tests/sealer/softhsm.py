"""A private SoftHSM2 token set-up for tests: keys generated ON the token, certificates from a test CA.

This reproduces the real flow of an HSM-held eSeal: the key pair is generated inside the token and
never leaves it; only its public half is read out to issue the certificate, which is then stored back
on the token as a certificate object with the key's label (one key deliberately has no certificate
object, like HSMs that hold only keys).

SoftHSM2 reads ``SOFTHSM2_CONF`` once, at ``C_Initialize``, and does not notice tokens created later, so
a process gets exactly one set-up (:func:`softhsm_for_process`, behind the session-scoped ``softhsm``
fixture of ``tests/sealer/conftest.py``). Under pytest-xdist each worker is a process of its own and
gets its own token directory.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pkcs11
import pytest
from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

SO_PIN = "so-pin-41414141"
USER_PIN = "PIN-q7Zx-distinctive-9931"
"""Distinctive on purpose: tests grep logs and messages for it."""
ORG_ID = "VATFR-99999999999"

MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


def find_module() -> str | None:
    """Path of libsofthsm2.so, from the usual places or from the Debian package's file list."""
    for candidate in MODULE_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    if shutil.which("dpkg"):
        listing = subprocess.run(["dpkg", "-L", "softhsm2"], capture_output=True, text=True, check=False)
        for line in listing.stdout.splitlines():
            if line.endswith("/libsofthsm2.so") and Path(line).is_file():
                return line
    return None


def require_softhsm() -> str:
    """The module path. Without SoftHSM2 the test fails on CI (it must be installed there), else skips."""
    module = find_module()
    if module is None or shutil.which("softhsm2-util") is None:
        reason = "SoftHSM2 (libsofthsm2.so and softhsm2-util) is not installed; apt-get install softhsm2"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return module


@dataclass(frozen=True)
class TokenKey:
    """A key pair on a token and the certificate issued for it."""

    token_label: str
    key_label: str
    key_type: str
    certificate: x509.Certificate
    certificate_path: Path
    certificate_on_token: bool


@dataclass
class SoftHsm:
    """Where everything is: module, config, PINs, the CA and the keys by name."""

    module: str
    conf_path: Path
    directory: Path
    ca_certificate: x509.Certificate
    ca_certificate_path: Path
    user_pin: str = USER_PIN
    so_pin: str = SO_PIN
    keys: dict[str, TokenKey] = field(default_factory=dict)

    def pin_file(self, pin: str | None = None) -> Path:
        """A file holding ``pin`` (default: the right one) as operators mount it: PIN plus newline."""
        value = self.user_pin if pin is None else pin
        path = self.directory / f"pin-{abs(hash(value))}.txt"
        path.write_text(value + "\n", encoding="utf-8")
        path.chmod(0o600)
        return path


_process_softhsm: SoftHsm | None = None


def softhsm_for_process(directory: Path) -> SoftHsm:
    """Create (once per process) the tokens every PKCS#11 test uses.

    Tokens: ``edc-rsa`` (RSA-2048 ``seal`` with certificate object; RSA-2048 ``bare`` without one),
    ``edc-ec`` (P-256 ``seal`` with certificate object) and ``edc-pin`` (RSA ``seal``), which only the
    PIN tests log in to, because a token's login is shared by the whole process.
    """
    global _process_softhsm
    if _process_softhsm is not None:
        return _process_softhsm
    module = require_softhsm()
    directory.mkdir(parents=True, exist_ok=True)
    tokens = directory / "tokens"
    tokens.mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n",
                    encoding="utf-8")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    if module in pkcs11._loaded:  # noqa: SLF001 - the check that makes the one-set-up rule explicit
        raise RuntimeError("SoftHSM2 was initialised in this process before its tokens were created")
    for label in ("edc-rsa", "edc-ec", "edc-pin"):
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label,
             "--so-pin", SO_PIN, "--pin", USER_PIN],
            check=True, capture_output=True, env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        )
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate(ca_key)
    ca_path = directory / "test-ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    hsm = SoftHsm(module=module, conf_path=conf, directory=directory, ca_certificate=ca_cert,
                  ca_certificate_path=ca_path)
    lib = pkcs11.lib(module)
    for name, token_label, key_label, key_type, cert_on_token in (
        ("rsa", "edc-rsa", "seal", "RSA", True),
        ("rsa-bare", "edc-rsa", "bare", "RSA", False),
        ("ec", "edc-ec", "seal", "EC", True),
        ("pin", "edc-pin", "seal", "RSA", True),
    ):
        token = lib.get_token(token_label=token_label)
        session = token.open(rw=True, user_pin=USER_PIN)
        try:
            public = _generate_on_token(session, key_type, key_label)
            cert = _issue(ca_key, ca_cert, public, key_label)
            if cert_on_token:
                session.create_object({
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: pkcs11.CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.LABEL: key_label,
                    Attribute.ID: key_label.encode(),
                    Attribute.SUBJECT: cert.subject.public_bytes(),
                    Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
                })
        finally:
            session.close()  # also logs out, so the code under test starts from a clean login state
        cert_path = directory / f"{name}.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        hsm.keys[name] = TokenKey(token_label, key_label, key_type, cert, cert_path, cert_on_token)
    _process_softhsm = hsm
    return hsm


def _generate_on_token(
    session: pkcs11.Session, key_type: str, label: str
) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    """Generate a non-extractable signing key pair on the token and return the public key."""
    private_template = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True}
    if key_type == "RSA":
        public, _ = session.generate_keypair(KeyType.RSA, 2048, store=True, label=label, id=label.encode(),
                                             private_template=private_template)
        numbers = rsa.RSAPublicNumbers(int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
                                       int.from_bytes(public[Attribute.MODULUS], "big"))
        return numbers.public_key()
    params = session.create_domain_parameters(
        KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
    )
    public, _ = params.generate_keypair(store=True, label=label, id=label.encode(),
                                        private_template=private_template)
    point = core.OctetString.load(public[Attribute.EC_POINT]).native
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


def _ca_certificate(ca_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "EDC Bridge HSM test CA (NOT QUALIFIED)")])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )


def _issue(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate,
           public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey, label: str) -> x509.Certificate:
    """An eSeal-shaped certificate (organizationIdentifier, O, C) for a key that lives on the token."""
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Université HSM Test"),
        x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, ORG_ID),
        x509.NameAttribute(NameOID.COMMON_NAME, f"HSM eSeal {label} (NOT QUALIFIED)"),
    ])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    return (
        x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
