"""Moodle text → ELM language maps.

Moodle sites keep translations inside one text with the multilang filters
(``<span lang="fr" class="multilang">…</span>`` or ``{mlang fr}…{mlang}``); ELM wants
``{"fr": "…", "en": "…"}``. Texts without markup belong to the course's language.
"""
from __future__ import annotations

import html
import re

_SPAN = re.compile(r'<span\s+(?=[^>]*class="multilang")[^>]*lang="([A-Za-z_-]+)"[^>]*>(.*?)</span>',
                   re.IGNORECASE | re.DOTALL)
_MLANG = re.compile(r"\{mlang\s+([A-Za-z_-]+)\}(.*?)\{mlang\}", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def language_code(moodle_lang: str | None) -> str | None:
    """``fr_ca`` → ``fr``: ELM language maps use the ISO 639-1 code only."""
    if not moodle_lang:
        return None
    code = moodle_lang.strip().lower().replace("-", "_").split("_")[0]
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


def plain_text(value: str) -> str:
    """Strip tags and entities and fold whitespace, so HTML summaries become plain text."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", value))).strip()


def language_map(value: str | None, default_lang: str) -> dict[str, str]:
    """Split multilang markup into a language map; unmarked text goes to ``default_lang``."""
    if not value:
        return {}
    found: dict[str, str] = {}
    for pattern in (_SPAN, _MLANG):
        for lang, text in pattern.findall(value):
            code = language_code(lang) or ("other" if lang.lower() == "other" else None)
            cleaned = plain_text(text)
            if code and cleaned:
                found.setdefault(code, cleaned)
    if found:
        if "other" in found:  # {mlang other} is the fallback text: give it to the default language
            other = found.pop("other")
            found.setdefault(default_lang, other)
        return found
    cleaned = plain_text(value)
    return {default_lang: cleaned} if cleaned else {}
