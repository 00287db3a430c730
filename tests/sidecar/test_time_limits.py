"""Bounded work in the workers: a real prefork Celery worker with a soft time limit is freed from a
time-stamping authority that trickles its answer and from a template an older version stored with a
millennia-long validity, records why, and goes on issuing new completions; the in-process runner
stops a chunk at its deadline and hands the rest to a new task."""
from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from bridge.db.models import Base, CourseTemplate, Credential, Delivery
from bridge.db.session import get_engine
from bridge.tasks.pipeline import issue_many

from .conftest import ROOT, Sidecar, example_completion, make_sidecar, wait_for
from .test_celery_worker import _redis_db, _stop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sealer"))
from tsa_server import LoopbackTsa, make_tsa_identity, serve  # noqa: E402

REDIS = "redis://127.0.0.1:6379"
SOFT_LIMIT = 30


def _row(car: Sidecar, cred_id: str) -> Credential:
    with car.rt.sessions() as session:
        row = session.get(Credential, cred_id)
        assert row is not None
        return row


def _post(car: Sidecar, learner: str, course: str = "42") -> str:
    response = car.admin("POST", "/api/v1/completions", example_completion(learner={"id": learner},
                                                                            course_id=course))
    assert response.status_code == 202, response.get_data(as_text=True)
    return str(response.json["id"])


def test_worker_time_limit_frees_it_and_new_completions_still_issue(tmp_path: Path, dev_seal_p12: Path,
                                                                    pg_database: str) -> None:
    broker = f"{REDIS}/{_redis_db()}"
    queue = f"edc-test-{secrets.token_hex(6)}"
    with get_engine(pg_database).begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                          + " RESTART IDENTITY CASCADE"))
    tsa = LoopbackTsa(*make_tsa_identity())
    server = serve(tsa)
    env_vars = {"EDC_BROKER_URL": broker, "EDC_CELERY_QUEUE": queue, "EDC_TSA_URL": tsa.url,
                "EDC_SEAL_LEVEL": "B-T", "EDC_TASK_TIME_LIMIT": str(SOFT_LIMIT)}
    car = make_sidecar(tmp_path, pg_database, dev_seal_p12, **env_vars)
    car.add_source()
    car.put_template(policy={"channels": []})
    car.put_template(course_id="legacy", policy={"channels": []})
    with car.rt.sessions() as session:  # as an older version, which only matched the pattern, stored it
        row = session.scalars(select(CourseTemplate).where(CourseTemplate.course_id == "legacy")).one()
        session.execute(update(CourseTemplate).where(CourseTemplate.id == row.id).values(
            template={**row.template, "valid_for": "P8000Y"}))
        session.commit()
    env = {**os.environ, "EDC_DATA_DIR": str(car.settings.data_dir), "EDC_DATABASE_URL": pg_database,
           "EDC_SEAL_PKCS12": str(dev_seal_p12), "EDC_SEAL_PKCS12_PASSWORD": "dev-seal", **env_vars}
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("celery")), "-A", "bridge.tasks.celery_app", "worker",
         "--pool=prefork", "--concurrency=1", "-Q", queue, "-l", "WARNING", "--without-heartbeat",
         "--without-gossip", "--without-mingle"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        warm = _post(car, "warm-up")  # the worker compiles the template once, at its own pace
        wait_for(lambda: _row(car, warm).status == "sealed", timeout=240)

        legacy = _post(car, "legacy-learner", course="legacy")
        failed = wait_for(lambda: (r := _row(car, legacy)).status == "failed" and r, timeout=60)
        assert "valid_for" in (failed.error or "")  # refused with the reason, in bounded time

        tsa.mode = "trickle"  # a byte every half second: the client's read timeout never fires
        stuck = _post(car, "hung-tsa")
        began = time.monotonic()
        held = wait_for(lambda: (r := _row(car, stuck)).error and r, timeout=120)
        assert "time limit" in held.error and held.status == "assembled" and held.attempts == 1
        assert time.monotonic() - began < 4 * SOFT_LIMIT  # freed by the soft limit
        tsa.mode = "ok"

        fresh = _post(car, "after")
        wait_for(lambda: _row(car, fresh).status == "sealed", timeout=120)  # the worker is free
        wait_for(lambda: _row(car, stuck).status == "sealed", timeout=180)  # and the held one is retried
        assert _row(car, legacy).status == "failed"
    finally:
        tsa.mode = "ok"
        output = _stop(worker, broker, queue)
        server.shutdown()
        server.server_close()
    assert b"Traceback" not in output, output.decode(errors="replace")[-3000:]


class Recording:
    """Keeps what the pipeline enqueues instead of running it."""

    def __init__(self) -> None:
        self.issued: list[list[str]] = []

    def issue(self, credential_ids: Any, eta: Any = None) -> None:
        self.issued.append(list(credential_ids))

    def deliver(self, delivery_id: int, eta: Any = None) -> None:
        return None

    def deliver_many(self, delivery_ids: Any) -> None:
        return None


@pytest.fixture
def recorded(tmp_path: Path, dev_seal_p12: Path) -> tuple[Sidecar, Recording]:
    recording = Recording()
    car = make_sidecar(tmp_path, f"sqlite:///{tmp_path / 'limits.sqlite3'}", dev_seal_p12, dispatcher=recording)
    car.add_source()
    car.put_template(policy={"channels": []})
    return car, recording


def test_in_process_deadline_hands_the_rest_of_a_chunk_to_a_new_task(recorded: tuple[Sidecar, Recording]) -> None:
    car, recording = recorded
    items = [example_completion(learner={"id": f"T{i}"}) for i in range(5)]
    assert car.admin("POST", "/api/v1/completions:batch", {"completions": items}).status_code == 202
    with car.rt.sessions() as session:
        ids = list(session.scalars(select(Credential.id)))
    recording.issued.clear()
    outcome = issue_many(car.rt.context, ids, deadline=time.monotonic() - 1)  # spent before it starts
    assert set(outcome.values()) == {"received"}
    assert recording.issued == [sorted(ids, key=ids.index)] or sorted(recording.issued[0]) == sorted(ids)
    assert car.count(status="received") == 5  # nothing failed, nothing lost: all handed over
    outcome = issue_many(car.rt.context, recording.issued[0], deadline=time.monotonic() + 600)
    assert set(outcome.values()) == {"sealed"}


def _gauge(car: Sidecar, stage: str) -> float:
    text_ = car.client.get("/metrics").get_data(as_text=True)
    found = re.search(rf'^edc_oldest_unfinished_seconds{{stage="{stage}"}} (\S+)$', text_, re.MULTILINE)
    assert found, text_[-2000:]
    return float(found.group(1))


def test_watchdog_metric_shows_stalled_work(recorded: tuple[Sidecar, Recording]) -> None:
    car, _ = recorded
    assert _gauge(car, "issuance") == 0.0 and _gauge(car, "delivery_claimed") == 0.0
    cred_id = _post(car, "stalled")  # nothing runs it: the recording dispatcher only keeps the message
    hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with car.rt.sessions() as session:
        session.execute(update(Credential).where(Credential.id == cred_id).values(created_at=hour_ago))
        session.add(Delivery(credential_id=cred_id, channel="email", status="sending", attempts=0,
                             updated_at=hour_ago - dt.timedelta(hours=1)))
        session.commit()
    assert 3600 <= _gauge(car, "issuance") < 3600 + 600
    assert 7200 <= _gauge(car, "delivery_claimed") < 7200 + 600
    with car.rt.sessions() as session:
        session.execute(update(Credential).where(Credential.id == cred_id).values(status="failed"))
        session.execute(update(Delivery).values(status="failed"))
        session.commit()
    assert _gauge(car, "issuance") == 0.0 and _gauge(car, "delivery_claimed") == 0.0
