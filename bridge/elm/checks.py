"""Checks of values the documents' models (``bridge.elm.fields``) do not cover: the issuer read from
the seal certificate, URLs, embedded images, and calendar arithmetic on durations.

Each check reports into a Collector under the caller's field path and returns the normalised
value (or None), so one pass over a document finds every problem. Messages say what is expected
and never echo the value, since values may be personal data.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import re
from datetime import MAXYEAR, MINYEAR, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bridge.elm.codelists import LANGUAGES
from bridge.elm.errors import Collector
from bridge.elm.fields import DURATION_RE, EMAIL_PATTERN, LANGUAGE_TAG_PATTERN

EMAIL_RE = re.compile(EMAIL_PATTERN)
MAX_TEXT = 4000
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text(c: Collector, field: str, value: Any, *, max_len: int = MAX_TEXT) -> str | None:
    if not isinstance(value, str) or not value.strip():
        c.add(field, "expected a non-empty string")
        return None
    if len(value) > max_len or CONTROL_CHARS.search(value):
        c.add(field, f"expected at most {max_len} characters without control characters")
        return None
    return value.strip()


def lang_map(
    c: Collector, field: str, value: Any, *, required: bool = True, max_len: int = MAX_TEXT
) -> dict[str, str] | None:
    """A language map: ISO 639-1 codes we support -> non-empty text."""
    if value is None and not required:
        return None
    if not isinstance(value, dict) or not value:
        c.add(field, 'expected a language map like {"en": "..."} with at least one language')
        return None
    out: dict[str, str] = {}
    for lang, txt in value.items():
        if lang not in LANGUAGES:
            c.add(
                f"{field}.{lang}",
                f"expected an ISO 639-1 language code this bridge supports ({', '.join(sorted(LANGUAGES))})",
            )
            continue
        checked = text(c, f"{field}.{lang}", txt, max_len=max_len)
        if checked is not None:
            out[lang] = checked
    return out if len(out) == len(value) else None


def url(c: Collector, field: str, value: Any, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or len(value) > 2000
        or any(ch.isspace() for ch in value)
    ):
        c.add(field, "expected an absolute http(s) URL")
        return None
    return value


def add_duration(start: datetime, iso: str) -> datetime:
    """``start`` + an ISO 8601 duration; years and months are calendar steps (day clamped to the month).

    Bounded work whatever the input: a result beyond what ``datetime`` holds raises OverflowError
    instead of searching for a valid day (intake refuses durations over a century anyway).
    """
    m = DURATION_RE.fullmatch(iso)
    if not m or iso in ("P", "PT") or iso.endswith("T"):
        raise ValueError("not an ISO 8601 duration")
    years, months, weeks, days, hours, minutes = (int(g or 0) for g in m.groups()[:6])
    seconds = float(m.group(7) or 0)
    month_index = start.month - 1 + months + 12 * years
    year, month = start.year + month_index // 12, month_index % 12 + 1
    if not MINYEAR <= year <= MAXYEAR:
        raise OverflowError("the date is out of range")
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day) + timedelta(
        weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def image_data_url(c: Collector, field: str, value: str) -> tuple[str, bytes] | None:
    """``data:image/png|jpeg;base64,...`` -> (\"PNG\"|\"JPEG\", bytes), checking the magic number."""
    m = re.fullmatch(r"^data:image/(png|jpeg);base64,([A-Za-z0-9+/=\s]+)$", value)
    if not m:
        c.add(field, "expected a data:image/png;base64,… or data:image/jpeg;base64,… URL, or an https URL")
        return None
    try:
        raw = base64.b64decode(m.group(2), validate=False)
    except (binascii.Error, ValueError):
        raw = b""
    kind = "PNG" if m.group(1) == "png" else "JPEG"
    magic = b"\x89PNG\r\n\x1a\n" if kind == "PNG" else b"\xff\xd8\xff"
    if not raw.startswith(magic) or len(raw) > 2_000_000:
        c.add(field, f"expected a valid base64 {kind} image of at most 2 MB")
        return None
    return kind, raw


LANG_TAG_RE = re.compile(LANGUAGE_TAG_PATTERN)
