"""Transient issuance failures (a TSA or HSM away for a while) are retried with back-off, keeping
the assembled credential; permanent ones fail the credential at once."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bridge.db.models import Credential
from bridge.tasks import pipeline
from bridge.tasks.pipeline import ISSUE_RETRY, MAX_ISSUE_ATTEMPTS, issue_many

from .conftest import Sidecar, example_completion, make_sidecar


class Recording:
    """Keeps what the pipeline enqueues instead of running it."""

    def __init__(self) -> None:
        self.issued: list[tuple[list[str], dt.datetime | None]] = []

    def issue(self, credential_ids: Any, eta: dt.datetime | None = None) -> None:
        self.issued.append((list(credential_ids), eta))

    def deliver(self, delivery_id: int, eta: Any = None) -> None:
        return None

    def deliver_many(self, delivery_ids: Any) -> None:
        return None


@pytest.fixture
def car(tmp_path: Path, db_url: str, dev_seal_p12: Path) -> tuple[Sidecar, Recording]:
    recording = Recording()
    sidecar = make_sidecar(tmp_path, db_url, dev_seal_p12, dispatcher=recording)
    sidecar.add_source()
    sidecar.put_template(policy={"channels": []})
    return sidecar, recording


def _post(sidecar: Sidecar, n: int) -> list[str]:
    items = [example_completion(learner={"id": f"R{i}"}) for i in range(n)]
    response = sidecar.admin("POST", "/api/v1/completions:batch", {"completions": items})
    assert response.status_code == 202, response.json
    with sidecar.rt.sessions() as session:
        return list(session.scalars(select(Credential.id).where(Credential.batch_id == response.json["batch_id"])))


def _rows(sidecar: Sidecar, ids: list[str]) -> dict[str, Credential]:
    with sidecar.rt.sessions() as session:
        return {row.id: row for row in session.scalars(select(Credential).where(Credential.id.in_(ids)))}


def test_a_timestamp_authority_outage_is_retried_with_back_off(car: tuple[Sidecar, Recording],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    sidecar, recording = car
    ids = _post(sidecar, 3)
    recording.issued.clear()
    services = sidecar.rt.context.services
    real_seal = services.seal_chunk

    def tsa_down(*_args: object, **_kwargs: object) -> bytes:
        raise ConnectionError("timestamp authority unreachable")

    monkeypatch.setattr(services, "seal_chunk", tsa_down)
    before = dt.datetime.now(dt.UTC)
    outcome = issue_many(sidecar.rt.context, ids)
    assert set(outcome.values()) == {"assembled"}  # kept: the retry seals this very credential
    rows = _rows(sidecar, ids)
    assert {r.attempts for r in rows.values()} == {1}
    assert all(r.credential_json and "ConnectionError" in r.error for r in rows.values())
    [(again, eta)] = recording.issued  # one delayed message for the whole burst
    assert sorted(again) == sorted(ids)
    assert eta is not None
    low = before + dt.timedelta(seconds=ISSUE_RETRY.base_delay * (1 - ISSUE_RETRY.jitter))
    assert low <= eta <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ISSUE_RETRY.base_delay)
    assembled = {r.id: r.credential_json for r in rows.values()}

    monkeypatch.setattr(services, "seal_chunk", real_seal)
    assert set(issue_many(sidecar.rt.context, again).values()) == {"sealed"}
    for cred_id in ids:
        served = sidecar.admin("GET", f"/api/v1/credentials/{cred_id}/sealed").data
        assert pipeline.sealed_payload(served) == assembled[cred_id]  # the same credential, now sealed


def test_retries_stop_after_the_last_attempt(car: tuple[Sidecar, Recording], monkeypatch: pytest.MonkeyPatch) -> None:
    sidecar, recording = car
    [cred_id] = _post(sidecar, 1)

    def hsm_away(*_args: object, **_kwargs: object) -> bytes:
        raise OSError("token not present")

    monkeypatch.setattr(sidecar.rt.context.services, "seal_chunk", hsm_away)
    recording.issued.clear()
    for _ in range(MAX_ISSUE_ATTEMPTS):
        issue_many(sidecar.rt.context, [cred_id])
    row = _rows(sidecar, [cred_id])[cred_id]
    assert row.status == "failed" and row.attempts == MAX_ISSUE_ATTEMPTS
    assert len(recording.issued) == MAX_ISSUE_ATTEMPTS - 1  # no retry scheduled after the last one
    delays = [eta for _, eta in recording.issued]
    assert delays == sorted(delays)  # back-off grows
