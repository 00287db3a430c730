"""Open edX plugin figures: cost of a passing event inside the LMS request, and outbox drain rate.

The receiver's cost is what a learner's request pays (an outbox write, no network); the drain rate is
how fast queued completions reach the real sidecar (served on loopback, embedded defaults). Prints
figures only. Usage: python bench/openedx_bench.py [--events 300]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


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
    from edx_django_utils.plugins import connect_plugin_receivers

    django.setup()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
    call_command("migrate", verbosity=0)
    connect_plugin_receivers("lms.djangoapp")
    from opaque_keys.edx.keys import CourseKey
    from openedx_events.learning.data import CourseData, CoursePassingStatusData, UserData, UserPersonalData
    from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

    from edx_xblock.client import SidecarClient
    from edx_xblock.config import load_config
    from edx_xblock.plugin.outbox import drain
    from tests.edx.sidecar_server import AWARDING_BODY, bridge_settings, running_sidecar

    course_key = "course-v1:Bench+EDC+2026"
    with running_sidecar(workdir / "sidecar") as sidecar:
        config = bridge_settings(sidecar.url, DRAIN_ON_COMMIT=False)
        settings.EDC_BRIDGE = {**settings.EDC_BRIDGE, **config}
        SidecarClient(load_config(config)).put_template(course_key, {
            "title": {"en": "Bench"}, "languages": ["en"], "awarding_body": AWARDING_BODY,
            "learning_outcomes": [{"text": {"en": "Adapt"}, "esco_skills": [
                "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4"]}]})
        course = CourseData(course_key=CourseKey.from_string(course_key), display_name="Bench")
        costs = []
        for uid in range(1, args.events + 1):
            data = CoursePassingStatusData(is_passing=True, course=course, user=UserData(
                id=uid, is_active=True, pii=UserPersonalData(username=f"u{uid}", email=f"u{uid}@example.org",
                                                             name=f"Learner Number{uid}")))
            start = time.perf_counter()
            COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=data)
            costs.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = drain(limit=args.events)
        elapsed = time.perf_counter() - start
        sidecar.drain()
    costs.sort()
    print(f"passing event in the LMS request (receiver + outbox write), {args.events} events:")
    print(f"  median {statistics.median(costs) * 1000:.2f} ms, p95 {costs[int(len(costs) * 0.95) - 1] * 1000:.2f} ms")
    print(f"drain to the sidecar: {report} in {elapsed:.2f} s = {report.sent / elapsed:.0f} completions/s")


if __name__ == "__main__":
    main()
