"""Roles: each page and its console API answer 403 to people without the role (and audit the refusal);
a course team sees and acts on its own course only; nobody signed in gets the sign-in page or a 401."""
from __future__ import annotations

import csv
import io

import pytest

from tests.console.conftest import ADMIN, Console

# (page, its console API route, the people allowed)
SECTIONS = [
    ("/console/", "/console/api/dashboard", {"alice", "rita", "theo", "vera", "rose"}),
    ("/console/credentials", "/console/api/credentials", {"alice", "rita", "theo", "vera"}),
    ("/console/batches", "/console/api/batches", {"alice", "rita", "vera"}),
    ("/console/templates", "/console/api/templates", {"alice", "rita", "theo", "vera"}),
    ("/console/sources", "/console/api/sources", {"alice", "rita", "vera"}),
    ("/console/users", "/console/api/users", {"alice"}),
    ("/console/audit", "/console/api/audit", {"alice", "rita"}),
]


@pytest.mark.parametrize(("page", "api", "allowed"), SECTIONS, ids=[s[0] for s in SECTIONS])
def test_page_and_api_answer_403_without_the_role(console: Console, page: str, api: str, allowed: set[str]) -> None:
    for person in ("alice", "rita", "theo", "vera", "rose"):
        browser = console.browser(person)
        shown = browser.get(page)
        answer = browser.client.get(api)
        expected = 200 if person in allowed else 403
        assert (shown.status_code, answer.status_code) == (expected, expected), (person, page)
        if expected == 403:
            assert 'id="forbidden"' in shown.get_data(as_text=True)
            assert answer.mimetype == "application/problem+json" and answer.json["status"] == 403
    denied = console.audit("access.denied")
    assert len(denied) == 2 * (5 - len(allowed))
    assert all(e.outcome == "denied" and e.detail["permission"] for e in denied)


def test_menus_show_only_what_the_role_allows(console: Console) -> None:
    page = console.browser("rose").get("/console/").get_data(as_text=True)
    assert 'id="nav-dashboard"' in page and 'id="nav-credentials"' not in page and 'id="nav-users"' not in page
    assert 'id="issued-today"' not in page and 'id="health"' not in page  # no issuance data for this role
    alice = console.browser("alice")
    page = alice.get("/console/").get_data(as_text=True)
    assert all(f'id="nav-{k}"' in page for k in ("credentials", "templates", "sources", "users", "audit", "batches"))
    # French from ?lang=fr, kept for the session.
    page = alice.get("/console/?lang=fr").get_data(as_text=True)
    assert '<html lang="fr">' in page and "Tableau de bord" in page and "Journal d'audit" in page
    assert "Personnes et rôles" in alice.get("/console/users").get_data(as_text=True)


def test_nobody_signed_in(console: Console) -> None:
    client = console.car.app.test_client()
    page = client.get("/console/credentials?status=failed")
    assert page.status_code == 302 and page.headers["Location"].startswith("/console/login?next=")
    api = client.get("/console/api/credentials")
    assert api.status_code == 401 and api.mimetype == "application/problem+json"
    assert client.get("/console/api/credentials", headers={"Authorization": "Bearer nope"}).status_code == 401
    # The admin token of machines works on the console API too (an admin), but never on the pages.
    assert client.get("/console/api/users", headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200
    assert client.get("/console/users", headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 302


def test_course_team_sees_and_acts_on_its_course_only(console: Console) -> None:
    mine = console.issue("42", "17")
    theirs = console.issue("43", "18", email="other@example.org")
    theo = console.browser("theo")
    listing = theo.get("/console/credentials").get_data(as_text=True)
    assert mine in listing and theirs not in listing
    assert theo.client.get("/console/api/credentials").json["total"] == 1
    assert theo.get(f"/console/credentials/{mine}").status_code == 200
    assert theo.get(f"/console/credentials/{theirs}").status_code == 403
    assert theo.client.get(f"/console/api/credentials/{theirs}").status_code == 403
    assert theo.get("/console/credentials?course_id=43").get_data(as_text=True).count('data-id="') == 0
    exported = theo.client.get("/console/credentials/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported.lstrip("\ufeff"))))
    assert [r["credential_id"] for r in rows] == [mine]
    templates = theo.get("/console/templates").get_data(as_text=True)
    assert "/console/templates/moodle-main/42" in templates and "/console/templates/moodle-main/43" not in templates
    assert theo.get("/console/templates/moodle-main/43").status_code == 403
    assert theo.get("/console/template-preview/moodle-main/43").status_code == 403
    # Acting: resend on its own course; another course's, or revoking (a registrar's act), is refused.
    assert theo.post(f"/console/credentials/{mine}/resend").status_code == 302
    assert theo.post(f"/console/credentials/{theirs}/resend").status_code == 403
    assert theo.post(f"/console/credentials/{mine}/revoke", {"reason": "x"}).status_code == 403
    assert theo.client.post(f"/console/api/credentials/{theirs}:resend",
                            headers={"X-CSRFToken": theo.token}).status_code == 403
    denied = console.audit("access.denied")
    assert any(e.detail.get("course") == "moodle-main/43" for e in denied)


def test_console_catalogue_is_complete_in_french() -> None:
    """Every console text has its French translation, with the same placeholders."""
    import re

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    from bridge.l10n import CATALOGUE_DIR

    placeholder = re.compile(r"%\((\w+)\)s")
    template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po((CATALOGUE_DIR / "console.pot").open("rb"))
                if m.id}
    folder = CATALOGUE_DIR / "fr" / "LC_MESSAGES"
    catalogue = [m for m in read_po((folder / "console.po").open("rb")) if m.id and not m.fuzzy]
    assert {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue} >= template
    for message in catalogue:
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        assert all(strings), message.id
        for text in strings:
            assert sorted(set(placeholder.findall(text))) == sorted(set(placeholder.findall(ids[-1]))), message.id
    with (folder / "console.mo").open("rb") as handle:
        compiled = {_plain(m.id): _plain(m.string) for m in read_mo(handle) if m.id}
    assert compiled == {_plain(m.id): _plain(m.string) for m in catalogue}


def _plain(value: object) -> object:
    """Plural entries come as lists or tuples depending on the reader."""
    return tuple(value) if isinstance(value, list | tuple) else value
