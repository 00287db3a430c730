"""Sealed files at rest: zstd frames against the template's dictionary, read back byte for byte."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridge.db.models import Credential, Delivery, SealedDictionary
from bridge.db.sealed_store import CorruptSealedFile, SealedStore, dictionary_id
from sealer.validation import validate_seal

from .conftest import Sidecar, example_completion


def _issue_many(sidecar: Sidecar, learners: list[str]) -> list[str]:
    ids = []
    for learner in learners:
        response = sidecar.admin("POST", "/api/v1/completions", example_completion(
            learner={"id": learner, "given_name": f"Zélie-{learner}", "email": f"zelie.{learner}@example.org"}))
        assert response.status_code == 202, response.json
        ids.append(response.json["id"])
    sidecar.drain()
    return ids


def test_sealed_files_are_stored_small_and_served_byte_for_byte(sidecar: Sidecar, dev_seal_p12: Path) -> None:
    sidecar.add_source()
    sidecar.put_template(policy={"channels": []})
    ids = _issue_many(sidecar, ["a1", "b2", "c3"])
    with sidecar.rt.sessions() as session:
        rows = {row.id: row for row in session.scalars(select(Credential).where(Credential.id.in_(ids)))}
        dictionaries = list(session.scalars(select(SealedDictionary)))
    assert {row.status for row in rows.values()} == {"sealed"}
    # One dictionary for the template, named by its content, shared by every row of the template.
    assert len(dictionaries) == 1
    assert dictionaries[0].id == dictionary_id(dictionaries[0].content)
    assert {row.sealed_dictionary_id for row in rows.values()} == {dictionaries[0].id}
    # It is the template's shared text with sentinel learner values: no learner's personal data.
    for learner in ("a1", "b2", "c3"):
        assert f"Zélie-{learner}".encode() not in dictionaries[0].content
        assert f"zelie.{learner}@example.org".encode() not in dictionaries[0].content
    for cred_id in ids:
        served = sidecar.admin("GET", f"/api/v1/credentials/{cred_id}/sealed").data
        report = validate_seal(served, trust=dev_seal_p12.parent / "dev-ca.pem")
        assert report.signature_intact and report.chain_trusted, report.errors
        assert json.loads(report.payload)["id"] == f"urn:credential:{cred_id}"
        # ~25 KB of JWS JSON stored in well under a tenth of that.
        assert len(served) > 20_000
        assert len(rows[cred_id].sealed_zstd) < len(served) / 10


def test_a_fresh_process_reads_frames_with_the_dictionary_from_the_database(sidecar: Sidecar) -> None:
    sidecar.add_source()
    sidecar.put_template(policy={"channels": []})
    [cred_id] = _issue_many(sidecar, ["d4"])
    served = sidecar.admin("GET", f"/api/v1/credentials/{cred_id}/sealed").data
    with sidecar.rt.sessions() as session:
        row = session.get(Credential, cred_id)
        assert SealedStore().read(session, row) == served  # nothing cached: loaded from sealed_dictionaries


def test_damage_is_reported_not_served(sidecar: Sidecar) -> None:
    sidecar.add_source()
    sidecar.put_template(policy={"channels": []})
    [cred_id] = _issue_many(sidecar, ["e5"])
    with sidecar.rt.sessions() as session:
        row = session.get(Credential, cred_id)
        frame = bytearray(row.sealed_zstd)
        frame[len(frame) // 2] ^= 0xFF
        store = SealedStore()
        with pytest.raises(CorruptSealedFile):
            store.unpack(session, bytes(frame), row.sealed_dictionary_id)
        with pytest.raises(CorruptSealedFile, match="missing or damaged"):
            store.unpack(session, row.sealed_zstd, "0" * 64)
        # A frame read against another dictionary fails its checksum rather than yielding other bytes.
        other = store.prepare(b'{"payload":"something else entirely"}')
        with pytest.raises(CorruptSealedFile):
            store.unpack(session, row.sealed_zstd, other.id)


def test_frames_without_a_dictionary_round_trip(sidecar: Sidecar) -> None:
    store = SealedStore()
    text = json.dumps({"payload": "é" * 5000}).encode()
    with sidecar.rt.sessions() as session:
        assert store.unpack(session, store.pack(text, None), None) == text
        assert session.scalar(select(func.count()).select_from(SealedDictionary)) == 0


def test_credentials_of_a_template_that_does_not_compile_are_stored_without_dictionary(
        sidecar: Sidecar, dev_seal_p12: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge.elm.compiled import CompiledTemplates, CompileError

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise CompileError("simulated: assemble is not reproducible for this template")

    monkeypatch.setattr(CompiledTemplates, "get", refuse)
    sidecar.add_source()
    sidecar.put_template(policy={"channels": []})
    [cred_id] = _issue_many(sidecar, ["f6"])
    with sidecar.rt.sessions() as session:
        row = session.get(Credential, cred_id)
        assert row.status == "sealed" and row.sealed_dictionary_id is None
        assert session.scalar(select(func.count()).select_from(SealedDictionary)) == 0
    served = sidecar.admin("GET", f"/api/v1/credentials/{cred_id}/sealed").data
    report = validate_seal(served, trust=dev_seal_p12.parent / "dev-ca.pem")
    assert report.signature_intact and json.loads(report.payload)["id"] == f"urn:credential:{cred_id}"


def test_the_process_keeps_a_bounded_number_of_dictionaries(sidecar: Sidecar) -> None:
    """A long-lived worker sees every template version: old dictionaries are dropped, then reloaded."""
    store = SealedStore(max_dictionaries=2)
    texts = [json.dumps({"payload": f"template {i} " + "x" * 400}).encode() for i in range(4)]
    with sidecar.rt.sessions() as session:
        prepared = [store.prepare(text) for text in texts]
        store.save_dictionaries(session, prepared)  # the first two were dropped from the cache already
        frames = [store.pack(text.replace(b"x", b"y", 3), d) for text, d in zip(texts, prepared, strict=True)]
        session.commit()
        assert len(store._dicts) == 2  # noqa: SLF001 - the bound is the behaviour under test
        # Reading the frames of dropped dictionaries loads them back from the database.
        for text, frame, d in zip(texts, frames, prepared, strict=True):
            assert store.unpack(session, frame, d.id) == text.replace(b"x", b"y", 3)
        assert len(store._dicts) == 2  # noqa: SLF001


def test_a_damaged_row_is_reported_and_holds_back_nothing(sidecar: Sidecar) -> None:
    """GET answers a problem saying so; its delivery fails with the reason while the chunk's others go
    out; the verification lookup still knows the credential (and its revocation) without its payload."""
    from bridge.recognition import issued_lookup
    from bridge.tasks.pipeline import deliver_many

    sidecar.add_source()
    sidecar.put_template(policy={"channels": []})
    ids = _issue_many(sidecar, ["g7", "h8"])
    damaged, fine = ids
    with sidecar.rt.sessions() as session:
        row = session.get(Credential, damaged)
        frame = bytearray(row.sealed_zstd)
        frame[len(frame) // 2] ^= 0xFF
        row.sealed_zstd = bytes(frame)
        deliveries = [Delivery(credential_id=i, channel="email", status="pending", attempts=0) for i in ids]
        session.add_all(deliveries)
        session.commit()
        delivery_ids = {d.credential_id: d.id for d in deliveries}
    answer = sidecar.admin("GET", f"/api/v1/credentials/{damaged}/sealed")
    assert answer.status_code == 500 and answer.mimetype == "application/problem+json"
    assert answer.json["type"].endswith("sealed-file-damaged") and "damaged" in answer.json["detail"]
    outcome = deliver_many(sidecar.rt.context, list(delivery_ids.values()))
    assert outcome == {delivery_ids[damaged]: "failed", delivery_ids[fine]: "delivered"}
    with sidecar.rt.sessions() as session:
        assert "cannot be read back" in session.get(Delivery, delivery_ids[damaged]).last_error
    record = issued_lookup(sidecar.rt.sessions)(f"urn:credential:{damaged}")
    assert record is not None and record.payload is None and record.status == "failed"
