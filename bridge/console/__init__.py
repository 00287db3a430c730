"""The staff console: server-rendered pages under ``/console`` and their JSON API under ``/console/api``.

Sign-in through the institution's OpenID Connect provider or a local account; roles decide which
sections a person sees and which actions they may take (``roles``); sessions live in the database
(``sessions``); every form carries a CSRF token; every action leaves an audit entry (``audit``).
New sections plug in through ``nav.register_section`` and ``web.console_blueprint`` — see
docs/console.md.
"""
from __future__ import annotations

from flask import Flask, g, has_request_context
from flask_wtf.csrf import CSRFProtect

from bridge.console import oidc
from bridge.console.config import ConsoleSettings
from bridge.console.sessions import DatabaseSessionInterface
from bridge.console.traffic import TrafficCounter
from bridge.console.web import close_db
from bridge.db import history

COOKIE = "edc_console"


def _actor() -> str:
    """Who changes a course template right now, as its history shows it."""
    if not has_request_context():
        return "system"
    who = g.get("console_identity")
    if who is not None:
        return f"{who.display_name} ({who.username}, console)" if who.kind == "staff" else "admin token (console)"
    principal = g.get("edc_principal")
    if principal is not None:
        return "admin token (API)" if principal.is_admin else f"source {principal.source} (API)"
    return "unknown"


def install(app: Flask) -> None:
    """Add the console to the sidecar app built by ``bridge.app.create_app``."""
    from bridge.console import api, recognition_api
    from bridge.console.views import (
        audit_log,
        auth,
        batches,
        credentials,
        dashboard,
        recognition,
        sources,
        templates,
        users,
    )

    runtime = app.extensions["edc"]
    settings = ConsoleSettings.from_settings(runtime.settings)
    app.extensions["edc_console"] = settings
    app.secret_key = settings.secret_key
    app.config.update(WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None,
                      WTF_CSRF_HEADERS=["X-CSRFToken", "X-CSRF-Token"])
    CSRFProtect(app)
    app.session_interface = DatabaseSessionInterface(
        runtime.sessions, cookie_name=COOKIE, secure=settings.cookie_secure, idle=settings.session_idle,
        lifetime=settings.session_lifetime)
    if settings.oidc is not None:
        oidc.install(app, settings.oidc)
    traffic = TrafficCounter(runtime.sessions)
    traffic.install(app)
    app.extensions["edc_traffic"] = traffic
    history.actor_resolver = _actor
    for module in (auth, dashboard, credentials, batches, templates, sources, users, audit_log, recognition):
        app.register_blueprint(module.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(recognition_api.bp)
    app.teardown_appcontext(close_db)
