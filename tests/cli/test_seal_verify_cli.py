"""`edc-bridge seal` and `edc-bridge verify` as a registrar runs them, on the shipped examples."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import main
from tests.reference import ELM_EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EDC_SAMPLES = ELM_EXAMPLES


@pytest.fixture(scope="module")
def sealed(tmp_path_factory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("seal")
    out = work / "credential.jsonld"
    result = CliRunner().invoke(main, [
        "seal", "--template", str(EXAMPLES / "course-template.json"),
        "--completion", str(EXAMPLES / "completion.json"), "--dev-seal", str(work), "-o", str(out),
    ], env={"EDC_SEAL_PKCS12": ""})
    assert result.exit_code == 0, result.output
    return out, work / "dev-seal" / "dev-ca.pem"


def test_sealed_example_verifies_trusted_and_conformant(sealed) -> None:
    out, ca = sealed
    result = CliRunner().invoke(main, ["verify", str(out), "--json", "--trust", str(ca)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["signature_valid"] and report["trusted"] and report["shacl_conforms"]
    assert report["certificate"]["organization_identifier"] == "VATFR-00000000000"
    assert report["summary"]["learner"]["name"] == "Camille Martin"
    skills = {s["uri"] for a in report["summary"]["achievements"] for s in a["esco_skills"]}
    assert "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4" in skills


def test_text_report_in_french(sealed) -> None:
    out, _ = sealed
    result = CliRunner().invoke(main, ["verify", str(out), "--lang", "fr"])
    assert result.exit_code == 0
    assert "Analyse de données avec Python" in result.output
    assert "not checked" in result.output  # no --trust given: trust is not claimed


def test_tampered_payload_fails_with_exit_1(sealed, tmp_path) -> None:
    out, _ = sealed
    doc = json.loads(out.read_text("utf-8"))
    doc["payload"] = doc["payload"].replace("Camille", "Camilla")
    bad = tmp_path / "bad.jsonld"
    bad.write_text(json.dumps(doc), "utf-8")
    result = CliRunner().invoke(main, ["verify", str(bad), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["signature_valid"] is False


def test_untrusted_anchor_fails(sealed, tmp_path) -> None:
    from sealer.keys.devseal import create_dev_seal

    other = create_dev_seal(tmp_path / "other")
    out, _ = sealed
    result = CliRunner().invoke(main, ["verify", str(out), "--json", "--trust", str(other.ca_certificate_path)])
    assert result.exit_code == 1
    assert json.loads(result.output)["trusted"] is False


def test_edc_own_sealed_sample_is_accepted() -> None:
    result = CliRunner().invoke(main, ["verify", str(EDC_SAMPLES / "elm-v3" / "Sample-CertOfPart-signed.jsonld"),
                                       "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["certificate"]["organization_identifier"] == "VATES-A00000000"


def test_unsealed_credential_is_not_valid() -> None:
    result = CliRunner().invoke(main, ["verify", str(EDC_SAMPLES / "elm-v3" / "Sample-CertOfPart-unsigned.jsonld"),
                                       "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["signature_valid"] is False
    assert any("issued" in m for m in report["shacl_messages"])


def test_invalid_template_names_the_field(tmp_path) -> None:
    template = json.loads((EXAMPLES / "course-template.json").read_text("utf-8"))
    template["eqf_level"] = 11
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template), "utf-8")
    result = CliRunner().invoke(main, [
        "seal", "--template", str(path), "--completion", str(EXAMPLES / "completion.json"),
        "--dev-seal", str(tmp_path), "-o", str(tmp_path / "x.jsonld"),
    ])
    assert result.exit_code == 1
    assert f"invalid template {path}" in result.output and "eqf_level" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.jsonld").exists()


def test_no_key_configured_is_a_clear_error(tmp_path) -> None:
    result = CliRunner().invoke(main, [
        "seal", "--template", str(EXAMPLES / "course-template.json"),
        "--completion", str(EXAMPLES / "completion.json"), "-o", str(tmp_path / "x.jsonld"),
    ], env={k: "" for k in ("EDC_SEAL_PKCS12", "EDC_SEAL_PKCS11_MODULE", "EDC_DEV_SEAL")})
    assert result.exit_code == 1
    assert "EDC_SEAL_PKCS12" in result.output


def test_seal_xml_then_verify(tmp_path) -> None:
    source = tmp_path / "credential.xml"
    source.write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                      '<credential xmlns="http://data.europa.eu/snb" xml:lang="fr"><title>Diplôme</title></credential>',
                      "utf-8")
    out = tmp_path / "sealed.xml"
    result = CliRunner().invoke(main, ["seal-xml", str(source), "--dev-seal", str(tmp_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    ca = tmp_path / "dev-seal" / "dev-ca.pem"
    result = CliRunner().invoke(main, ["verify", str(out), "--json", "--trust", str(ca)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["format"] == "XAdES" and report["trusted"] and report["shacl_conforms"] is None
    out.write_bytes(out.read_bytes().replace("Diplôme".encode(), b"Diplome"))
    assert CliRunner().invoke(main, ["verify", str(out)]).exit_code == 1


def test_legacy_edc_xml_sample_is_reported() -> None:
    sample = ELM_EXAMPLES / "legacy-elm-v2-xml" / "EDC_DiplomaSupplement_AA.xml"
    result = CliRunner().invoke(main, ["verify", str(sample), "--json"])
    report = json.loads(result.output)
    assert report["format"] == "XAdES" and report["signature_valid"] is True
    assert report["certificate"]["organization_identifier"] == "VATES-B00000000"
    assert result.exit_code == 0
