"""The dashboard: what was issued, what waits, what failed and why, and the health of the parts."""
from __future__ import annotations

from flask import Response, redirect, url_for

from bridge.api.common import runtime
from bridge.console import health, queries
from bridge.console.nav import N_, Section, register_section
from bridge.console.roles import CREDENTIALS_READ, DASHBOARD, SETTINGS_READ
from bridge.console.web import console_blueprint, db, identity, render, requires

bp = console_blueprint("console_dashboard", __name__)
register_section(Section("dashboard", N_("Dashboard"), "console_dashboard.dashboard", DASHBOARD, 10))


@bp.get("")
def root() -> Response:
    return redirect(url_for("console_dashboard.dashboard"))  # type: ignore[return-value]


@bp.get("/")
@requires(DASHBOARD)
def dashboard() -> Response:
    who = identity()
    figures = queries.dashboard(db(), who) if who.can(CREDENTIALS_READ) else None
    checks, days = health.checks(runtime().context.services) if who.can(SETTINGS_READ) else ([], None)
    return render("dashboard.html", figures=figures, checks=checks, seal_days=days)
