"""One verification, one report: CLI --json, the API and the OpenAPI description agree, for every attack
listed in issue #12 and for genuine files, with and without anchors."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bridge.api.verify_schema import VerificationReport
from bridge.cli import main
from sealer.jades import dumps, seal_jades
from sealer.keys import Pkcs12KeySource, create_dev_seal
from tests.receiving.conftest import Sidecar, make_sidecar


def _conforms_to_schema(report: dict[str, Any]) -> None:
    """The report is exactly what the OpenAPI description declares (the model forbids extra members)."""
    VerificationReport.model_validate(report)
    assert report["ok"] is (report["verdict"] == "valid")


def _cli(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["verify", str(path), "--json", "--offline", *args])
    return result.exit_code, json.loads(result.output)


def _without_times(report: dict[str, Any]) -> dict[str, Any]:
    """The report minus what legitimately differs: the clock, and whether this service issued it (only the
    sidecar has the database to look the credential up in)."""
    copy = json.loads(json.dumps(report))
    if copy.get("seal"):
        copy["seal"].pop("validation_time")
    copy.pop("revocation")
    return copy


def test_openapi_declares_the_report(tmp_path: Path, dev_seal: Any) -> None:
    car = make_sidecar(tmp_path, dev_seal)
    spec = car.client.get("/openapi.json").json
    post = spec["paths"]["/api/v1/verify"]["post"]
    schema = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/VerificationReport"}
    report = spec["components"]["schemas"]["VerificationReport"]
    assert "FORMAT_FAILURE" in json.dumps(report) and "ISSUER_MISMATCH" in json.dumps(report)


@pytest.fixture(scope="module")
def forgeries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Issue #12's attacks, made with development seals: organisation A (trusted) and B."""
    work = tmp_path_factory.mktemp("forgeries")
    org_a = create_dev_seal(work / "a", organization_identifier="VATFR-11111111111", organisation="Org A")
    org_b = create_dev_seal(work / "b", organization_identifier="VATFR-22222222222", organisation="Org B")
    key_a = Pkcs12KeySource(org_a.pkcs12_path, org_a.password)

    def credential(issuer_id: str, name: str = "Camille") -> bytes:
        return json.dumps({"id": "urn:credential:x", "issuer": {"eIDASIdentifier": {"notation": issuer_id}},
                           "credentialSubject": {"fullName": {"en": name}}}).encode()

    files = {
        "issuer_mismatch": dumps(seal_jades(credential("VATFR-22222222222"), key_a)),
        "duplicate_keys": dumps(seal_jades(
            b'{"issuer":{"eIDASIdentifier":{"notation":"VATFR-11111111111"}},'
            b'"credentialSubject":{"fullName":{"en":"Camille"},"fullName":{"en":"Mallory"}}}', key_a)),
    }
    genuine = dumps(seal_jades(credential("VATFR-11111111111"), key_a))
    obj = json.loads(genuine)
    obj["learner"] = "Mallory"
    files["member_next_to_jws"] = json.dumps(obj).encode()
    for name, data in files.items():
        (work / f"{name}.json").write_bytes(data)
    return {"dir": work, "files": files, "ca_a": org_a.ca_certificate_path, "ca_b": org_b.ca_certificate_path}


@pytest.mark.parametrize(("name", "sub_indication"), [
    ("issuer_mismatch", "ISSUER_MISMATCH"),
    ("duplicate_keys", "FORMAT_FAILURE"),
    ("member_next_to_jws", "FORMAT_FAILURE"),
])
@pytest.mark.parametrize("anchors", [False, True])
def test_attacks_are_invalid_in_every_mode(forgeries: dict[str, Any], tmp_path: Path, dev_seal: Any,
                                           name: str, sub_indication: str, anchors: bool) -> None:
    path = forgeries["dir"] / f"{name}.json"
    trust = ["--trust", str(forgeries["ca_a"])] if anchors else []
    code, report = _cli(path, *trust)
    _conforms_to_schema(report)
    assert code == 1 and report["verdict"] == "invalid" and report["sub_indication"] == sub_indication
    assert "Mallory" not in json.dumps(report)
    plain = CliRunner().invoke(main, ["verify", str(path), "--offline", *trust])
    assert plain.exit_code == 1 and "INVALID" in plain.output and "Mallory" not in plain.output
    text = CliRunner().invoke(main, ["verify", str(path), "--offline", "--report", "text", *trust])
    assert text.exit_code == 1 and "Not valid" in text.output and "Mallory" not in text.output
    car: Sidecar = make_sidecar(tmp_path, dev_seal, **({"EDC_VERIFY_TRUST": str(forgeries["ca_a"])} if anchors
                                                       else {}))
    api = car.client.post("/api/v1/verify", data=path.read_bytes(), content_type="application/json").json
    assert _without_times(api) == _without_times(report)
    page = car.upload(path.read_bytes())
    assert b"Not valid" in page.data and b"Mallory" not in page.data
    if name == "issuer_mismatch":
        assert report["issuer"] == {"eidas_identifier": "VATFR-22222222222",
                                    "sealer_identifier": "VATFR-11111111111", "matches_sealer": False}


def test_self_signed_look_alike_is_never_valid_without_anchors(forgeries: dict[str, Any], tmp_path: Path) -> None:
    """Attack: a self-signed certificate carrying the real organisation identifier, no anchors configured."""
    fake = create_dev_seal(tmp_path / "fake", organization_identifier="VATFR-11111111111", organisation="Org A")
    key = Pkcs12KeySource(fake.pkcs12_path, fake.password)
    path = tmp_path / "lookalike.json"
    path.write_bytes(dumps(seal_jades(b'{"issuer":{"eIDASIdentifier":{"notation":"VATFR-11111111111"}}}', key)))
    code, report = _cli(path)
    assert code == 2 and report["verdict"] == "indeterminate"
    assert report["sub_indication"] == "NO_CERTIFICATE_CHAIN_FOUND"
    code, report = _cli(path, "--trust", str(forgeries["ca_a"]))  # the real organisation's CA
    assert code == 2 and report["seal"]["trust"]["chain_trusted"] is False
    text = CliRunner().invoke(main, ["verify", str(path), "--offline", "--report", "text"])
    assert text.exit_code == 2 and not text.output.startswith("Valid")
