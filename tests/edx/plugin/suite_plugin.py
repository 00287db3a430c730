"""The plugin app with real openedx-events signals, in edx-platform's emission order, against the real
sidecar. edx-platform's grades, enrollments, preferences and modulestore are the stand-ins of
platform_root/ (written from edx-platform's source); Celery messages are recorded on commit and worked
off by ``queue.work()`` through Celery's own task machinery."""
from __future__ import annotations

import datetime as dt
from io import StringIO
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from common.djangoapps.student.models import CourseEnrollment
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from lms.djangoapps.grades.api import GRADES, CourseGradeFactory
from opaque_keys.edx.keys import CourseKey, UsageKey
from openedx.core.djangoapps.user_api.preferences.api import PREFERENCES
from openedx_events.content_authoring.data import XBlockData
from openedx_events.content_authoring.signals import XBLOCK_DELETED, XBLOCK_PUBLISHED
from openedx_events.learning.signals import (
    CCX_COURSE_PASSING_STATUS_UPDATED,
    COURSE_PASSING_STATUS_UPDATED,
    PERSISTENT_GRADE_SUMMARY_CHANGED,
)
from xmodule.modulestore.django import COURSE_PUBLISHED, STORE

from edx_xblock.config import load_config
from edx_xblock.plugin import outbox, receivers, studio_receivers
from edx_xblock.plugin.models import CourseCredential, OutboxCompletion
from edx_xblock.plugin.sending import send_one

from .harness import COURSE

ADAPT = "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4"
KEY = CourseKey.from_string(COURSE)
CCX = CourseKey.from_string("ccx-v1:Univ+DA101+2026+ccx@7")


# ----- Studio, as contentstore drives the modulestore ---------------------------------------------------
def block(usage: str = "block-v1:Univ+DA101+2026+type@edc_credential+block@cred", **changes: Any) -> Any:
    values = {"display_name": "Credential", "languages": ["en", "fr"],
              "title": {"en": "Data Analysis", "fr": "Analyse de données"}, "description": {},
              "ects": 5.0, "eqf_level": 6, "isced_f": "0613", "mode": "online", "learning_setting": "non-formal",
              "volume_hours": 125.0, "outcomes": [{"text": {"en": "Adapt to change", "fr": "S'adapter"},
                                                   "esco_skills": [{"uri": ADAPT, "labels": {}}]}]}
    values.update(changes)
    return SimpleNamespace(location=UsageKey.from_string(usage), **values)


def save_draft(item: Any) -> None:
    STORE.draft[str(item.location)] = item


def delete(item: Any) -> None:
    """Deleting a component changes the draft only; Studio sends XBLOCK_DELETED."""
    STORE.draft.pop(str(item.location), None)
    XBLOCK_DELETED.send_event(xblock_info=XBlockData(usage_key=item.location, block_type="edc_credential"))


def publish_unit() -> None:
    """Publishing a unit: its draft becomes the published branch; XBLOCK_PUBLISHED names the unit, then
    the course's COURSE_PUBLISHED."""
    STORE.published.clear()
    STORE.published.update(STORE.draft)
    unit = UsageKey.from_string("block-v1:Univ+DA101+2026+type@vertical+block@unit1")
    XBLOCK_PUBLISHED.send_event(xblock_info=XBlockData(usage_key=unit, block_type="vertical"))
    COURSE_PUBLISHED.send(sender=None, course_key=KEY)


def sidecar_template(sidecar: Any, course: str = COURSE) -> Any:
    response = sidecar.admin_get(f"/api/v1/sources/openedx-main/courses/{course}/template")
    return response.get_json() if response.status_code == 200 else None


def credentials_of(sidecar: Any, learner: Any, course: str = COURSE) -> list[dict[str, Any]]:
    query = urlencode({"source": "openedx-main", "course_id": course, "learner_id": str(learner)})
    return sidecar.admin_get(f"/api/v1/credentials?{query}").get_json()["items"]


@pytest.fixture
def published(bridge: dict[str, Any], queue: Any, sidecar: Any) -> Any:
    save_draft(block())
    publish_unit()
    queue.work()
    return CourseCredential.objects.get(course_id=COURSE)


def learner(uid: int, mode: str = "verified", course: Any = KEY, **fields: Any) -> Any:
    user = get_user_model().objects.create(id=uid, username=f"user{uid}", email=f"user{uid}@example.org",
                                           first_name=fields.pop("first_name", "Camille"),
                                           last_name=fields.pop("last_name", "Martin"), **fields)
    CourseEnrollment.enroll(user, course, mode)
    return user


def grade(user: Any, percent: float, course: Any = KEY, between: Any = None) -> None:
    CourseGradeFactory().update(user, course, percent, between=between)


def row(uid: int, course: Any = KEY) -> OutboxCompletion | None:
    return OutboxCompletion.objects.filter(course_id=str(course), user_id=str(uid)).first()


# ----- wiring ------------------------------------------------------------------------------------
def test_receivers_are_connected_for_lms_and_studio() -> None:
    def connected(signal: Any) -> list[Any]:
        return [ref() for _key, ref in signal.receivers]
    assert receivers.passing_status_updated in connected(COURSE_PASSING_STATUS_UPDATED)
    assert receivers.ccx_passing_status_updated in connected(CCX_COURSE_PASSING_STATUS_UPDATED)
    assert receivers.grade_summary_changed in connected(PERSISTENT_GRADE_SUMMARY_CHANGED)
    assert studio_receivers.course_published in connected(COURSE_PUBLISHED)
    assert studio_receivers.xblock_changed in connected(XBLOCK_PUBLISHED)
    assert studio_receivers.xblock_changed in connected(XBLOCK_DELETED)


# ----- Studio owns the template ------------------------------------------------------------------
def test_drafts_never_reach_the_sidecar_publishing_does(bridge: dict[str, Any], queue: Any, sidecar: Any) -> None:
    save_draft(block())  # the suite's first test: the sidecar has no template for the course yet
    assert queue.messages == [] and sidecar_template(sidecar) is None  # saving a draft pushes nothing
    publish_unit()
    assert sidecar_template(sidecar) is None  # queued on commit, run by Studio's workers
    assert queue.work() == ["pushed"]
    stored = sidecar_template(sidecar)
    assert stored["version"] == 1 and stored["template"]["title"]["fr"] == "Analyse de données"
    course = CourseCredential.objects.get(course_id=COURSE)
    assert (course.status, course.version, course.usage_ids) == ("pushed", 1, [str(block().location)])

    publish_unit()  # nothing changed: no new version
    queue.work()
    assert sidecar_template(sidecar)["version"] == 1

    save_draft(block(ects=7.5))
    assert sidecar_template(sidecar)["template"]["ects"] == 5.0  # the draft is not what learners see
    publish_unit()
    queue.work()
    assert sidecar_template(sidecar)["version"] == 2 and sidecar_template(sidecar)["template"]["ects"] == 7.5


def test_a_duplicate_that_disagrees_is_refused_loudly(published: Any, queue: Any, sidecar: Any) -> None:
    version = sidecar_template(sidecar)["version"]
    save_draft(block("block-v1:Univ+DA101+2026+type@edc_credential+block@copy", title={"en": "Other", "fr": "Autre"}))
    publish_unit()
    queue.work()
    course = CourseCredential.objects.get(course_id=COURSE)
    assert course.status == "refused" and "2 credential components" in course.errors[0]["message"]
    assert sidecar_template(sidecar)["version"] == version  # the sidecar keeps the last good template


def test_refusal_names_the_field(bridge: dict[str, Any], queue: Any, sidecar: Any) -> None:
    save_draft(block(isced_f="1234"))  # not an ISCED-F code the sidecar knows
    publish_unit()
    queue.work()
    course = CourseCredential.objects.get(course_id=COURSE)
    assert course.status == "refused" and [e["field"] for e in course.errors] == ["isced_f"]


def test_deleting_the_block_stops_issuing_once_published(published: Any, queue: Any) -> None:
    user = learner(30)
    delete(block())
    queue.work()
    assert CourseCredential.objects.get(course_id=COURSE).status == "pushed"  # still published
    publish_unit()
    queue.work()
    assert CourseCredential.objects.get(course_id=COURSE).status == "removed"
    grade(user, 0.9)
    assert row(30) is None  # the course issues no credential any more


def test_unreachable_sidecar_at_publish_is_retried(bridge: dict[str, Any], queue: Any, sidecar: Any) -> None:
    save_draft(block())
    with override_settings(EDC_BRIDGE={**bridge, "SIDECAR_URL": "http://127.0.0.1:9"}):
        publish_unit()
        from edx_xblock.plugin.tasks import sync_course_template

        assert sync_course_template.apply(args=(COURSE,)).result == "unreachable"  # a worker retries it
    assert CourseCredential.objects.get(course_id=COURSE).status == "unreachable"
    queue.messages.clear()
    publish_unit()
    queue.work()
    assert CourseCredential.objects.get(course_id=COURSE).status == "pushed"


# ----- the right learners ------------------------------------------------------------------------
def test_passing_learner_gets_a_credential_with_grade_and_language(published: Any, queue: Any, sidecar: Any) -> None:
    user = learner(17)
    PREFERENCES[(17, "pref-lang")] = "fr-ca"
    grade(user, 0.875)
    pending = row(17)
    assert pending.status == "pending" and pending.template_course_id == COURSE
    assert pending.payload["learner"] == {"id": "17", "given_name": "Camille", "family_name": "Martin",
                                          "email": "user17@example.org", "language": "en"}
    assert credentials_of(sidecar, 17) == []  # nothing left during the request
    assert queue.work() == ["sent"]
    sent = row(17)
    assert sent.status == "sent" and sent.credential_id and sent.payload == {}  # personal data cleared
    sidecar.drain()
    [cred] = credentials_of(sidecar, 17)
    assert cred["id"] == sent.credential_id and cred["status"] in ("sealed", "delivered")
    grade(user, 0.9)  # later grades of a sent completion change nothing
    assert queue.work() == [] and len(credentials_of(sidecar, 17)) == 1


def test_replay_pass_fail_regrade_issues_nothing_to_the_failing_learner(published: Any, queue: Any,
                                                                        sidecar: Any) -> None:
    """edx-platform's order on each recalculation: grade summary (sticky passed_timestamp), then the
    passing status. The learner passes, fails 50 ms later, and a regrade keeps them failing."""
    user = learner(18)
    with override_settings(EDC_BRIDGE={**published_settings(), "SEND_DELAY_SECONDS": 30}):
        grade(user, 0.8)  # pass: recorded, sent only after the delay, and only if still passing
        grade(user, 0.3)  # fail
        assert GRADES[(18, COURSE)].passed_timestamp is not None  # sticky, as in edx-platform
        grade(user, 0.35)  # regrade: still failing, the summary still carries passed_timestamp
        assert row(18).status == "withdrawn"
        queue.work()
        later = timezone.now() + dt.timedelta(minutes=5)
        assert send_one(COURSE, "18", load_config(published_settings()), now=later).result.startswith("nothing")
    call_command("edc_bridge_requeue", stdout=StringIO())
    queue.work()
    sidecar.drain()
    assert credentials_of(sidecar, 18) == [] and row(18).status == "withdrawn"


def published_settings() -> dict[str, Any]:
    from django.conf import settings

    return dict(settings.EDC_BRIDGE)


def test_a_worker_between_the_grade_summary_and_the_failing_status_sends_nothing(published: Any, queue: Any,
                                                                                 sidecar: Any) -> None:
    """The old bug: the grade summary of a regrade still says passed_timestamp, the failing status comes
    ~50 ms later; a worker running in between must see the learner failing (grades API) and send nothing."""
    user = learner(19)
    grade(user, 0.8)  # passed; the send is queued but no worker has run yet
    results: list[Any] = []
    grade(user, 0.3, between=lambda: results.extend(queue.work()))
    assert results == ["withdrawn: not passing"]
    assert row(19).status == "withdrawn"
    sidecar.drain()
    assert credentials_of(sidecar, 19) == []


def test_passed_timestamp_alone_never_opens_a_completion(published: Any, queue: Any) -> None:
    user = learner(20)
    GRADES.clear()
    with override_settings(EDC_BRIDGE={**published_settings()}):
        CourseCredential.objects.filter(course_id=COURSE).update(status="removed")
        grade(user, 0.9)  # passed while the course had no credential
        CourseCredential.objects.filter(course_id=COURSE).update(status="pushed")
        grade(user, 0.2)  # failing now; the summary still has passed_timestamp
    assert row(20) is None and queue.work() == []


def test_pass_fail_pass_sends_once(published: Any, queue: Any, sidecar: Any) -> None:
    user = learner(21)
    grade(user, 0.8)
    grade(user, 0.3)
    grade(user, 0.7)
    assert row(21).status == "pending" and row(21).attempts == 0
    assert queue.work() == ["sent", "nothing to send (sent)"]
    sidecar.drain()
    assert len(credentials_of(sidecar, 21)) == 1


def test_ccx_learner_is_filed_under_the_master_course(published: Any, queue: Any, sidecar: Any) -> None:
    user = learner(22, course=CCX)
    grade(user, 0.9, course=CCX)
    assert row(22, CCX).template_course_id == COURSE
    assert queue.work() == ["sent"]
    sidecar.drain()
    assert len(credentials_of(sidecar, 22)) == 1  # the CCX's master course holds the template
    other = learner(23, course=CCX)
    grade(other, 0.9, course=CCX)
    grade(other, 0.1, course=CCX)  # CCX_COURSE_PASSING_STATUS_UPDATED(is_passing=False) withdraws
    assert row(23, CCX).status == "withdrawn" and queue.work() == ["nothing to send (withdrawn)"]


@pytest.mark.parametrize(("uid", "mode", "setting", "features", "expected"), [
    (124, "audit", None, {}, "ineligible"),
    (125, "verified", None, {}, "sent"),
    (126, "honor", None, {}, "sent"),
    (127, "honor", None, {"DISABLE_HONOR_CERTIFICATES": True}, "ineligible"),
    (128, "verified", ["professional"], {}, "ineligible"),
    (129, "audit", ["audit", "verified"], {}, "sent"),
])
def test_only_certificate_eligible_enrollments(published: Any, queue: Any, uid: int, mode: str, setting: Any,
                                               features: dict[str, bool], expected: str) -> None:
    # One learner per case: the sidecar outlives the cases, and a learner's credential, once sealed,
    # answers a different completion (another date) with 409.
    user = learner(uid, mode=mode)
    with override_settings(EDC_BRIDGE={**published_settings(), "ELIGIBLE_MODES": setting}, FEATURES=features):
        grade(user, 0.9)
        queue.work()
    assert row(uid).status == expected
    if expected == "ineligible":
        assert repr(mode) in row(uid).last_error and row(uid).payload == {}


def test_refused_completion_keeps_the_field_and_no_personal_data(published: Any, queue: Any) -> None:
    user = learner(25)
    get_user_model().objects.filter(pk=25).update(email="not-an-email")
    user.email = "not-an-email"
    grade(user, 0.9)
    assert queue.work() == ["refused"]
    refused = row(25)
    assert refused.status == "failed" and "learner.email" in refused.last_error
    assert "not-an-email" not in refused.last_error
    grade(user, 0.95)  # a new passing event opens it again
    assert row(25).status == "pending" and row(25).attempts == 0


def test_sidecar_down_is_retried_with_back_off(published: Any, queue: Any, sidecar: Any) -> None:
    user = learner(26)
    with override_settings(EDC_BRIDGE={**published_settings(), "SIDECAR_URL": "http://127.0.0.1:9"}):
        grade(user, 0.9)
        from edx_xblock.plugin.tasks import send_completion

        queue.messages.clear()
        assert send_completion.apply(args=(COURSE, "26")).result == "will retry"  # a worker: self.retry
    waiting = row(26)
    assert waiting.status == "pending" and waiting.attempts == 1 and "unreachable" in waiting.last_error
    assert waiting.next_attempt_at > timezone.now() + dt.timedelta(seconds=50)
    assert send_one(COURSE, "26", load_config(published_settings())).result == "not due yet"
    later = timezone.now() + dt.timedelta(minutes=2)
    assert send_one(COURSE, "26", load_config(published_settings()), now=later).result == "sent"


def test_a_withdrawal_during_the_send_is_never_undone(published: Any, queue: Any) -> None:
    """The completion is in flight when the failing status arrives: the row stays withdrawn."""
    from edx_xblock.client import SidecarClient

    user = learner(27)
    grade(user, 0.9)
    queue.messages.clear()
    config = load_config(published_settings())

    class Racing(SidecarClient):
        def post_completion(self, completion: dict[str, Any]) -> dict[str, Any]:
            answer = super().post_completion(completion)
            outbox.withdraw(COURSE, "27", "no longer passing (COURSE_PASSING_STATUS_UPDATED)")
            return answer

    assert send_one(COURSE, "27", config, client=Racing(config)).result == "sent, then withdrawn"
    assert row(27).status == "withdrawn" and row(27).credential_id


def test_requeue_command(published: Any, queue: Any) -> None:
    user = learner(28)
    grade(user, 0.9)
    queue.messages.clear()  # the broker lost the message
    out = StringIO()
    call_command("edc_bridge_requeue", stdout=out)
    assert "queued 1" in out.getvalue() and queue.work() == ["sent"]


def test_receivers_never_raise(bridge: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    receivers.passing_status_updated(course_passing_status=None)
    assert "receiver passing_status_updated failed" in caplog.text


def test_plugin_settings_keep_operator_values() -> None:
    from edx_xblock.plugin.settings import common, production

    settings = SimpleNamespace(EDC_BRIDGE={"TIMEOUT": 9, "SOURCE": "s"})
    common.plugin_settings(settings)
    assert settings.EDC_BRIDGE["TIMEOUT"] == 9 and settings.EDC_BRIDGE["SEND_DELAY_SECONDS"] == 30
    settings = SimpleNamespace(ENV_TOKENS={"EDC_BRIDGE": {"SIDECAR_URL": "https://edc.example"}},
                               AUTH_TOKENS={"EDC_BRIDGE": {"API_KEY": "k"}})
    production.plugin_settings(settings)
    assert settings.EDC_BRIDGE["SIDECAR_URL"] == "https://edc.example" and settings.EDC_BRIDGE["API_KEY"] == "k"


def test_on_a_real_worker_through_redis(bridge: dict[str, Any], sidecar: Any) -> None:
    """The messages go through a real broker (Redis, its own db and queue) to a real Celery worker, which
    honours the send delay: the learner who failed 50 ms after passing gets nothing, the other one does."""
    import uuid

    from celery.contrib.testing.worker import start_worker

    from edx_xblock.plugin import tasks
    from edx_xblock.plugin.publishing import sync_course
    from tests.edx.plugin.celery_app import APP

    assert sync_course(COURSE, [block()], load_config(bridge)).status == "pushed"

    queue_name = f"edc-edx-test-{uuid.uuid4().hex[:8]}"
    saved = {k: APP.conf.get(k) for k in ("broker_url", "task_default_queue", "result_backend")}
    APP.conf.update(broker_url="redis://127.0.0.1:6379/14", task_default_queue=queue_name,
                    result_backend=None, broker_connection_retry_on_startup=False)
    passing_user, failing_user = learner(40), learner(41)
    try:
        _run_on_worker(APP, tasks, queue_name, passing_user, failing_user, start_worker)
    finally:
        APP.conf.update(saved)
    assert row(40).status == "sent" and row(41).status == "withdrawn"
    sidecar.drain()
    assert len(credentials_of(sidecar, 40)) == 1 and credentials_of(sidecar, 41) == []


def _run_on_worker(app: Any, tasks: Any, queue_name: str, passing_user: Any, failing_user: Any,
                   start_worker: Any) -> None:
    import time

    with override_settings(EDC_BRIDGE={**published_settings(), "SEND_DELAY_SECONDS": 2}), \
            start_worker(app, pool="solo", perform_ping_check=False, queues=[queue_name], shutdown_timeout=30):
        assert tasks.send_completion.app is app
        grade(passing_user, 0.9)
        grade(failing_user, 0.9)
        time.sleep(0.05)
        grade(failing_user, 0.2)
        assert row(40).status == "pending" and row(41).status == "withdrawn"
        deadline = time.monotonic() + 30
        while row(40).status != "sent" and time.monotonic() < deadline:
            time.sleep(0.2)
