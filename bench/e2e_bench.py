"""End-to-end throughput of the sidecar: completions posted over HTTP (one batch, then single
requests) → sealed by Celery workers on Redis → e-mailed to a local aiosmtpd server.

Run: ``python bench/e2e_bench.py [--batch N] [--single M] [--workers W] [--db sqlite|postgresql]``.
Starts ``edc-bridge serve`` (gunicorn) and ``celery … worker`` as subprocesses, a development seal,
and an SMTP sink on loopback; prints credentials/s for intake, sealing and delivery and the raw
RSA-2048 sign rate measured in the same run (1 process and W processes), so issuance can be
compared with what the key alone allows; each credential carries its learner's certificate page as
its displayDetail image (checked, and its size printed). Needs Redis on 127.0.0.1:6379 (and PostgreSQL on
127.0.0.1:5432 for ``--db postgresql``, the default when reachable).
"""
from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bridge.auth import generate_api_key, hash_api_key, signature_headers  # noqa: E402
from bridge.db.migrate import upgrade  # noqa: E402
from bridge.db.models import Credential, Source  # noqa: E402
from bridge.db.session import dispose_engine, session_factory  # noqa: E402
from bridge.tasks.dispatch import ISSUE_CHUNK  # noqa: E402
from sealer.keys import Pkcs12KeySource  # noqa: E402
from sealer.keys.devseal import create_dev_seal  # noqa: E402

ADMIN = secrets.token_urlsafe(16)
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
SIGN_SECONDS = 3.0


class Sink:
    """SMTP server handler that only counts messages."""

    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0  # perf_counter() when the latest message arrived
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.count += 1
            self.last = time.perf_counter()
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _sign_loop(p12: str, seconds: float) -> int:
    key = Pkcs12KeySource(p12, "dev-seal")
    data = os.urandom(1024)
    done, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        key.sign(data, "RS256")
        done += 1
    return done


def raw_sign_rate(p12: str, processes: int) -> float:
    """RS256 signatures per second with the seal key, over ``processes`` processes."""
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        counts = pool.starmap(_sign_loop, [(p12, SIGN_SECONDS)] * processes)
    return sum(counts) / SIGN_SECONDS


def completion(i: int, prefix: str) -> dict[str, Any]:
    return {"source": "bench", "course_id": "42",
            "learner": {"id": f"{prefix}{i}", "given_name": "Camille", "family_name": f"Martin{i}",
                        "email": f"learner{i}@example.org", "language": "fr" if i % 2 else "en"},
            "grade": {"score": 87.5, "max": 100, "text": "Très bien"}, "passed": True,
            "completed_at": "2026-11-20T10:00:00Z"}


def signed_post(base: str, path: str, key: str, body: Any, session: requests.Session) -> requests.Response:
    data = json.dumps(body).encode()
    headers = signature_headers("bench", key, "POST", path, data)
    headers["Content-Type"] = "application/json"
    return session.post(base + path, data=data, headers=headers, timeout=600)


def page_images(base: str, credential_id: str) -> list[int]:
    """The sizes of a sealed credential's displayDetail images; refuses the blank placeholder, so the
    rates printed are those of issuance with the learner's page image."""
    from bridge.elm.display_image import placeholder_png_base64

    sealed = requests.get(f"{base}/api/v1/credentials/{credential_id}/sealed", timeout=60,
                          headers={"Authorization": f"Bearer {ADMIN}"})
    sealed.raise_for_status()
    credential = json.loads(sealed.json()["payload"])
    found = [detail["image"]["content"] for display in credential["displayParameter"]["individualDisplay"]
             for detail in display["displayDetail"]]
    if not found or placeholder_png_base64() in found:
        raise SystemExit("the credentials carry no learner page image: this run would not measure it")
    return [len(base64.b64decode(content)) for content in found]


def wait_until(predicate: Any, timeout: float, what: str, interval: float | Any = 0.2) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(interval() if callable(interval) else interval)
    return time.perf_counter()


_last_sealed = [0]


def counts(base: str, batch_id: str) -> dict[str, int]:
    answer = requests.get(f"{base}/api/v1/batches/{batch_id}", headers={"Authorization": f"Bearer {ADMIN}"},
                          timeout=30).json()
    _last_sealed[0] = answer["counts"]["sealed"]
    return answer["counts"]


def status_count(base: str, status: str) -> int:
    answer = requests.get(f"{base}/api/v1/credentials?status={status}&per_page=1",
                          headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30).json()
    return answer["total"]


def cpu_by_program(pg_clients: dict[int, str] | None = None) -> dict[str, float]:
    """CPU seconds used so far by every process on the machine, summed per program name.

    Taken before and after a phase, the difference shows where the machine's two cores went
    (workers, web server, PostgreSQL, Redis, this client) — the figure a throughput alone hides.
    """
    tick = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        program = _program(text[text.index("(") + 1:text.rindex(")")], cmdline)
        if program == "postgres backends" and pg_clients:
            program = f"postgres for {pg_clients.get(int(stat.parent.name), 'others')}"
        totals[program] = totals.get(program, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return totals


def _program(comm: str, cmdline: list[bytes]) -> str:
    joined = b" ".join(cmdline)
    for marker, name in ((b"celery", "celery workers"), (b"edc-bridge", "web (gunicorn)"),
                         (b"gunicorn", "web (gunicorn)"), (b"e2e_bench", "bench client + SMTP sink")):
        if marker in joined:
            return name
    if comm.startswith("postgres"):
        title = cmdline[0].decode(errors="replace") if cmdline else ""
        for role in ("autovacuum", "checkpointer", "background writer", "walwriter"):
            if role in title:
                return f"postgres {role}"
        return "postgres backends"
    return comm


def cpu_split(before: dict[str, float], after: dict[str, float], n: int) -> str:
    """Per-credential CPU microseconds by program between two snapshots, largest first."""
    used = {name: after[name] - before.get(name, 0.0) for name in after}
    rows = sorted(((seconds, name) for name, seconds in used.items() if seconds > 0.05), reverse=True)
    total = sum(seconds for seconds, _ in rows)
    parts = ", ".join(f"{name} {1e6 * seconds / n:,.0f}" for seconds, name in rows)
    return f"{1e6 * total / n:,.0f} µs CPU per credential ({parts})"


def last_sealed_at(db_url: str, batch_id: str) -> float:
    """Epoch seconds of the batch's last ``sealed_at``."""
    with session_factory(db_url)() as session:
        last = session.scalar(select(func.max(Credential.sealed_at)).where(Credential.batch_id == batch_id))
    dispose_engine(db_url)
    assert last is not None  # noqa: S101 - called once every credential of the batch is sealed
    return last.timestamp()


def pg_clients() -> dict[int, str]:
    """PostgreSQL backend pid -> the application it serves (PGAPPNAME set per process below)."""
    try:
        with psycopg.connect(PG_ADMIN) as conn:
            return {pid: name or "others" for pid, name in conn.execute(
                "SELECT pid, application_name FROM pg_stat_activity WHERE backend_type = 'client backend'")}
    except psycopg.OperationalError:
        return {}


def pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN):
            return True
    except psycopg.OperationalError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=2000, help="completions in the batch request")
    parser.add_argument("--single", type=int, default=200, help="completions posted one by one")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (prefork)")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--no-deliver", action="store_true",
                        help="issue without delivery channels: measures intake and sealing only")
    args = parser.parse_args()
    db = args.db or ("postgresql" if pg_reachable() else "sqlite")

    work = Path(tempfile.mkdtemp(prefix="edc-e2e-"))
    p12 = create_dev_seal(work / "seal").pkcs12_path
    # The raw rate is measured before and after the run and the better figure kept: on a shared
    # machine one measurement alone can land on a neighbour's burst and flatter the ratio.
    sign_before = (raw_sign_rate(str(p12), 1), raw_sign_rate(str(p12), args.workers))
    pg_name = None
    if db == "postgresql":
        pg_name = f"edcbridge_bench_{secrets.token_hex(4)}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        db_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_name}"
    else:
        db_url = f"sqlite:///{work / 'bench.sqlite3'}"
    upgrade(db_url)
    api_key = generate_api_key()
    with session_factory(db_url)() as session:
        session.add(Source(name="bench", key_hash=hash_api_key(api_key)))
        session.commit()
    dispose_engine(db_url)

    sink = Sink()
    smtp_port = free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    http_port = free_port()
    queue = f"edc-bench-{secrets.token_hex(4)}"
    env = {**os.environ, "EDC_DATA_DIR": str(work / "var"), "EDC_DATABASE_URL": db_url,
           "EDC_BROKER_URL": "redis://127.0.0.1:6379/14", "EDC_CELERY_QUEUE": queue, "EDC_ADMIN_TOKEN": ADMIN,
           "EDC_SEAL_PKCS12": str(p12), "EDC_SEAL_PKCS12_PASSWORD": "dev-seal",
           "EDC_SMTP_HOST": "127.0.0.1", "EDC_SMTP_PORT": str(smtp_port), "EDC_SMTP_SECURITY": "none",
           "EDC_MAIL_FROM": "registrar@univ.example", "EDC_PUBLIC_URL": f"http://127.0.0.1:{http_port}",
           # E-mails at SMTP speed: the sealed PDF (~0.2 s of layout each, documents_bench.py) is made on
           # first download here; with EDC_EMAIL_PDF=1 the e-mail rate is the PDF rate.
           "EDC_EMAIL_PDF": "0"}
    bin_dir = Path(sys.executable).parent
    server = subprocess.Popen([str(bin_dir / "edc-bridge"), "serve", "--port", str(http_port), "--workers", "1"],
                              env={**env, "PGAPPNAME": "web"}, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([str(bin_dir / "celery"), "-A", "bridge.tasks.celery_app", "worker", "-Q", queue,
                               "--concurrency", str(args.workers), "-l", "WARNING", "--without-gossip",
                               "--without-mingle", "--without-heartbeat"],
                              env={**env, "PGAPPNAME": "workers"}, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{http_port}"
    try:
        wait_until(lambda: _up(base), 60, "the sidecar")
        template = json.loads((ROOT / "examples" / "course-template.json").read_text(encoding="utf-8"))
        template["policy"] = {"channels": [] if args.no_deliver else ["email"]}
        put = requests.put(f"{base}/api/v1/sources/bench/courses/42/template", json=template,
                           headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60)
        put.raise_for_status()
        # Warm-up: one chunk per worker process, so that each has built what it builds once (the
        # template's page images, laid out and rasterised per language; ESCO index, SHACL shapes) before
        # the measured batch.
        http = requests.Session()
        warm = signed_post(base, "/api/v1/completions", api_key, completion(0, "warm"), http)
        warm.raise_for_status()
        wait_until(lambda: status_count(base, "delivered" if not args.no_deliver else "sealed") >= 1, 600,
                   "the warm-up credential")
        images = page_images(base, warm.json()["id"])
        n_warm = args.workers * ISSUE_CHUNK
        warm_batch = signed_post(base, "/api/v1/completions:batch", api_key,
                                 {"completions": [completion(i, "W") for i in range(n_warm)]}, http)
        warm_batch.raise_for_status()
        wait_until(lambda: counts(base, warm_batch.json()["batch_id"])["sealed"] >= n_warm, 1800, "the warm-up batch")
        wait_until(lambda: args.no_deliver or sink.count >= n_warm + 1, 1800, "the warm-up e-mails")
        time.sleep(2)

        items = [completion(i, "B") for i in range(args.batch)]
        clients = pg_clients()
        cpu0 = cpu_by_program(clients)
        t0 = time.perf_counter()
        wall0 = time.time()
        response = signed_post(base, "/api/v1/completions:batch", api_key, {"completions": items}, http)
        t_intake = time.perf_counter()
        cpu_intake = cpu_by_program(clients)
        response.raise_for_status()
        batch_id = response.json()["batch_id"]
        # Counting a 50,000-row batch costs PostgreSQL ~20-30 ms while its rows are being rewritten (no
        # index-only scan yet): polled every 0.2 s it took a twentieth of the machine from the workers.
        # So: once a second, then every 0.2 s over the last tenth, so that the end is still seen promptly.
        wait_until(lambda: counts(base, batch_id)["sealed"] >= args.batch, 3600, "sealing",
                   interval=lambda: 0.2 if _last_sealed[0] >= 0.9 * args.batch else 1.0)
        # When the last seal was written, from the database: the poll only says when it was noticed.
        t_sealed = t0 + last_sealed_at(db_url, batch_id) - wall0
        cpu_sealed = cpu_by_program({**clients, **pg_clients()})
        mailed_while_sealing = sink.count - 1 - n_warm  # the warm-up's e-mails came before
        t_delivered = wait_until(lambda: args.no_deliver or sink.count >= args.batch + 1 + n_warm, 3600,
                                 "delivery")
        t_delivered = sink.last or t_delivered

        mail_before = sink.count
        t1 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: signed_post(base, "/api/v1/completions", api_key, completion(i, "S"),
                                                requests.Session()).raise_for_status(), range(args.single)))
        t_single_intake = time.perf_counter()
        t_single_done = wait_until(
            lambda: (status_count(base, "sealed") >= args.batch + args.single + 1 + n_warm) if args.no_deliver
            else sink.count >= mail_before + args.single, 3600, "single credentials")
        failed = status_count(base, "failed")
    finally:
        for proc in (server, worker):
            proc.send_signal(signal.SIGTERM)
        for proc in (server, worker):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        smtp.stop()
        redis.Redis.from_url(env["EDC_BROKER_URL"]).delete(queue, f"_kombu.binding.{queue}",
                                                           f"_kombu.binding_permanent.{queue}")
        if pg_name:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')

    sign_1 = max(sign_before[0], raw_sign_rate(str(p12), 1))
    sign_w = max(sign_before[1], raw_sign_rate(str(p12), args.workers))
    n, m = args.batch, args.single
    sealing = n / (t_sealed - t0)
    print(f"database: {db}; Celery workers: {args.workers} (prefork) on Redis; CPUs: {os.cpu_count()}")
    delivered = "not delivered (--no-deliver)" if args.no_deliver else \
        f"delivered by SMTP {n / (t_delivered - t0):,.0f}/s ({t_delivered - t0:.1f} s)"
    print(f"batch of {n}: intake {n / (t_intake - t0):,.0f}/s ({t_intake - t0:.2f} s), "
          f"sealed {sealing:,.0f}/s ({t_sealed - t0:.1f} s from the POST), {delivered}")
    if not args.no_deliver:
        print(f"e-mails sent before the batch was fully sealed: {max(mailed_while_sealing, 0):,} "
              "(deliveries wait behind issuance)")
    print(f"CPU during the batch's intake: {cpu_split(cpu0, cpu_intake, n)}")
    print(f"CPU from the POST until sealed: {cpu_split(cpu0, cpu_sealed, n)}")
    print(f"{m} single requests (8 concurrent clients): intake {m / (t_single_intake - t1):,.0f}/s, "
          f"{'sealed' if args.no_deliver else 'sealed and delivered'} {m / (t_single_done - t1):,.0f}/s")
    print(f"raw RSA-2048 RS256 sign rate (best of before and after): {sign_1:,.0f}/s (1 process), "
          f"{sign_w:,.0f}/s ({args.workers} processes)")
    print(f"issuance vs raw signing with {args.workers} processes: {100 * sealing / sign_w:.1f} % from the POST, "
          f"{100 * n / (t_sealed - t_intake) / sign_w:.1f} % after intake "
          f"(sealing alone {n / (t_sealed - t_intake):,.0f}/s)")
    print(f"each credential carries its learner's certificate page as displayDetail image: "
          f"{len(images)} languages, {sum(images) / 1024:.0f} KiB of PNG per credential")
    print(f"failed credentials: {failed}")
    print(f"a 50,000 batch at this rate would take about {50_000 / sealing:.0f} s to seal")


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    main()
