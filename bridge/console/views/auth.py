"""Signing in and out (local account or the institution's identity provider) and one's own account."""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, redirect, request, session, url_for

from bridge import audit
from bridge.api.common import runtime
from bridge.console import oidc
from bridge.console.accounts import (
    HASHER,
    MIN_PASSWORD,
    LockoutPolicy,
    SignInRefused,
    check_password,
    hash_password,
    new_totp_secret,
    totp_step,
    totp_uri,
)
from bridge.console.config import ConsoleSettings
from bridge.console.web import console_blueprint, db, identity, refresh_generation, render, safe_next, sign_in
from bridge.db.models import StaffUser

bp = console_blueprint("console_auth", __name__, static_folder="../static", static_url_path="/static")


def _settings() -> ConsoleSettings:
    return current_app.extensions["edc_console"]


def _login_page(status: int = 200, **context: Any) -> Response:
    settings = _settings()
    return render("login.html", status, local=settings.local_login, oidc=settings.oidc,
                  next=safe_next(request.values.get("next")), **context)


@bp.get("/login")
def login_form() -> Response:
    if g.console_identity is not None:
        return redirect(safe_next(request.args.get("next")))  # type: ignore[return-value]
    return _login_page()


@bp.post("/login")
def login() -> Response:
    settings = _settings()
    if not settings.local_login:
        return _login_page(403, error="local-disabled")
    username = (request.form.get("username") or "").strip()[:120]
    policy = LockoutPolicy(settings.lockout_attempts, settings.lockout_seconds)
    try:
        user = check_password(db(), username, request.form.get("password") or "", request.form.get("totp"), policy)
    except SignInRefused as exc:
        actor = ("staff", exc.user.id, exc.user.display_name) if exc.user else ("anonymous", None, username or "-")
        audit.record(runtime().sessions, "sign-in", target_type="user", target_id=username, outcome="failed",
                     detail={"method": "password", "reason": exc.reason}, actor=actor)
        return _login_page(401, error="refused", username=username)
    sign_in(user, "password")
    audit.record(runtime().sessions, "sign-in", target_type="user", target_id=user.username,
                 detail={"method": "password"})
    return redirect(safe_next(request.form.get("next")))  # type: ignore[return-value]


@bp.get("/oidc/start")
def oidc_start() -> Any:
    settings = _settings()
    if settings.oidc is None:
        return _login_page(404, error="no-oidc")
    session["oidc_next"] = safe_next(request.args.get("next"))
    return oidc.begin(current_app, runtime().settings.public_url + oidc.CALLBACK)


@bp.get("/oidc/callback")
def oidc_callback() -> Response:
    settings = _settings()
    if settings.oidc is None:
        return _login_page(404, error="no-oidc")
    target = safe_next(session.pop("oidc_next", None))
    try:
        claims = oidc.finish(current_app)
        user = oidc.provision(db(), claims, settings.oidc)
    except oidc.OidcFailed as exc:
        audit.record(runtime().sessions, "sign-in", outcome="failed",
                     detail={"method": "oidc", "reason": str(exc)}, actor=("anonymous", None, "-"))
        return _login_page(401, error="oidc-failed")
    except SignInRefused as exc:
        db().rollback()
        who = exc.user
        audit.record(runtime().sessions, "sign-in", outcome="failed", detail={"method": "oidc", "reason": exc.reason},
                     actor=("staff", who.id, who.display_name) if who else ("anonymous", None, "-"))
        return _login_page(403, error="not-invited")
    sign_in(user, "oidc")
    audit.record(runtime().sessions, "sign-in", target_type="user", target_id=user.username,
                 detail={"method": "oidc", "issuer": user.oidc_issuer})
    return redirect(target)  # type: ignore[return-value]


@bp.post("/logout")
def logout() -> Response:
    who = g.console_identity
    if who is not None:
        audit.record(runtime().sessions, "sign-out", target_type="user", target_id=who.username)
    session.clear()
    return redirect(url_for("console_auth.login_form"))  # type: ignore[return-value]


def _me() -> StaffUser:
    user = db().get(StaffUser, identity().user_id)
    if user is None:
        from bridge.console.web import NotSignedIn

        raise NotSignedIn()
    return user


@bp.get("/account")
def account() -> Response:
    user = _me()
    pending = session.get("totp_pending")
    return render("account.html", user=user, min_password=MIN_PASSWORD,
                  totp_pending=pending, totp_uri=totp_uri(pending, user.username) if pending else None)


@bp.post("/account/password")
def change_password() -> Response:
    user = _me()
    current, new, again = (request.form.get(k) or "" for k in ("current", "new", "again"))
    problem = None
    if user.password_hash is None or not _matches(user.password_hash, current):
        problem = "wrong-current"
    elif new != again:
        problem = "mismatch"
    elif len(new) < MIN_PASSWORD:
        problem = "too-short"
    if problem:
        audit.record(runtime().sessions, "account.password", target_type="user", target_id=user.username,
                     outcome="failed", detail={"reason": problem})
        return render("account.html", 422, user=user, min_password=MIN_PASSWORD, problem=problem)
    user.password_hash = hash_password(new)
    db().commit()
    refresh_generation(user)
    audit.record(runtime().sessions, "account.password", target_type="user", target_id=user.username)
    return render("account.html", user=user, min_password=MIN_PASSWORD, done="password")


def _matches(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except Exception:  # noqa: BLE001 - any argon2 error means "no"
        return False


@bp.post("/account/totp")
def totp() -> Response:
    user = _me()
    step = request.form.get("step")
    if step == "start":
        session["totp_pending"] = new_totp_secret()
        return redirect(url_for("console_auth.account"))  # type: ignore[return-value]
    if step == "confirm":
        pending = session.get("totp_pending")
        used = totp_step(pending, request.form.get("code") or "") if pending else None
        if used is None:
            audit.record(runtime().sessions, "account.totp", target_type="user", target_id=user.username,
                         outcome="failed", detail={"step": "confirm"})
            return render("account.html", 422, user=user, min_password=MIN_PASSWORD, problem="totp-code",
                          totp_pending=pending, totp_uri=totp_uri(pending, user.username) if pending else None)
        user.totp_secret, user.totp_last_step = pending, used  # the code just typed cannot sign in
        session.pop("totp_pending", None)
    elif step == "disable":
        user.totp_secret, user.totp_last_step = None, None
    else:
        return redirect(url_for("console_auth.account"))  # type: ignore[return-value]
    db().commit()
    refresh_generation(user)
    audit.record(runtime().sessions, "account.totp", target_type="user", target_id=user.username,
                 detail={"step": step})
    return render("account.html", user=user, min_password=MIN_PASSWORD, done=f"totp-{step}")
