"""Health of what issuance depends on, for the dashboard: the eSeal certificate, the time-stamping
authority, the Europass wallet and the SMTP server.

Each probe is bounded (a few seconds) and its answer cached for a minute, so a hung server slows
at most one dashboard view per minute and never blocks a page for long.
"""
from __future__ import annotations

import datetime as dt
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from bridge.tasks.services import Services

TIMEOUT = 3.0
CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Check:
    name: str
    state: str          # ok | warning | failing | off
    detail: str


_cache: dict[tuple[str, str], tuple[float, Check]] = {}
_lock = threading.Lock()


def _cached(key: tuple[str, str], probe: Callable[[], Check]) -> Check:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    result = probe()
    with _lock:
        _cache[key] = (now, result)
    return result


def seal_certificate(services: Services, now: dt.datetime | None = None) -> tuple[Check, int | None]:
    """The eSeal's state and the days left before its certificate expires."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        cert = services.key_source.certificate
    except Exception as exc:  # noqa: BLE001 - shown on the dashboard, not raised
        return Check("seal", "failing", f"the eSeal is not available ({type(exc).__name__})"), None
    days = (cert.not_valid_after_utc - now).days
    if days < 0:
        return Check("seal", "failing", "the eSeal certificate has expired"), days
    state = "warning" if days < 30 else "ok"
    return Check("seal", state, f"valid until {cert.not_valid_after_utc.date().isoformat()}"), days


def _http(name: str, url: str | None) -> Check:
    if not url:
        return Check(name, "off", "not configured")

    def probe() -> Check:
        try:
            answer = requests.head(url, timeout=TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            return Check(name, "failing", f"unreachable ({type(exc).__name__})")
        state = "failing" if answer.status_code >= 500 else "ok"
        return Check(name, state, f"HTTP {answer.status_code} from {urlsplit(url).netloc}")

    return _cached((name, url), probe)


def _smtp(env: dict[str, Any]) -> Check:
    host = env.get("EDC_SMTP_HOST")
    if not host:
        return Check("smtp", "off", "no SMTP server: e-mails are written to the outbox folder")
    security = (env.get("EDC_SMTP_SECURITY") or "starttls").lower()
    port = int(env.get("EDC_SMTP_PORT") or {"ssl": 465, "none": 25}.get(security, 587))

    def probe() -> Check:
        try:
            client = (smtplib.SMTP_SSL if security == "ssl" else smtplib.SMTP)(host, port, timeout=TIMEOUT)
            try:
                code, _ = client.noop()
            finally:
                try:
                    client.quit()
                except smtplib.SMTPException:
                    client.close()
        except (OSError, smtplib.SMTPException) as exc:
            return Check("smtp", "failing", f"{host}:{port} unreachable ({type(exc).__name__})")
        return Check("smtp", "ok" if code == 250 else "warning", f"{host}:{port} answers {code}")

    return _cached(("smtp", f"{host}:{port}"), probe)


def checks(services: Services) -> tuple[list[Check], int | None]:
    seal, days = seal_certificate(services)
    settings = services.settings
    return [seal, _http("tsa", settings.tsa_url), _http("wallet", settings.wallet_url),
            _smtp(dict(settings.env))], days
