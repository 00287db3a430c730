"""Batches of completions and their progress (counted live from their credentials)."""
from __future__ import annotations

from flask import Response, request

from bridge.console import queries
from bridge.console.nav import N_, Section, register_section
from bridge.console.roles import BATCHES_READ
from bridge.console.web import console_blueprint, db, render, requires

bp = console_blueprint("console_batches", __name__)
register_section(Section("batches", N_("Batches"), "console_batches.index", BATCHES_READ, 25))


@bp.get("/batches")
@requires(BATCHES_READ)
def index() -> Response:
    raw = request.args.get("page", "1")
    page = max(1, int(raw)) if raw.isdigit() and len(raw) < 7 else 1
    items, total = queries.batches(db(), page)
    return render("batches.html", items=items, page=page, total=total,
                  pages=max(1, (total + queries.PER_PAGE - 1) // queries.PER_PAGE))
