"""Throughput of the Moodle poller: one course with N completed learners, against the loopback fake
Moodle (Web Services) and fake sidecar (HMAC-checking) of tests/moodle.

Run: ``python bench/moodle_poller_bench.py [N]`` (default N=1000). Figures measure the poller, the
signing and the Python HTTP stacks on loopback, not a real Moodle's PHP/database latency, which
dominates in production (one completion-status call per learner not yet sent).
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
from tests.moodle.fake_moodle import FakeMoodle, seeded_data  # noqa: E402
from tests.moodle.fake_sidecar import FakeSidecar  # noqa: E402

TOKEN, API_KEY, SOURCE = "bench-token", "bench-key", "moodle-bench"


def main(n: int) -> None:
    start = int(time.time())
    data = seeded_data(TOKEN, start + 60)
    data.enrolments[2] = {}
    for uid in range(1000, 1000 + n):
        data.users[uid] = {"firstname": f"Learner{uid}", "lastname": "Bench", "email": f"l{uid}@example.org",
                           "lang": "fr"}
        data.enrolments[2][uid] = "student"
        data.completions[(2, uid)] = start + 60
        data.grades[(2, uid)] = (float(uid % 100), 100.0)
    moodle, sidecar = FakeMoodle(data), FakeSidecar({SOURCE: API_KEY})
    with tempfile.TemporaryDirectory() as tmp:
        env = {"EDC_MOODLE_URL": moodle.url, "EDC_MOODLE_TOKEN": TOKEN, "EDC_MOODLE_SIDECAR_URL": sidecar.url,
               "EDC_MOODLE_SOURCE": SOURCE, "EDC_MOODLE_API_KEY": API_KEY, "EDC_MOODLE_COURSES": "2",
               "EDC_MOODLE_STATE": str(Path(tmp) / "state.json")}
        config = load_config(None, env=env)
        config.defaults = {"mode": "online", "languages": ["en"]}
        poller = Poller(config, MoodleClient(config.moodle_url, TOKEN), SidecarClient(config.sidecar_url, SOURCE,
                        API_KEY), emit=lambda _line: None, clock=lambda: float(start))
        for label, kwargs in (("dry run", {"dry_run": True}), ("first run", {}), ("unchanged run", {})):
            data.calls.clear()
            began = time.perf_counter()
            report = poller.run_once(**kwargs)
            elapsed = time.perf_counter() - began
            calls = len(data.calls)
            print(f"{label:14s} {n} learners: {elapsed:7.2f} s, {calls} Moodle calls, "
                  f"{report.completions_sent} sent ({report.completions_sent / elapsed:7.1f}/s), "
                  f"{len(report.errors)} errors")
        print(f"state file: {Path(env['EDC_MOODLE_STATE']).stat().st_size / 1024:.0f} KiB for {n} learners")
    moodle.stop()
    sidecar.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
