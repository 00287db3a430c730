"""Web Services answers → the plain inputs of the shared rules (``template.py``, ``completion.py``).

The plugin reduces Moodle's PHP objects to the same inputs, so both routes apply one set of rules
to one set of facts. What Moodle's answers carry (Moodle 4.5 sources):

* ``core_course_get_courses_by_field``: ``customfields[]`` with ``value`` (formatted: a select's
  option label, "Yes"/"No" for a checkbox) and ``valueraw`` (stored);
* ``core_completion_get_course_completion_status``: no course completion time, one per criterion;
  Moodle's cron marks the course complete with the latest of them (``aggregate_completions``);
* ``gradereport_user_get_grade_items``: the course total as the token's user may see it
  (``graderaw`` null when hidden), ``gradeformatted`` is HTML and never used;
* ``gradereport_user_get_grades_table``: the total's grade cell carries ``gradepass`` or
  ``gradefail`` when the total has a grade to pass; the row id is ``row_<itemid>_<userid>``.
"""
from __future__ import annotations

from typing import Any


def course_input(course: dict[str, Any]) -> dict[str, Any]:
    return {"id": int(course["id"]), "fullname": course.get("fullname") or course.get("displayname") or "",
            "summary": course.get("summary") or "", "lang": course.get("lang") or ""}


def customfields(course: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{shortname: {"type", "value" (stored), "label" (displayed)}}`` of the visible fields."""
    out: dict[str, dict[str, Any]] = {}
    for item in course.get("customfields") or []:
        raw = item.get("valueraw")
        shown = item.get("value")
        out[str(item.get("shortname"))] = {"type": str(item.get("type") or ""),
                                           "value": "" if raw is None else str(raw),
                                           "label": "" if shown is None else str(shown)}
    return out


def competencies(answer: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for entry in answer:
        comp = entry.get("competency") or {}
        out.append({"id": comp.get("id"), "shortname": comp.get("shortname") or "",
                    "idnumber": comp.get("idnumber") or "", "description": comp.get("description") or ""})
    return out


def learner_input(user: dict[str, Any]) -> dict[str, Any]:
    """Web Services never return a participant's language (not in the function's return structure)."""
    return {"id": int(user["id"]), "firstname": user.get("firstname") or "", "lastname": user.get("lastname") or "",
            "email": user.get("email") or ""}


def completion_facts(status: dict[str, Any]) -> tuple[bool, int | None, list[dict[str, Any]]]:
    """Whether the course is complete, when (latest criterion time), and the criteria states."""
    info = status.get("completionstatus") or {}
    rows = info.get("completions") or []
    criteria = [{"type": int(r.get("type") or 0), "complete": bool(r.get("complete"))} for r in rows]
    times = [int(r["timecompleted"]) for r in rows if r.get("complete") and r.get("timecompleted")]
    return bool(info.get("completed")), (max(times) if times else None), criteria


def course_total(usergrade: dict[str, Any]) -> dict[str, Any] | None:
    """The course total among one learner's grade items (absent when hidden from view entirely)."""
    for item in usergrade.get("gradeitems") or []:
        if item.get("itemtype") == "course":
            return item
    return None


def passing_from_table(table: dict[str, Any] | None, item_id: int, user_id: int) -> bool | None:
    """Moodle's pass/fail mark on the course total's grade cell, None when it shows none."""
    if not table:
        return None
    row_id = f"row_{item_id}_{user_id}"
    for row in table.get("tabledata") or []:
        if (row.get("itemname") or {}).get("id") == row_id:
            classes = str((row.get("grade") or {}).get("class") or "").split()
            if "gradepass" in classes:
                return True
            if "gradefail" in classes:
                return False
            return None
    return None


def grade_input(item: dict[str, Any] | None, passing: bool | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {"score": item.get("graderaw"), "max": item.get("grademax"), "min": item.get("grademin"),
            "passing": passing if item.get("graderaw") is not None else None}
