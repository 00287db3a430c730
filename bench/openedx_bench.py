"""Open edX plugin figures: what a passing event costs the LMS, and how fast completions leave.

The receiver's cost is what the grading code pays per learner (an outbox write and a Celery message
queued on commit, no network); the baseline is openedx-events dispatching the same event with no
receiver, in the same run. The send rate is the Celery task's work per completion (claim, re-check
against the grades API and the enrollment mode, POST to the real sidecar on loopback, settle).
edx-platform's APIs are the suite's stand-ins (tests/edx/plugin/platform_root). Prints figures only.
Usage: python bench/openedx_bench.py [--events 300]
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _fmt(costs: list[float]) -> str:
    costs = sorted(costs)
    return f"median {statistics.median(costs) * 1000:.3f} ms, p95 {costs[int(len(costs) * 0.95) - 1] * 1000:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="edc-openedx-bench-"))
    os.environ["EDC_EDX_WORKDIR"] = str(workdir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.edx.plugin.settings"
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    logging.disable(logging.WARNING)
    import tests.edx.plugin.celery_app  # noqa: F401
    call_command("migrate", verbosity=0)
    from common.djangoapps.student.models import CourseEnrollment
    from django.contrib.auth import get_user_model
    from edx_django_utils.plugins import connect_plugin_receivers
    from lms.djangoapps.grades.api import GRADES, PersistentCourseGrade
    from opaque_keys.edx.keys import CourseKey, UsageKey
    from openedx_events.learning.data import CourseData, CoursePassingStatusData, UserData, UserPersonalData
    from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

    from edx_xblock.config import load_config
    from edx_xblock.plugin import tasks
    from edx_xblock.plugin.publishing import sync_course
    from edx_xblock.plugin.sending import send_one
    from tests.edx.sidecar_server import bridge_settings, running_sidecar

    course_id = "course-v1:Bench+EDC+2026"
    key = CourseKey.from_string(course_id)
    queued: list[tuple] = []
    tasks.send_completion.apply_async = lambda args=(), **options: queued.append(tuple(args))  # the broker
    with running_sidecar(workdir / "sidecar") as sidecar:
        config = {**bridge_settings(sidecar.url), "SEND_DELAY_SECONDS": 0}
        settings.EDC_BRIDGE = {**settings.EDC_BRIDGE, **config}
        block = SimpleNamespace(location=UsageKey.from_string("block-v1:Bench+EDC+2026+type@edc_credential+block@c"),
                                display_name="Bench", languages=["en"], title={"en": "Bench"}, description={},
                                ects=None, eqf_level=None, isced_f="", mode="online", learning_setting="non-formal",
                                volume_hours=None, outcomes=[{"text": {"en": "Adapt"}, "esco_skills": [
                                    {"uri": "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4",
                                     "labels": {}}]}])
        sync_course(course_id, [block], load_config(config))
        course = CourseData(course_key=key)
        events = []
        for uid in range(1, args.events + 1):
            user = get_user_model().objects.create(id=uid, username=f"u{uid}", email=f"u{uid}@example.org",
                                                   first_name="Learner", last_name=f"Number{uid}")
            CourseEnrollment.enroll(user, key, "verified")
            GRADES[(uid, course_id)] = PersistentCourseGrade(uid, key, 0.9, "Pass", None)
            events.append(CoursePassingStatusData(is_passing=True, course=course, user=UserData(
                id=uid, is_active=True, pii=UserPersonalData(username=f"u{uid}", email=f"u{uid}@example.org",
                                                             name=f"Learner Number{uid}"))))
        baseline = []
        for data in events:  # no receiver connected yet: openedx-events' own dispatch
            start = time.perf_counter()
            COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=data)
            baseline.append(time.perf_counter() - start)
        connect_plugin_receivers("lms.djangoapp")
        costs = []
        for data in events:
            start = time.perf_counter()
            COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=data)
            costs.append(time.perf_counter() - start)
        bridge = load_config(settings.EDC_BRIDGE)
        start = time.perf_counter()
        outcomes = [send_one(c, u, bridge).result for c, u in queued]
        elapsed = time.perf_counter() - start
        sidecar.drain()
    print(f"machine: {os.cpu_count()} cores, SQLite for the LMS tables, sidecar on loopback (embedded defaults)")
    print(f"passing event, openedx-events dispatch alone (baseline): {_fmt(baseline)}")
    print(f"passing event with the EDC receiver (outbox write + message on commit): {_fmt(costs)} "
          f"= {statistics.median(costs) / statistics.median(baseline):.1f}x baseline")
    print(f"send task: {outcomes.count('sent')}/{len(queued)} sent in {elapsed:.2f} s "
          f"= {len(queued) / elapsed:.0f} completions/s (re-check + POST + settle)")


if __name__ == "__main__":
    main()
