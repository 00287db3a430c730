"""A real Celery worker process on the local Redis runs completions through to sealed and delivered."""
from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from bridge.db.models import Base
from bridge.db.session import get_engine
from bridge.tasks.dispatch import ISSUE_CHUNK

from .conftest import ROOT, example_completion, make_sidecar, wait_for

REDIS = "redis://127.0.0.1:6379"


def _redis_db() -> int:
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis on 127.0.0.1:6379 is required in CI")
        pytest.skip("Redis on 127.0.0.1:6379 is not reachable")
    return random.randint(1, 15)  # plus a queue name unique to this run, so parallel runs never mix


def _forget_queue(broker: str, queue: str) -> None:
    """Remove this run's queue and kombu's bindings for it, leaving the Redis database as found."""
    redis.Redis.from_url(broker).delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def test_real_worker_seals_and_delivers(tmp_path: Path, dev_seal_p12: Path, pg_database: str) -> None:
    broker = f"{REDIS}/{_redis_db()}"
    queue = f"edc-test-{secrets.token_hex(6)}"
    with get_engine(pg_database).begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                          + " RESTART IDENTITY CASCADE"))
    env_vars = {"EDC_BROKER_URL": broker, "EDC_CELERY_QUEUE": queue}
    car = make_sidecar(tmp_path, pg_database, dev_seal_p12, **env_vars)
    car.add_source()
    car.put_template()
    # Posted before any worker runs: the message waits in Redis, nothing is lost.
    early = car.admin("POST", "/api/v1/completions", example_completion(learner={"id": "early"}))
    assert early.status_code == 202 and early.json["status"] == "received"

    env = {**os.environ, "EDC_DATA_DIR": str(car.settings.data_dir), "EDC_DATABASE_URL": pg_database,
           "EDC_SEAL_PKCS12": str(dev_seal_p12), "EDC_SEAL_PKCS12_PASSWORD": "dev-seal", **env_vars}
    celery = Path(sys.executable).with_name("celery")
    worker = subprocess.Popen(
        [str(celery), "-A", "bridge.tasks.celery_app", "worker", "--pool=solo", "-Q", queue, "-l", "WARNING",
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        items = [example_completion(learner={"id": f"B{i}", "email": f"b{i}@example.org"}) for i in range(20)]
        batch = car.admin("POST", "/api/v1/completions:batch", {"completions": items})
        assert batch.status_code == 202
        progress = wait_for(lambda: (p := car.admin("GET", f"/api/v1/batches/{batch.json['batch_id']}").json)
                            ["done"] and p, timeout=120)
        assert progress["counts"]["delivered"] == 20
        early_status = wait_for(lambda: (s := car.admin("GET", f"/api/v1/credentials/{early.json['id']}").json)
                                ["status"] == "delivered" and s, timeout=60)
        assert early_status["sealed_at"]
        assert len(list(car.settings.outbox_dir.glob("*.eml"))) == 21
    finally:
        output = _stop(worker, broker, queue)
    assert b"Traceback" not in output, output.decode(errors="replace")[-3000:]


def _stop(worker: subprocess.Popen[bytes], broker: str, queue: str) -> bytes:
    """Stop a worker the way an operator does (SIGTERM, then kill), forget its queue; its output."""
    worker.send_signal(signal.SIGTERM)
    try:
        output, _ = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate()
    _forget_queue(broker, queue)
    return output or b""


def _start_worker(env: dict[str, str], queue: str) -> subprocess.Popen[bytes]:
    celery = Path(sys.executable).with_name("celery")
    return subprocess.Popen(
        [str(celery), "-A", "bridge.tasks.celery_app", "worker", "--pool=solo", "-Q", queue, "-l", "WARNING",
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_killed_worker_loses_nothing(tmp_path: Path, dev_seal_p12: Path, pg_database: str) -> None:
    broker = f"{REDIS}/{_redis_db()}"
    queue = f"edc-test-{secrets.token_hex(6)}"
    with get_engine(pg_database).begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                          + " RESTART IDENTITY CASCADE"))
    env_vars = {"EDC_BROKER_URL": broker, "EDC_CELERY_QUEUE": queue, "EDC_SWEEP_GRACE": "1"}
    car = make_sidecar(tmp_path, pg_database, dev_seal_p12, **env_vars)
    car.add_source()
    car.put_template(policy={"channels": []})  # sealing only: this test is about the issue task
    env = {**os.environ, "EDC_DATA_DIR": str(car.settings.data_dir), "EDC_DATABASE_URL": pg_database,
           "EDC_SEAL_PKCS12": str(dev_seal_p12), "EDC_SEAL_PKCS12_PASSWORD": "dev-seal", **env_vars}
    total = 2 * ISSUE_CHUNK + 50  # several task messages, so a kill lands between two of them
    items = [example_completion(learner={"id": f"K{i}"}) for i in range(total)]
    batch_id = car.admin("POST", "/api/v1/completions:batch", {"completions": items}).json["batch_id"]

    def sealed() -> int:
        return car.admin("GET", f"/api/v1/batches/{batch_id}").json["counts"]["sealed"]

    first = _start_worker(env, queue)
    try:
        wait_for(lambda: sealed() >= 1, timeout=90, interval=0.05)
    finally:
        first.kill()  # SIGKILL: no chance to finish, ack or clean up
        first.wait()
    assert sealed() < total
    redis.Redis.from_url(broker).delete(queue)  # and the queued messages are lost too
    second = _start_worker(env, queue)
    try:
        swept = subprocess.run([str(Path(sys.executable).with_name("edc-bridge")), "sweep"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=60)
        assert swept.returncode == 0, swept.stderr
        wait_for(lambda: sealed() == total, timeout=120)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
        _forget_queue(broker, queue)
    assert car.count(status="sealed") == total


def test_prefork_worker_reuses_its_smtp_connection_and_quits(tmp_path: Path, dev_seal_p12: Path,
                                                             pg_database: str) -> None:
    """A prefork child sends its e-mails over one kept connection, and says QUIT when the worker stops."""
    from tests.delivery.conftest import EphemeralController, RecordingHandler

    handler = RecordingHandler()
    smtp = EphemeralController(handler, hostname="127.0.0.1", port=0)
    smtp.start()
    handler.connections = 0
    broker = f"{REDIS}/{_redis_db()}"
    queue = f"edc-test-{secrets.token_hex(6)}"
    with get_engine(pg_database).begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                          + " RESTART IDENTITY CASCADE"))
    smtp_env = {"EDC_SMTP_HOST": "127.0.0.1", "EDC_SMTP_PORT": str(smtp.port), "EDC_SMTP_SECURITY": "none",
                "EDC_MAIL_FROM": "registrar@univ.example"}
    env_vars = {"EDC_BROKER_URL": broker, "EDC_CELERY_QUEUE": queue, **smtp_env}
    car = make_sidecar(tmp_path, pg_database, dev_seal_p12, **env_vars)
    car.add_source()
    car.put_template()
    env = {**os.environ, "EDC_DATA_DIR": str(car.settings.data_dir), "EDC_DATABASE_URL": pg_database,
           "EDC_SEAL_PKCS12": str(dev_seal_p12), "EDC_SEAL_PKCS12_PASSWORD": "dev-seal", **env_vars}
    celery = Path(sys.executable).with_name("celery")
    worker = subprocess.Popen(
        [str(celery), "-A", "bridge.tasks.celery_app", "worker", "--pool=prefork", "--concurrency=1", "-Q", queue,
         "-l", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        items = [example_completion(learner={"id": f"M{i}", "email": f"m{i}@example.org"}) for i in range(6)]
        batch = car.admin("POST", "/api/v1/completions:batch", {"completions": items})
        assert batch.status_code == 202
        wait_for(lambda: car.admin("GET", f"/api/v1/batches/{batch.json['batch_id']}").json["done"], timeout=120)
        assert sorted(r.rcpt_tos[0] for r in handler.received) == sorted(f"m{i}@example.org" for i in range(6))
        assert handler.connections == 1 and handler.quits == 0  # one kept connection, still open
    finally:
        output = _stop(worker, broker, queue)
        smtp.stop()
    assert b"Traceback" not in output, output.decode(errors="replace")[-3000:]
    assert handler.quits == 1  # the child closed it cleanly on the way out
