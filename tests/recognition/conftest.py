"""Fixtures of the recognition tests: a console (SQLite, or each database) with people of every role,
and example partners and agreements as the register's API takes them."""
from __future__ import annotations

from typing import Any

from tests.console.conftest import (  # noqa: F401 - fixtures shared with the console tests
    PASSWORD,
    Browser,
    Console,
    console,
    console_any,
    db_url,
    dev_seal_p12,
    pg_database,
)
from tests.sidecar.conftest import ADMIN

PARTNER_A = {"name": "Université A", "country": "FR", "erasmus_code": "F  PARIS999", "schac_code": "univ-a.example",
             "eidas_identifier": "VATFR-12345678901", "pic": "999999999"}


def agreement_body(partner_id: int, **changes: Any) -> dict[str, Any]:
    """An incoming agreement at institution level: A's course counts here as 5 ECTS, min. grade 12."""
    body: dict[str, Any] = {
        "partner_id": partner_id, "title": "Recognition of data science micro-credentials",
        "reference": "MCRA-2026-01", "direction": "two_way", "learning_kind": "non_formal_institution",
        "valid_from": "2026-01-01", "valid_until": "2027-12-31", "min_grade": "12",
        "assessment_type": "Supervised online examination",
        "courses": [
            {"direction": "incoming", "their_lo_iri": "http://a.example/catalogue/lo/moodle-main/42",
             "their_title": "Data literacy", "their_ects": 5, "their_eqf": 6, "counts_as": "credits", "ects": 5,
             "our_source": "moodle-main", "our_course_id": "43", "our_title": "Introduction to statistics"},
            {"direction": "outgoing", "our_source": "moodle-main", "our_course_id": "42",
             "our_title": "Bread baking", "their_title": "Food science elective", "counts_as": "elective",
             "elective_slot": "Free elective, year 2", "ects": 4},
        ],
        "contacts": [{"side": "ours", "name": "Rose Officer", "email": "rose@univ.example"},
                     {"side": "theirs", "name": "Paul Contact", "email": "paul@a.example"}],
        "signatories": [{"side": "ours", "name": "Dana Dean", "position": "Vice-rector"},
                        {"side": "theirs", "name": "Pierre Président", "position": "Président"}],
    }
    body.update(changes)
    return body


def admin(on: Console, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
    """A console API call with the admin bearer token."""
    return on.car.client.open(path, method=method, json=body,
                              headers={"Authorization": f"Bearer {ADMIN}"}, **kwargs)
