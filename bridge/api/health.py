"""Liveness/readiness and metrics endpoints (unauthenticated, no personal data)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from bridge.api.common import runtime
from bridge.api.inputs import Answer, operation

bp = Blueprint("health", __name__)


def _database() -> dict[str, Any]:
    try:
        with runtime().sessions() as session:
            session.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": f"database unreachable ({type(exc).__name__})"}


def _broker() -> dict[str, Any]:
    url = runtime().settings.broker_url
    if not url:
        return {"ok": True, "mode": "in-process"}
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "mode": "celery"}
    except Exception as exc:
        return {"ok": False, "mode": "celery", "error": f"broker unreachable ({type(exc).__name__})"}


def _key_source() -> dict[str, Any]:
    services = runtime().context.services
    try:
        cert = services.key_source.certificate
    except Exception as exc:
        return {"ok": False, "error": f"eSeal not available ({type(exc).__name__})"}
    try:
        issuer = services.issuer  # the certificate must name the organisation as ELM requires
    except ValueError as exc:
        return {"ok": False, "error": f"the eSeal certificate cannot issue credentials: {exc}"}
    not_after = cert.not_valid_after_utc
    expired = not_after <= dt.datetime.now(dt.UTC)
    result: dict[str, Any] = {"ok": not expired, "not_after": not_after.isoformat(),
                              "organization_identifier": issuer.eidas_identifier}
    if expired:
        result["error"] = "the eSeal certificate has expired"
    return result


def _public_url() -> dict[str, Any]:
    """Credentials carry EDC_PUBLIC_URL for ever: a real seal with a loopback one is unusable."""
    from bridge.public_url import problem

    services = runtime().context.services
    found = problem(runtime().settings.env)
    if found is None:
        return {"ok": True, "url": runtime().settings.public_url}
    try:
        dev = services.uses_dev_seal
    except Exception:  # the key source check reports that one
        dev = runtime().settings.dev_seal
    if dev:
        return {"ok": True, "warning": f"{found} (tolerated with the development seal)"}
    return {"ok": False, "error": f"sealing refused: {found}"}


@operation(bp, "GET", "/healthz", auth="public", tags=("service",),
           responses=(Answer(200, "All usable"), Answer(503, "One is not usable")))
def healthz() -> tuple[Response, int]:
    """200 when the database, the broker, the eSeal and the public URL are usable, else 503 with which is not."""
    checks = {"database": _database(), "broker": _broker(), "key_source": _key_source(),
              "public_url": _public_url()}
    ok = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ok" if ok else "unavailable", "checks": checks}), 200 if ok else 503


@operation(bp, "GET", "/metrics", auth="public", tags=("service",),
           responses=(Answer(200, "Prometheus text format", "text/plain"),))
def metrics() -> Response:
    """Prometheus metrics."""
    return runtime().metrics.render()
