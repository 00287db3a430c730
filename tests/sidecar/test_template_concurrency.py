"""Template PUTs under concurrency, against the real server (gunicorn, two processes of eight threads)
on PostgreSQL: ETag / If-Match, 412 and 409 problems, versions strictly increasing, never a 500."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select, text

from bridge.db.models import Base, CourseTemplate, Source, TemplateRevision
from bridge.db.session import get_engine, session_factory

from .conftest import ADMIN, ROOT, example_template, wait_for

URL = "{base}/api/v1/sources/moodle-main/courses/{course}/template"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


def _titled(n: int) -> dict[str, Any]:
    template = example_template()
    template["title"] = {"en": f"Data Analysis, edition {n}", "fr": f"Analyse de données, édition {n}"}
    return template


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, dev_seal_p12: Path, pg_database: str) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("served")
    with get_engine(pg_database).begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    with session_factory(pg_database)() as session:
        session.add(Source(name="moodle-main", key_hash="0" * 64))
        session.commit()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "EDC_DATA_DIR": str(tmp / "var"), "EDC_DATABASE_URL": pg_database,
           "EDC_SEAL_PKCS12": str(dev_seal_p12), "EDC_SEAL_PKCS12_PASSWORD": "dev-seal", "EDC_ADMIN_TOKEN": ADMIN}
    env.pop("EDC_BROKER_URL", None)
    server = subprocess.Popen([str(Path(sys.executable).with_name("edc-bridge")), "serve", "--port", str(port),
                               "--workers", "2", "--threads", "8"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(healthy, timeout=90)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
        assert b"Traceback" not in output, output.decode(errors="replace")[-3000:]


def _together(calls: list[Any]) -> list[requests.Response]:
    """Run the calls at the same instant (a barrier), each on its own connection."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        with requests.Session() as session:
            barrier.wait()
            answers[i] = calls[i](session)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


def _revisions(url: str, course: str) -> list[int]:
    with session_factory(url)() as session:
        return list(session.scalars(select(TemplateRevision.version).where(
            TemplateRevision.course_id == course).order_by(TemplateRevision.id)))


def test_concurrent_creations_one_201_others_412(served: str, pg_database: str) -> None:
    """Eight clients creating one course's template (If-None-Match: *, create only): one is created,
    seven are told the course has one now, with its ETag."""
    url = URL.format(base=served, course="race-create")
    answers = _together([lambda s, n=n: s.put(url, json=_titled(n), headers={**AUTH, "If-None-Match": "*"},
                                              timeout=60) for n in range(8)])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [412] * 7, [a.text for a in answers]
    winner = next(a for a in answers if a.status_code == 201)
    for lost in (a for a in answers if a.status_code == 412):
        problem = lost.json()
        assert lost.headers["Content-Type"] == "application/problem+json"
        assert problem["current_version"] == 1 and problem["current_etag"] == winner.headers["ETag"]
    assert _revisions(pg_database, "race-create") == [1]


def test_concurrent_unconditional_creations_never_fail_or_share_a_version(served: str, pg_database: str) -> None:
    """Eight plain PUTs on a course without a template: one creates it (201); each other one either
    replaces it in turn (200, its own version) or, when it raced the creation itself with a different
    content, is told so (409 with the current ETag) — never a 500, never a version twice."""
    url = URL.format(base=served, course="race-plain")
    answers = _together([lambda s, n=n: s.put(url, json=_titled(n), headers=AUTH, timeout=60) for n in range(8)])
    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 409}, [a.text for a in answers]
    stored = [a.json()["version"] for a in answers if a.status_code in (200, 201)]
    assert sorted(stored) == list(range(1, len(stored) + 1))
    for conflict in (a for a in answers if a.status_code == 409):
        assert conflict.json()["type"].endswith("/template-conflict") and conflict.json()["current_etag"]
    assert _revisions(pg_database, "race-plain") == sorted(stored)
    assert requests.get(url, headers=AUTH, timeout=30).json()["version"] == max(stored)


def test_concurrent_identical_creations_are_one_version(served: str, pg_database: str) -> None:
    url = URL.format(base=served, course="race-same")
    answers = _together([lambda s: s.put(url, json=_titled(0), headers=AUTH, timeout=60) for _ in range(8)])
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
    assert {a.json()["version"] for a in answers} == {1} and len({a.headers["ETag"] for a in answers}) == 1
    assert _revisions(pg_database, "race-same") == [1]


def test_concurrent_updates_get_distinct_increasing_versions(served: str, pg_database: str) -> None:
    url = URL.format(base=served, course="race-update")
    assert requests.put(url, json=_titled(0), headers=AUTH, timeout=30).status_code == 201
    answers = _together([lambda s, n=n: s.put(url, json=_titled(n), headers=AUTH, timeout=60) for n in range(1, 7)])
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    versions = sorted(a.json()["version"] for a in answers)
    assert versions == [2, 3, 4, 5, 6, 7]
    stored = requests.get(url, headers=AUTH, timeout=30)
    assert stored.json()["version"] == 7 and stored.headers["ETag"] == max(answers, key=lambda a: a.json()["version"]
                                                                           ).headers["ETag"]
    # what is stored is what the request answered version 7 carried
    last = max(answers, key=lambda a: a.json()["version"]).json()
    assert stored.json()["template"]["title"] == last["template"]["title"]
    assert _revisions(pg_database, "race-update") == [1, 2, 3, 4, 5, 6, 7]


def test_concurrent_conditional_updates_exactly_one_wins(served: str, pg_database: str) -> None:
    """Six editors who read the same ETag: one change is stored, five are told it changed (412)."""
    url = URL.format(base=served, course="race-if-match")
    tag = requests.put(url, json=_titled(0), headers=AUTH, timeout=30).headers["ETag"]
    answers = _together([lambda s, n=n: s.put(url, json=_titled(n), headers={**AUTH, "If-Match": tag}, timeout=60)
                         for n in range(1, 7)])
    assert sorted(a.status_code for a in answers) == [200] + [412] * 5, [a.text for a in answers]
    won = next(a for a in answers if a.status_code == 200)
    assert won.json()["version"] == 2
    for refused in (a for a in answers if a.status_code == 412):
        assert refused.json()["current_etag"] == won.headers["ETag"] == refused.headers["ETag"]
    with session_factory(pg_database)() as session:
        row = session.scalar(select(CourseTemplate).where(CourseTemplate.course_id == "race-if-match"))
        assert row is not None and row.version == 2 and row.template["title"] == won.json()["template"]["title"]
