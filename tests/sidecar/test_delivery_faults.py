"""Exactly-once e-mail under SMTP faults: two real Celery workers, the sweep, a slow and faulty SMTP
server on loopback, PostgreSQL and Redis. Every learner gets one e-mail (or a clear failure), none
gets two, none is lost; a resend after an unknown outcome carries the first attempt's Message-ID."""
from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from bridge.db.models import Base, Credential, Delivery, DeliveryAttempt
from bridge.db.session import get_engine
from bridge.tasks.sweep import sweep

from .conftest import ROOT, Sidecar, example_completion, make_sidecar, wait_for
from .smtp_faults import FaultPlan, FaultySmtpServer
from .test_celery_worker import REDIS, _forget_queue, _redis_db

LEARNERS = 40
LEASE = 9  # seconds; the first chunk takes longer than that at the slow server's pace
SMTP_TIMEOUTS = {"EDC_SMTP_CONNECT_TIMEOUT": "0.5", "EDC_SMTP_TIMEOUT": "0.5", "EDC_SMTP_DATA_TIMEOUT": "1"}


def _address(i: int) -> str:
    return f"learner{i}@example.org"


def _plan() -> FaultPlan:
    """One learner in eight of each fault; the rest meet a slow but healthy server."""
    kinds: dict[int, set[str]] = {k: {_address(i) for i in range(LEARNERS) if i % 8 == k} for k in range(1, 6)}
    return FaultPlan(hang_at_rcpt=kinds[1], hang_at_data=kinds[2], drop_after_data=kinds[3],
                     soft_refuse=kinds[4], refuse=kinds[5], accept_delay=0.3)


@pytest.fixture
def clean_pg(pg_database: str) -> str:
    with get_engine(pg_database).begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                          + " RESTART IDENTITY CASCADE"))
    return pg_database


class _Sweeper:
    """The outbox sweep every half second, with back-offs made to elapse at once (no waiting a minute)."""

    def __init__(self, car: Sidecar) -> None:
        self.car = car
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rt = self.car.rt
        while not self.stop.wait(0.5):
            with rt.sessions() as session:
                session.execute(update(Delivery).where(Delivery.status == "pending",
                                                       Delivery.next_attempt_at.is_not(None))
                                .values(next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)))
                session.commit()
            sweep(rt.sessions, rt.dispatcher, grace=1, signature_window=300, retries_due_now=False,
                  lease=dt.timedelta(seconds=LEASE))

    def __enter__(self) -> _Sweeper:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def _workers(env: dict[str, str], queue: str, logs: Path, count: int = 2) -> Iterator[tuple[subprocess.Popen[bytes],
                                                                                           Path]]:
    """``count`` worker processes on one queue (solo pool: each sends one chunk at a time), with their logs."""
    celery = Path(sys.executable).with_name("celery")
    for n in range(count):
        path = logs / f"worker{n}.log"
        with path.open("wb") as log:
            yield subprocess.Popen(
                [str(celery), "-A", "bridge.tasks.celery_app", "worker", "--pool=solo", "-Q", queue, "-l", "WARNING",
                 "-n", f"w{n}-{queue}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), path


def test_two_workers_and_the_sweep_send_each_email_once_through_smtp_faults(
        tmp_path: Path, dev_seal_p12: Path, clean_pg: str) -> None:
    broker = f"{REDIS}/{_redis_db()}"
    queue = f"edc-test-{secrets.token_hex(6)}"
    plan = _plan()
    with FaultySmtpServer(plan) as smtp:
        env_vars = {"EDC_BROKER_URL": broker, "EDC_CELERY_QUEUE": queue, "EDC_SWEEP_GRACE": "1",
                    "EDC_DELIVERY_LEASE": str(LEASE), "EDC_SMTP_HOST": "127.0.0.1", "EDC_SMTP_PORT": str(smtp.port),
                    "EDC_SMTP_SECURITY": "none", "EDC_MAIL_FROM": "registrar@univ.example", **SMTP_TIMEOUTS}
        car = make_sidecar(tmp_path, clean_pg, dev_seal_p12, **env_vars)
        car.add_source()
        car.put_template()
        env = {**os.environ, "EDC_DATA_DIR": str(car.settings.data_dir), "EDC_DATABASE_URL": clean_pg,
               "EDC_SEAL_PKCS12": str(dev_seal_p12), "EDC_SEAL_PKCS12_PASSWORD": "dev-seal",
               "EDC_PUBLIC_URL": "http://sidecar.test", "EDC_EMAIL_PDF": "0", **env_vars}
        items = [example_completion(learner={"id": f"F{i}", "email": _address(i)}) for i in range(LEARNERS)]
        workers = list(_workers(env, queue, tmp_path))
        try:
            with _Sweeper(car):
                batch = car.admin("POST", "/api/v1/completions:batch", {"completions": items})
                assert batch.status_code == 202
                email_ids = wait_for(lambda: _email_ids(car) if len(_email_ids(car)) == LEARNERS else None,
                                     timeout=180)
                # A redelivered broker message, or a second enqueue by the sweep: both workers get the chunk.
                time.sleep(1)
                car.rt.dispatcher.deliver_many(email_ids)
                car.rt.dispatcher.deliver_many(email_ids)
                wait_for(lambda: _unsettled(car) == 0, timeout=300, interval=0.5)
                time.sleep(2)  # anything still queued finds nothing to do
        finally:
            outputs = [_stop(worker, log) for worker, log in workers]
            _forget_queue(broker, queue)
        handler = smtp.handler
        with handler.lock:
            accepted = dict(handler.accepted)
            seen_ids = {k: set(v) for k, v in handler.message_ids.items()}
            accepted_at = list(handler.accepted_at)

    for n, output in enumerate(outputs):
        assert "Traceback" not in output, f"worker {n}:\n{output[-3000:]}"
    expected = {_address(i) for i in range(LEARNERS)} - plan.refuse
    duplicates = {a: n for a, n in accepted.items() if n > 1}
    assert duplicates == {}
    assert set(accepted) == expected  # none lost, none to the refused addresses
    assert max(accepted_at) - min(accepted_at) > LEASE  # the deliveries did outlast one lease
    with car.rt.sessions() as session:
        rows = {c.completion["learner"]["email"]: d for d, c in session.execute(
            select(Delivery, Credential).join(Credential).where(Delivery.channel == "email"))}
        unknown = [c["learner"]["email"] for c in session.scalars(
            select(Credential.completion).join(DeliveryAttempt, DeliveryAttempt.credential_id == Credential.id)
            .where(DeliveryAttempt.status == "unknown"))]
    assert {a for a, r in rows.items() if r.status == "delivered"} == expected
    for address in expected:
        # Every attempt of the delivery, answered or not, carried the one Message-ID stored for it.
        assert seen_ids[address] == {rows[address].message_id} == {rows[address].result["message_id"]}
    assert all(r.claim_token is None and r.heartbeat_at is None for r in rows.values())
    assert {a for a, r in rows.items() if r.status == "failed"} == plan.refuse
    assert all("550" in rows[a].last_error for a in plan.refuse)
    # The answers lost after the message was sent were recorded as unknown outcomes, then resent.
    assert set(unknown) == plan.hang_at_data | plan.drop_after_data


def _email_ids(car: Sidecar) -> list[int]:
    with car.rt.sessions() as session:
        return list(session.scalars(select(Delivery.id).where(Delivery.channel == "email").order_by(Delivery.id)))


def _unsettled(car: Sidecar) -> int:
    with car.rt.sessions() as session:
        return session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.status.in_(("pending", "sending")))) or 0


def _stop(worker: subprocess.Popen[bytes], log: Path) -> str:
    """Stop a worker as an operator does (SIGTERM, then kill); its output."""
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    return log.read_text(errors="replace")
