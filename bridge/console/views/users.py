"""People and their roles (admins only): create local accounts or invite identity-provider users,
change roles, unlock, disable, reset a password or TOTP. Every change signs the person out."""
from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from bridge import audit
from bridge.api.common import runtime
from bridge.console.accounts import create_user, generate_password, hash_password, set_roles
from bridge.console.nav import N_, Section, register_section
from bridge.console.roles import SCOPED_ROLES, USERS_MANAGE, Grant
from bridge.console.sessions import end_user_sessions
from bridge.console.web import console_blueprint, db, identity, render, requires
from bridge.db.models import STAFF_ROLES, CourseTemplate, StaffUser

bp = console_blueprint("console_users", __name__)
register_section(Section("users", N_("People and roles"), "console_users.index", USERS_MANAGE, 70))


@bp.errorhandler(NotFound)
def _missing(_: Any) -> Response:
    return render("not_found.html", 404)


def _courses() -> list[tuple[str, str]]:
    return [(s, c) for s, c in db().execute(select(CourseTemplate.source, CourseTemplate.course_id)
                                            .order_by(CourseTemplate.source, CourseTemplate.course_id))]


def _grants() -> tuple[list[Grant], str | None]:
    """Roles ticked in the form; course team roles from the 'courses' multi-select (source/course)."""
    grants = [Grant(role) for role in request.form.getlist("roles") if role in STAFF_ROLES and role not in SCOPED_ROLES]
    for value in request.form.getlist("courses"):
        source, _, course = value.partition("/")
        if not source or not course:
            return [], "course"
        grants.append(Grant("course_team", source, course))
    return grants, None


@bp.get("/users")
@requires(USERS_MANAGE)
def index(status: int = 200, **context: Any) -> Response:
    users = list(db().scalars(select(StaffUser).order_by(StaffUser.username)))
    return render("users.html", status, users=users, roles=[r for r in STAFF_ROLES if r not in SCOPED_ROLES],
                  courses=_courses(), **context)


@bp.post("/users")
@requires(USERS_MANAGE)
def create() -> Response:
    grants, problem = _grants()
    username = (request.form.get("username") or "").strip()
    local = request.form.get("local") == "1"
    password = generate_password() if local else None
    if problem:
        return index(422, problem=problem)
    try:
        user = create_user(db(), username, request.form.get("display_name") or username,
                           email=request.form.get("email"), password=password, grants=grants)
        db().commit()
    except ValueError as exc:
        db().rollback()
        return index(422, problem="user", message=str(exc))
    audit.record(runtime().sessions, "user.create", target_type="user", target_id=user.username,
                 detail={"roles": _describe(grants), "local": local})
    return index(created={"username": user.username, "password": password})


def _describe(grants: list[Grant]) -> str:
    return ", ".join(g.role + (f" {g.source}/{g.course_id}" if g.course else "") for g in grants) or "none"


def _user(user_id: int) -> StaffUser:
    user = db().get(StaffUser, user_id)
    if user is None:
        raise NotFound()
    return user


@bp.get("/users/<int:user_id>")
@requires(USERS_MANAGE)
def edit(user_id: int, status: int = 200, **context: Any) -> Response:
    user = _user(user_id)
    return render("user.html", status, user=user, roles=[r for r in STAFF_ROLES if r not in SCOPED_ROLES],
                  courses=_courses(), held={r.role for r in user.roles},
                  held_courses={f"{r.source}/{r.course_id}" for r in user.roles if r.role in SCOPED_ROLES},
                  **context)


@bp.post("/users/<int:user_id>")
@requires(USERS_MANAGE)
def update(user_id: int) -> Response:
    user = _user(user_id)
    action = request.form.get("action")
    detail: dict[str, Any] = {}
    password = None
    if action == "roles":
        grants, problem = _grants()
        if problem:
            return edit(user_id, 422, problem=problem)
        if user.id == identity().user_id and not any(g.role == "admin" for g in grants):
            return edit(user_id, 409, problem="self-admin")
        set_roles(user, grants)
        detail["roles"] = _describe(grants)
    elif action == "unlock":
        user.locked_until, user.failed_logins = None, 0
    elif action in ("disable", "enable"):
        if user.id == identity().user_id:
            return edit(user_id, 409, problem="self-disable")
        user.disabled = action == "disable"
    elif action == "reset-password":
        password = generate_password()
        user.password_hash = hash_password(password)
    elif action == "reset-totp":
        user.totp_secret = None
    else:
        return redirect(url_for("console_users.edit", user_id=user_id))  # type: ignore[return-value]
    ended = end_user_sessions(db(), user.id) if user.id != identity().user_id else 0
    db().commit()
    audit.record(runtime().sessions, f"user.{action}", target_type="user", target_id=user.username,
                 detail={**detail, "sessions_ended": ended})
    return edit(user_id, done=action, password=password)
