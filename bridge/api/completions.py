"""Completions intake: stored first (the outbox row), processed afterwards, idempotent per learner.

Idempotency is enforced by the database (unique source, course, learner), not by a read-then-write
check, so concurrent duplicates from a retrying adapter still yield one credential. Both routes store
through ``bridge.tasks.intake.store_completions``: repeats, resits and corrections behave alike.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.api.common import runtime, status_url
from bridge.api.inputs import MAX_LISTED, PROBLEM_MEDIA, Answer, operation, request_json
from bridge.api.schemas import BatchBody, BatchPath
from bridge.auth import Principal, require
from bridge.db.models import Batch, CourseTemplate, Credential, utcnow
from bridge.elm.completion import DOCUMENT, Document
from bridge.elm.errors import from_pydantic
from bridge.problems import FieldProblem, Problem, validation_problem
from bridge.tasks.intake import Stored, store_completions

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


def _answer(stored: Stored) -> tuple[Response, int, dict[str, str]]:
    url = status_url(f"/api/v1/credentials/{stored.credential_id}")
    body: dict[str, Any] = {"id": stored.credential_id, "status": stored.status, "status_url": url,
                            "duplicate": stored.outcome == "duplicate", "replaced": stored.outcome == "replaced"}
    if stored.outcome == "replaced":
        body["changed"] = stored.changed
    if stored.reason:
        body["reason"] = stored.reason
    return jsonify(body), 202, {"Location": url}


@operation(bp, "POST", "/completions", auth="source", body=Document,
           responses=(Answer(202, "Accepted: stored, a duplicate, or the replacement of a completion not sealed yet"),
                      Answer(409, "The credential was sealed from a different completion (credential_id, changed)",
                             PROBLEM_MEDIA)),
           tags=("completions",))
def post_completion(principal: Principal, body: dict[str, Any]) -> tuple[Response, int, dict[str, str]]:
    """Submit one completion; idempotent per (source, course, learner).

    Answers 202 with the credential id; a repeat answers with the same id (``duplicate: true``). A
    different completion for a credential not sealed yet replaces it (``replaced: true``; a resit
    upgrades a skipped credential); for a sealed one it answers 409 with ``credential_id`` and the
    ``changed`` fields, and changes nothing (re-issue it with ``POST /api/v1/credentials/{id}:reissue``).
    """
    completion = body
    source, course_id = completion["source"], completion["course_id"]
    require(principal, source)
    problems = intake_problems(completion)
    if problems:
        raise validation_problem(problems, "The completion has invalid fields.")
    rt = runtime()
    with rt.sessions() as session:
        template = _templates(session, [(source, course_id)]).get((source, course_id))
        if template is None:
            raise validation_problem([_missing_template("course_id", source, course_id)],
                                     "No credential is defined for this course.")
        [stored] = store_completions(session, [(completion, template.policy)])
        session.commit()
    rt.metrics.completions.labels(_metric(stored)).inc()
    if stored.outcome == "conflict":
        raise conflict_problem(stored)
    if stored.to_issue:
        rt.dispatcher.issue([stored.credential_id])
    return _answer(stored)


def _metric(stored: Stored) -> str:
    return stored.outcome if stored.outcome in ("duplicate", "conflict") else stored.status


def conflict_problem(stored: Stored) -> Problem:
    """409 for a completion that differs from the one a sealed (or revoked) credential was issued from."""
    return Problem(409, "Conflict", f"Credential {stored.credential_id} was already sealed from a different "
                   f"completion (changed: {', '.join(stored.changed)}); it is left as it is. To issue the "
                   "corrected credential, re-issue it: POST /api/v1/credentials/"
                   f"{stored.credential_id}:reissue (the old one is revoked).", kind="completion-conflict",
                   credential_id=stored.credential_id, status_value=stored.status, changed=stored.changed,
                   status_url=status_url(f"/api/v1/credentials/{stored.credential_id}"))


@operation(bp, "POST", "/completions:batch", auth="source", body=BatchBody, validate_body=False,
           responses=(Answer(202, "Accepted"),), tags=("completions",))
def post_batch(principal: Principal) -> tuple[Response, int, dict[str, str]]:
    """Submit up to EDC_MAX_BATCH_ITEMS (50,000) completions at once: all valid, or nothing is stored.

    Each item is stored exactly as ``POST /completions`` stores it (one code path): new, duplicate,
    replacing a completion not sealed yet (a resit upgrades a skipped credential), or a conflict with
    a sealed credential. Conflicting items change nothing and are listed under ``conflicts`` (index,
    credential id, changed fields), as the single route answers them 409; the others are stored.
    """
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
        source = principal.source or valid[0][1]["source"]
        total = len(valid)
        session.add(Batch(id=batch_id, source=source, total=total, accepted=0, duplicates=0, created_at=utcnow()))
        session.flush()
        stored = store_completions(session, [(c, templates[(c["source"], c["course_id"])].policy) for _, c in valid],
                                   batch_id=batch_id)
        outcomes = Counter(s.outcome for s in stored)
        batch = session.get(Batch, batch_id)
        assert batch is not None  # noqa: S101 - added above
        batch.accepted, batch.duplicates = outcomes["new"], total - outcomes["new"]
        session.commit()
    for item in stored:
        rt.metrics.completions.labels(_metric(item)).inc()
    rt.dispatcher.issue(list(dict.fromkeys(s.credential_id for s in stored if s.to_issue)))
    conflicts = [{"index": valid[s.index][0], "id": s.credential_id, "status": s.status, "changed": s.changed,
                  "status_url": status_url(f"/api/v1/credentials/{s.credential_id}")}
                 for s in stored if s.outcome == "conflict"]
    url = status_url(f"/api/v1/batches/{batch_id}")
    skipped = len({s.credential_id for s in stored if s.outcome in ("new", "replaced") and s.status == "skipped"})
    return jsonify({"batch_id": batch_id, "total": total, "accepted": outcomes["new"],
                    "duplicates": outcomes["duplicate"], "replaced": outcomes["replaced"], "skipped": skipped,
                    "conflict_count": len(conflicts), "conflicts": conflicts[:MAX_LISTED],
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
