"""Sources in the console: last contact and error rate from real signed requests, HMAC key rotation
with an overlap period (both keys sign meanwhile), and the audit entry it leaves."""
from __future__ import annotations

import re
import time

from tests.console.conftest import Console


def _rotate(console: Console, hours: str) -> str:
    alice = console.browser("alice")
    alice.get("/console/sources")
    answer = alice.post("/console/sources/moodle-main/rotate-key", {"grace_hours": hours})
    assert answer.status_code == 200
    found = re.search(r'id="api-key">([^<]+)<', answer.get_data(as_text=True))
    assert found is not None
    return found.group(1)


def test_rotation_keeps_the_old_key_for_the_overlap(console: Console) -> None:
    old = console.key
    new = _rotate(console, "24")
    path = "/api/v1/sources/moodle-main/courses"
    assert console.car.signed("GET", path, key=new).status_code == 200
    assert console.car.signed("GET", path, key=old, timestamp=int(time.time()) - 1).status_code == 200  # 24 h more
    entry = console.audit("source.rotate-key")[-1]
    assert entry.target_id == "moodle-main" and entry.detail == {"previous_key_valid_hours": 24}
    assert new not in str(entry.detail) and new not in (entry.target_id or "")
    newest = _rotate(console, "0")  # no overlap: only the newest key signs
    now = int(time.time())
    assert console.car.signed("GET", path, key=newest, timestamp=now - 2).status_code == 200
    assert console.car.signed("GET", path, key=new, timestamp=now - 3).status_code == 401
    assert console.car.signed("GET", path, key=old, timestamp=now - 4).status_code == 401


def test_rotation_needs_the_admin_role_and_a_sane_overlap(console: Console) -> None:
    rita = console.browser("rita")
    rita.get("/console/sources")
    assert rita.post("/console/sources/moodle-main/rotate-key", {"grace_hours": "1"}).status_code == 403
    alice = console.browser("alice")
    alice.get("/console/sources")
    assert alice.post("/console/sources/moodle-main/rotate-key", {"grace_hours": "-1"}).status_code == 422
    assert alice.post("/console/sources/moodle-main/rotate-key", {"grace_hours": "99999"}).status_code == 422
    assert console.car.signed("GET", "/api/v1/sources/moodle-main/courses", key=console.key).status_code == 200


def test_last_contact_and_error_rate(console: Console) -> None:
    path = "/api/v1/sources/moodle-main/courses"
    now = int(time.time())
    for ago in range(3):  # three requests, each signed afresh (a replayed signature would be refused)
        assert console.car.signed("GET", path, key=console.key, timestamp=now - ago).status_code == 200
    assert console.car.signed("GET", path, key="not-the-key").status_code == 401
    assert console.car.signed("GET", path, key=console.key, source="unregistered").status_code == 401
    vera = console.browser("vera")
    rows = {r["name"]: r for r in vera.client.get("/console/api/sources").json["items"]}
    assert set(rows) == {"moodle-main"}  # a forged source name leaves nothing behind
    row = rows["moodle-main"]
    assert (row["requests_24h"], row["errors_24h"], row["error_rate_percent"]) == (4, 1, 25.0)
    assert row["last_contact"] is not None and row["last_error"] == f"401 GET {path}"
    page = vera.get("/console/sources").get_data(as_text=True)
    assert 'id="source-moodle-main"' in page and "(25.0 %)" in page and "Rotate the key" not in page
