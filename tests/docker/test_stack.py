"""The stack of docker/compose.hostnet.yaml, run by docker-compose in the test's own engine.

Containers share the host's network and reach only loopback: the machine's PostgreSQL (a database
of this test's own) and Redis (a random database number and a queue name of this run), and an SMTP
catcher that this test runs. The sidecar seals with a PKCS#12 eSeal and reads the admin token, both
handed to the containers as secrets under /run/secrets. An LMS posts a signed completion; the
credential must come back sealed, verify against the test's CA, and arrive by e-mail. Then the
worker container is killed in the middle of a batch: every credential must still be sealed and
mailed, by the restarted worker and the outbox sweep.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import requests
from aiosmtpd.controller import Controller

from bridge.auth import signature_headers
from sealer.keys.devseal import create_dev_seal
from tests.docker.engine import ROOT, Engine, Image, inspect

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docker")]

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
REDIS = "redis://127.0.0.1:6379"
SOURCE = "moodle-main"
ORG_ID = "VATFR-44556677889"


@dataclass
class Catcher:
    """An SMTP server on loopback keeping every message; ``delay`` slows each DATA (a busy relay)."""

    delay: float = 0.0
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
        return "250 OK"

    def recipients(self) -> list[str]:
        with self.lock:
            return [rcpt for rcpts, _ in self.messages for rcpt in rcpts]

    def message_ids(self, rcpt: str) -> list[str]:
        """The Message-ID of every copy ``rcpt`` got."""
        with self.lock:
            raw = [data for rcpts, data in self.messages if rcpt in rcpts]
        return [str(message_from_bytes(data, policy=policy.default)["Message-ID"]) for data in raw]


class _EphemeralController(Controller):
    """Bound to port 0: the kernel picks the port, read back once listening."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(what: str, predicate: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout:.0f} s")
        time.sleep(interval)


@dataclass
class Stack:
    engine: Engine
    project: str
    env: dict[str, str]
    port: int
    admin_token: str
    trust_dir: Path
    catcher: Catcher
    compose_command: list[str]
    http: requests.Session = field(default_factory=requests.Session)
    _api_key: str | None = None

    @property
    def api_key(self) -> str:
        """The LMS source's API key, registered the way an operator does (a command in the container)."""
        if self._api_key is None:
            sidecar = self.container("sidecar")
            added = self.engine.docker("exec", sidecar, "edc-bridge", "sources", "add", SOURCE)
            self._api_key = added.stdout.strip().splitlines()[-1]
        return self._api_key

    def compose(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*self.compose_command, *args], env=self.env, capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)}: {result.stderr[-3000:]}")
        return result

    def container(self, service: str) -> str:
        (cid,) = self.compose("ps", "-q", service).stdout.split()
        return cid

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def admin(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.http.request(method, self.url(path), json=body, timeout=60,
                                 headers={"Authorization": f"Bearer {self.admin_token}"})

    def signed(self, method: str, path: str, body: Any, api_key: str) -> requests.Response:
        data = json.dumps(body).encode()
        headers = signature_headers(SOURCE, api_key, method, path, data, nonce=secrets.token_urlsafe(16))
        headers["Content-Type"] = "application/json"
        return self.http.request(method, self.url(path), data=data, headers=headers, timeout=120)

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "60", check=False).stdout


def _template(course: str) -> dict[str, Any]:
    template = json.loads((ROOT / "examples" / "course-template.json").read_text(encoding="utf-8"))
    template["policy"] = {"issue_when": "passed", "channels": ["email"]}
    return template


def _completion(course: str, learner: str, email: str) -> dict[str, Any]:
    completion = json.loads((ROOT / "examples" / "completion.json").read_text(encoding="utf-8"))
    completion["course_id"] = course
    completion["learner"].update(id=learner, email=email)
    return completion


def _secret_file(path: Path, data: bytes) -> None:
    """Created 0600 and given to uid 10001, the image's user: containers read secrets, nobody else."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chown(path, 10001, 10001)


@pytest.fixture(scope="module")
def stack(engine: Engine, edc_image: Image, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    compose_bin = shutil.which("docker-compose")
    if compose_bin is None:
        pytest.fail("docker-compose is not installed (make system-deps installs Debian's)")
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
        psycopg.connect(PG_ADMIN).close()
    except (redis.RedisError, psycopg.OperationalError) as exc:
        pytest.fail(f"the machine's PostgreSQL and Redis on loopback are required: {exc}")
    work = tmp_path_factory.mktemp("stack")
    secrets_dir = work / "secrets"
    secrets_dir.mkdir(mode=0o700)
    seal = create_dev_seal(work / "seal", organisation="Université Conteneur", organization_identifier=ORG_ID,
                           password="p12-" + secrets.token_hex(8))
    admin_token = secrets.token_urlsafe(24)
    _secret_file(secrets_dir / "admin_token", admin_token.encode() + b"\n")
    _secret_file(secrets_dir / "seal.p12", seal.pkcs12_path.read_bytes())
    _secret_file(secrets_dir / "seal_password", seal.password.encode() + b"\n")
    trust_dir = work / "trust"
    trust_dir.mkdir()
    shutil.copy(seal.ca_certificate_path, trust_dir / "ca.pem")

    database = f"edcbridge_docker_{secrets.token_hex(5)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    broker = f"{REDIS}/{random.randint(1, 15)}"
    queue = f"edc-docker-{secrets.token_hex(6)}"
    catcher = Catcher()
    controller = _EphemeralController(catcher, hostname="127.0.0.1", port=0)
    controller.start()
    port = _free_port()
    project = f"edc{secrets.token_hex(5)}"
    env = {**engine.env, "EDC_IMAGE": edc_image.tag, "EDC_SECRETS_DIR": str(secrets_dir),
           "EDC_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{database}", "EDC_BROKER_URL": broker,
           "EDC_CELERY_QUEUE": queue, "EDC_HTTP_PORT": str(port), "EDC_SMTP_PORT": str(controller.port),
           # Recovery within a test's patience: sweep every 2 s, work older than 5 s is re-enqueued, a
           # dead worker's claims are released once their heartbeat has been silent for 45 s (a live
           # worker renews them however long its chunk takes). The SMTP timeouts fit the lease
           # (2 + 8 × 2 + 10 = 28 s per message at most; × 1.5 = 42 s ≤ 45 s), as the sidecar demands.
           "EDC_SWEEP_INTERVAL": "2", "EDC_SWEEP_GRACE": "5", "EDC_DELIVERY_LEASE": "45",
           "EDC_SMTP_CONNECT_TIMEOUT": "2", "EDC_SMTP_TIMEOUT": "2", "EDC_SMTP_DATA_TIMEOUT": "10",
           "COMPOSE_HTTP_TIMEOUT": "300"}
    car = Stack(engine=engine, project=project, env=env, port=port, admin_token=admin_token, trust_dir=trust_dir,
                catcher=catcher, compose_command=[compose_bin, "--no-ansi", "-p", project, "-f",
                                                  str(ROOT / "docker" / "compose.hostnet.yaml")])
    try:
        car.compose("up", "-d", timeout=600)
        wait_until("the sidecar answers /healthz with 200",
                   lambda: _status(car, "/healthz") == 200, timeout=180)
        yield car
    except BaseException:
        print(car.logs())
        raise
    finally:
        car.compose("down", "-v", "-t", "20", "--remove-orphans", timeout=300, check=False)
        controller.stop()
        redis.Redis.from_url(broker).delete(queue, f"_kombu.binding.{queue}",
                                            *[f"{queue}\x06\x16{p}" for p in (3, 6, 9)])
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _status(car: Stack, path: str) -> int:
    try:
        return car.http.get(car.url(path), timeout=10).status_code
    except requests.RequestException:
        return 0


def test_containers_become_healthy(stack: Stack) -> None:
    """The image's HEALTHCHECK, by role: /healthz for the sidecar, a broker ping for the worker."""
    def health() -> dict[str, str]:
        states = inspect(stack.engine, *(stack.container(s) for s in ("sidecar", "worker", "beat")))
        return {s["Name"]: s["State"].get("Health", {}).get("Status", "none") for s in states}

    wait_until("sidecar, worker and beat healthy", lambda: set(health().values()) == {"healthy"}, timeout=240,
               interval=2)
    migrate = inspect(stack.engine, stack.container("migrate"))[0]["State"]
    assert migrate["Status"] == "exited" and migrate["ExitCode"] == 0
    users = {stack.engine.docker("exec", stack.container(s), "id", "-u").stdout.strip()
             for s in ("sidecar", "worker", "beat")}
    assert users == {"10001"}


def test_signed_completion_is_sealed_verified_and_mailed(stack: Stack, tmp_path: Path) -> None:
    api_key = stack.api_key
    put = stack.admin("PUT", f"/api/v1/sources/{SOURCE}/courses/42/template", _template("42"))
    assert put.status_code in (200, 201), put.text
    email = f"camille.{secrets.token_hex(3)}@example.org"
    posted = stack.signed("POST", "/api/v1/completions", _completion("42", "17", email), api_key)
    assert posted.status_code == 202, posted.text
    cred_id = posted.json()["id"]
    status = wait_until("the credential delivered", lambda: (s := stack.admin(
        "GET", f"/api/v1/credentials/{cred_id}").json())["status"] == "delivered" and s, timeout=180)
    assert status["sealed_at"]
    sealed = stack.admin("GET", f"/api/v1/credentials/{cred_id}/sealed")
    assert sealed.status_code == 200
    path = tmp_path / "credential.jsonld"
    path.write_bytes(sealed.content)
    verify = subprocess.run([str(Path(sys.executable).with_name("edc-bridge")), "verify", "--json", "--trust",
                             str(stack.trust_dir), str(path)], capture_output=True, text=True, timeout=300,
                            check=False)
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]
    assert ORG_ID in verify.stdout
    mails = [raw for rcpts, raw in stack.catcher.messages if email in rcpts]
    assert len(mails) == 1
    message = message_from_bytes(mails[0], policy=policy.default)
    attachments = [part for part in message.iter_attachments() if part.get_content_type() == "application/ld+json"]
    assert len(attachments) == 1 and attachments[0].get_payload(decode=True) == sealed.content
    # The PDF made in the worker container (WeasyPrint on the image's Pango and fonts, PAdES-sealed).
    pdfs = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_payload(decode=True).startswith(b"%PDF-")


def test_worker_killed_mid_batch_loses_nothing(stack: Stack) -> None:
    api_key = stack.api_key
    # E-mails with their sealed PDFs (EDC_EMAIL_PDF=1, the default): a worker's chunk takes minutes on
    # a loaded machine, far past the 45 s lease; its heartbeat keeps the chunk its own meanwhile.
    course = "kill-batch"
    put = stack.admin("PUT", f"/api/v1/sources/{SOURCE}/courses/{course}/template", _template(course))
    assert put.status_code in (200, 201), put.text
    total = 60
    run = secrets.token_hex(3)
    emails = {f"k{i}.{run}@example.org" for i in range(total)}
    items = [_completion(course, f"k{i}", f"k{i}.{run}@example.org") for i in range(total)]
    worker = stack.container("worker")
    restarts_before = inspect(stack.engine, worker)[0]["RestartCount"]
    posted = stack.signed("POST", "/api/v1/completions:batch", {"completions": items}, api_key)
    assert posted.status_code == 202, posted.text
    batch = posted.json()["batch_id"]

    def mailed() -> int:
        return len(emails.intersection(stack.catcher.recipients()))

    wait_until("the first e-mails of the batch", lambda: mailed() >= 5, timeout=300, interval=0.1)
    killed_at = mailed()
    # Inside the worker container only (its own PID namespace): SIGKILL to every process there but
    # tini, PID 1, which then exits with the worker: what an OOM kill or a crash does.
    stack.engine.docker("exec", worker, "python", "-c", "import os, signal; os.kill(-1, signal.SIGKILL)")
    wait_until("the worker container restarted by its restart policy",
               lambda: inspect(stack.engine, worker)[0]["RestartCount"] > restarts_before, timeout=60)
    assert killed_at < total, "the batch finished before the worker could be killed"
    progress = wait_until("every credential of the batch delivered", lambda: (p := stack.admin(
        "GET", f"/api/v1/batches/{batch}").json())["done"] and p, timeout=600, interval=1)
    assert progress["counts"]["delivered"] == total, progress
    got = stack.catcher.recipients()
    assert emails <= set(got), f"{len(emails - set(got))} learners never got their credential"
    # One e-mail per learner: every copy a learner got is the same message (one Message-ID). A second
    # copy can only be the message a killed process had handed to the server but not yet recorded
    # (slow sends, PDFs here, are recorded one by one): at most one per worker process (two).
    for rcpt in emails:
        assert len(set(stack.catcher.message_ids(rcpt))) == 1, rcpt
    duplicates = sum(1 for rcpt in got if rcpt in emails) - total
    assert duplicates <= 2, duplicates
    batch_mails = [raw for rcpts, raw in stack.catcher.messages if set(rcpts) & emails]
    assert all(any(part.get_content_type() == "application/pdf"
                   for part in message_from_bytes(raw, policy=policy.default).iter_attachments())
               for raw in batch_mails)  # each with its sealed PDF
    print(f"killed the worker after {killed_at}/{total} e-mails; {duplicates} sent twice (same Message-ID); "
          f"recovered at {dt.datetime.now(dt.UTC):%H:%M:%S}")
