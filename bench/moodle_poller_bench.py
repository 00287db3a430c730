"""The Moodle poller at scale: 10,000 learners in 20 courses, against the Moodle imitation and the
HMAC-checking fake sidecar of tests/moodle, on loopback.

Run: ``python bench/moodle_poller_bench.py [LEARNERS] [COURSES]`` (default 10000 20). Each course has
LEARNERS/COURSES learners, 80 % of whom completed it after the poller started. It prints, per run,
the Moodle calls made, the completions sent and the seconds taken:

* first run: every learner is asked about once, the completions are sent (grades read course-wide);
* unchanged run, a minute later: nothing happened; the participant lists are read and
  ``poll.checks_per_run`` (100) incomplete learners are checked again;
* one new completion: the learner's course access moved, so they are asked at once.

The raw baseline replays, in the same run, exactly the Web Services calls the poller made, with
nothing else (no state, no sidecar); the ratio says how much the poller adds to Moodle's answers.
Real Moodle sites answer each call in 20-200 ms of PHP and database time, which dominates in
production: count the calls.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moodle_adapter.config import load_config  # noqa: E402
from moodle_adapter.moodle_client import MoodleClient  # noqa: E402
from moodle_adapter.poller import Poller  # noqa: E402
from moodle_adapter.sidecar_client import SidecarClient  # noqa: E402
from tests.moodle.fake_moodle import (  # noqa: E402
    ESCO_PYTHON,
    Course,
    CourseTotal,
    CustomField,
    Enrolment,
    FakeMoodle,
    MoodleSite,
    Token,
    User,
)
from tests.moodle.fake_sidecar import FakeSidecar  # noqa: E402

TOKEN, API_KEY, SOURCE = "bench-token", "bench-key", "moodle-bench"
DEFAULTS = {"mode": "online", "languages": ["en", "fr"],
            "awarding_body": {"legal_name": {"en": "Bench University"}, "legal_identifier": "123456789",
                              "country": "FR", "homepage": "https://univ.example"}}


def build_site(learners: int, courses: int, start: int) -> MoodleSite:
    site = MoodleSite(tokens={TOKEN: Token(user_id=2)})
    per_course = learners // courses
    uid = 1000
    for cid in range(10, 10 + courses):
        site.courses[cid] = Course(cid, f'<span lang="en" class="multilang">Course {cid}</span>'
                                        f'<span lang="fr" class="multilang">Cours {cid}</span>', f"C{cid}",
                                   lang="en", customfields=[CustomField("edc_issue", "checkbox", "1"),
                                                            CustomField("edc_ects", "text", "5")])
        site.competencies[cid] = [{"id": cid, "shortname": "Python (computer programming)", "idnumber": ESCO_PYTHON}]
        site.criteria[cid] = [4, 6]
        site.totals[cid] = CourseTotal(gradepass=50.0)
        site.enrolments[cid] = {}
        for i in range(per_course):
            site.users[uid] = User(uid, f"Learner{uid}", "Bench", f"l{uid}@example.org")
            site.enrolments[cid][uid] = Enrolment(lastaccess=start - 86_400)
            site.totals[cid].grades[uid] = float(40 + uid % 60)
            if i % 5:  # 80 % completed
                site.complete(cid, uid, start + 30)
            uid += 1
    return site


def replay(client: MoodleClient, calls: list[tuple[str, dict]]) -> float:
    """Seconds the same Web Services calls take on their own (the raw baseline of a run)."""
    began = time.perf_counter()
    for function, params in calls:
        client.call(function, **params)
    return time.perf_counter() - began


def main(learners: int, courses: int) -> None:
    start = int(time.time())
    site = build_site(learners, courses, start)
    moodle, sidecar = FakeMoodle(site), FakeSidecar({SOURCE: API_KEY})
    clock = [float(start)]
    with tempfile.TemporaryDirectory() as tmp:
        env = {"EDC_MOODLE_URL": moodle.url, "EDC_MOODLE_TOKEN": TOKEN, "EDC_MOODLE_SIDECAR_URL": sidecar.url,
               "EDC_MOODLE_SOURCE": SOURCE, "EDC_MOODLE_API_KEY": API_KEY, "EDC_MOODLE_MARKER_FIELD": "edc_issue",
               "EDC_MOODLE_STATE": str(Path(tmp) / "state.json")}
        config = load_config(None, env=env)
        config.defaults = DEFAULTS
        client = MoodleClient(config.moodle_url, TOKEN)
        poller = Poller(config, client, SidecarClient(config.sidecar_url, SOURCE, API_KEY), emit=lambda _l: None,
                        clock=lambda: clock[0])
        runs = [("first run", 0), ("unchanged run", 60), ("one new completion", 120)]
        for label, offset in runs:
            clock[0] = float(start + offset)
            if label == "one new completion":
                cid, uid = 10, 1000  # learner 1000 (incomplete) comes back and completes
                site.enrolments[cid][uid].lastaccess = start + offset - 5
                site.complete(cid, uid, start + offset - 5)
            site.calls.clear()
            posts_before = len(sidecar.completion_posts())
            began = time.perf_counter()
            report = poller.run_once()
            elapsed = time.perf_counter() - began
            made = list(site.calls)
            posts = len(sidecar.completion_posts()) - posts_before
            raw = replay(client, made)
            site.calls.clear()
            print(f"{label:19s} {learners} learners / {courses} courses: {elapsed:7.2f} s, {len(made):6d} Moodle calls "
                  f"({report.checked} completion checks), {posts:5d} completions sent, {len(report.errors)} errors; "
                  f"the same calls alone {raw:6.2f} s, run = {elapsed / raw if raw else 0:4.2f} x raw")
        size = Path(env["EDC_MOODLE_STATE"]).stat().st_size
        print(f"state file: {size / 1024:,.0f} KiB for {learners} learners")
    moodle.stop()
    sidecar.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000, int(sys.argv[2]) if len(sys.argv) > 2 else 20)
