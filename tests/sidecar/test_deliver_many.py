"""Deliveries in chunks: claimed together, recorded every few messages, settled per credential; and
queued behind issuance on Redis."""
from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select, update

from bridge.db.models import Credential, Delivery
from bridge.tasks import pipeline
from bridge.tasks.dispatch import DELIVERY_CHUNK, CeleryDispatcher
from bridge.tasks.pipeline import RECORD_EVERY, deliver_many
from tests.fakes.wallet import WalletStub

from .conftest import Sidecar, example_completion, make_sidecar


class HoldDeliveries:
    """Issues in-process (through the app's own dispatcher) and keeps the delivery ids it is handed."""

    def __init__(self) -> None:
        self.car: Sidecar | None = None
        self.held: list[int] = []

    def issue(self, credential_ids: Any, eta: Any = None) -> None:
        assert self.car is not None
        pipeline.issue_many(self.car.rt.context, list(credential_ids))

    def deliver(self, delivery_id: int, eta: Any = None) -> None:
        self.held.append(delivery_id)

    def deliver_many(self, delivery_ids: Any) -> None:
        self.held.extend(delivery_ids)


@pytest.fixture
def held(tmp_path: Path, db_url: str, dev_seal_p12: Path) -> Iterator[tuple[Sidecar, HoldDeliveries]]:
    hold = HoldDeliveries()
    with WalletStub() as wallet:
        for i in range(12):
            wallet.open_wallet(f"d{i}@example.org")
        car = make_sidecar(tmp_path, db_url, dev_seal_p12, dispatcher=hold, EDC_WALLET_URL=wallet.base_url)
        hold.car = car
        car.add_source()
        car.put_template(policy={"channels": ["email", "wallet"]})
        yield car, hold


def _issue(car: Sidecar, n: int) -> list[str]:
    items = [example_completion(learner={"id": f"D{i}", "email": f"d{i}@example.org"}) for i in range(n)]
    response = car.admin("POST", "/api/v1/completions:batch", {"completions": items})
    assert response.status_code == 202, response.json
    with car.rt.sessions() as session:
        return list(session.scalars(select(Credential.id).where(Credential.batch_id == response.json["batch_id"])))


def _statuses(car: Sidecar) -> dict[str, str]:
    with car.rt.sessions() as session:
        return dict(session.execute(select(Credential.id, Credential.status)).all())


def test_a_chunk_delivers_every_channel_and_settles_each_credential(held: tuple[Sidecar, HoldDeliveries]) -> None:
    car, hold = held
    ids = _issue(car, 12)
    assert len(hold.held) == 24  # email and wallet for each, handed over as one list
    revoked = ids[0]
    assert car.admin("POST", f"/api/v1/credentials/{revoked}:revoke", {"reason": "test"}).status_code == 200
    with car.rt.sessions() as session:
        later = session.scalar(select(Delivery.id).where(Delivery.credential_id == ids[1],
                                                         Delivery.channel == "wallet"))
        session.execute(update(Delivery).where(Delivery.id == later).values(
            next_attempt_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)))
        session.commit()
    outcome = deliver_many(car.rt.context, [*hold.held, 999_999])
    assert 999_999 not in outcome
    assert outcome[later] == "pending"  # not due yet: left alone
    revoked_rows = [d for d, s in outcome.items() if s == "cancelled"]
    assert len(revoked_rows) == 2
    assert sum(s == "delivered" for s in outcome.values()) == 24 - 3
    statuses = _statuses(car)
    assert statuses[revoked] == "revoked"
    assert statuses[ids[1]] == "sealed"  # its wallet deposit is still to come
    assert {statuses[i] for i in ids[2:]} == {"delivered"}
    assert len(list(car.settings.outbox_dir.glob("*.eml"))) == 11
    # A second run over the same ids sends nothing again.
    assert deliver_many(car.rt.context, hold.held) == {k: v for k, v in outcome.items() if k != 999_999}
    assert len(list(car.settings.outbox_dir.glob("*.eml"))) == 11


def test_a_crash_mid_chunk_leaves_at_most_the_unrecorded_messages_to_resend(
        held: tuple[Sidecar, HoldDeliveries], monkeypatch: pytest.MonkeyPatch) -> None:
    car, hold = held
    _issue(car, RECORD_EVERY + 5)
    with car.rt.sessions() as session:
        emails = list(session.scalars(select(Delivery.id).where(Delivery.channel == "email").order_by(Delivery.id)))
    services = car.rt.context.services
    real = services.deliver
    sent: list[str] = []

    def crash_after(channel: str, **kwargs: Any) -> Any:
        if len(sent) == RECORD_EVERY + 3:
            raise KeyboardInterrupt("worker killed")  # not an Exception: nothing catches it
        sent.append(kwargs["credential_id"])
        return real(channel, **kwargs)

    monkeypatch.setattr(services, "deliver", crash_after)
    monkeypatch.setattr(pipeline, "RECORD_SLOW_STEP", 3600.0)  # fast sends, however loaded the machine
    with pytest.raises(KeyboardInterrupt):
        deliver_many(car.rt.context, emails)
    with car.rt.sessions() as session:
        rows = dict(session.execute(select(Delivery.id, Delivery.status).where(Delivery.id.in_(emails))).all())
    assert sum(s == "delivered" for s in rows.values()) == RECORD_EVERY  # recorded before the crash
    assert sum(s == "sending" for s in rows.values()) == 5  # 3 sent but unrecorded + 2 never sent
    assert len(list(car.settings.outbox_dir.glob("*.eml"))) == RECORD_EVERY + 3


def test_slow_sends_are_recorded_one_by_one(held: tuple[Sidecar, HoldDeliveries],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Sends slower than RECORD_SLOW_STEP (sealed PDFs): a crash leaves no sent message unrecorded."""
    car, hold = held
    _issue(car, 5)
    with car.rt.sessions() as session:
        emails = list(session.scalars(select(Delivery.id).where(Delivery.channel == "email").order_by(Delivery.id)))
    services = car.rt.context.services
    real = services.deliver
    sent: list[str] = []

    def crash_after(channel: str, **kwargs: Any) -> Any:
        if len(sent) == 3:
            raise KeyboardInterrupt("worker killed")
        sent.append(kwargs["credential_id"])
        return real(channel, **kwargs)

    monkeypatch.setattr(services, "deliver", crash_after)
    monkeypatch.setattr(pipeline, "RECORD_SLOW_STEP", 0.0)  # every send counts as slow
    with pytest.raises(KeyboardInterrupt):
        deliver_many(car.rt.context, emails)
    with car.rt.sessions() as session:
        rows = dict(session.execute(select(Delivery.id, Delivery.status).where(Delivery.id.in_(emails))).all())
    assert sum(s == "delivered" for s in rows.values()) == 3  # each recorded as soon as it was sent
    assert sum(s == "sending" for s in rows.values()) == 2  # never sent: the sweep hands them out again
    assert len(list(car.settings.outbox_dir.glob("*.eml"))) == 3


def test_deliveries_queue_behind_issuance_on_redis() -> None:
    """Celery on Redis serves a queue's priority-0 list first: deliveries go to a lower-priority list."""
    url = "redis://127.0.0.1:6379/13"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis on 127.0.0.1:6379 is required in CI")
        pytest.skip("Redis on 127.0.0.1:6379 is not reachable")
    queue = f"edc-test-{secrets.token_hex(6)}"
    client = redis.Redis.from_url(url)
    dispatcher = CeleryDispatcher(url, queue)
    try:
        dispatcher.deliver_many(list(range(DELIVERY_CHUNK + 1)))
        dispatcher.issue([f"c{i}" for i in range(3)])
        lists = {key.decode(): client.llen(key) for key in client.keys(f"{queue}*") if client.type(key) == b"list"}
        assert lists[queue] == 1  # one issuing message, served first
        assert sum(n for key, n in lists.items() if key != queue) == 2  # two delivery chunks, after it
    finally:
        client.delete(*client.keys(f"{queue}*"), f"_kombu.binding.{queue}")
