"""Translations of the block (English and French), gettext domain ``text`` under ``translations/``.

That layout is the one Open edX's XBlock i18n service looks for, and loading it here as well makes
the workbench (whose i18n service is plain Django) render the same French strings.
"""
from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path
from typing import Any

LOCALE_DIR = Path(__file__).with_name("translations")
DOMAIN = "text"
LANGUAGES = ("en", "fr")


@lru_cache(maxsize=8)
def translation(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang], fallback=True)


def current_language(i18n_service: Any = None) -> str:
    """Two-letter code of the language the page is rendered in (Django's active language)."""
    lang = None
    getter = getattr(i18n_service, "get_language", None) if i18n_service is not None else None
    if callable(getter):
        lang = getter()
    if not lang:
        from django.utils import translation as django_translation

        lang = django_translation.get_language()
    return (lang or "en").split("-")[0].split("_")[0].lower()
