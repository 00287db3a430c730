"""Faults an operator meets, injected into a real deployment (PostgreSQL, Redis, Celery worker and beat
processes, an SMTP server, a TSA): after recovery every learner has exactly one credential and
exactly one e-mail, counted at the SMTP server.

Each kill lands at a known point: the TSA or the SMTP server holds the worker there (a time-stamp
request or an RCPT waiting to be answered) while the test kills it, so no e-mail is half-accepted
when the worker dies. The window SMTP itself leaves open (the server accepted DATA, the worker died
before recording it) is the delivery tests' business.
"""
from __future__ import annotations

import signal
import time

import pytest

from tests.sidecar.conftest import wait_for

from .conftest import Deployment, GatedTsa, Postgres, Redis

LEARNERS = 20
pytestmark = pytest.mark.xdist_group("faults")  # one test process runs them all, one after another


def _kill(deployment: Deployment) -> None:
    for worker in deployment.workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)  # no chance to finish, acknowledge or clean up
            worker.wait()


def test_worker_killed_mid_seal(deployment: Deployment, tsa: GatedTsa) -> None:
    tsa.closed.set()  # sealing waits for its time-stamp
    addresses = deployment.post(LEARNERS)
    deployment.start_worker()
    wait_for(lambda: tsa.waiting > 0, timeout=180, interval=0.05)
    _kill(deployment)
    assert deployment.statuses()["received"] == LEARNERS  # nothing sealed: the kill came mid-seal
    tsa.closed.clear()
    deployment.start_worker()  # the sweep (beat) hands the chunk out again
    deployment.assert_each_learner_once(addresses)


def test_worker_killed_mid_delivery(deployment: Deployment) -> None:
    deployment.smtp.closed.set()  # the first message waits for its RCPT answer
    addresses = deployment.post(LEARNERS)
    deployment.start_worker()
    wait_for(lambda: deployment.smtp.waiting > 0, timeout=180, interval=0.05)
    _kill(deployment)
    assert deployment.smtp.received == []
    deployment.smtp.closed.clear()
    deployment.start_worker()  # the claim of the dead worker runs out; the sweep hands its deliveries out again
    deployment.assert_each_learner_once(addresses)


def test_broker_restart(deployment: Deployment, broker: Redis) -> None:
    deployment.smtp.closed.set()
    addresses = deployment.post(LEARNERS)
    deployment.start_worker()
    wait_for(lambda: deployment.smtp.waiting > 0, timeout=180, interval=0.05)
    broker.crash()  # every queued message is lost, the worker and beat lose their connections
    time.sleep(1)
    broker.start()
    deployment.smtp.closed.clear()
    more = deployment.post(5, prefix="G")  # intake goes on once the broker is back
    deployment.assert_each_learner_once(addresses + more)
    assert all(worker.poll() is None for worker in deployment.workers)  # the worker reconnected by itself


def test_database_restart(deployment: Deployment, postgres: Postgres, tsa: GatedTsa) -> None:
    tsa.closed.set()
    addresses = deployment.post(LEARNERS)
    deployment.start_worker()
    wait_for(lambda: tsa.waiting > 0, timeout=180, interval=0.05)
    postgres.stop("immediate")  # as after a crash: every connection is cut, nothing shut down cleanly
    try:
        tsa.closed.clear()  # the worker finishes sealing with no database to store the result in
        time.sleep(3)
    finally:
        postgres.start()
    deployment.assert_each_learner_once(addresses)
    assert all(worker.poll() is None for worker in deployment.workers)
