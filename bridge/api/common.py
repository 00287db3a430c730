"""Helpers every handler uses: the app runtime, authentication, status links.

Request validation (JSON parsing included) is the input layer's, ``bridge.api.inputs``."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

from bridge.auth import Authenticator, Principal
from bridge.config import Settings
from bridge.db.models import utcnow
from bridge.metrics import Metrics
from bridge.tasks.dispatch import Dispatcher
from bridge.tasks.pipeline import Context


@dataclass
class Runtime:
    """Everything a request needs, built once by :func:`bridge.app.create_app`."""

    settings: Settings
    sessions: sessionmaker[Session]
    authenticator: Authenticator
    dispatcher: Dispatcher
    context: Context
    metrics: Metrics
    clock: Callable[[], dt.datetime] = field(default=utcnow)
    """Intake's idea of now (completion dates may not lie in the future); tests pin it."""
    verify_clock: Callable[[], dt.datetime] = field(default=utcnow)
    """The validation time of verification reports (``/verify``, the API, learners' pages); tests pin it."""


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


def status_url(path: str) -> str:
    return f"{runtime().settings.public_url}{path}"
