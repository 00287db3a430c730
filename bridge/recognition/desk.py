"""The recognition desk: a received credential's verification report matched against the register, the
officer's decision, its export for the student-records system, and anonymous statistics of past cases.

Matching trusts only what the seal vouches for: the issuer is the organisation identifier of a *valid*
seal whose certificate names the credential's issuer (``report.issuer.sealer_identifier`` with
``matches_sealer``), and the course is read from the sealed content. A credential whose seal is not
valid is never "covered": it goes to individual recognition with the reason shown.
"""
from __future__ import annotations

import datetime as dt
import re
import statistics
import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bridge.db.models import Agreement, Partner, RecognitionCase
from bridge.recognition import agreements as register
from bridge.recognition.schemas import Decision

_SPACES = re.compile(r"\s+")
# "15", "15/20", "85 %", "87.5/100 (Très bien)" (this bridge's own noteLiteral: score/max, then the text)
_NUMBER = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(?:/\s*([0-9]+(?:[.,][0-9]+)?))?\s*%?\s*(?:\([^()]*\))?\s*$")


def _norm(text: Any) -> str:
    return _SPACES.sub(" ", str(text or "")).strip().casefold()


def _number(text: str) -> tuple[float, float | None] | None:
    found = _NUMBER.match(text or "")
    if not found:
        return None
    scale = found.group(2)
    return float(found.group(1).replace(",", ".")), float(scale.replace(",", ".")) if scale else None


def grade_meets(grade: str | None, minimum: str) -> bool | None:
    """Whether ``grade`` reaches ``minimum``: numbers (``15``, ``15/20``, ``85%``) on one scale, or letter
    grades (A best); None when they cannot be compared (the officer decides)."""
    if grade is None:
        return None
    got, need = _number(grade), _number(minimum)
    if got and need:
        if got[1] is not None and need[1] is not None and got[1] != need[1]:
            return got[0] / got[1] >= need[0] / need[1]
        return got[0] >= need[0]
    letters = grade.strip().upper(), minimum.strip().upper()
    if all(len(x) == 1 and "A" <= x <= "F" for x in letters):
        return letters[0] <= letters[1]
    return None


def _day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def verified_issuer(report: dict[str, Any]) -> str | None:
    """The issuer's organisation identifier, only when the seal is valid and names that issuer."""
    issuer = report.get("issuer") or {}
    if report.get("verdict") != "valid" or not issuer.get("matches_sealer"):
        return None
    return issuer.get("sealer_identifier")


def _line_matches(line: Any, achievement: dict[str, Any]) -> str | None:
    """How an incoming line names this achievement: by its LearningOpportunity IRI, or by title (with the
    line's ECTS and EQF, when it states them, equal too); None when it does not."""
    if line.their_lo_iri and achievement.get("learning_opportunity") == line.their_lo_iri:
        return "learning_opportunity"
    if not line.their_title or _norm(line.their_title) != _norm(achievement.get("title")):
        return None
    ects = _number(str(achievement.get("ects") or ""))
    if line.their_ects is not None and (ects is None or abs(ects[0] - line.their_ects) > 1e-6):
        return None
    if line.their_eqf is not None and achievement.get("eqf_level") != line.their_eqf:
        return None
    return "title"


def match(session: Session, report: dict[str, Any]) -> dict[str, Any]:
    """The register's answer for a verification report: ``covered`` (agreement, line, what it counts as),
    ``conditions_not_met`` (the closest agreement and what fails) or ``individual``, with a message."""
    issuer = verified_issuer(report)
    credential = report.get("credential") or {}
    if issuer is None:
        why = ("the seal is not valid" if report.get("verdict") != "valid"
               else "the seal does not name the credential's issuer")
        return {"outcome": "individual", "reason": "unverified", "message": f"No agreement applies: {why}. "
                "Individual recognition."}
    partners = list(session.scalars(select(Partner).where(Partner.eidas_identifier == issuer)))
    if not partners:
        return {"outcome": "individual", "reason": "no_partner", "issuer": issuer,
                "message": "No agreement: the issuer is not a partner in the register. Individual recognition."}
    agreements = list(session.scalars(select(Agreement).where(
        Agreement.partner_id.in_([p.id for p in partners]), Agreement.status == "signed",
        Agreement.direction.in_(("incoming", "two_way"))).order_by(Agreement.id)))
    today = register.now().date()
    agreements = [a for a in agreements if register.effective_status(a, today) == "signed"]
    best: dict[str, Any] | None = None
    for achievement in credential.get("achievements") or []:
        awarded = _day(achievement.get("awarding_date")) or _day(credential.get("issued"))
        for agreement in agreements:
            for line in agreement.courses:
                if line.direction != "incoming":
                    continue
                how = _line_matches(line, achievement)
                if how is None:
                    continue
                conditions = _conditions(agreement, line, achievement, awarded)
                found = _describe(agreement, line, achievement, how, conditions)
                if found["outcome"] == "covered":
                    return found
                best = best or found
    if best is not None:
        return best
    partner = partners[0]
    return {"outcome": "individual", "reason": "no_course", "issuer": issuer, "partner": partner.name,
            "message": f"No agreement with {partner.name} covers this course. Individual recognition."}


def _conditions(agreement: Agreement, line: Any, achievement: dict[str, Any],
                awarded: dt.date | None) -> list[dict[str, Any]]:
    found = [{"condition": "awarded_within_validity",
              "required": f"{agreement.valid_from.isoformat()}/{agreement.valid_until.isoformat()}",
              "found": awarded.isoformat() if awarded else None,
              "met": awarded is not None and agreement.valid_from <= awarded <= agreement.valid_until}]
    minimum = line.min_grade or agreement.min_grade
    if minimum:
        found.append({"condition": "minimum_grade", "required": minimum, "found": achievement.get("grade"),
                      "met": grade_meets(achievement.get("grade"), minimum)})
    assessment = line.assessment_type or agreement.assessment_type
    if assessment:  # what the credential says of its assessment is free text: shown, checked by the officer
        found.append({"condition": "assessment_type", "required": assessment,
                      "found": ", ".join(a.get("title") or "" for a in achievement.get("assessments") or []) or None,
                      "met": None})
    return found


def equivalence(line: Any) -> dict[str, Any]:
    """What an incoming line recognises the course as, here."""
    return {"kind": line.counts_as, "ects": line.ects,
            "course": (line.our_title or line.our_course_id) if line.counts_as == "equivalent"
            else line.elective_slot if line.counts_as == "elective" else None,
            "our_source": line.our_source, "our_course_id": line.our_course_id}


def _describe(agreement: Agreement, line: Any, achievement: dict[str, Any], how: str,
              conditions: list[dict[str, Any]]) -> dict[str, Any]:
    failed = [c for c in conditions if c["met"] is False]
    unknown = [c for c in conditions if c["met"] is None and c["condition"] != "assessment_type"]
    gives = equivalence(line)
    parts = [f"{gives['ects']:g} ECTS" if gives["ects"] else None,
             f"course {gives['course']}" if line.counts_as == "equivalent" else None,
             f"elective slot {gives['course']}" if line.counts_as == "elective" else None]
    counted = ", ".join(p for p in parts if p)
    base = {"agreement_id": agreement.id, "agreement_reference": agreement.reference, "line_id": line.id,
            "partner": agreement.partner.name, "matched_by": how, "course": achievement.get("title"),
            "recognised_as": gives, "conditions": conditions}
    if failed or unknown:
        names = ", ".join(c["condition"].replace("_", " ") for c in failed + unknown)
        return {**base, "outcome": "conditions_not_met",
                "message": f"Agreement {agreement.id} with {agreement.partner.name} names this course, but its "
                           f"conditions are not met ({names}). Individual recognition."}
    return {**base, "outcome": "covered",
            "message": f"Covered by agreement {agreement.id} with {agreement.partner.name}: recognised as {counted}."}


def open_case(session: Session, report: dict[str, Any], via: str) -> RecognitionCase:
    """A new case for a verification report (not for a file that is no credential at all)."""
    credential = report.get("credential") or {}
    achievement = (credential.get("achievements") or [{}])[0]
    issuer = (report.get("issuer") or {})
    found = match(session, report)
    case = RecognitionCase(
        id=str(uuid.uuid4()), received_via=via, credential_id=(credential.get("id") or None),
        verdict=report.get("verdict") or "invalid",
        issuer_identifier=verified_issuer(report) or issuer.get("eidas_identifier"),
        issuer_name=((credential.get("issuer") or {}).get("name") or None),
        course_title=(achievement.get("title") or credential.get("title") or None),
        learning_opportunity=achievement.get("learning_opportunity"), report=report, match=found,
        agreement_id=found.get("agreement_id") if found["outcome"] == "covered" else None,
        created_at=register.now())
    for name, limit in (("credential_id", 300), ("issuer_identifier", 100), ("issuer_name", 300),
                        ("course_title", 300), ("learning_opportunity", 500)):
        value = getattr(case, name)
        if isinstance(value, str) and len(value) > limit:
            setattr(case, name, value[:limit])
    session.add(case)
    session.flush()
    return case


class DeskError(register.RegisterError):
    """A decision the desk refuses (409 already decided, 422 missing equivalence)."""


def decide(session: Session, case: RecognitionCase, decision: Decision, who: str) -> None:
    """Record the officer's decision; a recognition without stated equivalence takes the agreement's.

    Written only where the row is still undecided (one UPDATE), so two officers deciding at once get one
    decision and one 409, never a silent overwrite.
    """
    if case.decision is not None:
        raise DeskError(409, f"case {case.id} was decided already ({case.decision})")
    covered = case.match.get("outcome") == "covered"
    if decision.decision == "refused":
        given: dict[str, Any] | None = None
    elif decision.ects is None and decision.course is None:
        if not covered:
            raise DeskError(422, "say what it is recognised as (ects or course): no agreement covers it", "ects")
        given = dict(case.match["recognised_as"])
    else:
        given = {"kind": "individual", "ects": decision.ects, "course": decision.course}
    if decision.decision != "recognised" and not decision.reasons:
        raise DeskError(422, "reasons are required for a partial recognition or a refusal", "reasons")
    values = {"decision": decision.decision, "reasons": decision.reasons, "equivalence": given,
              "agreement_id": case.match.get("agreement_id") if covered else None,
              "decided_at": register.now(), "decided_by": who[:200]}
    written = session.execute(update(RecognitionCase).where(RecognitionCase.id == case.id,
                                                            RecognitionCase.decision.is_(None)).values(**values)
                              .execution_options(synchronize_session=False))
    if written.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise DeskError(409, f"case {case.id} was decided meanwhile by someone else")
    for name, value in values.items():
        set_committed_value(case, name, value)


def record_json(case: RecognitionCase, agreement: Agreement | None) -> dict[str, Any]:
    """The decision for the student-records system (it names the learner: it goes to that system only)."""
    credential = (case.report or {}).get("credential") or {}
    achievement = (credential.get("achievements") or [{}])[0]
    return {
        "case_id": case.id,
        "decision": case.decision,
        "decided_at": case.decided_at.isoformat() if case.decided_at else None,
        "decided_by": case.decided_by,
        "reasons": case.reasons,
        "recognised_as": case.equivalence,
        "agreement": None if agreement is None else {
            "id": agreement.id, "reference": agreement.reference, "partner": agreement.partner.name,
            "partner_eidas_identifier": agreement.partner.eidas_identifier},
        "learner": credential.get("learner") or {},
        "credential": {
            "id": case.credential_id, "verdict": case.verdict, "issuer": case.issuer_name,
            "issuer_identifier": case.issuer_identifier, "title": case.course_title,
            "learning_opportunity": case.learning_opportunity, "awarding_date": achievement.get("awarding_date"),
            "ects": achievement.get("ects"), "eqf_level": achievement.get("eqf_level"),
            "grade": achievement.get("grade")},
    }


def case_summary(case: RecognitionCase) -> dict[str, Any]:
    """A case as lists show it (no learner data)."""
    return {"id": case.id, "received_via": case.received_via, "verdict": case.verdict,
            "issuer": case.issuer_name, "issuer_identifier": case.issuer_identifier, "course": case.course_title,
            "match": case.match.get("outcome"), "message": case.match.get("message"),
            "agreement_id": case.match.get("agreement_id"), "decision": case.decision,
            "created_at": case.created_at.isoformat(),
            "decided_at": case.decided_at.isoformat() if case.decided_at else None}


def statistics_by_issuer_and_course(session: Session) -> list[dict[str, Any]]:
    """Per issuer and course: cases, outcomes, how many an agreement covered, median days to decide.

    Reads only the issuer, course, outcome and date columns: no learner data can come out of it.
    """
    groups: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    days: dict[tuple[str | None, str | None], list[float]] = defaultdict(list)
    rows = session.execute(select(RecognitionCase.issuer_identifier, RecognitionCase.issuer_name,
                                  RecognitionCase.course_title, RecognitionCase.decision,
                                  RecognitionCase.agreement_id, RecognitionCase.created_at,
                                  RecognitionCase.decided_at))
    for issuer_id, issuer_name, course, decision, agreement_id, created, decided in rows:
        key = (issuer_id, course)
        group = groups.setdefault(key, {"issuer_identifier": issuer_id, "issuer": issuer_name, "course": course,
                                        "cases": 0, "recognised": 0, "partly": 0, "refused": 0, "pending": 0,
                                        "under_agreement": 0})
        group["cases"] += 1
        group[decision or "pending"] += 1
        if agreement_id is not None and decision is not None:
            group["under_agreement"] += 1
        if decided is not None:
            days[key].append((decided - created).total_seconds() / 86400)
    for key, group in groups.items():
        group["median_days_to_decide"] = round(statistics.median(days[key]), 1) if days[key] else None
    return sorted(groups.values(), key=lambda g: (-g["cases"], str(g["issuer"]), str(g["course"])))
