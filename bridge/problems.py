"""RFC 9457 problem details: the one error format of the sidecar.

Adapters act on ``status`` and show ``errors[].field`` to registrars, so every rejection names the
field at fault and nothing else (never a secret, never a stack trace).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from bridge.request_body import BodyTimeout

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://edc-bridge.invalid/problems/"
MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True)
class FieldProblem:
    """One offending field (dotted path, e.g. ``completions[3].learner.email``) and why."""

    field: str
    message: str


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem+json document."""

    def __init__(self, status: int, title: str, detail: str | None = None, *,
                 kind: str | None = None, errors: Iterable[FieldProblem] = (),
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.errors = list(errors)
        self.headers = headers or {}
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + self.kind, "title": self.title,
                                "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        body.update(self.extra)
        return body


def validation_problem(errors: list[FieldProblem], detail: str = "The request has invalid fields.",
                       **extra: Any) -> Problem:
    """422 listing every invalid field, so a registrar fixes all of them in one go."""
    return Problem(422, "Validation failed", detail, kind="validation-failed", errors=errors, **extra)


def problem_response(problem: Problem) -> Response:
    response = Response(json.dumps(problem.to_dict()), status=problem.status, mimetype=MEDIA_TYPE)
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def install(app: Flask) -> None:
    """Route every error, including werkzeug's own (404, 405, 413) and bugs, through problem+json."""

    @app.errorhandler(Problem)
    def _problem(problem: Problem) -> Response:
        return problem_response(problem)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        detail = exc.description
        if status == 413:
            detail = "The request body is larger than this route accepts."
        headers = {}
        if status == 405 and exc.get_response().headers.get("Allow"):
            headers["Allow"] = exc.get_response().headers["Allow"]
        return problem_response(Problem(status, exc.name, detail, headers=headers))

    @app.errorhandler(BodyTimeout)
    def _slow_body(exc: BodyTimeout) -> Response:
        return problem_response(Problem(408, "Request Timeout", f"The request body was not received within "
                                        f"{exc.seconds} s.", kind="request-timeout"))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # Logged with the type only: the message of an arbitrary exception may carry personal data.
        log.error("unhandled %s in request", type(exc).__name__, exc_info=app.debug)
        return problem_response(Problem(500, "Internal Server Error",
                                        "The sidecar failed; the error has been logged."))
