"""Storing completions: new credentials, repeats, resits and corrections — one code path for the
single route, the batch route and re-issuing.

A learner has at most one *current* credential per course (the database's unique (source, course,
learner, superseded), ``superseded = 0``). What a completion does to it depends on whether that
credential has been sealed:

- none yet: a new credential row (``received``, or ``skipped`` when the course's policy issues nothing);
- the same completion again: a harmless duplicate (the existing credential is answered);
- a different completion for a credential **not sealed yet** (received, assembled, failed before its
  seal, skipped): the new completion **replaces** the stored one and the credential is issued from
  it — a resit (failed, then passed) upgrades a ``skipped`` credential this way, and a ``skipped``
  credential is upgraded even by an identical completion once the course's policy lets it issue;
- a different completion for a credential **already sealed** (or revoked): a **conflict**, reported
  with the credential's id and the fields that differ; nothing is changed. The registrar decides
  whether to re-issue it (``POST /api/v1/credentials/{id}:reissue``).

A replacement bumps the row's ``revision``: the issuing pipeline writes its seal with a
compare-and-set on (status, revision), so a worker that built the credential from the replaced
completion cannot store it.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import String, column, select, values
from sqlalchemy.orm import Session

from bridge.db.bulk import insert_ignoring_conflicts
from bridge.db.models import Credential, utcnow
from bridge.elm.completion import DOCUMENT
from bridge.tasks.policy import decide

Outcome = Literal["new", "duplicate", "replaced", "conflict"]
IDEMPOTENCY_KEY = ("source", "course_id", "learner_id", "superseded")
_KEY_CHUNK = 500
_LEARNER_CHUNK = 5000


@dataclass(frozen=True)
class Stored:
    """What one completion led to: the learner's current credential for the course and how it changed."""

    index: int
    credential_id: str
    status: str
    reason: str | None
    outcome: Outcome
    changed: list[str] = field(default_factory=list)
    """For a conflict or a replacement: the fields of the completion that differ (``grade``,
    ``learner.family_name``…)."""

    @property
    def to_issue(self) -> bool:
        """The credential is to be issued now (new or replaced, and the policy issues it)."""
        return self.outcome in ("new", "replaced") and self.status == "received"


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The fields of two completions (normal form) that differ, learner fields named one by one."""
    found = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if name == "learner" and isinstance(old, dict) and isinstance(new, dict):
            found += [f"learner.{k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        elif old != new:
            found.append(name)
    return found


def store_completions(session: Session, items: Sequence[tuple[dict[str, Any], dict[str, Any]]], *,
                      batch_id: str | None = None) -> list[Stored]:
    """Store ``(completion, course policy)`` pairs (validated, normal form) in the session's transaction.

    New rows go in with one INSERT … ON CONFLICT DO NOTHING (COPY for large batches), so concurrent
    senders of one completion still make one row; the rows that already existed are then read in
    one query per 500 learners and each is judged as the module docstring says. The caller commits.
    """
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for completion, policy in items:
        decision = decide(policy, completion)
        rows.append({"id": str(uuid.uuid4()), "source": completion["source"], "course_id": completion["course_id"],
                     "learner_id": completion["learner"]["id"], "batch_id": batch_id, "completion": completion,
                     "status": "received" if decision.issue else "skipped", "status_reason": decision.reason,
                     "attempts": 0, "created_at": now, "updated_at": now})
    insert_ignoring_conflicts(session, Credential, rows, IDEMPOTENCY_KEY)
    inserted = _inserted(session, rows, batch_id)
    keys = {(r["source"], r["course_id"], r["learner_id"]) for r in rows}
    existing = _existing(session, keys - set(inserted))
    results: list[Stored] = []
    claimed: dict[str, int] = {}  # credential id → index of the item that created or replaced it in this call
    for index, ((completion, policy), row) in enumerate(zip(items, rows, strict=True)):
        key = (row["source"], row["course_id"], row["learner_id"])
        new = inserted.get(key)
        if new is not None and new[0] == row["id"]:
            claimed[row["id"]] = index
            results.append(Stored(index, row["id"], new[1], new[2], "new"))
            continue
        if key not in existing:  # the same learner twice in one batch: the first item made the row
            existing.update(_existing(session, {key}))
        results.append(_judge(session, index, existing[key], completion, policy, now, claimed))
    return results


@dataclass
class _Current:
    """What judging needs of an existing credential (read as plain columns: a nightly resend of a whole
    cohort reads every row back, and neither sealed files nor ORM entities are needed for that)."""

    id: str
    status: str
    reason: str | None
    completion: dict[str, Any]
    sealed: bool
    revision: int


def _inserted(session: Session, rows: list[dict[str, Any]], batch_id: str | None
              ) -> dict[tuple[str, str, str], tuple[str, str, str | None]]:
    """(id, status, reason) of the rows this call inserted, by learner key: read by batch id or by id,
    never as whole entities (a 50,000-item batch must not load its completions back)."""
    c = Credential.__table__.c
    columns = (c.id, c.source, c.course_id, c.learner_id, c.status, c.status_reason)
    if batch_id is not None:
        found = session.execute(select(*columns).where(c.batch_id == batch_id)).all()
    else:
        ids = [r["id"] for r in rows]
        found = [r for start in range(0, len(ids), _KEY_CHUNK)
                 for r in session.execute(select(*columns).where(c.id.in_(ids[start:start + _KEY_CHUNK])))]
    return {(r.source, r.course_id, r.learner_id): (r.id, r.status, r.status_reason) for r in found}


def _existing(session: Session, keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], _Current]:
    """The current credential of each (source, course, learner) that existed before, row-locked on
    PostgreSQL so two corrections of one credential are judged one after the other. ``sealed_at``
    stays set while a sealed file exists; a revoked credential counts as sealed."""
    c = Credential.__table__.c
    found: dict[tuple[str, str, str], _Current] = {}
    by_course: dict[tuple[str, str], list[str]] = {}
    for source, course, learner in sorted(keys):
        by_course.setdefault((source, course), []).append(learner)
    # PostgreSQL: per course, the learners as a VALUES list joined on learner_id, a hash join over the
    # course's rows (``learner_id IN (…)`` was planned as a filter over every row of the course, per
    # chunk). SQLite has no column list on a VALUES alias, and its planner uses the index for IN.
    postgres = session.connection().dialect.name == "postgresql"
    queries = []
    for (source, course), learners in by_course.items():
        for i in range(0, len(learners), _LEARNER_CHUNK):
            chunk = learners[i:i + _LEARNER_CHUNK]
            query = select(c.id, c.source, c.course_id, c.learner_id, c.status, c.status_reason, c.completion,
                           c.sealed_at, c.revision).where(c.source == source, c.course_id == course,
                                                          c.superseded == 0)
            if postgres:
                wanted = values(column("learner_id", String), name="wanted").data([(x,) for x in chunk])
                query = query.join_from(Credential.__table__, wanted, c.learner_id == wanted.c.learner_id)
            else:
                query = query.where(c.learner_id.in_(chunk))
            queries.append(query.with_for_update(of=Credential.__table__))
    for query in queries:
        for r in session.execute(query):
            found[(r.source, r.course_id, r.learner_id)] = _Current(
                r.id, r.status, r.status_reason, r.completion, r.sealed_at is not None or r.status == "revoked",
                r.revision or 0)
    return found


def _normal(completion: dict[str, Any]) -> dict[str, Any]:
    """A stored completion in today's normal form (rows written by earlier versions may lack keys that
    are None now), so an unchanged resend is never taken for a change; as stored if it no longer validates."""
    try:
        return DOCUMENT.validate_python(completion)
    except ValidationError:
        return completion


def _judge(session: Session, index: int, cred: _Current, completion: dict[str, Any], policy: dict[str, Any],
           now: Any, claimed: dict[str, int]) -> Stored:
    """An existing credential meets a completion: duplicate, replacement (not sealed yet) or conflict."""
    stored = cred.completion if cred.completion == completion else _normal(cred.completion)
    decision = decide(policy, completion)
    if stored == completion and not (cred.status == "skipped" and decision.issue):
        return Stored(index, cred.id, cred.status, cred.reason, "duplicate")
    changed = changed_fields(stored, completion)
    if cred.sealed:
        return Stored(index, cred.id, cred.status, cred.reason, "conflict", changed)
    # Not sealed: this completion is now the one to issue from (a resit, a corrected grade or name).
    cred.completion, cred.revision = completion, cred.revision + 1
    cred.status, cred.reason = ("received" if decision.issue else "skipped"), decision.reason
    table = Credential.__table__
    session.execute(table.update().where(table.c.id == cred.id).values(
        completion=completion, status=cred.status, status_reason=cred.reason, credential_json=None, error=None,
        attempts=0, template_version=None, revision=cred.revision, updated_at=now))
    outcome: Outcome = "new" if cred.id in claimed else "replaced"
    claimed[cred.id] = index
    return Stored(index, cred.id, cred.status, cred.reason, outcome, changed)
