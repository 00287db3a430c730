"""The pipeline issues through compiled templates, and falls back to assembly when one cannot compile."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bridge.config import Settings
from bridge.elm.assemble import assemble
from bridge.elm.compiled import CompiledTemplates, CompileError
from bridge.elm.completion import Completion
from bridge.elm.conformance import shacl_validate
from bridge.elm.errors import ValidationFailed
from bridge.elm.learning_opportunity import opportunity_url
from bridge.elm.template import CourseTemplate
from bridge.tasks.services import PermanentIssueError, Services, stored_completion
from sealer.validation import parse

from .conftest import example_completion, example_template

ISSUED = dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC)
CRED_ID = "0b7c8e1e-5d35-4a4e-9f0e-3a8f6d2c1b10"


@pytest.fixture()
def services(tmp_path: Path, dev_seal_p12: Path) -> Services:
    return Services(Settings.from_env({"EDC_DATA_DIR": str(tmp_path), "EDC_SEAL_PKCS12": str(dev_seal_p12),
                                       "EDC_SEAL_PKCS12_PASSWORD": "dev-seal"}))


def _reference(services: Services) -> bytes:
    completion = Completion.from_dict(example_completion())
    credential = assemble(CourseTemplate.from_dict(example_template()), completion, services.issuer,
                          credential_id=f"urn:credential:{CRED_ID}", issued=ISSUED,
                          skill_labels=services.esco.labels,
                          learning_opportunity=opportunity_url(services.settings.public_url, completion.source,
                                                               completion.course_id))
    return json.dumps(credential, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def test_compiled_output_is_the_assembled_credential_and_seals(services: Services) -> None:
    payload, escaped = services.build_credential(example_template(), example_completion(), credential_id=CRED_ID,
                                                 issued=ISSUED, course=("moodle-main", "42"))
    assert escaped is not None  # the fast path was taken
    assert payload == _reference(services)
    report = parse(services.seal(payload, escaped=escaped))
    assert report.signature_intact and report.payload == payload
    assert shacl_validate(json.loads(payload)).conforms


def test_a_template_that_does_not_compile_still_issues_a_conformant_credential(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise CompileError("simulated: assemble is not reproducible for this template")

    monkeypatch.setattr(CompiledTemplates, "get", refuse)
    payload, escaped = services.build_credential(example_template(), example_completion(), credential_id=CRED_ID,
                                                 issued=ISSUED, course=("moodle-main", "42"))
    assert escaped is None and payload == _reference(services)


def test_a_bad_completion_is_a_permanent_failure_naming_the_field(services: Services) -> None:
    completion = example_completion(learner={"email": "camille@example.org\n"})
    with pytest.raises(PermanentIssueError, match="learner.email"):
        services.build_credential(example_template(), completion, credential_id=CRED_ID, issued=ISSUED,
                                  course=("moodle-main", "42"))


STORED_VARIANTS = [
    {},
    {"learner": {"date_of_birth": None, "language": None}},
    {"grade": None, "passed": False},
    {"grade": {"text": "Pass"}},
    {"grade": {"score": 7, "max": 10}},
    {"completed_at": "2025-12-31T23:59:59+01:00"},
    {"learner": {"given_name": " Zoë \"Z\" ", "family_name": "名"}},
]


@pytest.mark.parametrize("changes", STORED_VARIANTS)
def test_a_stored_completion_reads_back_as_validation_would(changes: dict) -> None:
    document = example_completion(**json.loads(json.dumps(changes)))
    stored = json.loads(json.dumps(Completion.from_dict(document).to_dict()))  # what intake writes
    assert stored_completion(stored) == Completion.from_dict(stored)


def test_a_completion_not_in_stored_form_is_validated_in_full() -> None:
    stored = Completion.from_dict(example_completion()).to_dict()
    del stored["learner"]["language"]  # e.g. written by an older version: still accepted
    assert stored_completion(stored) == Completion.from_dict(stored)
    for field, value in (("passed", "yes"), ("completed_at", "2026-11-20T10:00:00")):
        with pytest.raises(ValidationFailed, match=field):
            stored_completion({**Completion.from_dict(example_completion()).to_dict(), field: value})


def test_compiled_templates_are_cached_by_content_not_by_version(services: Services) -> None:
    """Two contents under one version number (what concurrent writers once stored) never share a compiled
    template; the same content seen again is not compiled again."""
    first = example_template()
    changed = example_template()
    changed["title"] = {"en": "Another course title", "fr": "Un autre intitulé"}
    one, _ = services.build_credential(first, example_completion(), credential_id=CRED_ID, issued=ISSUED,
                                       course=("moodle-main", "42"))
    other, _ = services.build_credential(changed, example_completion(), credential_id=CRED_ID, issued=ISSUED,
                                         course=("moodle-main", "42"))
    assert b"Another course title" in other and b"Another course title" not in one
    compiled = len(services.compiled)
    again, _ = services.build_credential(json.loads(json.dumps(first)), example_completion(), credential_id=CRED_ID,
                                         issued=ISSUED, course=("moodle-main", "42"))
    assert again == one and len(services.compiled) == compiled
