"""Defaults of ``EDC_BRIDGE``, applied by the plugin framework to the LMS and Studio settings.

Keys the operator sets win; everything missing gets its default, so a partial dict in ``lms.yml``
or a Tutor patch is enough. Required keys (SIDECAR_URL, SOURCE, API_KEY) have no default: the
bridge reports them as missing instead of guessing.
"""
from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    "TIMEOUT": 5,
    "EUROPASS_URL": "https://europass.europa.eu/en/wallet",
    "DEFAULT_LANGUAGE": "en",
    "STATUS_TIMEOUT": 1.5,
    "STATUS_CACHE_SECONDS": 60,
    "ELIGIBLE_MODES": None,
    "SEND_DELAY_SECONDS": 30,
    "RETRY_BASE_SECONDS": 60,
    "RETRY_MAX_SECONDS": 6 * 3600,
    "MAX_ATTEMPTS": 12,
}


def plugin_settings(settings: Any) -> None:
    """Fill in the defaults without overwriting what the operator configured."""
    settings.EDC_BRIDGE = {**DEFAULTS, **(getattr(settings, "EDC_BRIDGE", None) or {})}
