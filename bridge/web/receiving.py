"""What the verification page and ``POST /api/v1/verify`` share: the upload limit, the trust
anchors, and the recognition report wired to this sidecar's database and ESCO service.

| Variable | Default | Meaning |
|---|---|---|
| `EDC_VERIFY_MAX_BYTES` | `4194304` | Largest credential file accepted for verification (413 above). |
| `EDC_VERIFY_TRUST` | unset | What seals and time-stamps must chain to: CA certificates (a PEM/DER file or a directory of them). Unset: no seal is called valid (indeterminate, NO_CERTIFICATE_CHAIN_FOUND). |
"""  # noqa: E501 - the table is meant to be copied to the README as is
from __future__ import annotations

import logging
from typing import Any

from flask import Request, request

from bridge.api.common import runtime
from bridge.config import ConfigError, Settings
from bridge.recognition import SkillLabels, issued_lookup
from bridge.verify import verify_credential

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
# Multipart framing (boundaries, part headers) around the file itself.
FORM_OVERHEAD = 64 * 1024


class TooLarge(Exception):
    """The uploaded credential exceeds ``EDC_VERIFY_MAX_BYTES``."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def max_bytes(settings: Settings) -> int:
    raw = settings.env.get("EDC_VERIFY_MAX_BYTES")
    if not raw:
        return DEFAULT_MAX_BYTES
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError("EDC_VERIFY_MAX_BYTES must be a positive integer")
    return int(raw)


def allow_upload() -> None:
    """Raise the request body limit of the current request to the verification limit."""
    request.max_content_length = max_bytes(runtime().settings) + FORM_OVERHEAD


def uploaded_file(req: Request) -> bytes | None:
    """The credential file from a multipart form (field ``file``), or None when none was sent."""
    storage = req.files.get("file")
    if storage is None or (not storage.filename and not storage.content_length):
        return None
    limit = max_bytes(runtime().settings)
    data = storage.stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(limit)
    return data


def raw_body(req: Request) -> bytes:
    data = req.get_data(cache=False)
    limit = max_bytes(runtime().settings)
    if len(data) > limit:
        raise TooLarge(limit)
    return data


def _skill_labels() -> SkillLabels | None:
    try:
        return runtime().context.services.esco.labels
    except Exception as exc:  # the ESCO snapshot is optional for verification
        log.warning("ESCO labels unavailable for verification (%s)", type(exc).__name__)
        return None


def recognise_upload(data: bytes, lang: str) -> dict[str, Any]:
    """The verification report of an uploaded file, with revocation looked up in our database.

    The anchors are ``EDC_VERIFY_TRUST`` (certificates, or the folder ``edc-bridge trust update``
    writes); unset, no seal is ever called valid (the report says indeterminate and why). The
    validation time is ``Runtime.verify_clock`` (now; tests pin it).
    """
    rt = runtime()
    configured = rt.settings.env.get("EDC_VERIFY_TRUST") or None
    return verify_credential(data, trust=configured, lang=lang, lookup=issued_lookup(rt.sessions),
                             skill_labels=_skill_labels(), at=rt.verify_clock())
