"""Local sign-in: argon2 hashes, lockout, TOTP, server-side sessions, cookie flags, CSRF, sign-out."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyotp
from sqlalchemy import select, text

from bridge.console.accounts import LockoutPolicy, SignInRefused, check_password
from bridge.db.models import StaffSession, StaffUser
from tests.console.conftest import PASSWORD, Browser, Console, add_people, make_sidecar


def test_sign_in_sets_a_server_side_session_cookie(console_any: Console) -> None:
    console = console_any
    browser = console.browser()
    before = browser.get("/console/login").headers["Set-Cookie"]
    answer = browser.login("alice")
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # http public URL in this test; see the https test below
    token = cookie.split(";")[0].split("=", 1)[1]
    assert token != before.split(";")[0].split("=", 1)[1]  # a new token at sign-in (no session fixation)
    with console.car.rt.sessions() as session:
        rows = list(session.scalars(select(StaffSession).where(StaffSession.user_id.is_not(None))))
    assert len(rows) == 1 and token not in rows[0].id  # only the token's hash is stored
    assert browser.get("/console/").status_code == 200
    entry = console.audit("sign-in")[-1]
    assert (entry.actor_name, entry.outcome, entry.detail["method"]) == ("Alice", "ok", "password")
    assert entry.ip == "127.0.0.1"


def test_https_public_url_makes_the_cookie_secure(tmp_path: Path, dev_seal_p12: Path) -> None:
    car = make_sidecar(tmp_path, f"sqlite:///{tmp_path / 's.sqlite3'}", dev_seal_p12,
                       EDC_PUBLIC_URL="https://edc.univ.example")
    add_people(car)
    answer = Browser(car.app.test_client()).login("alice")
    assert answer.status_code == 302 and "Secure" in answer.headers["Set-Cookie"]


def test_wrong_password_is_refused_and_audited(console: Console) -> None:
    answer = console.browser().login("alice", "not the password")
    assert answer.status_code == 401 and 'id="login-error"' in answer.get_data(as_text=True)
    answer = console.browser().login("nobody", "whatever it is")
    assert answer.status_code == 401
    failures = console.audit("sign-in")
    assert [(e.outcome, e.detail["reason"]) for e in failures] == [
        ("failed", "wrong password"), ("failed", "unknown user or no local password")]
    assert all(PASSWORD not in str(e.detail) and "not the password" not in str(e.detail) for e in failures)


def test_lockout_after_repeated_failures(console: Console) -> None:
    for _ in range(5):
        assert console.browser().login("rita", "wrong password!").status_code == 401
    # Locked: even the right password is refused until the lock expires.
    assert console.browser().login("rita").status_code == 401
    assert console.audit("sign-in")[-1].detail["reason"] == "account locked"
    with console.car.rt.sessions() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "rita"))
        assert user is not None and user.locked_until is not None
        later = user.locked_until + dt.timedelta(seconds=1)
        assert check_password(session, "rita", PASSWORD, None, LockoutPolicy(), now=later).username == "rita"
    # An admin can unlock earlier.
    for _ in range(5):
        console.browser().login("rita", "wrong password!")
    admin = console.browser("alice")
    with console.car.rt.sessions() as session:
        rita = session.scalar(select(StaffUser.id).where(StaffUser.username == "rita"))
    admin.get(f"/console/users/{rita}")
    assert admin.post(f"/console/users/{rita}", {"action": "unlock"}).status_code == 200
    assert console.browser().login("rita").status_code == 302


def test_totp_set_up_then_required(console: Console) -> None:
    browser = console.browser("vera")
    browser.get("/console/account")
    assert browser.post("/console/account/totp", {"step": "start"}).status_code == 302
    page = browser.get("/console/account").get_data(as_text=True)
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    assert browser.post("/console/account/totp", {"step": "confirm", "code": "000000"}).status_code == 422
    enrolled = pyotp.TOTP(secret).now()
    answer = browser.post("/console/account/totp", {"step": "confirm", "code": enrolled})
    assert answer.status_code == 200 and "Two-step sign-in is on" in answer.get_data(as_text=True)
    assert console.browser().login("vera").status_code == 401  # the code is now required
    assert console.browser().login("vera", totp="123456").status_code in (401,)
    # The code typed to enrol was used once already; the next time-step's code (clock drift allowance)
    # signs in once.
    assert console.browser().login("vera", totp=enrolled).status_code == 401
    following = pyotp.TOTP(secret).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
    assert console.browser().login("vera", totp=following).status_code == 302
    assert console.browser().login("vera", totp=following).status_code == 401
    with console.car.rt.sessions() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "vera"))
        assert user is not None
        try:
            check_password(session, "vera", PASSWORD, None, LockoutPolicy())
        except SignInRefused as exc:
            assert exc.reason == "wrong or missing TOTP code"
        else:
            raise AssertionError("a TOTP account signed in without a code")


def test_a_totp_code_is_accepted_once(console: Console) -> None:
    """RFC 6238 5.2, at pinned times: a code (or an older one) is refused once a code of its time-step was
    accepted, for the whole window it would otherwise stay valid in."""
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    t0 = dt.datetime(2026, 3, 2, 9, 30, 5, tzinfo=dt.UTC)
    policy = LockoutPolicy(attempts=50)
    with console.car.rt.sessions() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "vera"))
        assert user is not None
        user.totp_secret, user.totp_last_step = secret, None
        session.commit()

        def refused(code: str, at: dt.datetime) -> str:
            try:
                check_password(session, "vera", PASSWORD, code, policy, now=at)
            except SignInRefused as exc:
                return exc.reason
            raise AssertionError("a used TOTP code was accepted again")

        assert check_password(session, "vera", PASSWORD, totp.at(t0), policy, now=t0).username == "vera"
        assert refused(totp.at(t0), t0 + dt.timedelta(seconds=5)) == "TOTP code already used"
        assert refused(totp.at(t0), t0 + dt.timedelta(seconds=30)) == "TOTP code already used"  # still in window
        assert refused(totp.at(t0 - dt.timedelta(seconds=30)), t0) == "TOTP code already used"  # older step
        assert refused("", t0) == "wrong or missing TOTP code"
        later = t0 + dt.timedelta(seconds=31)
        assert check_password(session, "vera", PASSWORD, totp.at(later), policy, now=later).username == "vera"
        session.refresh(user)
        assert user.totp_last_step == totp.timecode(later)


def test_every_form_needs_its_csrf_token(console: Console) -> None:
    browser = console.browser()
    browser.get("/console/login")
    answer = browser.post("/console/login", {"username": "alice", "password": PASSWORD}, csrf=False)
    assert answer.status_code == 400 and "expired" in answer.get_data(as_text=True)
    admin = console.browser("alice")
    answer = admin.post("/console/users", {"username": "mallory", "roles": "admin"}, csrf=False)
    assert answer.status_code == 400
    answer = admin.post("/console/users", {"username": "mallory", "roles": "admin", "csrf_token": "forged"},
                        csrf=False)
    assert answer.status_code == 400
    with console.car.rt.sessions() as session:
        assert session.scalar(select(StaffUser).where(StaffUser.username == "mallory")) is None
    # The console API asks the same token in a header when it is called with the session cookie.
    api = admin.client.post("/console/api/credentials:retry-failed")
    assert api.status_code == 400 and api.json["type"].endswith("csrf-failed")
    api = admin.client.post("/console/api/credentials:retry-failed", headers={"X-CSRFToken": admin.token})
    assert api.status_code == 202


def test_sign_out_ends_the_session_on_the_server(console: Console) -> None:
    browser = console.browser("alice")
    cookie = browser.client.get_cookie("edc_console", path="/console")
    assert cookie is not None
    assert browser.post("/console/logout").status_code == 302
    replay = Browser(console.car.app.test_client())
    replay.client.set_cookie("edc_console", cookie.value, path="/console")
    answer = replay.get("/console/")
    assert answer.status_code == 302 and "/console/login" in answer.headers["Location"]
    assert [e.action for e in console.audit()][-1] == "sign-out"


def test_role_change_signs_the_person_out(console: Console) -> None:
    vera = console.browser("vera")
    admin = console.browser("alice")
    with console.car.rt.sessions() as session:
        user_id = session.scalar(select(StaffUser.id).where(StaffUser.username == "vera"))
    admin.get(f"/console/users/{user_id}")
    answer = admin.post(f"/console/users/{user_id}", {"action": "roles", "roles": "registrar"})
    assert answer.status_code == 200
    assert vera.get("/console/").status_code == 302
    entry = console.audit("user.roles")[-1]
    assert entry.detail["roles"] == "registrar" and entry.detail["sessions_ended"] == 1
    assert console.browser().login("vera").status_code == 302


def test_sessions_expire_when_idle(console: Console) -> None:
    browser = console.browser("alice")
    with console.car.rt.sessions() as session:
        session.execute(text("UPDATE staff_sessions SET last_seen_at = :t"),
                        {"t": dt.datetime(2000, 1, 1)})
        session.commit()
    assert browser.get("/console/").status_code == 302


def test_next_never_leaves_the_console(console: Console) -> None:
    browser = console.browser()
    browser.get("/console/login")
    answer = browser.post("/console/login", {"username": "alice", "password": PASSWORD,
                                             "next": "https://evil.example/phish"})
    assert answer.headers["Location"] == "/console/"
    browser = console.browser()
    browser.get("/console/login")
    answer = browser.post("/console/login", {"username": "alice", "password": PASSWORD, "next": "//evil.example/"})
    assert answer.headers["Location"] == "/console/"


def test_the_sweep_removes_ended_sessions(console: Console) -> None:
    from bridge.tasks.sweep import sweep

    console.browser("alice")
    with console.car.rt.sessions() as session:
        session.execute(text("UPDATE staff_sessions SET expires_at = :t"), {"t": dt.datetime(2000, 1, 1)})
        session.commit()
    sweep(console.car.rt.sessions, console.car.rt.dispatcher, grace=300, signature_window=300, retries_due_now=True)
    with console.car.rt.sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM staff_sessions")) == 0
