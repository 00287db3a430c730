"""The audit log, newest first, filterable by person, action, target and date."""
from __future__ import annotations

import datetime as dt

from flask import Response, request
from sqlalchemy import func, select

from bridge.console.nav import N_, Section, register_section
from bridge.console.roles import AUDIT_READ
from bridge.console.web import console_blueprint, db, render, requires
from bridge.db.models import AuditEntry

bp = console_blueprint("console_audit", __name__)
register_section(Section("audit", N_("Audit log"), "console_audit.index", AUDIT_READ, 80))

PER_PAGE = 100


@bp.get("/audit")
@requires(AUDIT_READ)
def index() -> Response:
    query = select(AuditEntry)
    args = {k: (request.args.get(k) or "").strip()[:200] for k in ("actor", "action", "target", "day")}
    if args["actor"]:
        query = query.where(func.lower(AuditEntry.actor_name).like(f"%{args['actor'].lower()}%"))
    if args["action"]:
        query = query.where(AuditEntry.action.like(f"{args['action']}%"))
    if args["target"]:
        query = query.where(AuditEntry.target_id.like(f"%{args['target']}%"))
    problem = None
    if args["day"]:
        try:
            day = dt.datetime.combine(dt.date.fromisoformat(args["day"]), dt.time(), tzinfo=dt.UTC)
            query = query.where(AuditEntry.at >= day, AuditEntry.at < day + dt.timedelta(days=1))
        except ValueError:
            problem = "day"
    raw = request.args.get("page", "1")
    page = max(1, int(raw)) if raw.isdigit() and len(raw) < 7 else 1
    total = db().scalar(select(func.count()).select_from(query.subquery())) or 0
    entries = list(db().scalars(query.order_by(AuditEntry.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE)))
    return render("audit.html", 400 if problem else 200, entries=entries, args=args, page=page,
                  pages=max(1, (total + PER_PAGE - 1) // PER_PAGE), total=total, problem=problem)
