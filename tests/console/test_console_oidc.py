"""OpenID Connect sign-in against a provider on loopback (tests/fakes/oidc_provider.py): discovery,
PKCE, state and nonce, ID-token validation, account linking and role mapping, and every refusal."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from bridge.db.models import StaffUser
from tests.console.conftest import Browser, Console, add_people, make_sidecar
from tests.fakes.oidc_provider import OidcProvider, Person, running_provider

PUBLIC = "http://console.test"


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    idp = OidcProvider(redirect_uris=[f"{PUBLIC}/console/oidc/callback"], people={
        "alice": Person("sub-alice", "alice@univ.example", "Alice Martin"),
        "stranger": Person("sub-stranger", "stranger@elsewhere.example", "Stranger"),
        "unverified": Person("sub-unverified", "rita@univ.example", "Not Rita", email_verified=False),
        "reg": Person("sub-reg", "reg@univ.example", "Regina Registrar", groups=["staff", "edc-registrars"]),
        "team": Person("sub-team", "team@univ.example", "Tom Team", groups=["edc-course:moodle-main/43"]),
    })
    with running_provider(idp) as running:
        yield running


def _console(tmp_path: Path, dev_seal_p12: Path, provider: OidcProvider, **env: str) -> Console:
    car = make_sidecar(tmp_path, f"sqlite:///{tmp_path / 'oidc.sqlite3'}", dev_seal_p12, EDC_PUBLIC_URL=PUBLIC,
                       EDC_OIDC_ISSUER=provider.issuer, EDC_OIDC_CLIENT_ID=provider.client_id,
                       EDC_OIDC_CLIENT_SECRET=provider.client_secret, EDC_OIDC_NAME="Université Exemple", **env)
    key = car.add_source("moodle-main")
    car.put_template("42")
    car.put_template("43")
    add_people(car)
    return Console(car, key)


def sign_in(browser: Browser, login: str, *, tamper_state: bool = False) -> object:
    """Follow the redirects a browser would: console → provider's form → provider → console callback."""
    start = browser.client.get("/console/oidc/start?next=/console/credentials")
    assert start.status_code == 302
    authorize = start.headers["Location"]
    params = parse_qs(urlsplit(authorize).query)
    assert params["code_challenge_method"] == ["S256"] and params["code_challenge"][0]
    assert params["state"][0] and params["nonce"][0] and "openid" in params["scope"][0]
    form = requests.get(authorize, timeout=10)
    assert form.status_code == 200, form.text
    fields = {k: v[0] for k, v in params.items()}
    back = requests.post(urlsplit(authorize)._replace(query="").geturl(), data={**fields, "login": login},
                         allow_redirects=False, timeout=10)
    callback = urlsplit(back.headers["Location"])
    assert callback.path == "/console/oidc/callback"
    query = callback.query
    if tamper_state:
        query = query.replace(f"state={params['state'][0]}", "state=forged-state")
    return browser.client.get(f"{callback.path}?{query}")


def test_invited_person_signs_in_and_is_linked(tmp_path: Path, dev_seal_p12: Path, provider: OidcProvider) -> None:
    console = _console(tmp_path, dev_seal_p12, provider)
    login_page = console.browser().get("/console/login").get_data(as_text=True)
    assert 'id="oidc-login"' in login_page and "Sign in with Université Exemple" in login_page
    browser = console.browser()
    answer = sign_in(browser, "alice")
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/credentials"
    assert browser.get("/console/users").status_code == 200  # alice is the admin invited by e-mail
    assert provider.token_requests[-1]["code_verifier"]  # PKCE: the verifier went to the token endpoint
    with console.car.rt.sessions() as session:
        alice = session.scalar(select(StaffUser).where(StaffUser.username == "alice"))
        assert alice is not None and (alice.oidc_issuer, alice.oidc_subject) == (provider.issuer, "sub-alice")
        assert alice.display_name == "Alice Martin"
    entry = console.audit("sign-in")[-1]
    assert entry.outcome == "ok" and entry.detail == {"method": "oidc", "issuer": provider.issuer}
    # Linked by subject from now on, whatever the e-mail becomes.
    provider.people["alice"].email = "a.martin@univ.example"
    assert sign_in(console.browser(), "alice").status_code == 302


def test_people_nobody_invited_are_refused(tmp_path: Path, dev_seal_p12: Path, provider: OidcProvider) -> None:
    console = _console(tmp_path, dev_seal_p12, provider)
    for login in ("stranger", "unverified"):  # an unverified e-mail never links an account
        browser = console.browser()
        answer = sign_in(browser, login)
        assert answer.status_code == 403 and "Ask an administrator" in answer.get_data(as_text=True)
        assert browser.get("/console/").status_code == 302
    assert [e.outcome for e in console.audit("sign-in")] == ["failed", "failed"]


@pytest.mark.parametrize("fault", ["wrong-nonce", "wrong-audience", "wrong-issuer", "expired", "foreign-key"])
def test_bad_id_tokens_are_refused(tmp_path: Path, dev_seal_p12: Path, provider: OidcProvider, fault: str) -> None:
    console = _console(tmp_path, dev_seal_p12, provider)
    provider.faults.add(fault)
    browser = console.browser()
    answer = sign_in(browser, "alice")
    assert answer.status_code == 401, fault
    assert browser.get("/console/").status_code == 302
    entry = console.audit("sign-in")[-1]
    assert entry.outcome == "failed" and entry.detail["method"] == "oidc"


def test_forged_state_is_refused(tmp_path: Path, dev_seal_p12: Path, provider: OidcProvider) -> None:
    console = _console(tmp_path, dev_seal_p12, provider)
    browser = console.browser()
    assert sign_in(browser, "alice", tamper_state=True).status_code == 401
    assert browser.get("/console/").status_code == 302
    # A callback without any sign-in under way (a link sent by someone else) is refused too.
    stray = console.browser().client.get("/console/oidc/callback?code=abc&state=xyz")
    assert stray.status_code == 401


def test_roles_from_the_providers_groups(tmp_path: Path, dev_seal_p12: Path, provider: OidcProvider) -> None:
    console = _console(tmp_path, dev_seal_p12, provider, EDC_OIDC_ROLE_MAP="edc-registrars=registrar",
                       EDC_OIDC_COURSE_PREFIX="edc-course:")
    registrar = console.browser()
    assert sign_in(registrar, "reg").status_code == 302
    assert registrar.get("/console/audit").status_code == 200 and registrar.get("/console/users").status_code == 403
    team = console.browser()
    assert sign_in(team, "team").status_code == 302
    me = team.client.get("/console/api/me").json
    assert me["roles"] == [{"role": "course_team", "source": "moodle-main", "course_id": "43"}]
    assert team.get("/console/templates/moodle-main/43").status_code == 200
    assert team.get("/console/templates/moodle-main/42").status_code == 403
    # Mapped roles follow the provider: a person who leaves the group loses the role at the next sign-in.
    provider.people["reg"].groups = ["staff"]
    again = console.browser()
    assert sign_in(again, "reg").status_code == 302
    assert again.get("/console/audit").status_code == 403
