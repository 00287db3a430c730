"""End to end: credentials sealed (JAdES and XAdES) with keys that never left the SoftHSM2 token verify."""
from __future__ import annotations

import json

import pytest
from softhsm import ORG_ID, SoftHsm

from sealer.jades import dumps, seal_jades
from sealer.keys.pkcs11 import Pkcs11KeySource
from sealer.validation import validate_seal
from sealer.xades import seal_xades

CREDENTIAL = json.dumps({"type": ["VerifiableCredential", "EuropeanDigitalCredential"],
                         "credentialSubject": {"givenName": {"fr": "Camille"}}}, ensure_ascii=False).encode()
XML = b'<?xml version="1.0" encoding="UTF-8"?><credential><name xml:lang="fr">Camille</name></credential>'


@pytest.mark.parametrize(("name", "alg"), [("rsa", "RS256"), ("rsa", "PS256"), ("ec", "ES256")])
def test_jades_seal_from_the_token_verifies_and_chains_to_the_ca(softhsm: SoftHsm, name: str, alg: str) -> None:
    key = softhsm.keys[name]
    source = Pkcs11KeySource(softhsm.module, key.token_label, key.key_label, pin_file=softhsm.pin_file())
    sealed = dumps(seal_jades(CREDENTIAL, source, alg=alg))
    report = validate_seal(sealed, trust=[softhsm.ca_certificate])
    assert report.errors == []
    assert report.signature_intact
    assert report.chain_trusted is True
    assert report.certificate.organization_identifier == ORG_ID
    assert report.payload == CREDENTIAL

    tampered = sealed.replace(b"Camille", b"Camilla")
    assert tampered != sealed
    assert not validate_seal(tampered, trust=[softhsm.ca_certificate]).signature_intact


@pytest.mark.parametrize("name", ["rsa", "ec"])
def test_xades_seal_from_the_token_verifies(softhsm: SoftHsm, name: str) -> None:
    key = softhsm.keys[name]
    source = Pkcs11KeySource(softhsm.module, key.token_label, key.key_label, pin=softhsm.user_pin)
    report = validate_seal(seal_xades(XML, source), trust=[softhsm.ca_certificate])
    assert report.errors == []
    assert report.signature_intact
    assert report.chain_trusted is True
    assert report.certificate.organization_identifier == ORG_ID
