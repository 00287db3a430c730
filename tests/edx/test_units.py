"""Parts of the Open edX package that need no Django set-up: form validation, template building,
status mapping, configuration, OLX, translations and the import boundary."""
from __future__ import annotations

import ast
import gettext
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from lxml import etree

from edx_xblock import olx
from edx_xblock.config import ConfigError, load_config
from edx_xblock.keys import template_course_id
from edx_xblock.status import LearnerStatus, from_outbox, learner_status
from edx_xblock.template_form import build_template, validate_form, volume_duration

PACKAGE = Path(__file__).parents[2] / "edx_xblock"
ADAPT = "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4"


def form(**changes: object) -> dict:
    data = {"display_name": "EDC", "languages": ["en", "fr"], "title": {"en": "T", "fr": "T fr"},
            "ects": "5", "eqf_level": 6, "isced_f": "0613", "mode": "blended", "learning_setting": "formal",
            "volume_hours": "1.5",
            "outcomes": [{"text": {"en": "x", "fr": "y"}, "esco_skills": [{"uri": ADAPT, "labels": {"en": "a"}}]}]}
    data.update(changes)
    return data


def test_valid_form_builds_the_documented_template() -> None:
    result = validate_form(form())
    assert result.errors == []
    body = {"legal_name": {"en": "U"}, "legal_identifier": "1", "country": "FR"}
    template = build_template(result.values, body, policy={"channels": ["email", "wallet"]})
    assert template == {
        "title": {"en": "T", "fr": "T fr"},
        "learning_outcomes": [{"text": {"en": "x", "fr": "y"}, "esco_skills": [{"uri": ADAPT, "labels": {"en": "a"}}]}],
        "languages": ["en", "fr"], "mode": "blended", "learning_setting": "formal", "awarding_body": body,
        "ects": 5.0, "eqf_level": 6, "isced_f": "0613", "volume_of_learning": "PT1H30M",
        "policy": {"channels": ["email", "wallet"]}}


@pytest.mark.parametrize(("changes", "field"), [
    ({"languages": []}, "languages"),
    ({"languages": ["en", "en"]}, "languages"),
    ({"languages": ["english"]}, "languages"),
    ({"title": {"en": "T"}}, "title.fr"),
    ({"title": {"en": "T" * 501, "fr": "x"}}, "title.en"),
    ({"ects": "0"}, "ects"),
    ({"ects": True}, "ects"),
    ({"eqf_level": "9"}, "eqf_level"),
    ({"eqf_level": "2.5"}, "eqf_level"),
    ({"isced_f": "06x3"}, "isced_f"),
    ({"mode": "by-pigeon"}, "mode"),
    ({"learning_setting": "informal"}, "learning_setting"),
    ({"volume_hours": "soon"}, "volume_of_learning"),
    ({"outcomes": "adapt"}, "learning_outcomes"),
    ({"outcomes": [{"text": {"en": "x", "fr": "y"}, "esco_skills": [ADAPT]}] * 51}, "learning_outcomes"),
    ({"outcomes": ["x"]}, "learning_outcomes[0]"),
    ({"outcomes": [{"text": {"en": "x"}, "esco_skills": [ADAPT]}]}, "learning_outcomes[0].text.fr"),
    ({"outcomes": [{"text": {"en": "x", "fr": "y"}, "esco_skills": []}]}, "learning_outcomes[0].esco_skills"),
    ({"outcomes": [{"text": {"en": "x", "fr": "y"}, "esco_skills": ["http://example.org/skill"]}]},
     "learning_outcomes[0].esco_skills[0]"),
    ({"outcomes": [{"text": {"en": "x", "fr": "y"}, "esco_skills": [ADAPT, ADAPT]}]},
     "learning_outcomes[0].esco_skills[1]"),
    ({"display_name": " "}, "display_name"),
])
def test_each_bad_field_is_named(changes: dict, field: str) -> None:
    result = validate_form(form(**changes))
    assert field in [e["field"] for e in result.errors]


def test_messages_are_translated_by_the_given_function() -> None:
    french = gettext.translation("django", str(PACKAGE / "conf" / "locale"), languages=["fr"]).gettext
    [error] = validate_form(form(eqf_level="12"), french).errors
    assert error == {"field": "eqf_level", "message": "Niveau CEC : un nombre entier de 1 à 8."}


def test_volume_durations() -> None:
    assert [volume_duration(h) for h in (None, 125, 0.25, 2.5)] == [None, "PT125H", "PT0H15M", "PT2H30M"]


def test_status_mapping() -> None:
    sealed = {"id": "c1", "sealed_url": "https://x/sealed", "deliveries": [
        {"channel": "wallet", "status": "delivered", "result": {"viewer_url": "https://wallet.example/v/1"}},
        {"channel": "email", "status": "failed"}]}
    assert learner_status([]).state == "not_earned"
    assert learner_status([], queued=True).state == "issuing"
    assert learner_status([{"id": "c1", "status": "assembled"}]).state == "issuing"
    issued = learner_status([{**sealed, "status": "partially_delivered"}])
    assert (issued.state, issued.wallet_url, issued.failed_channels) == ("issued", "https://wallet.example/v/1",
                                                                         ("email",))
    assert learner_status([{**sealed, "status": "failed"}]).state == "delivery_failed"
    assert learner_status([{"id": "c1", "status": "failed", "sealed_url": None}]).state == "issue_failed"
    assert learner_status([{"id": "c1", "status": "revoked"}]).state == "revoked"
    assert learner_status([{"id": "c1", "status": "skipped", "reason": "policy: min grade"}]) == LearnerStatus(
        "refused", "c1", reason="policy: min grade")
    assert learner_status([{"id": "c1", "status": "weird"}]).state == "not_earned"


@pytest.mark.parametrize(("row", "state"), [
    ("pending", "issuing"), ("sending", "issuing"), ("withdrawn", "not_earned"), ("ineligible", "ineligible"),
    ("failed", "refused"), ("sent", None), (None, None)])
def test_outbox_states_for_the_learner(row: str | None, state: str | None) -> None:
    decided = from_outbox(row, "422: learner.email: invalid")
    assert (decided.state if decided else None) == state
    if state == "refused":
        assert decided.to_dict() == {"state": "refused", "credential_id": None, "wallet_url": None,
                                      "failed_channels": []}  # the reason is for staff only
        assert decided.to_dict(staff=True)["reason"] == "422: learner.email: invalid"


def test_ccx_keys_map_to_the_master_course() -> None:
    assert template_course_id("ccx-v1:Univ+DA101+2026+ccx@7") == "course-v1:Univ+DA101+2026"
    assert template_course_id("course-v1:Univ+DA101+2026") == "course-v1:Univ+DA101+2026"


@pytest.mark.parametrize(("raw", "key"), [
    (None, "EDC_BRIDGE is missing"),
    ({}, "SIDECAR_URL"),
    ({"SIDECAR_URL": "ftp://x"}, "SIDECAR_URL"),
    ({"SIDECAR_URL": "http://x"}, "SOURCE"),
    ({"SIDECAR_URL": "http://x", "SOURCE": "s"}, "API_KEY"),
    ({"SIDECAR_URL": "http://x", "SOURCE": "s", "API_KEY": "k", "TIMEOUT": 0}, "TIMEOUT"),
    ({"SIDECAR_URL": "http://x", "SOURCE": "s", "API_KEY": "k", "AWARDING_BODY": "U"}, "AWARDING_BODY"),
    ({"SIDECAR_URL": "http://x", "SOURCE": "s", "API_KEY": "k", "DEFAULT_LANGUAGE": "fra"}, "DEFAULT_LANGUAGE"),
    ({"SIDECAR_URL": "http://x", "SOURCE": "s", "API_KEY": "k", "ELIGIBLE_MODES": "verified"}, "ELIGIBLE_MODES"),
    ({"SIDECAR_URL": "http://x", "SOURCE": "s", "API_KEY": "k", "SEND_DELAY_SECONDS": -1}, "SEND_DELAY_SECONDS"),
    ({"SIDECAR_URL": "http://x", "SOURCE": "s", "API_KEY": "k", "STATUS_TIMEOUT": 0}, "STATUS_TIMEOUT"),
])
def test_configuration_errors_name_the_key(raw: object, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config(raw)  # type: ignore[arg-type]


def test_api_key_from_file_and_never_in_repr(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("secret-key-from-file\n", encoding="utf-8")
    config = load_config({"SIDECAR_URL": "https://edc.example/", "SOURCE": "s", "API_KEY_FILE": str(path)})
    assert config.api_key == "secret-key-from-file" and config.sidecar_url == "https://edc.example"
    assert "secret-key-from-file" not in repr(config)
    with pytest.raises(ConfigError, match="API_KEY_FILE") as info:
        load_config({"SIDECAR_URL": "https://x", "SOURCE": "s", "API_KEY_FILE": str(tmp_path / "missing")})
    assert str(tmp_path) not in str(info.value) or "cannot read" in str(info.value)


def test_identical_requests_in_one_second_get_distinct_signatures(monkeypatch, tmp_path: Path) -> None:
    """Same completion twice and the same read twice, all in one second, against the real sidecar."""
    import json

    import edx_xblock.signing
    from edx_xblock.client import SidecarClient

    from .sidecar_server import SOURCE, bridge_settings, running_sidecar

    examples = Path(__file__).parents[2] / "examples"
    template = json.loads((examples / "course-template.json").read_text(encoding="utf-8"))
    completion = json.loads((examples / "completion.json").read_text(encoding="utf-8"))
    completion["source"] = SOURCE
    frozen = float(int(time.time()))
    monkeypatch.setattr(edx_xblock.signing.time, "time", lambda: frozen)
    sent: list[dict[str, str]] = []
    with running_sidecar(tmp_path / "edc") as sidecar:
        http = requests.Session()
        original = http.request

        def recording(method: str, url: str, **kwargs):  # noqa: ANN202
            sent.append(dict(kwargs["headers"]))
            return original(method, url, **kwargs)

        http.request = recording  # type: ignore[method-assign]
        client = SidecarClient(load_config(bridge_settings(sidecar.url)), session=http)
        client.put_template(str(completion["course_id"]), template)
        first = client.post_completion(completion)
        second = client.post_completion(completion)  # e.g. sent again after a timeout
        assert first["duplicate"] is False and second["duplicate"] is True and second["id"] == first["id"]
        reads = [client.credential(first["id"]) for _ in range(2)]
        assert [r["id"] for r in reads] == [first["id"]] * 2
    assert len(sent) == 5 and {h["X-EDC-Timestamp"] for h in sent} == {str(int(frozen))}
    assert len({h["X-EDC-Nonce"] for h in sent}) == len({h["X-EDC-Signature"] for h in sent}) == 5


def test_refused_read_is_retried_with_fresh_headers() -> None:
    from edx_xblock.client import SidecarClient

    class Answer:
        def __init__(self, status: int) -> None:
            self.status_code, self.reason, self.content = status, "", b"{}"

        def json(self) -> dict:
            return {"id": "c"}

    class Session:
        def __init__(self) -> None:
            self.headers: list[dict[str, str]] = []

        def request(self, method: str, url: str, **kwargs) -> Answer:  # noqa: ANN003
            self.headers.append(dict(kwargs["headers"]))
            return Answer(401 if len(self.headers) == 1 else 200)

    session = Session()
    client = SidecarClient(load_config({"SIDECAR_URL": "https://edc.example", "SOURCE": "s", "API_KEY": "k"}),
                           session=session)  # type: ignore[arg-type]
    assert client.credential("c") == {"id": "c"}
    first, retry = session.headers
    assert first["X-EDC-Nonce"] != retry["X-EDC-Nonce"]
    assert first["X-EDC-Signature"] != retry["X-EDC-Signature"]


def test_olx_write_then_read() -> None:
    node = etree.Element("edc_credential")
    values = {"display_name": "D", "languages": ["fr"], "title": {"fr": "Titre <&>"}, "description": {},
              "ects": 2.5, "eqf_level": 4, "isced_f": "0613", "mode": "online", "learning_setting": "formal",
              "volume_hours": 10.0, "outcomes": [{"text": {"fr": "t"}, "esco_skills": [{"uri": ADAPT, "labels": {}}]}]}
    olx.write(node, values, 7)
    again = olx.read(etree.fromstring(etree.tostring(node)))
    assert again == {**values, "template_version": 7}


def _catalog_ids() -> set[str]:
    found = extract_from_dir(str(PACKAGE), method_map=[("**.py", "python")], keywords={"_": None, "N_": None})
    return {message for _file, _line, message, _comments, _context in found}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_catalogs_cover_the_code_and_mo_matches_po(lang: str) -> None:
    folder = PACKAGE / "conf" / "locale" / lang / "LC_MESSAGES"  # OEP-58 layout, domain "django"
    with (folder / "django.po").open("rb") as handle:
        po = read_po(handle)
    with (folder / "django.mo").open("rb") as handle:
        mo = read_mo(handle)
    po_ids = {m.id for m in po if m.id}
    assert _catalog_ids() == po_ids
    assert {m.id: m.string for m in mo if m.id} == {m.id: m.string for m in po if m.id and m.string}
    if lang == "fr":
        assert all(m.string for m in po if m.id), "every French string is translated"


def test_never_imports_bridge_or_sealer() -> None:
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in ("bridge", "sealer", "moodle_adapter"), f"{path}: {name}"


@pytest.mark.parametrize("script", ["studio.js", "student.js"])
def test_javascript_parses(script: str) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    result = subprocess.run([node, "--check", str(PACKAGE / "static" / "js" / script)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
