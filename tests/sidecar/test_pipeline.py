"""The pipeline against real channels: Europass wallet contract server, SMTP (aiosmtpd), and the
outbox sweep repairing lost messages and killed workers."""
from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from bridge.db.models import Credential, Delivery
from bridge.tasks.dispatch import InProcessDispatcher
from bridge.tasks.pipeline import deliver_one, issue_one
from bridge.tasks.sweep import sweep
from tests.fakes.wallet import Forced, WalletStub

from .conftest import Sidecar, example_completion, make_sidecar

BOTH = {"channels": ["email", "wallet"]}


@pytest.fixture
def wallet() -> Iterator[WalletStub]:
    with WalletStub() as stub:
        stub.open_wallet("camille@example.org")
        yield stub


@pytest.fixture
def car(tmp_path: Path, db_url: str, dev_seal_p12: Path, wallet: WalletStub) -> Iterator[Sidecar]:
    sidecar = make_sidecar(tmp_path, db_url, dev_seal_p12, EDC_WALLET_URL=wallet.base_url)
    sidecar.add_source()
    sidecar.put_template(policy=BOTH)
    yield sidecar
    sidecar.drain()


def _issue(car: Sidecar, learner_id: str = "17") -> dict:
    cred_id = car.admin("POST", "/api/v1/completions", example_completion(learner={"id": learner_id})).json["id"]
    car.drain()
    return car.admin("GET", f"/api/v1/credentials/{cred_id}").json


def _delivery(status: dict, channel: str) -> dict:
    return next(d for d in status["deliveries"] if d["channel"] == channel)


def test_wallet_deposit_stores_the_viewer_url(car: Sidecar, wallet: WalletStub) -> None:
    status = _issue(car)
    assert status["status"] == "delivered"
    result = _delivery(status, "wallet")["result"]
    [deposit] = wallet.requests
    assert deposit.viewer_url is not None
    assert result == {"wallet_status": "delivered", "viewer_url": deposit.viewer_url}
    assert deposit.email == "camille@example.org"
    assert deposit.query == {"userEmail": ["camille@example.org"], "sendEmail": ["true"], "locale": ["fr"]}
    assert deposit.raw_path == "/api/v2/credentials" and deposit.requested_with == "XMLHttpRequest"
    sealed = car.admin("GET", f"/api/v1/credentials/{status['id']}/sealed").data
    assert deposit.part_name == "_credential" and deposit.data == sealed


def test_wallet_conflict_means_already_delivered(car: Sidecar, wallet: WalletStub) -> None:
    wallet.forced.append(Forced(409, body={"message": "credential already exists"}))
    status = _issue(car)
    assert _delivery(status, "wallet")["status"] == "delivered"
    assert _delivery(status, "wallet")["result"]["wallet_status"] == "already_present"


def test_wallet_rejection_is_permanent_and_visible(car: Sidecar, wallet: WalletStub) -> None:
    wallet.forced.append(Forced(400, body={"message": "not a valid credential"}))
    status = _issue(car)
    wallet_delivery = _delivery(status, "wallet")
    assert wallet_delivery["status"] == "failed" and wallet_delivery["attempts"] == 1
    assert "not a valid credential" in wallet_delivery["last_error"]
    assert _delivery(status, "email")["status"] == "delivered"
    assert status["status"] == "partially_delivered"


def test_no_wallet_is_recorded_once_for_the_manual_upload(car: Sidecar, wallet: WalletStub) -> None:
    wallet.wallets.clear()  # the learner has not opened a Europass wallet with this address
    status = _issue(car)
    wallet_delivery = _delivery(status, "wallet")
    assert wallet_delivery["status"] == "failed" and wallet_delivery["attempts"] == 1
    assert wallet_delivery["result"] == {"wallet_status": "no_wallet"}
    assert wallet_delivery["next_attempt_at"] is None
    assert _delivery(status, "email")["status"] == "delivered"
    assert len(wallet.requests) == 1 and wallet.stored == {}
    # The deposit is tried before the e-mail is written, so the e-mail and the page offer the upload.
    text = _emails(car)[-1].get_body(("plain",)).get_content()
    assert "il n’en existe pas encore pour cette adresse" in text and "Pour l’ajouter vous-même" in text
    assert "en cours d’ajout" not in text
    page = car.client.get(status["page_url"].removeprefix("http://sidecar.test") + "?lang=en")
    assert "There was no Europass wallet for the holder" in page.get_data(as_text=True)


def test_email_tells_the_learner_the_credential_is_in_the_wallet(car: Sidecar, wallet: WalletStub) -> None:
    status = _issue(car)
    assert _delivery(status, "wallet")["status"] == _delivery(status, "email")["status"] == "delivered"
    text = _emails(car)[-1].get_body(("plain",)).get_content()
    assert "Il est déjà dans votre portefeuille Europass" in text
    assert "en cours d’ajout" not in text and "Pour l’ajouter vous-même" not in text


def _emails(car: Sidecar) -> list:
    return [BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            for path in sorted(Path(car.settings.outbox_dir).glob("*.eml"))]


def test_wallet_outage_is_retried_by_the_sweep(car: Sidecar, wallet: WalletStub) -> None:
    wallet.forced += [Forced(503, body={"message": "unavailable"}), Forced(429, body={"message": "unavailable"})]
    status = _issue(car)
    pending = _delivery(status, "wallet")
    assert pending["status"] == "pending" and pending["attempts"] == 1
    assert "unavailable" in pending["last_error"]
    assert status["status"] == "sealed"
    rt = car.rt
    due = dt.datetime.fromisoformat(pending["next_attempt_at"])
    assert due > dt.datetime.now(dt.UTC)
    for _ in range(2):
        # Let the back-off elapse: move the scheduled retry into the past.
        with rt.sessions() as session:
            session.execute(update(Delivery).where(Delivery.credential_id == status["id"],
                                                   Delivery.channel == "wallet", Delivery.status == "pending")
                            .values(next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
            session.commit()
        report = sweep(rt.sessions, rt.dispatcher, grace=300, signature_window=300, retries_due_now=True)
        assert report.deliveries == 1
        car.drain()
    final = car.admin("GET", f"/api/v1/credentials/{status['id']}").json
    assert _delivery(final, "wallet")["status"] == "delivered"
    assert _delivery(final, "wallet")["attempts"] == 3
    assert final["status"] == "delivered"


class _SmtpSink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def test_email_over_real_smtp(tmp_path: Path, db_url: str, dev_seal_p12: Path) -> None:
    sink = _SmtpSink()
    with socket.socket() as probe:  # a free port, found by binding port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        car = make_sidecar(tmp_path, db_url, dev_seal_p12, EDC_SMTP_HOST="127.0.0.1", EDC_SMTP_PORT=str(port),
                           EDC_SMTP_SECURITY="none", EDC_MAIL_FROM="Registrar <registrar@univ.example>")
        car.add_source()
        car.put_template()
        status = _issue(car)
    finally:
        controller.stop()
    assert status["status"] == "delivered", status
    assert len(sink.messages) == 1
    sender, recipients, content = sink.messages[0]
    assert sender == "registrar@univ.example" and recipients == ["camille@example.org"]
    message = BytesParser(policy=policy.default).parsebytes(content)
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == f"credential-{status['id']}.jsonld"
    sealed = car.admin("GET", f"/api/v1/credentials/{status['id']}/sealed").data
    assert attachment.get_payload(decode=True) == sealed
    assert message.get_body(("plain",)).get_content()  # localised text body present
    assert not list(car.settings.outbox_dir.glob("*.eml"))


class _LostMessages:
    """A broker that loses every message: the rows must still get processed by the sweep."""

    def __init__(self) -> None:
        self.lost = 0

    def issue(self, credential_ids, eta=None) -> None:
        self.lost += len(credential_ids)

    def deliver(self, delivery_id, eta=None) -> None:
        self.lost += 1

    def deliver_many(self, delivery_ids) -> None:
        self.lost += len(delivery_ids)


def test_sweep_recovers_lost_messages(tmp_path: Path, db_url: str, dev_seal_p12: Path) -> None:
    lost = _LostMessages()
    car = make_sidecar(tmp_path, db_url, dev_seal_p12, dispatcher=lost)
    car.add_source()
    car.put_template()
    cred_id = car.admin("POST", "/api/v1/completions", example_completion()).json["id"]
    assert lost.lost == 1
    rt = car.rt
    worker = InProcessDispatcher(issue=lambda ids: [issue_one(rt.context, i) for i in ids],
                                 deliver=lambda d: deliver_one(rt.context, d))
    rt.context.dispatcher = worker
    fresh = sweep(rt.sessions, worker, grace=300, signature_window=300, retries_due_now=True)
    assert fresh.credentials == 0  # within the grace period the original message may still come
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=301)
    report = sweep(rt.sessions, worker, grace=300, signature_window=300, retries_due_now=True, now=later)
    assert report.credentials == 1
    worker.drain()
    assert car.admin("GET", f"/api/v1/credentials/{cred_id}").json["status"] == "delivered"


def test_killed_worker_delivery_is_released_and_sent_once(car: Sidecar) -> None:
    status = _issue(car)
    rt = car.rt
    sealed_before = car.admin("GET", f"/api/v1/credentials/{status['id']}/sealed").data
    assert issue_one(rt.context, status["id"]) == "delivered"  # re-running issuance is a no-op
    assert car.admin("GET", f"/api/v1/credentials/{status['id']}/sealed").data == sealed_before
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with rt.sessions() as session:  # as if a worker died after claiming the email delivery
        session.execute(update(Delivery).where(Delivery.credential_id == status["id"], Delivery.channel == "email")
                        .values(status="sending", updated_at=long_ago))
        session.execute(update(Credential).where(Credential.id == status["id"]).values(status="sealed"))
        session.commit()
    email_id = next(d.id for d in _rows(car, status["id"]) if d.channel == "email")
    assert deliver_one(rt.context, email_id) == "sending"  # claimed elsewhere: not sent twice
    report = sweep(rt.sessions, rt.dispatcher, grace=300, signature_window=300, retries_due_now=True,
                   now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=301))
    assert report.unstuck == 1 and report.deliveries == 1
    car.drain()
    final = car.admin("GET", f"/api/v1/credentials/{status['id']}").json
    assert final["status"] == "delivered"
    assert len(list(car.settings.outbox_dir.glob("*.eml"))) == 2


def _rows(car: Sidecar, cred_id: str) -> list[Delivery]:
    from sqlalchemy import select

    with car.rt.sessions() as session:
        return list(session.scalars(select(Delivery).where(Delivery.credential_id == cred_id)))


@pytest.mark.parametrize(("current", "deliveries", "expected"), [
    ("sealed", ["delivered", "delivered"], "delivered"),
    ("sealed", ["delivered", "failed"], "partially_delivered"),
    ("sealed", ["failed", "failed"], "failed"),
    ("sealed", ["delivered", "sending"], None),
    ("sealed", ["pending"], None),
    ("sealed", ["cancelled"], None),
    ("revoked", ["delivered"], None),
    ("failed", ["delivered"], "delivered"),  # a resend that succeeded
])
def test_credential_status_follows_its_deliveries(current: str, deliveries: list[str], expected: str | None) -> None:
    from bridge.tasks.pipeline import settled_status

    assert settled_status(current, deliveries) == expected


def test_delivery_lease_is_the_operators_choice(car: Sidecar) -> None:
    """EDC_DELIVERY_LEASE: a claim younger than the lease is left alone, an older one is released."""
    status = _issue(car)
    rt = car.rt
    claimed_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)
    with rt.sessions() as session:  # a worker claimed the e-mail a minute ago, then died
        session.execute(update(Delivery).where(Delivery.credential_id == status["id"], Delivery.channel == "email")
                        .values(status="sending", updated_at=claimed_at))
        session.commit()
    kept = sweep(rt.sessions, rt.dispatcher, grace=300, signature_window=300, retries_due_now=True)
    assert kept.unstuck == 0  # the default lease (10 minutes) has not run out
    short = sweep(rt.sessions, rt.dispatcher, grace=300, signature_window=300, retries_due_now=True,
                  lease=dt.timedelta(seconds=30))
    assert short.unstuck == 1
