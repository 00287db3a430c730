"""Whether ``EDC_PUBLIC_URL`` can go into sealed credentials.

The public URL is sealed into every credential (the course's ``learningOpportunity`` IRI) and printed
on the learner's page, e-mail and PDF (the QR code). A credential sealed with ``http://127.0.0.1:8080``
keeps that dead link for ever, so the sidecar refuses to seal with an unset or loopback public URL,
except with the development seal (trials on a laptop, whose credentials nobody should rely on).
"""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit


class PublicUrlRequired(RuntimeError):
    """Sealing is refused until ``EDC_PUBLIC_URL`` names an address others can reach."""


def problem(env: Mapping[str, str]) -> str | None:
    """What is wrong with ``EDC_PUBLIC_URL`` for sealed credentials, or None when it is usable."""
    raw = (env.get("EDC_PUBLIC_URL") or "").strip()
    if not raw:
        return "EDC_PUBLIC_URL is not set: credentials would link to http://127.0.0.1:8080 for ever"
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return "EDC_PUBLIC_URL must be an http(s) URL with a host name"
    if host == "localhost" or host.endswith(".localhost") or _is_loopback(host):
        return f"EDC_PUBLIC_URL points to this machine only ({host}): credentials would carry a dead link"
    return None


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def refusal(env: Mapping[str, str], *, dev_seal: bool) -> str | None:
    """The reason sealing is refused, or None: an unusable public URL is tolerated with the dev seal."""
    found = problem(env)
    return None if found is None or dev_seal else f"{found}; set it to the sidecar's public address"
