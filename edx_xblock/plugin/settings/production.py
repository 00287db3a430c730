"""Production: the ``EDC_BRIDGE`` dict may also come from the YAML config (``ENV_TOKENS``/``AUTH_TOKENS``).

The API key belongs in the auth tokens (the secrets file) rather than the env tokens.
"""
from __future__ import annotations

from typing import Any

from edx_xblock.plugin.settings.common import DEFAULTS


def plugin_settings(settings: Any) -> None:
    merged = {**DEFAULTS, **(getattr(settings, "EDC_BRIDGE", None) or {})}
    for tokens in ("ENV_TOKENS", "AUTH_TOKENS"):
        merged.update((getattr(settings, tokens, None) or {}).get("EDC_BRIDGE") or {})
    settings.EDC_BRIDGE = merged
