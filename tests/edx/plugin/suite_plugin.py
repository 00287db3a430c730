"""The plugin app with real openedx-events signals sent through Django, against the real sidecar."""
from __future__ import annotations

import datetime as dt
import threading
from io import StringIO
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from opaque_keys.edx.keys import CourseKey
from openedx_events.learning.data import (
    CertificateData,
    CourseData,
    CoursePassingStatusData,
    PersistentCourseGradeData,
    UserData,
    UserPersonalData,
)
from openedx_events.learning.signals import (
    CERTIFICATE_CREATED,
    COURSE_PASSING_STATUS_UPDATED,
    PERSISTENT_GRADE_SUMMARY_CHANGED,
)

from edx_xblock.credential_block import _queued_in_outbox
from edx_xblock.plugin import outbox, receivers
from edx_xblock.plugin.models import OutboxCompletion

from .harness import COURSE

LATER = dt.timedelta(days=2)


def user(uid: int = 17, name: str = "Camille Martin", email: str = "camille@example.org") -> UserData:
    return UserData(id=uid, is_active=True, pii=UserPersonalData(username=f"user{uid}", email=email, name=name))


def course(key: str = COURSE) -> CourseData:
    return CourseData(course_key=CourseKey.from_string(key), display_name="Data Analysis")


def passing(uid: int = 17, is_passing: bool = True, key: str = COURSE, **pii: Any) -> None:
    COURSE_PASSING_STATUS_UPDATED.send_event(
        course_passing_status=CoursePassingStatusData(is_passing=is_passing, course=course(key), user=user(uid, **pii)))


def grade(uid: int, percent: float, passed_at: dt.datetime | None) -> None:
    PERSISTENT_GRADE_SUMMARY_CHANGED.send_event(grade=PersistentCourseGradeData(
        user_id=uid, course=course(), course_edited_timestamp=timezone.now(), course_version="v1",
        grading_policy_hash="h", percent_grade=percent, letter_grade="Pass", passed_timestamp=passed_at))


def credentials_of(sidecar: Any, learner: str) -> list[dict[str, Any]]:
    query = urlencode({"source": "openedx-main", "course_id": COURSE, "learner_id": learner})
    answer = sidecar.admin_get(f"/api/v1/credentials?{query}")
    return answer.get_json()["items"]


def test_receivers_are_connected_by_the_plugin_framework() -> None:
    for signal, func in ((COURSE_PASSING_STATUS_UPDATED, receivers.passing_status_updated),
                         (PERSISTENT_GRADE_SUMMARY_CHANGED, receivers.grade_summary_changed),
                         (CERTIFICATE_CREATED, receivers.certificate_created)):
        assert func in [ref() for _key, ref in signal.receivers], signal.event_type


def test_passing_learner_becomes_a_sealed_credential(bridge: dict[str, Any], sidecar: Any) -> None:
    passing(17)
    row = OutboxCompletion.objects.get(course_id=COURSE, user_id="17")
    assert row.status == "pending" and row.attempts == 0  # the event only wrote the outbox
    assert row.payload["learner"] == {"id": "17", "given_name": "Camille", "family_name": "Martin",
                                      "email": "camille@example.org", "language": "en"}
    assert outbox.is_queued(COURSE, "17")
    assert _queued_in_outbox(COURSE, "17")  # what the XBlock asks to show "being issued" meanwhile
    report = outbox.drain()
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    row.refresh_from_db()
    assert row.status == "sent" and row.credential_id and row.payload == {}  # personal data cleared
    assert not _queued_in_outbox(COURSE, "17")
    sidecar.drain()
    [cred] = credentials_of(sidecar, "17")
    assert cred["id"] == row.credential_id and cred["status"] in ("sealed", "delivered")


def test_repeated_events_are_one_completion(bridge: dict[str, Any], sidecar: Any) -> None:
    passing(18, name="Jean Paul Dupont")
    passing(18, name="Jean Paul Dupont")
    CERTIFICATE_CREATED.send_event(certificate=CertificateData(
        user=user(18, name="Jean Paul Dupont"), course=course(), mode="verified", grade="0.91",
        download_url="", name="Jean Paul Dupont", current_status="downloadable"))
    [row] = OutboxCompletion.objects.filter(user_id="18")
    assert row.payload["grade"] == {"score": 91.0, "max": 100}
    assert (row.payload["learner"]["given_name"], row.payload["learner"]["family_name"]) == ("Jean Paul", "Dupont")
    assert outbox.drain().sent == 1
    passing(18, name="Jean Paul Dupont")  # after sending: nothing new is queued
    assert outbox.drain().sent == 0
    assert OutboxCompletion.objects.get(user_id="18").status == "sent"
    sidecar.drain()
    assert len(credentials_of(sidecar, "18")) == 1


def test_grade_events(bridge: dict[str, Any]) -> None:
    get_user_model().objects.create(id=19, username="ana", email="ana@example.org", first_name="Ana María",
                                    last_name="García López")
    grade(19, 0.42, None)  # not passed, nothing queued yet
    assert not OutboxCompletion.objects.filter(user_id="19").exists()
    grade(19, 0.875, timezone.now())
    row = OutboxCompletion.objects.get(user_id="19")
    assert row.payload["grade"] == {"score": 87.5, "max": 100, "text": "Pass"}
    assert row.payload["learner"]["given_name"] == "Ana María" and row.payload["learner"]["email"] == "ana@example.org"
    grade(19, 0.9, None)  # a later grade refreshes the unsent completion
    row.refresh_from_db()
    assert row.payload["grade"]["score"] == 90.0
    grade(4242, 0.9, timezone.now())  # unknown user: logged, not queued, no exception
    assert not OutboxCompletion.objects.filter(user_id="4242").exists()


def test_no_longer_passing_withdraws_an_unsent_completion(bridge: dict[str, Any]) -> None:
    passing(20)
    passing(20, is_passing=False)
    assert not OutboxCompletion.objects.filter(user_id="20").exists()


def test_sidecar_down_never_fails_the_event_and_is_retried(bridge: dict[str, Any], sidecar: Any) -> None:
    down = {**bridge, "SIDECAR_URL": "http://127.0.0.1:9", "DRAIN_ON_COMMIT": True}
    with override_settings(EDC_BRIDGE=down):
        passing(21)  # returns normally; the drain runs after commit on a background thread
        for thread in [t for t in threading.enumerate() if t.name == "edc-outbox-drain"]:
            thread.join()
    row = OutboxCompletion.objects.get(user_id="21")
    assert row.status == "pending" and row.attempts == 1
    assert "unreachable" in row.last_error and row.next_attempt_at > timezone.now()
    assert outbox.drain().sent == 0  # not due yet: back-off
    assert outbox.drain(now=timezone.now() + LATER).sent == 1
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 2


def test_background_drain_sends_after_commit(bridge: dict[str, Any], sidecar: Any) -> None:
    with override_settings(EDC_BRIDGE={**bridge, "DRAIN_ON_COMMIT": True}):
        passing(22)
        for thread in [t for t in threading.enumerate() if t.name == "edc-outbox-drain"]:
            thread.join()
    assert OutboxCompletion.objects.get(user_id="22").status == "sent"


def test_gives_up_after_max_attempts(bridge: dict[str, Any]) -> None:
    with override_settings(EDC_BRIDGE={**bridge, "SIDECAR_URL": "http://127.0.0.1:9", "MAX_ATTEMPTS": 2}):
        passing(23)
        outbox.drain()
        report = outbox.drain(now=timezone.now() + LATER)
    row = OutboxCompletion.objects.get(user_id="23")
    assert report.failed == 1 and row.status == "failed" and row.last_error.startswith("gave up after 2 attempts")


def test_refused_completion_fails_with_the_field_and_no_personal_data(bridge: dict[str, Any]) -> None:
    passing(24, email="not-an-email")
    passing(25, key="course-v1:Univ+NOPE+2026")
    report = outbox.drain()
    assert report.failed == 2
    bad_mail = OutboxCompletion.objects.get(user_id="24")
    assert bad_mail.status == "failed" and "learner.email" in bad_mail.last_error
    assert "not-an-email" not in bad_mail.last_error
    no_template = OutboxCompletion.objects.get(user_id="25")
    assert "course_id" in no_template.last_error and "no credential template" in no_template.last_error
    passing(24)  # a new event with a fixed address queues it again
    bad_mail.refresh_from_db()
    assert bad_mail.status == "pending" and bad_mail.attempts == 0


def test_drain_command(bridge: dict[str, Any], sidecar: Any) -> None:
    passing(26, key="course-v1:Univ+NOPE+2026")
    out = StringIO()
    call_command("edc_bridge_drain", stdout=out)
    assert "failed 1" in out.getvalue()
    out = StringIO()
    call_command("edc_bridge_drain", "--retry-failed", stdout=out)
    assert "re-queued 1" in out.getvalue() and "failed 1" in out.getvalue()
    with override_settings(EDC_BRIDGE={"SOURCE": "x"}):
        with pytest.raises(Exception, match="SIDECAR_URL"):
            call_command("edc_bridge_drain")


def test_broken_receiver_input_is_logged_not_raised(bridge: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    receivers.passing_status_updated(course_passing_status=None)
    assert "receiver passing_status_updated failed" in caplog.text


def test_plugin_settings_keep_operator_values() -> None:
    from types import SimpleNamespace

    from edx_xblock.plugin.settings import common, production

    settings = SimpleNamespace(EDC_BRIDGE={"TIMEOUT": 9, "SOURCE": "s"})
    common.plugin_settings(settings)
    assert settings.EDC_BRIDGE["TIMEOUT"] == 9 and settings.EDC_BRIDGE["MAX_ATTEMPTS"] == 30
    settings = SimpleNamespace(ENV_TOKENS={"EDC_BRIDGE": {"SIDECAR_URL": "https://edc.example"}},
                               AUTH_TOKENS={"EDC_BRIDGE": {"API_KEY": "k"}})
    production.plugin_settings(settings)
    assert settings.EDC_BRIDGE["SIDECAR_URL"] == "https://edc.example" and settings.EDC_BRIDGE["API_KEY"] == "k"
