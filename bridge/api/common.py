"""Helpers every handler uses: the app runtime, authentication, JSON parsing, paging."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

from bridge.auth import Authenticator, Principal
from bridge.config import Settings
from bridge.metrics import Metrics
from bridge.problems import FieldProblem, Problem
from bridge.tasks.dispatch import Dispatcher
from bridge.tasks.pipeline import Context

MAX_PER_PAGE = 200


@dataclass
class Runtime:
    """Everything a request needs, built once by :func:`bridge.app.create_app`."""

    settings: Settings
    sessions: sessionmaker[Session]
    authenticator: Authenticator
    dispatcher: Dispatcher
    context: Context
    metrics: Metrics


def runtime() -> Runtime:
    return current_app.extensions["edc"]


def body_bytes() -> bytes:
    """The raw body, bounded by the route's size limit (werkzeug raises 413 beyond it)."""
    return request.get_data(cache=True)


def authenticate() -> Principal:
    """Authenticate the current request once (signature over the raw body) and remember the caller."""
    principal = g.get("edc_principal")
    if principal is None:
        principal = runtime().authenticator.authenticate(request, body_bytes())
        g.edc_principal = principal
    return principal


def json_body(*, optional: bool = False) -> Any:
    """Parse the body as JSON; malformed input is a 400 problem, never a 500."""
    raw = body_bytes()
    if not raw.strip():
        if optional:
            return None
        raise Problem(400, "Bad Request", "The request body must be a JSON document.", kind="invalid-json",
                      errors=[FieldProblem("", "body is empty")])
    mimetype = request.mimetype
    if mimetype and mimetype not in ("application/json", "application/ld+json") \
            and not mimetype.endswith("+json"):
        raise Problem(415, "Unsupported Media Type", "Send the body as application/json.",
                      kind="unsupported-media-type")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise Problem(400, "Bad Request", "The body must be UTF-8 encoded JSON.", kind="invalid-json",
                      errors=[FieldProblem("", "not UTF-8")]) from None
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f"line {exc.lineno}, column {exc.colno}: {exc.msg}" if isinstance(exc, json.JSONDecodeError) \
            else "nested too deeply"
        raise Problem(400, "Bad Request", f"The body is not valid JSON ({where}).", kind="invalid-json",
                      errors=[FieldProblem("", "not valid JSON")]) from None


def _reject_constant(name: str) -> None:
    """NaN and Infinity are not JSON (RFC 8259) and no database column could store them."""
    raise Problem(400, "Bad Request", f"The body is not valid JSON ({name} is not a JSON number).",
                  kind="invalid-json", errors=[FieldProblem("", f"{name} is not allowed")])


def json_object(*, optional: bool = False) -> dict[str, Any]:
    body = json_body(optional=optional)
    if body is None and optional:
        return {}
    if not isinstance(body, dict):
        raise Problem(422, "Validation failed", "The body must be a JSON object.", kind="validation-failed",
                      errors=[FieldProblem("", "expected a JSON object")])
    return body


def int_arg(name: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < minimum or (maximum is not None and int(raw) > maximum):
        bound = f" and at most {maximum}" if maximum is not None else ""
        raise Problem(400, "Bad Request", f"Query parameter '{name}' is invalid.", kind="invalid-parameter",
                      errors=[FieldProblem(name, f"expected an integer of at least {minimum}{bound}")])
    return int(raw)


def status_url(path: str) -> str:
    return f"{runtime().settings.public_url}{path}"
