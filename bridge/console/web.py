"""What every console page and console API route shares: who is signed in, what they may do, CSRF,
and rendering in the reader's language.

Console blueprints are made with :func:`console_blueprint` (pages) or :func:`console_api_blueprint`
(JSON under ``/console/api``); views declare their permission with :func:`requires`. A person who
is not signed in is sent to the sign-in page (pages) or gets a 401 problem (API); one without the
permission gets a 403 page or problem, and the refusal is audited.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError, generate_csrf
from jinja2 import Environment
from sqlalchemy.orm import Session

from bridge import audit
from bridge.api.common import runtime
from bridge.console.accounts import identity_of
from bridge.console.nav import sections
from bridge.console.roles import ROLE_PERMISSIONS, Course, Grant, Identity
from bridge.db.models import StaffUser
from bridge.l10n import translated_environment
from bridge.problems import Problem, problem_response
from bridge.web.i18n import PAGE_LANGUAGES, human_duration, human_time

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
DOMAIN = "console"  # the console's own gettext catalogue (English and French)
API_PREFIX = "/console/api"
F = TypeVar("F", bound=Callable[..., Any])

# No script at all: every page works with plain links and forms.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class Forbidden(Exception):
    """The signed-in person lacks a permission (or the course is not theirs)."""


class NotSignedIn(Exception):
    """No console session."""


def db() -> Session:
    """A database session for this request, closed at its end."""
    if "console_db" not in g:
        g.console_db = runtime().sessions()
    return g.console_db


def identity() -> Identity:
    found = g.get("console_identity")
    if found is None:
        raise NotSignedIn()
    return found


def load_identity() -> None:
    """Who is calling: the admin bearer token (console API only) or the session's user."""
    g.console_identity = None
    authorization = request.headers.get("Authorization", "")
    if request.path.startswith(API_PREFIX) and authorization:
        token = runtime().settings.admin_token
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and token and hmac.compare_digest(given.strip().encode(), token.encode()):
            g.console_identity = Identity.build(None, "admin-token", "admin token", [Grant("admin")], kind="token")
            return
        raise Problem(401, "Unauthorized", "The Authorization header must be 'Bearer <admin token>'.",
                      kind="unauthorized", headers={"WWW-Authenticate": "Bearer"})
    user_id = session.get("user_id")
    if user_id is None:
        return
    user = db().get(StaffUser, user_id)
    if user is None or user.disabled or session.get("user_generation") != _generation(user):
        session.clear()  # the account was disabled, deleted or changed: sign out
        return
    g.console_identity = identity_of(user)


def _generation(user: StaffUser) -> str:
    """Changes when an admin changes the account's roles, password or status: older sessions end."""
    roles = ",".join(sorted(f"{r.role}:{r.source}:{r.course_id}" for r in user.roles))
    state = f"{user.password_hash or ''}|{int(user.disabled)}|{roles}"
    return hashlib.sha256(state.encode("utf-8")).hexdigest()[:32]


def sign_in(user: StaffUser, method: str) -> None:
    """Start a fresh session for ``user`` (new token: a session id seen before sign-in is worthless)."""
    lang = session.get("lang")
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    session.update({"user_id": user.id, "user_generation": _generation(user), "method": method})
    if lang:
        session["lang"] = lang
    g.console_identity = identity_of(user)


def refresh_generation(user: StaffUser) -> None:
    """After a person changes their own password or TOTP: keep this session, end the others."""
    session["user_generation"] = _generation(user)


def requires(permission: str) -> Callable[[F], F]:
    """Allow the view only to people holding ``permission`` (for some course at least)."""
    assert any(permission in p for p in ROLE_PERMISSIONS.values()), permission  # noqa: S101

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            who = identity()
            if not who.can(permission):
                deny(permission)
            return view(*args, **kwargs)

        guarded.permission = permission  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def deny(permission: str, course: Course | None = None) -> None:
    audit.record(runtime().sessions, "access.denied", target_type="page", target_id=request.path,
                 outcome="denied", detail={"permission": permission,
                                           **({"course": "/".join(course)} if course else {})})
    raise Forbidden()


def require_course(permission: str, source: str, course_id: str) -> None:
    if not identity().can(permission, (source, course_id)):
        deny(permission, (source, course_id))


def language() -> str:
    asked = (request.args.get("lang") or "").strip().lower()[:2]
    if asked in PAGE_LANGUAGES:
        session["lang"] = asked
        return asked
    if session.get("lang") in PAGE_LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(PAGE_LANGUAGES, default="en") or "en"


@lru_cache(maxsize=len(PAGE_LANGUAGES))
def environment(lang: str) -> Environment:
    env = translated_environment(TEMPLATE_DIR, lang, autoescape_strings=True, domain=DOMAIN)
    env.filters["when"] = lambda value: human_time(value.isoformat() if hasattr(value, "isoformat") else value,
                                                   lang)
    env.filters["duration"] = lambda value: human_duration(value, lang)
    return env


def render(name: str, status: int = 200, **context: Any) -> Response:
    lang = language()
    who = g.get("console_identity")
    menu = [{"title": s.title, "url": url_for(s.endpoint), "key": s.key} for s in sections()
            if who is not None and who.can(s.permission)]
    here = request.full_path.rstrip("?")
    switch = {code: _with_lang(here, code) for code in PAGE_LANGUAGES}
    context.setdefault("done", request.args.get("done"))
    html = environment(lang).get_template(name).render(
        lang=lang, me=who, menu=menu, csrf_token=generate_csrf, switch=switch,
        css=url_for("console_auth.static", filename="console.css"), request_path=request.path, **context)
    return Response(html, status=status, mimetype="text/html")


def _with_lang(path: str, lang: str) -> str:
    from urllib.parse import parse_qsl, urlencode

    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"] + [("lang", lang)]
    return f"{parts.path}?{urlencode(query)}"


def safe_next(target: str | None) -> str:
    """Only a console path of this site (no scheme, no host, no '//'): no open redirect."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("console_dashboard.dashboard")


def _page_errors(bp: Blueprint) -> None:
    @bp.errorhandler(NotSignedIn)
    def _login(_: NotSignedIn) -> Response:
        return redirect(url_for("console_auth.login_form", next=request.full_path.rstrip("?")))  # type: ignore[return-value]

    @bp.errorhandler(Forbidden)
    def _forbidden(_: Forbidden) -> Response:
        return render("forbidden.html", 403)

    @bp.errorhandler(CSRFError)
    def _csrf(_: CSRFError) -> Response:
        return render("csrf.html", 400)


def _api_errors(bp: Blueprint) -> None:
    @bp.errorhandler(NotSignedIn)
    def _login(_: NotSignedIn) -> Response:
        return problem_response(Problem(401, "Unauthorized", "Sign in to the console (session cookie) or send "
                                        "'Authorization: Bearer <admin token>'.", kind="unauthorized",
                                        headers={"WWW-Authenticate": "Bearer"}))

    @bp.errorhandler(Forbidden)
    def _forbidden(_: Forbidden) -> Response:
        return problem_response(Problem(403, "Forbidden", "Your roles do not allow this.", kind="forbidden"))

    @bp.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Response:
        return problem_response(Problem(400, "Bad Request", f"CSRF check failed: {exc.description} "
                                        "(send the X-CSRFToken header).", kind="csrf-failed"))


def _common(bp: Blueprint) -> None:
    @bp.before_request
    def _before() -> None:
        load_identity()
        if request.method not in ("GET", "HEAD", "OPTIONS") and g.console_identity is not None \
                and g.console_identity.kind == "token":
            return  # the bearer token is no cookie: no cross-site request can carry it
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            current_app.extensions["csrf"].protect()

    @bp.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers["X-Frame-Options"] = "DENY"
        return response


def console_blueprint(name: str, import_name: str, url_prefix: str = "/console", **options: Any) -> Blueprint:
    """A blueprint of console pages: identity loaded, CSRF checked on every form, HTML errors."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix, **options)
    _common(bp)
    _page_errors(bp)
    return bp


def console_api_blueprint(name: str, import_name: str, url_prefix: str = API_PREFIX) -> Blueprint:
    """A blueprint of console JSON routes: same roles as the pages, problem+json errors."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    _common(bp)
    _api_errors(bp)
    return bp


def close_db(_: BaseException | None = None) -> None:
    found = g.pop("console_db", None)
    if found is not None:
        found.close()
