"""Language choice and Jinja environments of the public pages (English and French).

The pages use the sidecar's shared gettext catalogue through ``bridge.l10n``, one environment
per language. Unlike e-mails, string templates autoescape too and undefined values render empty
(Jinja's default); the filters format dates, durations and links in the reader's language.
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from babel.dates import format_datetime
from babel.units import format_unit
from flask import Request
from jinja2 import Environment

from bridge.l10n import translated_environment

PAGE_LANGUAGES = ("en", "fr")
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def choose_language(request: Request) -> str:
    """``?lang=`` when it names a page language, else the best Accept-Language match, else English."""
    asked = (request.args.get("lang") or "").replace("_", "-").split("-", 1)[0].strip().lower()
    if asked in PAGE_LANGUAGES:
        return asked
    return request.accept_languages.best_match(PAGE_LANGUAGES, default="en") or "en"


@lru_cache(maxsize=len(PAGE_LANGUAGES))
def environment(lang: str) -> Environment:
    env = translated_environment(TEMPLATE_DIR, lang, autoescape_strings=True)
    env.filters["when"] = lambda value: human_time(value, lang)
    env.filters["http_url"] = is_http_url
    env.filters["duration"] = lambda value: human_duration(value, lang)
    return env


def render(name: str, lang: str, **context: object) -> str:
    return environment(lang).get_template(name).render(lang=lang, **context)


_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_DURATION_UNITS = ("year", "month", "week", "day", "hour", "minute", "second")


def human_duration(value: object, lang: str) -> str:
    """An ISO 8601 duration (``PT125H``, ``P2M``) in words ("125 heures"); anything else as given."""
    if not isinstance(value, str):
        return "" if value is None else str(value)
    match = _DURATION.match(value.strip())
    if not match or not any(match.groups()):
        return value
    parts = [format_unit(int(amount), f"duration-{unit}", length="long", locale=lang)
             for amount, unit in zip(match.groups(), _DURATION_UNITS, strict=True) if amount]
    return ", ".join(parts)


def is_http_url(value: object) -> bool:
    """Whether a credential-supplied address may become a link (http/https with a host only)."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def human_time(value: object, lang: str) -> str:
    """An ISO 8601 date-time in the reader's conventions; anything unparseable is shown as given."""
    if not isinstance(value, str) or not value:
        return "" if value is None else str(value)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return format_datetime(moment.astimezone(dt.UTC), format="medium", tzinfo=dt.UTC, locale=lang) + " UTC"
