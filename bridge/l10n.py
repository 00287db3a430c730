"""The sidecar's gettext catalogues and the translated Jinja environments built on them.

E-mails (``bridge.delivery``) and public pages (``bridge.web``) share one catalogue under
``bridge/i18n`` (a data folder maintained with ``scripts/i18n.sh``, hence this module's own name).
English texts are the msgids, so a language without a compiled catalogue falls back to English
instead of failing. Each caller builds one environment per language: gettext callables are
installed on an environment, and sharing one between languages would mix them up across threads.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

DEFAULT_LANGUAGE = "en"
DOMAIN = "messages"
CATALOGUE_DIR = Path(__file__).resolve().parent / "i18n"


@lru_cache(maxsize=32)
def translations(lang: str, domain: str = DOMAIN) -> Translations:
    """The catalogue for a language code (a null catalogue, hence English, when none is on disk)."""
    loaded = Translations.load(str(CATALOGUE_DIR), [lang], domain=domain)
    if not isinstance(loaded, Translations):  # NullTranslations: no catalogue on disk
        return Translations()
    return loaded


def translated_environment(template_dir: Path, lang: str, *, autoescape_strings: bool, domain: str = DOMAIN,
                           **options: Any) -> Environment:
    """A Jinja environment over ``template_dir`` with ``lang``'s catalogue installed (new-style gettext).

    ``.html`` templates always autoescape; ``autoescape_strings`` decides for templates built
    from strings. Other ``Environment`` options (``undefined``, ``keep_trailing_newline``…) pass
    through, so each caller keeps its own rendering rules.
    """
    env = Environment(
        loader=FileSystemLoader(str(template_dir)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=autoescape_strings),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        **options,
    )
    env.install_gettext_translations(translations(lang, domain), newstyle=True)  # type: ignore[attr-defined]
    return env
