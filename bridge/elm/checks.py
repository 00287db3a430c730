"""Typed checks shared by the template and completion models.

Each check reports into a Collector under the caller's field path and returns the normalised
value (or None), so one pass over a document finds every problem. Messages say what is expected
and never echo the value, since values may be personal data.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bridge.elm.codelists import LANGUAGES
from bridge.elm.errors import Collector

EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
DURATION_RE = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
ESCO_SKILL_RE = re.compile(
    r"^http://data\.europa\.eu/esco/skill/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
MAX_TEXT = 4000
MAX_NAME = 200
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text(
    c: Collector, field: str, value: Any, *, max_len: int = MAX_TEXT, required: bool = True
) -> str | None:
    if value is None and not required:
        return None
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


def language(c: Collector, field: str, value: Any, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or value not in LANGUAGES:
        c.add(field, "expected an ISO 639-1 language code this bridge supports")
        return None
    return value


def number(
    c: Collector,
    field: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    required: bool = True,
) -> float | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        c.add(field, "expected a number")
        return None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        c.add(field, f"expected a number between {minimum} and {maximum}")
        return None
    return value


def email(c: Collector, field: str, value: Any, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > 254 or not EMAIL_RE.fullmatch(value):
        c.add(field, "expected an email address like name@example.org")
        return None
    return value


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


def duration(c: Collector, field: str, value: Any, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not DURATION_RE.fullmatch(value):
        c.add(field, "expected an ISO 8601 duration like PT125H or P1Y")
        return None
    return value


def add_duration(start: datetime, iso: str) -> datetime:
    """``start`` + an ISO 8601 duration; years and months are calendar steps (day clamped)."""
    m = DURATION_RE.fullmatch(iso)
    if not m:
        raise ValueError("not an ISO 8601 duration")
    years, months, weeks, days, hours, minutes = (int(g or 0) for g in m.groups()[:6])
    seconds = float(m.group(7) or 0)
    month_index = start.month - 1 + months + 12 * years
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = start.day
    while True:
        try:
            shifted = start.replace(year=year, month=month, day=day)
            break
        except ValueError:
            day -= 1
    return shifted + timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def timestamp(c: Collector, field: str, value: Any, *, required: bool = True) -> datetime | None:
    """An ISO 8601 date-time with a time zone (a naive time is ambiguous for a credential)."""
    if value is None and not required:
        return None
    parsed = None
    if isinstance(value, str) and "T" in value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None or not 1900 <= parsed.year <= 9999:
        c.add(field, "expected an ISO 8601 date-time with time zone, like 2026-11-20T10:00:00Z")
        return None
    return parsed.astimezone(UTC)


def day(c: Collector, field: str, value: Any, *, required: bool = True) -> date | None:
    if value is None and not required:
        return None
    try:
        parsed = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        parsed = None
    if parsed is None or not 1900 <= parsed.year <= datetime.now(UTC).year:
        c.add(field, "expected a past date YYYY-MM-DD")
        return None
    return parsed


def identifier(c: Collector, field: str, value: Any, *, max_len: int = 200) -> str | None:
    """An external identifier: a non-empty string (an integer is accepted and stringified)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > max_len or CONTROL_CHARS.search(value):
        c.add(field, f"expected a non-empty identifier of at most {max_len} characters")
        return None
    return value


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


def keys(c: Collector, field: str, value: dict[str, Any], allowed: set[str], required: set[str]) -> None:
    """Report unknown keys (likely typos) and missing required ones."""
    prefix = f"{field}." if field else ""
    for key in value:
        if key not in allowed:
            c.add(f"{prefix}{key}", "unknown field")
    for key in sorted(required - value.keys()):
        c.add(f"{prefix}{key}", "required field is missing")


def obj(c: Collector, field: str, value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        c.add(field or "(document)", "expected a JSON object")
        return None
    return value


LANG_TAG_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
