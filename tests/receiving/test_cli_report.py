"""``edc-bridge verify --report text|html``: the recognition report on the command line."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from lxml import html as lxml_html

from bridge.cli import main
from bridge.elm.assemble import assemble
from bridge.elm.completion import Completion
from bridge.elm.issuer import Issuer
from bridge.elm.learning_opportunity import opportunity_url
from bridge.elm.template import CourseTemplate
from sealer.jades import dumps, seal_jades
from sealer.keys import Pkcs12KeySource
from tests.receiving.conftest import EDC_SIGNED, example_completion, example_template


def run(*args: str, stdin: bytes | None = None) -> Any:
    return CliRunner().invoke(main, ["verify", *args], input=stdin)


def test_text_report_of_the_edc_sample() -> None:
    result = run(str(EDC_SIGNED), "--report", "text", "--offline")
    assert result.exit_code == 2, result.output  # intact, but EDC's test CA is not an anchor here
    lines = result.output.splitlines()
    assert lines[0] == "Cannot be confirmed: the seal is not proven genuine (NO_CERTIFICATE_CHAIN_FOUND)"
    assert "Sealed by: ORGANIZACION TEST" in lines
    assert "Organisation identifier: VATES-A00000000" in lines
    assert "Certificate trusted: not checked (no --trust given)" in lines
    assert "Learner: Ana Andromeda" in lines
    assert "-- EDC Updates Webinar --" in lines


def test_html_report_in_french_is_self_contained() -> None:
    result = run(str(EDC_SIGNED), "--report", "html", "--lang", "fr", "--offline")
    assert result.exit_code == 2, result.output
    doc = lxml_html.fromstring(result.output.encode("utf-8"))
    assert doc.get("lang") == "fr"
    assert doc.xpath("//style") and not doc.xpath("//link") and not doc.xpath("//script")
    assert doc.get_element_by_id("result-heading").text_content().strip().startswith("Non confirmé")
    assert "Fichier : Sample-CertOfPart-signed.jsonld" in doc.text_content()
    assert doc.get_element_by_id("learner").text_content() == "Ana Andromeda"


def test_tampered_file_from_stdin_exits_1() -> None:
    tampered = EDC_SIGNED.read_bytes().replace(b"Ana Andromeda", b"Eve Andromeda", 1)
    result = run("-", "--report", "text", stdin=tampered)
    assert result.exit_code == 1
    assert result.output.startswith("Not valid: do not rely on this credential")
    assert "Seal valid: NO" in result.output


def test_truncated_file_is_explained() -> None:
    result = run("-", "--report", "text", stdin=EDC_SIGNED.read_bytes()[:2000])
    assert result.exit_code == 1
    assert "not valid JSON" in result.output and "truncated" in result.output


def test_usage_errors() -> None:
    assert run(str(EDC_SIGNED), "--report", "pdf").exit_code == 2
    both = run(str(EDC_SIGNED), "--report", "text", "--json")
    assert both.exit_code == 2 and "alternatives" in both.output


def test_trusted_own_credential_with_outcomes_and_skills(tmp_path: Path, dev_seal: Any) -> None:
    template = CourseTemplate.from_dict(example_template())
    completion = Completion.from_dict(example_completion())
    key = Pkcs12KeySource(dev_seal.pkcs12_path, "dev-seal")
    issuer = Issuer.from_certificate(key.certificate)
    credential = assemble(template, completion, issuer,
                          learning_opportunity=opportunity_url("https://sidecar.example", "moodle-main", "42"))
    sealed = tmp_path / "mine.jsonld"
    sealed.write_bytes(dumps(seal_jades(json.dumps(credential, ensure_ascii=False).encode("utf-8"), key)))
    result = run(str(sealed), "--report", "text", "--trust", str(dev_seal.ca_certificate_path), "--lang", "fr")
    assert result.exit_code == 0, result.output
    assert "Certificat de confiance: oui" in result.output
    assert "Crédits ECTS: 5" in result.output and "Niveau CEC: 6" in result.output
    assert "Volume d’apprentissage: 125\u00a0heures" in result.output
    assert "  * S'adapter au changement au travail" in result.output
    assert "s'adapter au changement <http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4>" \
        in result.output
    assert "https://sidecar.example/catalogue/moodle-main/42.jsonld" in result.output
