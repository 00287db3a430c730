"""Recognition options the catalogue shows, from credit recognition agreements signed and in force.

Our courses: the register's :func:`bridge.recognition.agreements.options_for_template` (where a partner
recognises the course, or which partner course counts as it). A partner's harvested course: the
``incoming`` lines of our agreements with that partner that name it, by its LearningOpportunity IRI,
or, for lines that give no IRI, by its title (any language, ignoring case and accents) with the line's
ECTS and EQF level when the line states them.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.catalogue.search import fold
from bridge.db.models import Agreement, AgreementCourse, Partner
from bridge.recognition.agreements import now, options_for_template


def _ects(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def for_our_course(session: Session, source: str, course_id: str, on: dt.date | None = None) -> list[dict[str, Any]]:
    options = options_for_template(course_id, source=source, session=session, on=on)
    return [{"here": False, "direction": o.direction, "partner": o.partner, "counts_as": o.counts_as,
             "ects": _ects(o.ects), "equivalent": o.equivalent, "elective_slot": o.elective_slot,
             "their_title": o.their_title, "min_grade": o.min_grade, "valid_until": o.valid_until}
            for o in options]


def for_partner_course(session: Session, iri: str, view: dict[str, Any],
                       on: dt.date | None = None) -> list[dict[str, Any]]:
    today = on or now().date()
    titles = {fold(t) for t in (view.get("title") or {}).values()}
    rows = session.execute(
        select(AgreementCourse, Agreement, Partner)
        .join(Agreement, AgreementCourse.agreement_id == Agreement.id)
        .join(Partner, Agreement.partner_id == Partner.id)
        .where(AgreementCourse.direction == "incoming", Agreement.status == "signed",
               Agreement.valid_from <= today, Agreement.valid_until >= today)
        .order_by(Partner.name, Agreement.id, AgreementCourse.position))
    out = []
    for line, agreement, partner in rows:
        if line.their_lo_iri:
            if line.their_lo_iri != iri:
                continue
        elif not (line.their_title and fold(line.their_title) in titles
                  and (line.their_ects is None or line.their_ects == view.get("ects"))
                  and (line.their_eqf is None or line.their_eqf == view.get("eqf_level"))):
            continue
        out.append({"here": True, "direction": "incoming", "partner": partner.name, "counts_as": line.counts_as,
                    "ects": _ects(line.ects), "equivalent": line.our_title if line.counts_as == "equivalent" else None,
                    "elective_slot": line.elective_slot, "their_title": line.their_title,
                    "min_grade": line.min_grade or agreement.min_grade,
                    "valid_until": agreement.valid_until.isoformat()})
    return out
