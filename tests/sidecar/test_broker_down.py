"""Intake with the broker down or hung: the stored rows are the outbox, so the request still answers
202; once a broker answers again the sweep enqueues them and a real worker issues them.

The broker here is a redis-server this test starts and stops itself on a port of its own (the shared
Redis is never touched), a closed loopback port, or a listener that accepts and never answers.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from bridge.db.models import Base
from bridge.db.session import get_engine

from .conftest import ROOT, example_completion, make_sidecar, wait_for

BATCH = "/api/v1/completions:batch"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required in CI")
        pytest.skip("redis-server is not installed")
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: _answers(port), timeout=20, interval=0.05)
    return process


def _answers(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def fresh_pg(pg_database: str) -> str:
    with get_engine(pg_database).begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                          + " RESTART IDENTITY CASCADE"))
    return pg_database


@pytest.fixture
def silent_broker() -> Iterator[int]:
    """A TCP listener that accepts connections and never answers: a hung broker."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_intake_answers_202_when_the_broker_is_down_and_the_sweep_issues_later(
        tmp_path: Path, dev_seal_p12: Path, fresh_pg: str) -> None:
    port = _free_port()  # nothing listens here until the broker is started below
    broker, queue = f"redis://127.0.0.1:{port}/0", "edc-broker-down"
    env_vars = {"EDC_BROKER_URL": broker, "EDC_CELERY_QUEUE": queue, "EDC_SWEEP_GRACE": "1"}
    car = make_sidecar(tmp_path, fresh_pg, dev_seal_p12, **env_vars)
    car.add_source()
    car.put_template(policy={"channels": []})  # sealing only: this test is about the issue message

    single = car.admin("POST", "/api/v1/completions", example_completion(learner={"id": "single"}))
    assert single.status_code == 202, single.get_data(as_text=True)
    assert single.json["status"] == "received" and single.json["duplicate"] is False
    items = [example_completion(learner={"id": f"D{i}"}) for i in range(1200)]  # three issue messages
    batch = car.admin("POST", BATCH, {"completions": items})
    assert batch.status_code == 202, batch.get_data(as_text=True)
    assert batch.json["accepted"] == 1200
    assert car.count(status="received") == 1201  # stored once, nothing half-written
    again = car.admin("POST", "/api/v1/completions", example_completion(learner={"id": "single"}))
    assert again.status_code == 202 and again.json["duplicate"] is True

    env = {**os.environ, "EDC_DATA_DIR": str(car.settings.data_dir), "EDC_DATABASE_URL": fresh_pg,
           "EDC_SEAL_PKCS12": str(dev_seal_p12), "EDC_SEAL_PKCS12_PASSWORD": "dev-seal", **env_vars}
    server = _start_redis(port, tmp_path)
    worker = None
    try:
        assert redis.Redis(port=port).llen(queue) == 0  # the failed sends left nothing behind
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("celery")), "-A", "bridge.tasks.celery_app", "worker",
             "--pool=solo", "-Q", queue, "-l", "WARNING", "--without-heartbeat", "--without-gossip",
             "--without-mingle"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def sweep_and_count() -> bool:
            swept = subprocess.run([str(Path(sys.executable).with_name("edc-bridge")), "sweep"], cwd=ROOT,
                                   env=env, capture_output=True, text=True, timeout=60)
            assert swept.returncode == 0, swept.stderr
            return car.count(status="sealed") == 1201

        wait_for(sweep_and_count, timeout=240, interval=2)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        _stop(server)


def test_intake_answers_202_when_the_broker_stops_mid_run(tmp_path: Path, dev_seal_p12: Path,
                                                            fresh_pg: str) -> None:
    port = _free_port()
    server = _start_redis(port, tmp_path)
    queue = "edc-broker-stops"
    car = make_sidecar(tmp_path, fresh_pg, dev_seal_p12, EDC_BROKER_URL=f"redis://127.0.0.1:{port}/0",
                       EDC_CELERY_QUEUE=queue)
    car.add_source()
    car.put_template()
    try:
        first = car.admin("POST", "/api/v1/completions", example_completion(learner={"id": "before"}))
        assert first.status_code == 202 and redis.Redis(port=port).llen(queue) == 1
    finally:
        _stop(server)  # the connection the dispatcher holds is now dead
    after = car.admin("POST", "/api/v1/completions", example_completion(learner={"id": "after"}))
    assert after.status_code == 202, after.get_data(as_text=True)
    assert after.json["status"] == "received"
    assert car.count() == 2


def test_intake_answers_202_when_the_broker_hangs(tmp_path: Path, dev_seal_p12: Path, fresh_pg: str,
                                                  silent_broker: int) -> None:
    car = make_sidecar(tmp_path, fresh_pg, dev_seal_p12, EDC_BROKER_URL=f"redis://127.0.0.1:{silent_broker}/0",
                       EDC_CELERY_QUEUE="edc-broker-hangs")
    car.add_source()
    car.put_template()
    response = car.admin("POST", "/api/v1/completions", example_completion())
    assert response.status_code == 202, response.get_data(as_text=True)
    batch = car.admin("POST", BATCH, {"completions": [example_completion(learner={"id": "H2"})]})
    assert batch.status_code == 202
    assert car.count(status="received") == 2
