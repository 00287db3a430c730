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
    assert report["report_version"] == "1" and report["verdict"] == "valid" and report["sub_indication"] is None
    assert report["seal"]["signature_intact"] and report["seal"]["trust"]["chain_trusted"]
    assert report["content"]["conforms"] and report["issuer"]["matches_sealer"]
    assert report["seal"]["certificate"]["organization_identifier"] == "VATFR-00000000000"
    assert report["credential"]["learner"]["name"] == "Camille Martin"
    skills = {s["uri"] for a in report["credential"]["achievements"] for s in a["esco_skills"]}
    assert "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4" in skills


def test_text_report_in_french(sealed) -> None:
    out, _ = sealed
    result = CliRunner().invoke(main, ["verify", str(out), "--lang", "fr"])
    assert result.exit_code == 2  # no --trust given: indeterminate, never valid
    assert "Analyse de données avec Python" in result.output
    assert "not checked" in result.output


def test_tampered_payload_fails_with_exit_1(sealed, tmp_path) -> None:
    out, _ = sealed
    doc = json.loads(out.read_text("utf-8"))
    doc["payload"] = doc["payload"].replace("Camille", "Camilla")
    bad = tmp_path / "bad.jsonld"
    bad.write_text(json.dumps(doc), "utf-8")
    result = CliRunner().invoke(main, ["verify", str(bad), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["verdict"] == "invalid" and report["sub_indication"] == "SIG_CRYPTO_FAILURE"
    assert report["seal"]["signature_intact"] is False and report["credential"] is None


def test_untrusted_anchor_fails(sealed, tmp_path) -> None:
    from sealer.keys.devseal import create_dev_seal

    other = create_dev_seal(tmp_path / "other")
    out, _ = sealed
    result = CliRunner().invoke(main, ["verify", str(out), "--json", "--trust", str(other.ca_certificate_path)])
    assert result.exit_code == 2
    report = json.loads(result.output)
    assert report["sub_indication"] == "NO_CERTIFICATE_CHAIN_FOUND"
    assert report["seal"]["trust"]["chain_trusted"] is False


def test_edc_own_sealed_sample_is_intact_but_indeterminate_without_its_ca() -> None:
    result = CliRunner().invoke(main, ["verify", str(EDC_SAMPLES / "elm-v3" / "Sample-CertOfPart-signed.jsonld"),
                                       "--json", "--offline"])
    assert result.exit_code == 2, result.output
    report = json.loads(result.output)
    assert report["verdict"] == "indeterminate" and report["sub_indication"] == "NO_CERTIFICATE_CHAIN_FOUND"
    assert report["seal"]["signature_intact"] is True and report["seal"]["level"] == "B-LTA"
    assert report["seal"]["certificate"]["organization_identifier"] == "VATES-A00000000"
    assert report["issuer"]["matches_sealer"] is True and report["content"]["conforms"] is True


def test_unsealed_credential_is_not_valid() -> None:
    result = CliRunner().invoke(main, ["verify", str(EDC_SAMPLES / "elm-v3" / "Sample-CertOfPart-unsigned.jsonld"),
                                       "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["verdict"] == "invalid" and report["sub_indication"] == "FORMAT_FAILURE"
    assert report["seal"]["signature_intact"] is False
    # Unsealed content is never worth a full SHACL run (it is refused whatever its content).
    assert report["content"] == {"conforms": None, "checked": False, "messages": []}


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
    assert report["seal"]["format"] == "XAdES" and report["seal"]["trust"]["chain_trusted"]
    assert report["verdict"] == "valid" and report["content"]["conforms"] is None
    out.write_bytes(out.read_bytes().replace("Diplôme".encode(), b"Diplome"))
    assert CliRunner().invoke(main, ["verify", str(out)]).exit_code == 1


def test_legacy_edc_xml_sample_is_reported() -> None:
    sample = ELM_EXAMPLES / "legacy-elm-v2-xml" / "EDC_DiplomaSupplement_AA.xml"
    result = CliRunner().invoke(main, ["verify", str(sample), "--json"])
    report = json.loads(result.output)
    assert report["seal"]["format"] == "XAdES" and report["seal"]["signature_intact"] is True
    assert report["seal"]["certificate"]["organization_identifier"] == "VATES-B00000000"
    assert report["verdict"] == "indeterminate" and result.exit_code == 2  # EDC's test CA is not ours to trust


def test_seal_at_b_lta_then_verify(tmp_path) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "sealer"))
    from tsa_server import LoopbackTsa, make_tsa_identity
    from tsa_server import serve as serve_tsa

    tsa = LoopbackTsa(*make_tsa_identity())
    server = serve_tsa(tsa)
    try:
        out = tmp_path / "credential.jsonld"
        base = ["seal", "--template", str(EXAMPLES / "course-template.json"), "--completion",
                str(EXAMPLES / "completion.json"), "--dev-seal", str(tmp_path), "-o", str(out)]
        result = CliRunner().invoke(main, [*base, "--tsa", tsa.url, "--level", "B-LTA"], env={"EDC_SEAL_PKCS12": ""})
        assert result.exit_code == 0, result.output
        ca = tmp_path / "dev-seal" / "dev-ca.pem"
        result = CliRunner().invoke(main, ["verify", str(out), "--json", "--trust", str(ca), "--offline"])
        report = json.loads(result.output)
        assert result.exit_code == 0 and report["seal"]["level"] == "B-LTA", report["errors"]
        refused = CliRunner().invoke(main, [*base, "--level", "B-T"], env={"EDC_SEAL_PKCS12": "", "EDC_TSA_URL": ""})
        assert refused.exit_code == 1 and "needs a time-stamping authority" in refused.output
    finally:
        server.shutdown()
        server.server_close()


def test_seal_xml_of_an_already_sealed_file_is_refused_clearly(tmp_path) -> None:
    sample = ELM_EXAMPLES / "legacy-elm-v2-xml" / "EDC_DiplomaSupplement_AA.xml"
    out = tmp_path / "again.xml"
    result = CliRunner().invoke(main, ["seal-xml", str(sample), "--dev-seal", str(tmp_path), "-o", str(out)])
    assert result.exit_code == 1 and not out.exists()
    assert "already carries a ds:Signature" in result.output and "Traceback" not in result.output
