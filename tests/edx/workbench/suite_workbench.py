"""The credential XBlock in the real xblock-sdk workbench runtime, talking to the real sidecar.

Pages and handlers go through the workbench's Django views (URLs, webob conversion, the Django
key-value store); a few checks call the runtime directly where a language must be forced.
"""
from __future__ import annotations

import io
import itertools
import json
import re
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation
from lxml import etree
from workbench.runtime import WorkbenchRuntime

from edx_xblock.client import SidecarClient
from edx_xblock.config import load_config
from edx_xblock.olx import EXAMPLE
from edx_xblock.template_form import build_template, validate_form
from tests.edx.sidecar_server import ADMIN, API_KEY, bridge_settings

COURSE = "course-v1:edX+Demo+2020"  # the course key the workbench gives every block
ADAPT = "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4"
PYTHON = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"
_counter = itertools.count()


def new_block(xml: str | bytes = EXAMPLE) -> str:
    """A fresh usage of the block (its own field state) in the workbench's shared store."""
    runtime = WorkbenchRuntime()
    runtime.id_generator.set_scenario(f"edc-test-{next(_counter)}")
    return runtime.parse_xml_string(xml)


def block(usage_id: str, student: str = "student_1") -> Any:
    return WorkbenchRuntime(student).get_block(usage_id)


def call(usage_id: str, handler: str, body: Any, student: str = "staff_1") -> Any:
    url = reverse("handler", args=(usage_id, handler, "")) + f"?student={student}"
    response = Client().post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def valid_form(**changes: Any) -> dict[str, Any]:
    form = {
        "display_name": "Credential", "languages": ["en", "fr"],
        "title": {"en": "Data Analysis with Python", "fr": "Analyse de données avec Python"},
        "description": {"en": "Hands-on course.", "fr": "Cours pratique."},
        "ects": "7,5", "eqf_level": "6", "isced_f": "0613", "mode": "online", "learning_setting": "non-formal",
        "volume_hours": "125",
        "outcomes": [{"text": {"en": "Adapt to change", "fr": "S'adapter au changement"},
                      "esco_skills": [{"uri": ADAPT, "labels": {"en": "adapt to change"}}]},
                     {"text": {"en": "Program in Python", "fr": "Programmer en Python"},
                      "esco_skills": [{"uri": PYTHON, "labels": {"en": "Python", "fr": "Python"}}]}],
    }
    form.update(changes)
    return form


def sidecar_template(sidecar: Any) -> Any:
    response = sidecar.admin_get(f"/api/v1/sources/openedx-main/courses/{COURSE}/template")
    return response.status_code, response.get_json()


def test_workbench_lists_and_renders_the_scenario(bridge: dict[str, Any]) -> None:
    client = Client()
    assert "edc_credential.0" in client.get("/").content.decode()
    page = client.get("/scenario/edc_credential.0/?student=900").content.decode()
    assert "Data Analysis with Python" in page
    assert "adapt to change" in page and f'href="{ADAPT}"' in page
    assert "edc-status-not_earned" in page and "Pass the course to earn this credential." in page


def test_studio_view_shows_the_form_and_never_the_key(bridge: dict[str, Any]) -> None:
    usage = new_block()
    frag = block(usage).render("studio_view")
    html = frag.body_html()
    assert 'data-field="learning_outcomes"' in html and 'name="ects"' in html
    assert "data-init='EdcCredentialStudio'" in html  # the runtime wraps the fragment and its JS init
    args = json.loads(re.search(r'<script type="json/xblock-args"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert args["values"]["title"]["fr"] == "Analyse de données avec Python"
    assert args["search_url"].startswith("/handler/") and args["save_url"].startswith("/handler/")
    page = html + frag.head_html() + frag.foot_html()
    assert API_KEY not in page and bridge["API_KEY"] not in page


def test_studio_view_reports_missing_configuration() -> None:
    with override_settings(XBLOCK_SETTINGS={}, EDC_BRIDGE={"SIDECAR_URL": "http://127.0.0.1:9"}):
        html = block(new_block()).render("studio_view").body_html()
    assert "EDC_BRIDGE[&#x27;SOURCE&#x27;]" in html


def test_search_handler_asks_the_sidecar(bridge: dict[str, Any]) -> None:
    usage = new_block()
    answer = call(usage, "search_skills", {"q": "adapt to change", "lang": "en"})
    assert answer["lang"] == "en"
    assert ADAPT in [hit["uri"] for hit in answer["results"]]
    assert call(usage, "search_skills", {"q": "a"})["errors"][0]["field"] == "q"


def test_search_uses_the_teachers_language(bridge: dict[str, Any]) -> None:
    import webob

    b = block(new_block())
    request = webob.Request.blank("/", method="POST", body=json.dumps({"q": "adapter"}).encode())
    with translation.override("fr"):
        answer = json.loads(b.runtime.handle(b, "search_skills", request).body)
    assert answer["lang"] == "fr" and answer["results"]
    assert any("adapter" in hit["label"] for hit in answer["results"])


def test_invalid_form_gives_messages_per_field_and_changes_nothing(bridge: dict[str, Any], sidecar: Any) -> None:
    usage = new_block()
    before = block(usage).field_values()
    version_before = sidecar_template(sidecar)
    bad = valid_form(title={"en": "Only English"}, ects="lots", eqf_level="9", volume_hours="-3",
                     outcomes=[{"text": {"en": "x", "fr": "y"}, "esco_skills": [ADAPT, PYTHON, ADAPT, ADAPT]}])
    answer = call(usage, "save_settings", bad)
    assert answer["result"] == "error"
    fields = {e["field"] for e in answer["errors"]}
    assert {"title.fr", "ects", "eqf_level", "volume_of_learning", "learning_outcomes[0].esco_skills"} <= fields
    assert block(usage).field_values() == before
    assert sidecar_template(sidecar) == version_before


def push(usage_id: str, bridge: dict[str, Any]) -> int:
    """What Studio's publish does for this block (plugin/publishing.py): its template to the sidecar."""
    form = validate_form(block(usage_id).field_values())
    assert form.errors == []
    template = build_template(form.values, bridge["AWARDING_BODY"], None, bridge.get("POLICY"))
    return SidecarClient(load_config(bridge)).put_template(COURSE, template)["version"]


def test_save_stores_the_fields_and_pushes_nothing(bridge: dict[str, Any], sidecar: Any) -> None:
    usage = new_block()
    before = sidecar_template(sidecar)
    answer = call(usage, "save_settings", valid_form())
    assert answer == {"result": "saved"}
    reloaded = block(usage, "someone_else")  # a new runtime reads the fields back from the store
    assert reloaded.ects == 7.5 and reloaded.eqf_level == 6 and reloaded.volume_hours == 125.0
    assert reloaded.outcomes[1]["esco_skills"][0]["uri"] == PYTHON
    assert sidecar_template(sidecar) == before  # Studio pushes on publish, never on a draft save


def test_saving_without_learning_outcomes_is_allowed_with_a_hint(bridge: dict[str, Any], sidecar: Any) -> None:
    """Courses without ESCO tagging still issue: the form saves, says what the credential lacks, and the
    published template (no learning outcomes) is accepted by the sidecar."""
    usage = new_block()
    studio = block(usage).render("studio_view").body_html()
    hint = "No learning outcome: the credential will be issued without learning outcomes or ESCO skills."
    assert 'class="edc-hint edc-no-outcomes" role="note"' in studio and hint in studio
    answer = call(usage, "save_settings", valid_form(outcomes=[]))
    assert answer["result"] == "saved"
    assert [w["field"] for w in answer["warnings"]] == ["learning_outcomes"]
    assert hint in answer["warnings"][0]["message"]
    assert block(usage, "someone_else").outcomes == []
    version = push(usage, bridge)
    status, stored = sidecar_template(sidecar)
    assert status == 200 and stored["version"] == version and stored["template"]["learning_outcomes"] == []
    author = block(usage).render("author_view").body_html()
    assert hint in author and "edc-outcomes" not in author.replace("edc-outcomes-", "")
    with translation.override("fr"):
        french = block(usage).render("author_view").body_html()
    assert "Aucun acquis" in french


def test_sidecar_down_still_saves_and_pages_render(sidecar: Any) -> None:
    usage = new_block()
    with override_settings(XBLOCK_SETTINGS={"EdcCredentialBlock": bridge_settings("http://127.0.0.1:9")}):
        answer = call(usage, "save_settings", valid_form())
        page = Client().get("/view/edc_credential.0/?student=901").content.decode()
        status = call(usage, "status", {}, student="901")
    assert answer["result"] == "saved" and block(usage).ects == 7.5
    assert "edc-status-not_earned" in page and status["state"] == "unknown"


def _complete(sidecar: Any, learner: str, bridge: dict[str, Any]) -> str:
    client = SidecarClient(load_config(bridge))
    answer = client.post_completion({
        "source": "openedx-main", "course_id": COURSE, "passed": True, "completed_at": "2026-11-20T10:00:00Z",
        "learner": {"id": learner, "given_name": "Camille", "family_name": "Martin",
                    "email": "camille@example.org", "language": "fr"}})
    sidecar.drain()
    return answer["id"]


def test_issued_credential_shows_links_and_downloads(bridge: dict[str, Any], sidecar: Any) -> None:
    usage = new_block()
    assert call(usage, "save_settings", valid_form())["result"] == "saved"
    push(usage, bridge)
    cred_id = _complete(sidecar, "1001", bridge)
    first = block(usage, "1001").render("student_view").body_html()
    assert "edc-status-not_earned" in first  # rendered from local state: the sidecar was not asked
    status = call(usage, "status", {}, student="1001")  # what the page asks right after rendering
    assert status["state"] == "issued" and status["credential_id"] == cred_id
    assert status["wallet_url"] == "https://europass.europa.eu/en/wallet"
    page = Client().get("/view/edc_credential.0/?student=1001").content.decode()
    assert "edc-status-issued" in page  # the cached answer serves the next render
    url = reverse("handler", args=(usage, "download", "")) + "?student=1001"
    response = Client().get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/ld+json")
    sealed = json.loads(response.content)
    assert sealed["signatures"] and json.loads(sealed["payload"])["credentialSubject"]
    other = Client().get(reverse("handler", args=(usage, "download", "")) + "?student=1002")
    assert other.status_code == 404  # another learner cannot fetch it


def test_failed_delivery_and_revocation_are_shown(bridge: dict[str, Any], sidecar: Any) -> None:
    usage = new_block()
    with override_settings(XBLOCK_SETTINGS={"EdcCredentialBlock": {**bridge, "POLICY": {"channels": ["wallet"]},
                                                                   "SUPPORT_CONTACT": "help@univ.example"}}):
        assert call(usage, "save_settings", valid_form())["result"] == "saved"
        push(usage, {**bridge, "POLICY": {"channels": ["wallet"]}})
        cred_id = _complete(sidecar, "1003", bridge)  # no wallet configured in the sidecar: delivery fails
        assert call(usage, "status", {}, student="1003")["state"] == "delivery_failed"
        page = Client().get("/view/edc_credential.0/?student=1003").content.decode()
    assert "edc-status-delivery_failed" in page and "help@univ.example" in page
    from django.core.cache import cache

    cache.clear()  # the cached status lives STATUS_CACHE_SECONDS; a revocation shows once it expires
    revoked = sidecar.app.test_client().post(f"/api/v1/credentials/{cred_id}:revoke", json={},
                                             headers={"Authorization": f"Bearer {ADMIN}"})
    assert revoked.status_code == 200
    assert call(usage, "status", {}, student="1003")["state"] == "revoked"


def test_french_learner_view(bridge: dict[str, Any]) -> None:
    usage = new_block()
    assert call(usage, "save_settings", valid_form())["result"] == "saved"
    with translation.override("fr"):
        studio = block(usage, "1004").render("studio_view").body_html()
        html = block(usage, "1004").render("student_view").body_html()
    assert "Analyse de données avec Python" in html and "S&#x27;adapter au changement" in html
    assert "Réussissez le cours pour obtenir ce titre." in html
    assert ">En présentiel</option>" in studio and "Enregistrer" in studio  # labels through the i18n service


def test_olx_round_trip(bridge: dict[str, Any]) -> None:
    usage = new_block()
    assert call(usage, "save_settings", valid_form())["result"] == "saved"
    original = block(usage)
    original.template_version = 4
    out = io.BytesIO()
    original.runtime.export_to_xml(original, out)
    xml = out.getvalue()
    root = etree.fromstring(xml)
    assert root.tag == "edc_credential" and root.get("ects") == "7.5" and root.get("languages") == "en fr"
    assert root.find("outcome/skill").get("uri") == ADAPT
    assert root.find("title[@lang='fr']").text == "Analyse de données avec Python"
    copy = block(new_block(xml))
    assert copy.field_values() == original.field_values()
    assert copy.template_version == original.template_version


@pytest.mark.parametrize("xml", ['<edc_credential ects="many"/>', '<edc_credential eqf_level="6.5"/>'])
def test_olx_with_bad_numbers_is_refused_with_the_attribute_name(xml: str) -> None:
    with pytest.raises(ValueError, match="edc_credential: attribute"):
        new_block(xml)


def _with_services(**services: str) -> Any:
    from django.conf import settings

    return override_settings(WORKBENCH={**settings.WORKBENCH, "services": {**settings.WORKBENCH["services"],
                                                                           **services}})


@pytest.mark.parametrize(("services", "allowed"), [
    ({"studio_user_permissions": "tests.edx.workbench.permissions.ReadOnlyPermissions"}, False),
    ({"studio_user_permissions": "tests.edx.workbench.permissions.OlderStudioPermissions"}, True),
    ({"user": "tests.edx.workbench.permissions.LmsCourseStaffUser"}, False),  # the LMS: course staff too
])
def test_edit_rights_are_studios(bridge: dict[str, Any], services: dict[str, str], allowed: bool) -> None:
    usage = new_block()
    before = block(usage).field_values()
    with _with_services(**services):
        saved = call(usage, "save_settings", valid_form(), student="1005")
        found = call(usage, "search_skills", {"q": "adapt"}, student="1005")
    if allowed:
        assert saved["result"] == "saved" and found["results"]
        return
    assert saved["result"] == "error" and saved["errors"][0]["message"] == "Only the course team may do this."
    assert found["results"] == []
    assert block(usage).field_values() == before


def test_studio_preview_is_the_author_view_and_asks_nobody(sidecar: Any) -> None:
    usage = new_block()
    with override_settings(XBLOCK_SETTINGS={"EdcCredentialBlock": bridge_settings("http://127.0.0.1:9")}):
        html = block(usage).render("author_view").body_html()
    assert "Data Analysis with Python" in html and "edc-author" in html
    assert "not installed" in html  # the workbench has no plugin app (Studio has, and shows the push state)


def test_labels_are_completed_in_every_course_language(bridge: dict[str, Any], sidecar: Any) -> None:
    usage = new_block()
    form = valid_form(outcomes=[{"text": {"en": "Adapt", "fr": "S'adapter"},
                                 "esco_skills": [{"uri": ADAPT, "labels": {"en": "adapt to change"}}]}])
    assert call(usage, "save_settings", form)["result"] == "saved"
    labels = block(usage).outcomes[0]["esco_skills"][0]["labels"]
    assert labels["en"] == "adapt to change" and labels["fr"]  # the French label came from the sidecar's ESCO


def test_search_falls_back_to_all_languages(bridge: dict[str, Any]) -> None:
    usage = new_block()
    answer = call(usage, "search_skills", {"q": "adapter au changement", "lang": "de"})
    assert answer["results"] and {hit["lang"] for hit in answer["results"]} <= {"en", "fr"}
    assert any(hit["lang"] == "fr" for hit in answer["results"])


def test_credential_being_issued(tmp_path: Any) -> None:
    from tests.edx.sidecar_server import HeldDispatcher, running_sidecar

    with running_sidecar(tmp_path / "held", dispatcher=HeldDispatcher()) as held:
        config = bridge_settings(held.url)
        with override_settings(XBLOCK_SETTINGS={"EdcCredentialBlock": config}):
            usage = new_block()
            assert call(usage, "save_settings", valid_form())["result"] == "saved"
            push(usage, config)
            _complete(held, "1006", config)
            state = call(usage, "status", {}, student="1006")["state"]
            html = block(usage, "1006").render("student_view").body_html()
    assert state == "issuing"  # not cached: the page asks again until it settles
    assert "edc-status-not_earned" in html
