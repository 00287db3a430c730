"""Batch intake rate of the sidecar next to the raw JSON parse rate of the same body, in the same run.

Run: ``python bench/intake_bench.py [--batch N] [--rounds R] [--db sqlite|postgresql]``.
Posts one batch of N completions (default 50,000) to ``POST /api/v1/completions:batch`` through the
app's WSGI interface (no HTTP server, no network: what is measured is the input layer's strict parse,
the pydantic validation, the intake checks and the database insert) and prints completions per second
next to ``json.loads`` of the same bytes, the floor no validating intake can go under. Nothing is
enqueued (the rows are the outbox), so issuance does not compete with intake. PostgreSQL on
127.0.0.1:5432 (a database of its own, dropped afterwards) when reachable, else SQLite.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bridge.app import create_app  # noqa: E402
from bridge.auth import generate_api_key, hash_api_key  # noqa: E402
from bridge.config import Settings  # noqa: E402
from bridge.db.migrate import upgrade  # noqa: E402
from bridge.db.models import Credential, Source  # noqa: E402
from bridge.db.session import dispose_engine  # noqa: E402

ADMIN = "bench-admin-token-" + secrets.token_hex(8)
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
CLOCK = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)  # the example completions are judged against it


class NoQueue:
    """Intake only: the committed rows are the outbox; nothing is sent anywhere."""

    def issue(self, credential_ids: Sequence[str], eta: Any = None) -> None:
        return None

    def deliver(self, delivery_id: int, eta: Any = None) -> None:
        return None

    def deliver_many(self, delivery_ids: Sequence[int]) -> None:
        return None


def body(n: int, prefix: str) -> bytes:
    base = json.loads((ROOT / "examples" / "completion.json").read_text("utf-8"))
    items = []
    for i in range(n):
        item = json.loads(json.dumps(base))
        item["learner"].update(id=f"{prefix}{i}", email=f"learner{i}@example.org")
        items.append(item)
    return json.dumps({"completions": items}).encode()


def best(seconds: list[float]) -> float:
    return min(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3, help="batches posted (the best is reported)")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args()

    kind = args.db
    if kind is None:
        try:
            psycopg.connect(PG_ADMIN).close()
            kind = "postgresql"
        except psycopg.OperationalError:
            kind = "sqlite"
    workdir = Path(tempfile.mkdtemp(prefix="edc-intake-bench-"))
    name = f"edc_intake_bench_{secrets.token_hex(4)}"
    if kind == "postgresql":
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        db_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    else:
        db_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    try:
        upgrade(db_url)
        settings = Settings.from_env({"EDC_DATA_DIR": str(workdir), "EDC_DATABASE_URL": db_url,
                                      "EDC_ADMIN_TOKEN": ADMIN, "EDC_PUBLIC_URL": "http://bench.test",
                                      "EDC_MAX_BATCH_BYTES": str(1 << 30)})
        app = create_app(settings, migrate=False, dispatcher=NoQueue())
        app.extensions["edc"].clock = lambda: CLOCK
        client = app.test_client()
        with app.extensions["edc"].sessions() as session:
            session.add(Source(name="moodle-main", key_hash=hash_api_key(generate_api_key())))
            session.commit()
        auth = {"Authorization": f"Bearer {ADMIN}"}
        template = json.loads((ROOT / "examples" / "course-template.json").read_text("utf-8"))
        template["policy"] = {"channels": []}
        put = client.put("/api/v1/sources/moodle-main/courses/42/template", json=template, headers=auth)
        assert put.status_code in (200, 201), put.get_data(as_text=True)  # noqa: S101 - set-up

        intake: list[float] = []
        parse: list[float] = []
        size = 0
        for round_no in range(args.rounds):
            data = body(args.batch, f"R{round_no}-")
            size = len(data)
            began = time.perf_counter()
            json.loads(data)
            parse.append(time.perf_counter() - began)
            began = time.perf_counter()
            answer = client.post("/api/v1/completions:batch", data=data, content_type="application/json",
                                 headers=auth)
            intake.append(time.perf_counter() - began)
            assert answer.status_code == 202, answer.get_data(as_text=True)[:500]  # noqa: S101
            assert answer.json["accepted"] == args.batch  # noqa: S101
        with app.extensions["edc"].sessions() as session:
            stored = session.scalar(select(func.count()).select_from(Credential))
        assert stored == args.batch * args.rounds  # noqa: S101 - every completion stored once
        intake_rate, parse_rate = args.batch / best(intake), args.batch / best(parse)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; database {kind}; "
              f"batch of {args.batch:,} completions ({size / 1e6:.1f} MB), best of {args.rounds}")
        print(f"raw json.loads of the same body : {parse_rate:>12,.0f} completions/s ({best(parse):.2f} s)")
        print(f"batch intake (parse, validate, check, store): {intake_rate:>10,.0f} completions/s "
              f"({best(intake):.2f} s) = {100 * intake_rate / parse_rate:.1f} % of the raw parse rate")
    finally:
        dispose_engine(db_url)
        if kind == "postgresql":
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
