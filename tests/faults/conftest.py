"""The fault-injection suite's own parts: a PostgreSQL cluster and a Redis server this suite starts,
kills and restarts on ports of its own (other tests keep theirs), a real SMTP server whose sessions
the test can hold, a loopback TSA it can hold, and real Celery worker and beat processes.

Timings are short on purpose (sweep every second, grace 2 s, lease 8 s, SMTP timeout 3 s) so a
recovery takes seconds; tens of learners, not thousands.
"""
from __future__ import annotations

import asyncio
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select

from bridge.db.migrate import upgrade
from bridge.db.models import Credential, Delivery
from bridge.db.session import dispose_engine
from sealer.keys.devseal import create_dev_seal
from tests.delivery.conftest import EphemeralController, RecordingHandler
from tests.sidecar.conftest import ROOT, Sidecar, example_completion, make_sidecar, wait_for

sys.path.insert(0, str(ROOT / "tests" / "sealer"))
from tsa_server import LoopbackTsa, make_tsa_identity, serve  # noqa: E402

MAIL_FROM = "EDC Bridge <credentials@univ.example>"
# The SMTP deadline of one message (2 + 8 × 1 + 3 = 13 s) fits 1.5 times in the lease, as the sidecar demands.
TIMINGS = {"EDC_SWEEP_INTERVAL": "1", "EDC_SWEEP_GRACE": "2", "EDC_DELIVERY_LEASE": "20",
           "EDC_SMTP_CONNECT_TIMEOUT": "2", "EDC_SMTP_TIMEOUT": "1", "EDC_SMTP_DATA_TIMEOUT": "3"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- PostgreSQL: a cluster of the suite's own -----------------------------------------------------
def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


@dataclass
class Postgres:
    """A PostgreSQL cluster in a folder of its own, on a port of its own, run as a non-root user."""

    bin: Path
    folder: Path
    port: int
    user: str | None  # the account the server runs as when the tests run as root

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, check=check)

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8", "--locale=C")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off "
                   "-c full_page_writes=off -c max_connections=60")
        done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
                         "-o", options, "-w", "-t", "60", "start", check=False)
        assert done.returncode == 0, done.stdout + done.stderr + self.log()

    def stop(self, mode: str = "fast") -> None:
        """``fast``: clients are disconnected, a clean shutdown; ``immediate``: as after a crash."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def log(self) -> str:
        path = self.folder / "log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def admin_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres connect_timeout=3"

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are required in CI")
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    user = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = "postgres"
        try:
            pwd.getpwnam(user)
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' account to run PostgreSQL as")
    folder = Path(tempfile.mkdtemp(prefix="edc-faults-pg-"))
    if user:
        account = pwd.getpwnam(user)
        os.chown(folder, account.pw_uid, account.pw_gid)
    cluster = Postgres(bin_dir, folder, free_port(), user)
    cluster.init()
    cluster.start()
    yield cluster
    cluster.stop("immediate")
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database(postgres: Postgres) -> Iterator[str]:
    """A fresh, migrated database on the suite's own cluster."""
    name = f"faults_{secrets.token_hex(4)}"
    with psycopg.connect(postgres.admin_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres.url(name)
    upgrade(url)
    yield url
    dispose_engine(url)
    with psycopg.connect(postgres.admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Redis: a broker of the suite's own -------------------------------------------------------------
@dataclass
class Redis:
    """``redis-server`` on a port of its own, keeping nothing on disk (a restart loses every message)."""

    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, timeout=20, interval=0.05)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def crash(self) -> None:
        """kill -9: queued and unacknowledged messages are gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Redis]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required in CI")
        pytest.skip("redis-server is not installed")
    server = Redis(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


# --- SMTP: a real server whose sessions the test can hold -------------------------------------------
@dataclass
class GatedHandler(RecordingHandler):
    """Records every message; while ``closed`` is set, each RCPT waits until it is cleared."""

    closed: threading.Event = field(default_factory=threading.Event)
    waiting: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.closed.is_set():
            self.waiting += 1
            try:
                while self.closed.is_set():
                    await asyncio.sleep(0.02)
            finally:
                self.waiting -= 1
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    def per_recipient(self) -> Counter[str]:
        return Counter(address for message in self.received for address in message.rcpt_tos)


@pytest.fixture
def smtp() -> Iterator[tuple[GatedHandler, int]]:
    handler = GatedHandler()
    controller = EphemeralController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    yield handler, controller.port
    handler.closed.clear()
    controller.stop()


# --- TSA: sealing the test can hold ------------------------------------------------------------------
@dataclass
class GatedTsa(LoopbackTsa):
    """The loopback TSA; while ``closed`` is set, each time-stamp request waits until it is cleared."""

    closed: threading.Event = field(default_factory=threading.Event)
    waiting: int = 0

    def answer(self, body: bytes) -> bytes:
        if self.closed.is_set():
            self.waiting += 1
            try:
                while self.closed.is_set():
                    time.sleep(0.02)
            finally:
                self.waiting -= 1
        return super().answer(body)


@pytest.fixture
def tsa() -> Iterator[GatedTsa]:
    authority = GatedTsa(*make_tsa_identity())
    server = serve(authority)
    yield authority
    authority.closed.clear()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def dev_seal_p12(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_dev_seal(tmp_path_factory.mktemp("devseal")).pkcs12_path


# --- the deployment: intake in process, workers and beat as processes --------------------------------
@dataclass
class Deployment:
    car: Sidecar
    env: dict[str, str]
    smtp: GatedHandler
    folder: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    beat: subprocess.Popen[bytes] | None = None

    def start_worker(self) -> subprocess.Popen[bytes]:
        celery = Path(sys.executable).with_name("celery")
        log = (self.folder / f"worker-{len(self.workers)}.log").open("wb")
        worker = subprocess.Popen(
            [str(celery), "-A", "bridge.tasks.celery_app", "worker", "--pool=solo", "-Q", self.env["EDC_CELERY_QUEUE"],
             "-l", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(worker)
        return worker

    def start_beat(self) -> None:
        celery = Path(sys.executable).with_name("celery")
        self.beat = subprocess.Popen(
            [str(celery), "-A", "bridge.tasks.celery_app", "beat", "-s", str(self.folder / "beat-schedule"),
             "-l", "WARNING"], cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def post(self, learners: int, prefix: str = "F") -> list[str]:
        items = [example_completion(learner={"id": f"{prefix}{i}", "email": f"{prefix.lower()}{i}@example.org"})
                 for i in range(learners)]
        answer = self.car.admin("POST", "/api/v1/completions:batch", {"completions": items})
        assert answer.status_code == 202, answer.json
        return [f"{prefix.lower()}{i}@example.org" for i in range(learners)]

    def statuses(self) -> Counter[str]:
        with self.car.rt.sessions() as session:
            return Counter(dict(session.execute(select(Credential.status, func.count())
                                                .group_by(Credential.status)).all()))

    def delivered(self) -> int:
        with self.car.rt.sessions() as session:
            return session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "delivered")) or 0

    def worker_log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(self.folder.glob("worker-*.log")))

    def assert_each_learner_once(self, addresses: list[str], timeout: float = 240) -> None:
        """Every learner ends with exactly one credential, sealed and delivered, and one e-mail."""
        try:
            wait_for(lambda: self.delivered() >= len(addresses) and len(self.smtp.received) >= len(addresses),
                     timeout=timeout, interval=0.2)
        except AssertionError:
            raise AssertionError(f"not recovered: {dict(self.statuses())}, {self.delivered()} delivered, "
                                 f"{len(self.smtp.received)} e-mails\n{self.worker_log()}") from None
        time.sleep(3)  # a late duplicate (a second worker, a re-swept row) would arrive in this time
        with self.car.rt.sessions() as session:
            per_learner = Counter(session.scalars(select(Credential.learner_id)))
            deliveries = Counter(session.scalars(select(Delivery.status)))
        assert len(per_learner) == len(addresses) and set(per_learner.values()) == {1}, per_learner
        assert self.statuses() == Counter({"delivered": len(addresses)}), self.statuses()
        assert deliveries == Counter({"delivered": len(addresses)}), deliveries
        mails = self.smtp.per_recipient()
        duplicates = {address: n for address, n in mails.items() if n > 1}
        assert not duplicates, f"duplicate e-mails: {duplicates}"
        assert set(mails) == set(addresses), set(addresses) - set(mails)

    def close(self) -> None:
        for process in [*self.workers, self.beat]:
            if process is not None and process.poll() is None:
                process.kill()  # the test is over: nothing of theirs is needed any more
                process.wait()


@pytest.fixture
def deployment(tmp_path: Path, dev_seal_p12: Path, database: str, broker: Redis,
               smtp: tuple[GatedHandler, int], tsa: GatedTsa) -> Iterator[Deployment]:
    handler, port = smtp
    env_vars = {"EDC_BROKER_URL": broker.url, "EDC_CELERY_QUEUE": f"faults-{secrets.token_hex(4)}",
                "EDC_SMTP_HOST": "127.0.0.1", "EDC_SMTP_PORT": str(port), "EDC_SMTP_SECURITY": "none",
                "EDC_MAIL_FROM": MAIL_FROM, "EDC_TSA_URL": tsa.url, "EDC_SEAL_LEVEL": "B-T", **TIMINGS}
    car = make_sidecar(tmp_path, database, dev_seal_p12, **env_vars)
    car.add_source()
    car.put_template()
    env: dict[str, Any] = {**os.environ, "EDC_DATA_DIR": str(car.settings.data_dir), "EDC_DATABASE_URL": database,
                           "EDC_SEAL_PKCS12": str(dev_seal_p12), "EDC_SEAL_PKCS12_PASSWORD": "dev-seal",
                           "EDC_PUBLIC_URL": "http://sidecar.test", "EDC_EMAIL_PDF": "0", **env_vars}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    running = Deployment(car, env, handler, tmp_path)
    running.start_beat()
    try:
        yield running
    finally:
        running.close()
