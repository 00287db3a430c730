"""Translations the Open edX way (OEP-58): the runtime's ``i18n`` service translates.

The catalogues live in ``edx_xblock/conf/locale/<lang>/LC_MESSAGES/django.po`` (the source layout of
OEP-58); an Open edX image places them under ``conf/plugins-locale/xblock.v1/edx_xblock/``, where
edx-platform's XBlock i18n service reads them (the Tutor plugin does it), and any Django runtime can
list ``LOCALE_DIR`` in ``LOCALE_PATHS``. The block never opens the files itself.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

LOCALE_DIR = Path(__file__).with_name("conf") / "locale"
DOMAIN = "django"
LANGUAGES = ("en", "fr")


def noop(text: str) -> str:
    """Marks a string for extraction; it is translated where it is shown."""
    return text


def gettext_of(i18n_service: Any) -> Any:
    """The service's ``gettext`` (edx-platform, the SDK workbench); identity without a service."""
    getter = getattr(i18n_service, "gettext", None) if i18n_service is not None else None
    return getter if callable(getter) else noop


def current_language(i18n_service: Any = None) -> str:
    """Two-letter code of the language the page is rendered in (Django's active language)."""
    lang = None
    getter = getattr(i18n_service, "get_language", None) if i18n_service is not None else None
    if callable(getter):
        try:
            lang = getter()
        except Exception:  # a translator object without get_language semantics
            lang = None
    if not isinstance(lang, str) or not lang:
        from django.utils import translation as django_translation

        lang = django_translation.get_language()
    return (lang or "en").split("-")[0].split("_")[0].lower()
