"""Delivery claims on both databases: the heartbeat keeps a live claim from the sweep, a lost claim is
never sent nor recorded, the Message-ID is fixed per delivery, stuck claims show in /metrics."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bridge.config import ConfigError, Settings
from bridge.db.models import Delivery, DeliveryAttempt
from bridge.delivery.errors import OutcomeUnknown
from bridge.tasks.claims import ClaimKeeper, ClaimLost
from bridge.tasks.pipeline import _Attempt, _finish_deliveries, deliver_many, deliver_one, issue_many
from bridge.tasks.services import DeliveryOutcome
from bridge.tasks.sweep import sweep
from tests.fakes.wallet import WalletStub

from .conftest import ADMIN, Sidecar, example_completion, make_sidecar


class _Holding:
    """A dispatcher that keeps task messages instead of running them: the test runs each step itself."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.deliveries: list[int] = []

    def issue(self, credential_ids: Any, eta: Any = None) -> None:
        self.issued += list(credential_ids)

    def deliver(self, delivery_id: int, eta: Any = None) -> None:
        self.deliveries.append(delivery_id)

    def deliver_many(self, delivery_ids: Any) -> None:
        self.deliveries += list(delivery_ids)


@pytest.fixture
def car(tmp_path: Path, db_url: str, dev_seal_p12: Path) -> Iterator[Sidecar]:
    sidecar = make_sidecar(tmp_path, db_url, dev_seal_p12, dispatcher=_Holding())
    sidecar.add_source()
    sidecar.put_template()
    yield sidecar


def _sealed_pending(car: Sidecar, count: int = 2) -> list[int]:
    """``count`` sealed credentials whose e-mail deliveries are pending (nobody sent them yet)."""
    held = car.rt.context.dispatcher
    for i in range(count):
        car.admin("POST", "/api/v1/completions", example_completion(learner={"id": f"C{i}"}))
    issue_many(car.rt.context, held.issued)
    ids, held.issued, held.deliveries = list(held.deliveries), [], []
    assert len(ids) == count
    return ids


def _rows(car: Sidecar, ids: list[int]) -> dict[int, Delivery]:
    with car.rt.sessions() as session:
        return {d.id: d for d in session.scalars(select(Delivery).where(Delivery.id.in_(ids)))}


def _outbox(car: Sidecar) -> int:
    return len(list(car.settings.outbox_dir.glob("*.eml")))


def test_heartbeat_keeps_a_live_claim_from_the_sweep(car: Sidecar) -> None:
    ids = _sealed_pending(car)
    keeper = ClaimKeeper(car.rt.sessions, dt.timedelta(seconds=2))
    with car.rt.sessions() as session:
        assert keeper.claim(session, ids) == set(ids)
        session.commit()
    with keeper:  # the heartbeat beats every half second
        time.sleep(3)  # longer than the lease
        report = sweep(car.rt.sessions, car.rt.dispatcher, grace=300, signature_window=300,
                       retries_due_now=True, lease=dt.timedelta(seconds=2))
    assert report.unstuck == 0
    rows = _rows(car, ids)
    assert {r.status for r in rows.values()} == {"sending"} and {r.claim_token for r in rows.values()} == {keeper.token}
    assert keeper.check(ids[0], "<first@univ.example>") == "<first@univ.example>"
    assert keeper.check(ids[0], "<second@univ.example>") == "<first@univ.example>"  # fixed once chosen


def test_a_claim_whose_heartbeat_stopped_is_released_and_never_sent_nor_recorded(car: Sidecar) -> None:
    ids = _sealed_pending(car)
    lease = dt.timedelta(seconds=60)
    frozen = ClaimKeeper(car.rt.sessions, lease)
    with car.rt.sessions() as session:
        frozen.claim(session, ids)
        session.commit()
    later = dt.datetime.now(dt.UTC) + lease + dt.timedelta(seconds=1)  # no heartbeat for a whole lease
    report = sweep(car.rt.sessions, car.rt.dispatcher, grace=300, signature_window=300, retries_due_now=True,
                   now=later, lease=lease)
    assert report.unstuck == 2
    with pytest.raises(ClaimLost):
        frozen.check(ids[0], None)
    # Another run claims and delivers them (once each) ...
    assert set(deliver_many(car.rt.context, ids).values()) == {"delivered"}
    assert _outbox(car) == 2
    # ... and the frozen run, waking up with an outcome in hand, cannot overwrite theirs.
    outcome: dict[int, str] = {}
    _finish_deliveries(car.rt.context, frozen, [_Attempt(ids[0], _cred(car, ids[0]), "email", 1,
                                                         DeliveryOutcome("failed", error="late"))], outcome)
    row = _rows(car, ids)[ids[0]]
    assert row.status == "delivered" and row.last_error is None and outcome == {}


def test_a_chunk_stops_sending_when_its_claims_are_taken(car: Sidecar, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep releases the chunk while the first message is being prepared: nothing more goes out."""
    ids = _sealed_pending(car, 3)
    services = car.rt.context.services
    real = services.deliver
    calls: list[str] = []

    def slow_first(channel: str, **kwargs: Any) -> Any:
        if not calls:  # as if this worker froze for longer than the lease before its first send
            with car.rt.sessions() as session:
                session.execute(update(Delivery).where(Delivery.id.in_(ids))
                                .values(heartbeat_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)))
                session.commit()
            sweep(car.rt.sessions, car.rt.dispatcher, grace=300, signature_window=300, retries_due_now=True)
        calls.append(kwargs["credential_id"])
        return real(channel, **kwargs)

    monkeypatch.setattr(services, "deliver", slow_first)
    outcome = deliver_many(car.rt.context, ids)
    assert _outbox(car) == 0 and len(calls) == 3  # each one checked its claim and stood back
    assert set(outcome.values()) == {"sending"}  # as found at the start: the run recorded nothing
    assert {r.status for r in _rows(car, ids).values()} == {"pending"}


def test_unknown_outcome_is_recorded_and_resent_with_the_same_message_id(
        car: Sidecar, monkeypatch: pytest.MonkeyPatch) -> None:
    [delivery_id, *_] = _sealed_pending(car, 1)
    transport = car.rt.context.services.mail_transport
    real = transport.send
    sent: list[str] = []

    def answer_lost(message: Any) -> str:
        sent.append(str(message["Message-ID"]))
        if len(sent) == 1:
            real(message)  # it did arrive, but the answer was lost
            raise OutcomeUnknown("the connection was lost after the message was sent")
        return real(message)

    monkeypatch.setattr(transport, "send", answer_lost)
    assert deliver_one(car.rt.context, delivery_id) == "pending"
    row = _rows(car, [delivery_id])[delivery_id]
    assert row.last_error.startswith("outcome unknown") and row.result["outcome"] == "unknown"
    assert row.next_attempt_at is not None and row.claim_token is None
    with car.rt.sessions() as session:
        session.execute(update(Delivery).where(Delivery.id == delivery_id)
                        .values(next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        session.commit()
        history = list(session.scalars(select(DeliveryAttempt.status).order_by(DeliveryAttempt.id)))
    assert history == ["unknown"]
    assert deliver_one(car.rt.context, delivery_id) == "delivered"
    assert len(sent) == 2 and sent[0] == sent[1] == row.message_id  # a recognisable copy of the same message
    eml = sorted(car.settings.outbox_dir.glob("*.eml"))
    assert len(eml) == 2 and all(row.message_id.encode() in f.read_bytes() for f in eml)


def test_resend_by_staff_is_a_new_message(car: Sidecar) -> None:
    [delivery_id, *_] = _sealed_pending(car, 1)
    assert deliver_one(car.rt.context, delivery_id) == "delivered"
    first = _rows(car, [delivery_id])[delivery_id].message_id
    cred_id = _cred(car, delivery_id)
    response = car.client.post(f"/api/v1/credentials/{cred_id}:resend", headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code in (200, 202), response.json
    assert car.rt.context.dispatcher.deliveries == [delivery_id]
    assert deliver_one(car.rt.context, delivery_id) == "delivered"
    second = _rows(car, [delivery_id])[delivery_id]
    assert second.status == "delivered" and second.message_id not in (None, first)


def test_stuck_claims_show_in_metrics(car: Sidecar) -> None:
    ids = _sealed_pending(car)
    keeper = ClaimKeeper(car.rt.sessions, dt.timedelta(seconds=600))
    with car.rt.sessions() as session:
        keeper.claim(session, ids)
        session.commit()
    assert "edc_delivery_claims_stale 0.0" in car.client.get("/metrics").get_data(as_text=True)
    with car.rt.sessions() as session:  # the worker stopped beating twenty minutes ago
        session.execute(update(Delivery).where(Delivery.id == ids[0])
                        .values(heartbeat_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)))
        session.commit()
    text = car.client.get("/metrics").get_data(as_text=True)
    assert "edc_delivery_claims_stale 1.0" in text
    age = float(next(line.split()[1] for line in text.splitlines()
                     if line.startswith("edc_delivery_claim_stale_seconds ")))
    assert 1190 < age < 1300


def _cred(car: Sidecar, delivery_id: int) -> str:
    with car.rt.sessions() as session:
        return session.scalar(select(Delivery.credential_id).where(Delivery.id == delivery_id))


@pytest.mark.parametrize(("env", "ok"), [
    ({}, True),  # 30 + 8 × 30 + 120 = 390 s; × 1.5 = 585 ≤ 600
    ({"EDC_SMTP_DATA_TIMEOUT": "140"}, False),  # 410 × 1.5 = 615 > 600
    ({"EDC_SMTP_DATA_TIMEOUT": "140", "EDC_DELIVERY_LEASE": "615"}, True),
    ({"EDC_DELIVERY_LEASE": "60"}, False),
    ({"EDC_DELIVERY_LEASE": "60", "EDC_SMTP_TIMEOUT": "3", "EDC_SMTP_DATA_TIMEOUT": "10"}, True),  # 37 × 1.5
    ({"EDC_SMTP_CONNECT_TIMEOUT": "-1"}, False),
])
def test_smtp_timeouts_must_fit_inside_the_lease(env: dict[str, str], ok: bool) -> None:
    values = {"EDC_SMTP_HOST": "mail.univ.example", "EDC_MAIL_FROM": "registrar@univ.example", **env}
    if ok:
        Settings.from_env(values)
    else:
        with pytest.raises(ConfigError, match="EDC_SMTP_CONNECT_TIMEOUT|EDC_DELIVERY_LEASE"):
            Settings.from_env(values)
    Settings.from_env({k: v for k, v in values.items() if k != "EDC_SMTP_HOST"})  # the outbox has no timeouts


def test_a_wallet_deposit_whose_claim_was_taken_is_not_made(tmp_path: Path, db_url: str, dev_seal_p12: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The wallet channel follows the same claims: checked right before the deposit, recorded by the owner."""
    with WalletStub() as wallet:
        wallet.open_wallet("camille@example.org")
        car = make_sidecar(tmp_path, db_url, dev_seal_p12, dispatcher=_Holding(), EDC_WALLET_URL=wallet.base_url)
        car.add_source()
        car.put_template(policy={"channels": ["wallet"]})
        [delivery_id] = _sealed_pending(car, 1)
        keeper = ClaimKeeper(car.rt.sessions, dt.timedelta(seconds=60))
        with car.rt.sessions() as session:
            keeper.claim(session, [delivery_id])
            session.commit()
        # The claim was taken over (the sweep released it, another run claimed it) before the deposit.
        with car.rt.sessions() as session:
            session.execute(update(Delivery).where(Delivery.id == delivery_id).values(claim_token="another-run"))
            session.commit()
        with pytest.raises(ClaimLost):
            car.rt.context.services.deliver("wallet", credential_id=_cred(car, delivery_id),
                                            completion=example_completion(), credential_json="{}", sealed=b"{}",
                                            attempt=1, claim=keeper.guard(delivery_id))
        assert wallet.requests == []
        with car.rt.sessions() as session:  # the owner delivers it, once
            session.execute(update(Delivery).where(Delivery.id == delivery_id)
                            .values(status="pending", claim_token=None))
            session.commit()
        assert deliver_one(car.rt.context, delivery_id) == "delivered"
        assert len(wallet.requests) == 1
