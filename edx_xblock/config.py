"""Configuration of the Open edX side, read from the Django setting ``EDC_BRIDGE`` (a dict).

One dict serves the XBlock and the plugin app, so an operator configures the bridge once (in
``lms.yml``/``cms.yml``, a Tutor patch or a settings file). The XBlock may also get a per-type
bucket from the runtime's ``settings`` service (``XBLOCK_SETTINGS["EdcCredentialBlock"]``), which
takes precedence key by key. Messages name the key at fault, never a secret's value.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_EUROPASS_URL = "https://europass.europa.eu/en/wallet"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names ``EDC_BRIDGE[KEY]``."""


@dataclass(frozen=True)
class BridgeConfig:
    """Resolved settings (see docs/openedx.md for the table)."""

    sidecar_url: str
    source: str
    api_key: str = field(repr=False)
    timeout: float = 5.0
    awarding_body: Mapping[str, Any] | None = None
    assessment: Mapping[str, Any] | None = None
    policy: Mapping[str, Any] | None = None
    europass_url: str = DEFAULT_EUROPASS_URL
    support_contact: str = ""
    default_language: str = "en"
    status_timeout: float = 1.5
    status_cache_seconds: int = 60
    eligible_modes: tuple[str, ...] | None = None
    send_delay_seconds: int = 30
    retry_base_seconds: int = 60
    retry_max_seconds: int = 6 * 3600
    max_attempts: int = 12


def _key(name: str) -> str:
    return f"EDC_BRIDGE[{name!r}]"


def _positive(raw: Mapping[str, Any], name: str, default: float, kind: type) -> Any:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{_key(name)} must be a positive number")
    return kind(value)


def _api_key(raw: Mapping[str, Any]) -> str:
    key = raw.get("API_KEY")
    path = raw.get("API_KEY_FILE") or os.environ.get("EDC_BRIDGE_API_KEY_FILE")
    if not key and path:
        try:
            key = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{_key('API_KEY_FILE')}: cannot read the file ({exc.strerror})") from None
    if not key:
        key = os.environ.get("EDC_BRIDGE_API_KEY")
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(f"{_key('API_KEY')} (or API_KEY_FILE) is not set: the source's API key from "
                          "'edc-bridge sources add' is needed to sign requests")
    return key.strip()


def _modes(raw: Mapping[str, Any]) -> tuple[str, ...] | None:
    """``ELIGIBLE_MODES``: None follows Open edX (every mode but audit); else the enrollment modes listed."""
    value = raw.get("ELIGIBLE_MODES")
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list | tuple) or not value \
            or not all(isinstance(m, str) and m.strip() for m in value):
        raise ConfigError(f"{_key('ELIGIBLE_MODES')} must be a non-empty list of enrollment modes, "
                          "such as [\"verified\", \"professional\"], or None")
    return tuple(m.strip() for m in value)


def _non_negative(raw: Mapping[str, Any], name: str, default: int) -> int:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{_key(name)} must be a whole number of seconds, 0 or more")
    return value


def _mapping(raw: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = raw.get(name)
    if value is not None and not isinstance(value, Mapping):
        raise ConfigError(f"{_key(name)} must be a dict")
    return value


def load_config(raw: Mapping[str, Any] | None) -> BridgeConfig:
    """Validate the ``EDC_BRIDGE`` dict; raises :class:`ConfigError` naming the first bad key."""
    if not isinstance(raw, Mapping):
        raise ConfigError("the Django setting EDC_BRIDGE is missing or not a dict")
    url = raw.get("SIDECAR_URL")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{_key('SIDECAR_URL')} must be the sidecar's http(s) base URL")
    source = raw.get("SOURCE")
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"{_key('SOURCE')} must name the source registered in the sidecar")
    europass = raw.get("EUROPASS_URL", DEFAULT_EUROPASS_URL)
    if not isinstance(europass, str) or urlsplit(europass).scheme not in ("http", "https"):
        raise ConfigError(f"{_key('EUROPASS_URL')} must be an http(s) URL")
    language = raw.get("DEFAULT_LANGUAGE", "en")
    if not isinstance(language, str) or len(language) != 2:
        raise ConfigError(f"{_key('DEFAULT_LANGUAGE')} must be a two-letter language code")
    return BridgeConfig(
        sidecar_url=url.rstrip("/"),
        source=source.strip(),
        api_key=_api_key(raw),
        timeout=_positive(raw, "TIMEOUT", 5.0, float),
        awarding_body=_mapping(raw, "AWARDING_BODY"),
        assessment=_mapping(raw, "ASSESSMENT"),
        policy=_mapping(raw, "POLICY"),
        europass_url=europass,
        support_contact=str(raw.get("SUPPORT_CONTACT") or ""),
        default_language=language.lower(),
        status_timeout=_positive(raw, "STATUS_TIMEOUT", 1.5, float),
        status_cache_seconds=_non_negative(raw, "STATUS_CACHE_SECONDS", 60),
        eligible_modes=_modes(raw),
        send_delay_seconds=_non_negative(raw, "SEND_DELAY_SECONDS", 30),
        retry_base_seconds=_positive(raw, "RETRY_BASE_SECONDS", 60, int),
        retry_max_seconds=_positive(raw, "RETRY_MAX_SECONDS", 6 * 3600, int),
        max_attempts=_positive(raw, "MAX_ATTEMPTS", 12, int),
    )


def django_config(overrides: Mapping[str, Any] | None = None) -> BridgeConfig:
    """``settings.EDC_BRIDGE`` with ``overrides`` (an XBlock settings bucket) applied on top."""
    from django.conf import settings

    merged = dict(getattr(settings, "EDC_BRIDGE", None) or {})
    merged.update(overrides or {})
    return load_config(merged)
