"""Completions intake: stored first (the outbox row), processed afterwards, idempotent per learner.

Idempotency is enforced by the database (unique source, course, learner), not by a read-then-write
check, so concurrent duplicates from a retrying adapter still yield one credential.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.api.common import runtime, status_url
from bridge.api.inputs import MAX_LISTED, Answer, operation, request_json
from bridge.api.schemas import BatchBody, BatchPath
from bridge.auth import Principal, require
from bridge.db.bulk import insert_ignoring_conflicts
from bridge.db.models import Batch, CourseTemplate, Credential, utcnow
from bridge.elm.completion import DOCUMENT, Document
from bridge.elm.errors import from_pydantic
from bridge.problems import FieldProblem, Problem, validation_problem
from bridge.tasks.policy import decide

bp = Blueprint("completions", __name__, url_prefix="/api/v1")

BATCH = TypeAdapter(BatchBody)


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


EARLIEST_COMPLETION = dt.datetime(1970, 1, 2, tzinfo=dt.UTC)
"""Before this, a completion date is a zero or unset Unix time sent by mistake (Moodle's ``timecompleted`` 0)."""


def intake_problems(completion: dict[str, Any], prefix: str = "") -> list[FieldProblem]:
    """What intake refuses in a valid completion because of when it is received: a completion in the
    future (beyond the accepted clock skew) or at Unix time zero, a birth date in the future."""
    rt = runtime()
    now = rt.clock()
    at = f"{prefix}." if prefix else ""
    problems = []
    completed = dt.datetime.fromisoformat(completion["completed_at"].replace("Z", "+00:00"))
    if completed > now + dt.timedelta(seconds=rt.settings.signature_window):
        problems.append(FieldProblem(f"{at}completed_at", "expected a completion date that is not in the future"))
    elif completed < EARLIEST_COMPLETION:
        problems.append(FieldProblem(f"{at}completed_at", "expected a completion date after 1970-01-01 (Unix time "
                                                          "0 is an unset date, not a completion)"))
    born = completion["learner"]["date_of_birth"]
    if born is not None and born > now.date().isoformat():
        problems.append(FieldProblem(f"{at}learner.date_of_birth", "expected a birth date in the past"))
    return problems


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


@operation(bp, "POST", "/completions", auth="source", body=Document, responses=(Answer(202, "Accepted"),),
           tags=("completions",))
def post_completion(principal: Principal, body: dict[str, Any]) -> tuple[Response, int, dict[str, str]]:
    """Submit one completion; idempotent per (source, course, learner).

    Answers 202 with the credential id; a repeat answers with the same id.
    """
    completion = body
    source, course_id = completion["source"], completion["course_id"]
    require(principal, source)
    problems = intake_problems(completion)
    if problems:
        raise validation_problem(problems, "The completion has invalid fields.")
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


@operation(bp, "POST", "/completions:batch", auth="source", body=BatchBody, validate_body=False,
           responses=(Answer(202, "Accepted"),), tags=("completions",))
def post_batch(principal: Principal) -> tuple[Response, int, dict[str, str]]:
    """Submit up to EDC_MAX_BATCH_ITEMS (50,000) completions at once: all valid, or nothing is stored."""
    rt = runtime()
    document = request_json()
    items = document.get("completions") if isinstance(document, dict) else None
    if isinstance(items, list) and len(items) > rt.settings.max_batch_items:
        raise Problem(413, "Payload Too Large", f"A batch holds at most {rt.settings.max_batch_items} "
                      "completions; split it.", kind="batch-too-large",
                      errors=[FieldProblem("completions", f"{len(items)} items")])
    errors: list[FieldProblem] = []
    try:
        valid = list(enumerate(BATCH.validate_python(document)["completions"]))
    except ValidationError as exc:
        errors = [FieldProblem(e.field, e.message) for e in from_pydantic(exc)]
        invalid = {int(m.group(1)) for e in errors if (m := _ITEM.match(e.field))}
        # Slow path, on errors only: the valid items still get the checks below, so one answer lists all.
        listed = items if isinstance(items, list) else []
        valid = [(i, DOCUMENT.validate_python(item)) for i, item in enumerate(listed) if i not in invalid]
    invalid = {int(m.group(1)) for e in errors if (m := _ITEM.match(e.field))}
    for i, completion in valid:
        problem = _check_source(principal, completion["source"], f"completions[{i}].source")
        problems = [problem] if problem is not None else intake_problems(completion, f"completions[{i}]")
        if problems:
            errors.extend(problems)
            invalid.add(i)
    with rt.sessions() as session:
        templates = _templates(session, {(c["source"], c["course_id"]) for _, c in valid})
        for i, completion in valid:
            if (completion["source"], completion["course_id"]) not in templates:
                errors.append(_missing_template(f"completions[{i}].course_id", completion["source"],
                                                completion["course_id"]))
                invalid.add(i)
        if errors:
            total = len(items) if isinstance(items, list) else 0
            raise validation_problem(errors[:MAX_LISTED], f"{len(invalid)} of {total} completions are invalid; "
                                     "nothing was stored. Fix them and send the batch again.",
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
        total = len(valid)
        session.add(Batch(id=batch_id, source=source, total=total, accepted=0, duplicates=0, created_at=now))
        session.flush()
        insert_ignoring_conflicts(session, Credential, rows, ("source", "course_id", "learner_id"))
        counts = dict(session.execute(select(Credential.status, func.count()).where(
            Credential.batch_id == batch_id).group_by(Credential.status)).all())
        accepted = sum(counts.values())
        batch = session.get(Batch, batch_id)
        assert batch is not None  # noqa: S101 - added above
        batch.accepted, batch.duplicates = accepted, total - accepted
        session.commit()
        to_issue = list(session.scalars(select(Credential.id).where(
            Credential.batch_id == batch_id, Credential.status == "received",
        ).order_by(Credential.created_at)))
    rt.metrics.completions.labels("received").inc(counts.get("received", 0))
    rt.metrics.completions.labels("skipped").inc(counts.get("skipped", 0))
    rt.metrics.completions.labels("duplicate").inc(total - accepted)
    rt.dispatcher.issue(to_issue)
    url = status_url(f"/api/v1/batches/{batch_id}")
    return jsonify({"batch_id": batch_id, "total": total, "accepted": accepted,
                    "duplicates": total - accepted, "skipped": counts.get("skipped", 0),
                    "status_url": url}), 202, {"Location": url}


_ITEM = re.compile(r"^completions\[(\d+)\]")


PROGRESS_GROUPS = {
    "received": ("received", "assembled"),
    "sealed": ("sealed", "delivered", "partially_delivered"),
    "delivered": ("delivered",),
    "partially_delivered": ("partially_delivered",),
    "failed": ("failed",),
    "skipped": ("skipped",),
    "revoked": ("revoked",),
}


@operation(bp, "GET", "/batches/<batch_id>", auth="source", path=BatchPath, tags=("completions",))
def get_batch(principal: Principal, path: dict[str, str]) -> Response:
    """Progress of a batch, counted live from its credentials."""
    batch_id = path["batch_id"]
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
