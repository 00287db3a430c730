"""Completions intake: stored first (the outbox row), processed afterwards, idempotent per learner.

Idempotency is enforced by the database (unique source, course, learner), not by a read-then-write
check, so concurrent duplicates from a retrying adapter still yield one credential.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.api.common import authenticate, json_object, runtime, status_url
from bridge.auth import Principal, require
from bridge.db.bulk import insert_ignoring_conflicts
from bridge.db.models import Batch, CourseTemplate, Credential, utcnow
from bridge.problems import FieldProblem, Problem, validation_problem
from bridge.tasks.policy import decide

bp = Blueprint("completions", __name__, url_prefix="/api/v1")

MAX_LISTED_ERRORS = 200


def _prefixed(prefix: str, field: str) -> str:
    if not prefix:
        return field
    if field in ("", "(document)"):
        return prefix
    return f"{prefix}.{field}" if field and not field.startswith("[") else f"{prefix}{field}"


def validate_completion(body: Any, prefix: str = "") -> tuple[dict[str, Any] | None, list[FieldProblem]]:
    """The normalised completion document, or the problems found (field paths under ``prefix``)."""
    from bridge.elm.completion import Completion
    from bridge.elm.errors import ValidationFailed

    try:
        return Completion.from_dict(body).to_dict(), []
    except ValidationFailed as exc:
        return None, [FieldProblem(_prefixed(prefix, e.field), e.message) for e in exc.errors]


def _templates(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], CourseTemplate]:
    found: dict[tuple[str, str], CourseTemplate] = {}
    by_source: dict[str, set[str]] = {}
    for source, course in keys:
        by_source.setdefault(source, set()).add(course)
    for source, courses in by_source.items():
        course_list = sorted(courses)
        for i in range(0, len(course_list), 500):
            for row in session.scalars(select(CourseTemplate).where(
                    CourseTemplate.source == source, CourseTemplate.course_id.in_(course_list[i:i + 500]))):
                found[(row.source, row.course_id)] = row
    return found


def _missing_template(field: str, source: str, course_id: str) -> FieldProblem:
    return FieldProblem(field, f"course '{course_id}' of source '{source}' has no credential template; "
                               "PUT one first")


def _check_source(principal: Principal, source: str, field: str) -> FieldProblem | None:
    if principal.may_act_for(source):
        return None
    return FieldProblem(field, f"this request is signed by source '{principal.source}'")


def _answer(cred: Credential, duplicate: bool) -> tuple[Response, int, dict[str, str]]:
    url = status_url(f"/api/v1/credentials/{cred.id}")
    body = {"id": cred.id, "status": cred.status, "status_url": url, "duplicate": duplicate}
    if cred.status_reason:
        body["reason"] = cred.status_reason
    return jsonify(body), 202, {"Location": url}


@bp.post("/completions")
def post_completion() -> tuple[Response, int, dict[str, str]]:
    """Accept one completion: 202 with the credential id; a repeat answers with the same id."""
    principal = authenticate()
    completion, errors = validate_completion(json_object())
    if completion is None:
        raise validation_problem(errors, "The completion has invalid fields.")
    source, course_id = completion["source"], completion["course_id"]
    require(principal, source)
    learner_id = completion["learner"]["id"]
    rt = runtime()
    with rt.sessions() as session:
        template = _templates(session, [(source, course_id)]).get((source, course_id))
        if template is None:
            raise validation_problem([_missing_template("course_id", source, course_id)],
                                     "No credential is defined for this course.")
        decision = decide(template.policy, completion)
        now = utcnow()
        cred = Credential(id=str(uuid.uuid4()), source=source, course_id=course_id, learner_id=learner_id,
                          completion=completion, status="received" if decision.issue else "skipped",
                          status_reason=decision.reason, attempts=0, created_at=now, updated_at=now)
        session.add(cred)
        try:
            session.commit()
            duplicate = False
        except IntegrityError:
            session.rollback()
            duplicate = True
            cred = session.scalars(select(Credential).where(
                Credential.source == source, Credential.course_id == course_id,
                Credential.learner_id == learner_id)).one()
            if cred.status == "skipped" and decision.issue:
                # Nothing was issued for the earlier attempt (e.g. failed, then passed a resit):
                # this completion now qualifies, and it still yields the one credential of the learner.
                cred.completion, cred.status, cred.status_reason = completion, "received", None
                cred.updated_at = now
                session.commit()
                duplicate = False
    rt.metrics.completions.labels("duplicate" if duplicate else cred.status).inc()
    if cred.status == "received" and not duplicate:
        rt.dispatcher.issue([cred.id])
    return _answer(cred, duplicate)


@bp.post("/completions:batch")
def post_batch() -> tuple[Response, int, dict[str, str]]:
    """Accept up to EDC_MAX_BATCH_ITEMS completions at once: all valid, or nothing is written."""
    principal = authenticate()
    body = json_object()
    rt = runtime()
    items = body.get("completions")
    unknown = sorted(set(body) - {"completions"})
    if unknown:
        raise validation_problem([FieldProblem(k, "unknown field") for k in unknown])
    if not isinstance(items, list) or not items:
        raise validation_problem([FieldProblem("completions", "expected a non-empty list of completions")])
    if len(items) > rt.settings.max_batch_items:
        raise Problem(413, "Payload Too Large", f"A batch holds at most {rt.settings.max_batch_items} "
                      "completions; split it.", kind="batch-too-large",
                      errors=[FieldProblem("completions", f"{len(items)} items")])
    errors: list[FieldProblem] = []
    invalid: set[int] = set()
    valid: list[tuple[int, dict[str, Any]]] = []
    for i, item in enumerate(items):
        completion, problems = validate_completion(item, f"completions[{i}]")
        if completion is None:
            errors.extend(problems)
            invalid.add(i)
            continue
        problem = _check_source(principal, completion["source"], f"completions[{i}].source")
        if problem is not None:
            errors.append(problem)
            invalid.add(i)
            continue
        valid.append((i, completion))
    with rt.sessions() as session:
        templates = _templates(session, {(c["source"], c["course_id"]) for _, c in valid})
        for i, completion in valid:
            if (completion["source"], completion["course_id"]) not in templates:
                errors.append(_missing_template(f"completions[{i}].course_id", completion["source"],
                                                completion["course_id"]))
                invalid.add(i)
        if errors:
            raise validation_problem(errors[:MAX_LISTED_ERRORS],
                                     f"{len(invalid)} of {len(items)} completions are invalid; nothing was "
                                     "stored. Fix them and send the batch again.",
                                     error_count=len(errors), invalid_items=len(invalid))
        batch_id = str(uuid.uuid4())
        now = utcnow()
        source = principal.source or valid[0][1]["source"]
        rows = []
        for _, completion in valid:
            decision = decide(templates[(completion["source"], completion["course_id"])].policy, completion)
            rows.append({"id": str(uuid.uuid4()), "source": completion["source"],
                         "course_id": completion["course_id"], "learner_id": completion["learner"]["id"],
                         "batch_id": batch_id, "completion": completion,
                         "status": "received" if decision.issue else "skipped",
                         "status_reason": decision.reason, "attempts": 0, "created_at": now,
                         "updated_at": now})
        session.add(Batch(id=batch_id, source=source, total=len(items), accepted=0, duplicates=0,
                          created_at=now))
        session.flush()
        insert_ignoring_conflicts(session, Credential, rows, ("source", "course_id", "learner_id"))
        counts = dict(session.execute(select(Credential.status, func.count()).where(
            Credential.batch_id == batch_id).group_by(Credential.status)).all())
        accepted = sum(counts.values())
        batch = session.get(Batch, batch_id)
        assert batch is not None  # noqa: S101 - added above
        batch.accepted, batch.duplicates = accepted, len(items) - accepted
        session.commit()
        to_issue = list(session.scalars(select(Credential.id).where(
            Credential.batch_id == batch_id, Credential.status == "received",
        ).order_by(Credential.created_at)))
    rt.metrics.completions.labels("received").inc(counts.get("received", 0))
    rt.metrics.completions.labels("skipped").inc(counts.get("skipped", 0))
    rt.metrics.completions.labels("duplicate").inc(len(items) - accepted)
    rt.dispatcher.issue(to_issue)
    url = status_url(f"/api/v1/batches/{batch_id}")
    return jsonify({"batch_id": batch_id, "total": len(items), "accepted": accepted,
                    "duplicates": len(items) - accepted, "skipped": counts.get("skipped", 0),
                    "status_url": url}), 202, {"Location": url}


PROGRESS_GROUPS = {
    "received": ("received", "assembled"),
    "sealed": ("sealed", "delivered", "partially_delivered"),
    "delivered": ("delivered",),
    "partially_delivered": ("partially_delivered",),
    "failed": ("failed",),
    "skipped": ("skipped",),
    "revoked": ("revoked",),
}


@bp.get("/batches/<batch_id>")
def get_batch(batch_id: str) -> Response:
    """Progress of a batch, counted live from its credentials."""
    principal = authenticate()
    with runtime().sessions() as session:
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise Problem(404, "Not Found", "No such batch.", kind="batch-not-found")
        require(principal, batch.source)
        counts = dict(session.execute(select(Credential.status, func.count()).where(
            Credential.batch_id == batch_id).group_by(Credential.status)).all())
    progress = {name: sum(counts.get(s, 0) for s in statuses) for name, statuses in PROGRESS_GROUPS.items()}
    pending = progress["received"] + counts.get("sealed", 0)
    return jsonify({"batch_id": batch.id, "source": batch.source, "total": batch.total,
                    "accepted": batch.accepted, "duplicates": batch.duplicates,
                    "created_at": batch.created_at.isoformat(), "counts": progress,
                    "by_status": counts, "done": pending == 0})
