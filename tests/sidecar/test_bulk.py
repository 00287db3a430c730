"""Bulk insert ignoring conflicts: the executemany path and PostgreSQL's COPY path store the same rows."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bridge.db import bulk
from bridge.db.migrate import upgrade
from bridge.db.models import Batch, Credential
from bridge.db.session import session_factory

from .conftest import example_completion

NOW = dt.datetime(2026, 11, 29, 2, 30, 15, 123456, tzinfo=dt.UTC)


def _row(learner: str, name: str, **changes: object) -> dict:
    row = {"id": f"id-{learner}-{name}", "source": "moodle-main", "course_id": "42", "learner_id": learner,
           "batch_id": "b1", "completion": example_completion(learner={"id": learner, "given_name": name}),
           "status": "received", "status_reason": None, "attempts": 0, "created_at": NOW, "updated_at": NOW}
    row.update(changes)
    return row


@pytest.mark.parametrize("copy_from", [1, 10_000], ids=["copy", "executemany"])
def test_first_row_wins_and_values_round_trip(db_url: str, copy_from: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "COPY_FROM", copy_from)
    upgrade(db_url)
    sessions = session_factory(db_url)
    with sessions() as session:
        session.add(Batch(id="b1", source="moodle-main", total=0, accepted=0, duplicates=0, created_at=NOW))
        session.flush()
        bulk.insert_ignoring_conflicts(session, Credential, [_row("1", "Before")], ("source", "course_id",
                                                                                     "learner_id", "superseded"))
        session.commit()
    rows = [_row(str(i), f"Zoë \"{i}\"\t\\ 名") for i in range(2, 30)]
    rows += [_row("1", "Again"), _row("5", "Second"), _row("30", "Skipped", status="skipped",
                                                           status_reason="not passed", created_at=NOW
                                                           + dt.timedelta(hours=1))]
    with sessions() as session:
        bulk.insert_ignoring_conflicts(session, Credential, rows, ("source", "course_id", "learner_id", "superseded"))
        session.commit()
        stored = {c.learner_id: c for c in session.scalars(select(Credential))}
    assert len(stored) == 30
    assert stored["1"].completion["learner"]["given_name"] == "Before"
    assert stored["5"].completion == rows[3]["completion"]  # the first of the two rows for learner 5
    assert stored["7"].completion["learner"]["given_name"] == "Zoë \"7\"\t\\ 名"
    assert stored["30"].status_reason == "not passed" and stored["30"].error is None
    assert stored["30"].created_at == NOW + dt.timedelta(hours=1)
    assert stored["2"].updated_at == NOW and stored["2"].sealed_zstd is None


def test_a_failed_copy_leaves_nothing(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "COPY_FROM", 1)
    upgrade(db_url)
    sessions = session_factory(db_url)
    with sessions() as session:
        session.add(Batch(id="b1", source="moodle-main", total=0, accepted=0, duplicates=0, created_at=NOW))
        session.commit()
    rows = [_row(str(i), "Name") for i in range(5)] + [_row("9", "Name", batch_id="no-such-batch")]
    with sessions() as session, pytest.raises(Exception, match="(?i)foreign key"):
        bulk.insert_ignoring_conflicts(session, Credential, rows, ("source", "course_id", "learner_id", "superseded"))
        session.commit()
    with sessions() as session:
        assert session.scalars(select(Credential)).all() == []


def test_insert_returning_gives_the_ids_of_inserted_rows_only(db_url: str) -> None:
    from bridge.db.models import Delivery

    upgrade(db_url)
    sessions = session_factory(db_url)
    with sessions() as session:
        session.add(Batch(id="b1", source="moodle-main", total=0, accepted=0, duplicates=0, created_at=NOW))
        session.flush()
        bulk.insert_ignoring_conflicts(session, Credential, [_row(str(i), "N") for i in range(3)],
                                       ("source", "course_id", "learner_id", "superseded"))
        first = bulk.insert_returning(session, Delivery, [
            {"credential_id": "id-0-N", "channel": "email", "status": "pending", "attempts": 0, "updated_at": NOW}],
            ("credential_id", "channel"), "id")
        rows = [{"credential_id": f"id-{i}-N", "channel": channel, "status": "pending", "attempts": 0,
                 "updated_at": NOW} for i in range(3) for channel in ("email", "wallet")]
        ids = bulk.insert_returning(session, Delivery, rows, ("credential_id", "channel"), "id")
        session.commit()
        stored = {(d.credential_id, d.channel): (d.id, d.updated_at) for d in session.scalars(select(Delivery))}
    assert len(first) == 1 and len(ids) == 5  # ("id-0-N", "email") existed: skipped, not returned
    assert stored[("id-0-N", "email")][0] == first[0]
    assert sorted(ids) == sorted(v[0] for k, v in stored.items() if k != ("id-0-N", "email"))
    assert {v[1] for v in stored.values()} == {NOW}
    assert bulk.insert_returning(session, Delivery, [], ("credential_id", "channel"), "id") == []
