"""``edc-bridge keys``: create a development seal, inspect the configured eSeal, prove it can sign.

A registrar setting up EDC Bridge needs to answer three questions before the first credential goes
out: which key will seal, whose organisation does its certificate name, and does the token actually
sign. ``keys info`` and ``keys test-sign`` answer them with exactly the key-source code the sidecar
uses (:func:`sealer.keys.config.open_key_source`), so what they show is what will seal.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from bridge.commands.key_options import key_source_options, open_from_options
from sealer.certificates import summarise
from sealer.jose import algorithm, verify_signature
from sealer.keys import EC_ALGS, RSA_ALGS, KeySourceError
from sealer.keys.config import DEV_SEAL_DIRNAME, DEV_SEAL_PASSWORD
from sealer.keys.devseal import NOT_QUALIFIED, create_dev_seal

QC_STATEMENTS = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")
WARNING = "NOT QUALIFIED — for development and tests only. Never seal real credentials with it."

def _key_description(cert: x509.Certificate) -> str:
    public = cert.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        return f"RSA {public.key_size} bits"
    if isinstance(public, ec.EllipticCurvePublicKey):
        return f"EC {public.curve.name}"
    return type(public).__name__


def _problems(cert: x509.Certificate, now: dt.datetime) -> list[str]:
    """What would make sealing fail or seals unverifiable; the sidecar refuses such a certificate too."""
    problems = []
    if now < cert.not_valid_before_utc:
        problems.append("the eSeal certificate is not valid yet")
    if now > cert.not_valid_after_utc:
        problems.append("the eSeal certificate has expired; seals made with it will not verify")
    for oid, name in ((NameOID.ORGANIZATION_IDENTIFIER, "organizationIdentifier (2.5.4.97)"),
                      (NameOID.ORGANIZATION_NAME, "organisation name (O)"),
                      (NameOID.COUNTRY_NAME, "country (C)")):
        if not cert.subject.get_attributes_for_oid(oid):
            problems.append(f"the eSeal certificate has no {name}, which EDC needs to name the issuer")
    return problems


@click.group("keys")
def keys() -> None:
    """The eSeal key: create a development seal, show the configured one, test that it signs.

    Without options, `info` and `test-sign` use the key configured in the environment exactly as the
    sidecar does (EDC_SEAL_PKCS12*, EDC_SEAL_PKCS11_*, EDC_SEAL_CHAIN or EDC_DEV_SEAL=1); options select
    another key for the check. PINs and passwords are read from files or environment variables, never
    from the command line, so they stay out of shell histories and process lists.
    """


@keys.command("dev-seal", short_help="Create a NOT QUALIFIED development eSeal.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Where to write the files [default: $EDC_DATA_DIR/{DEV_SEAL_DIRNAME}, i.e. "
                   f"./var/{DEV_SEAL_DIRNAME}, which EDC_DEV_SEAL=1 then uses].")
@click.option("--org", default="EDC Bridge Demo University", show_default=True,
              help="Organisation name written in the certificate.")
@click.option("--org-id", default="VATFR-00000000000", show_default=True,
              help="organizationIdentifier (ETSI EN 319 412-1), e.g. VATFR-12345678901 or NTRBE-0123456789.")
@click.option("--country", default="FR", show_default=True, help="ISO 3166 two-letter country code.")
@click.option("--key-type", type=click.Choice(["RSA", "EC"]), default="RSA", show_default=True,
              help="RSA-2048 (seals with RS256) or EC P-256 (ES256).")
@click.option("--force", is_flag=True, help="Replace a development seal that already exists there.")
def dev_seal(directory: Path | None, org: str, org_id: str, country: str, key_type: str, force: bool) -> None:
    """Create a self-signed development eSeal (key, certificate, CA) to try EDC Bridge.

    It looks like a real eSeal (organisation name, organizationIdentifier, country) but is NOT
    QUALIFIED: its CA is made up on the spot, so no wallet or verifier trusting the EU lists will
    accept it. Add the printed dev-ca.pem to a verifier's trust folder to test verification.
    """
    if directory is None:
        directory = Path(os.environ.get("EDC_DATA_DIR") or "var") / DEV_SEAL_DIRNAME
    if (directory / "dev-seal.p12").exists() and not force:
        raise click.ClickException(f"a development seal already exists in {directory}; "
                                   "use --force to replace it (seals made with it will no longer match)")
    try:
        seal = create_dev_seal(directory, organisation=org, organization_identifier=org_id,
                               country=country.upper(), key_type=key_type, password=DEV_SEAL_PASSWORD)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write to {directory}: {exc.strerror}") from None
    password_file = directory / "dev-seal.password"
    # Private from its creation (never world-readable for a moment), and an older file is made private too.
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(DEV_SEAL_PASSWORD + "\n")
    click.echo(f"Development eSeal created ({key_type}) for {org} ({org_id}, {country.upper()}):")
    click.echo(f"  key + certificate (PKCS#12): {seal.pkcs12_path}")
    click.echo(f"  password file:               {password_file}")
    click.echo(f"  eSeal certificate:           {seal.certificate_path}")
    click.echo(f"  CA certificate (trust it):   {seal.ca_certificate_path}")
    click.echo("Use it with:")
    click.echo(f"  EDC_SEAL_PKCS12={seal.pkcs12_path.resolve()}")
    click.echo(f"  EDC_SEAL_PKCS12_PASSWORD_FILE={password_file.resolve()}")
    click.secho(f"WARNING: {WARNING}", fg="yellow", err=True)


@keys.command("info", short_help="Show the eSeal certificate, key type and algorithms.")
@key_source_options
def info(**options: Any) -> None:
    """Show the eSeal certificate and key: organisation, organizationIdentifier, validity, algorithms.

    Exits with status 1 and a message when the key cannot be opened (wrong PIN, unknown token or key
    label, unreadable file), when the certificate is expired or not yet valid, or when it lacks the
    organizationIdentifier, organisation name or country EDC puts in every credential. Examples:

    \b
      edc-bridge keys info                      # the key the sidecar is configured with
      edc-bridge keys info --pkcs12 seal.p12 --password-file seal.password
      edc-bridge keys info --pkcs11-module /usr/lib/softhsm/libsofthsm2.so \\
          --token-label edc --key-label seal --pin-file /run/secrets/pin
    """
    source, described = open_from_options(options)
    cert = source.certificate
    summary = summarise(cert)
    allowed = RSA_ALGS if source.key_type == "RSA" else EC_ALGS
    now = dt.datetime.now(dt.UTC)
    rows = [
        ("Key source", described),
        ("Subject", summary.subject),
        ("Organisation", summary.organization_name or "(none)"),
        ("organizationIdentifier", summary.organization_identifier or "(missing: EDC needs it)"),
        ("Country", summary.country or "(none)"),
        ("Issuer", summary.issuer),
        ("Serial number", format(cert.serial_number, "x")),
        ("Valid from", f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"),
        ("Valid until", f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
                        f" ({(cert.not_valid_after_utc - now).days} days left)"),
        ("Key", _key_description(cert)),
        ("Algorithms", ", ".join(f"{a} (default)" if a == source.default_alg else a for a in allowed)),
        ("Chain (x5c)", f"{len(source.chain)} certificate(s)"),
        ("QC statements", "present (qualified status depends on the EU trusted lists)"
         if _has_qc_statements(cert) else "none: NOT a qualified eSeal"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"{label + ':':<{width + 1}} {value}")
    common_names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if any(NOT_QUALIFIED in str(attr.value) for attr in common_names):
        click.secho(f"WARNING: this is a development seal, {WARNING}", fg="yellow", err=True)
    problems = _problems(cert, now)
    if problems:
        raise click.ClickException("; ".join(problems))


def _has_qc_statements(cert: x509.Certificate) -> bool:
    try:
        cert.extensions.get_extension_for_oid(QC_STATEMENTS)
    except x509.ExtensionNotFound:
        return False
    return True


@keys.command("test-sign", short_help="Sign and verify a test message with the eSeal key.")
@key_source_options
def test_sign(**options: Any) -> None:
    """Sign a random test message with every algorithm the key allows and verify it with the certificate.

    Proves the token (or file) really signs with the key the certificate names — the check to run
    after installing an HSM or renewing the eSeal. Exits with status 1 if any signature fails.
    """
    source, described = open_from_options(options)
    click.echo(f"Key source: {described}")
    failures = 0
    for alg in RSA_ALGS if source.key_type == "RSA" else EC_ALGS:
        message = secrets.token_bytes(64)
        try:
            signature = source.sign(message, alg)
        except KeySourceError as exc:
            click.echo(f"{alg}: FAILED ({exc})")
            failures += 1
            continue
        if verify_signature(algorithm(alg), source.certificate.public_key(), signature, message):
            click.echo(f"{alg}: ok ({len(signature)}-byte signature verified with the certificate)")
        else:
            click.echo(f"{alg}: FAILED (the signature does not verify with the certificate)")
            failures += 1
    if failures:
        raise click.ClickException(f"{failures} test signature(s) failed")
