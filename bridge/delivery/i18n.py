"""Language choice and translated Jinja environments for learner-facing messages.

Learners get mail in their own language when a gettext catalogue exists under ``bridge/i18n``
(compiled by ``scripts/i18n.sh``) and in English otherwise, so an unexpected language code such as
``pt-BR`` or ``FR_be`` never breaks delivery. One Jinja environment per language is cached (see
``bridge.l10n`` for why).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, StrictUndefined

from bridge.l10n import CATALOGUE_DIR, DEFAULT_LANGUAGE, DOMAIN, translated_environment

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "email"


@lru_cache(maxsize=1)
def available_languages() -> frozenset[str]:
    """Languages with a compiled catalogue; English is always there (its texts are the msgids)."""
    found = {p.parent.parent.name for p in CATALOGUE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")}
    return frozenset(found | {DEFAULT_LANGUAGE})


def negotiate(lang: str | None) -> str:
    """Reduce a language tag (``fr``, ``fr-BE``, ``FR_fr``) to a language we have, else English."""
    if not lang:
        return DEFAULT_LANGUAGE
    primary = lang.replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary in available_languages() else DEFAULT_LANGUAGE


@lru_cache(maxsize=32)
def environment(lang: str) -> Environment:
    """A Jinja environment rendering the e-mail templates with ``lang``'s catalogue installed.

    HTML templates autoescape; ``.txt`` templates do not, so names with ``<`` or ``&`` come out
    literally in the plain-text part and escaped in the HTML part. A missing variable is an error,
    never a silently blank line in a learner's mail.
    """
    return translated_environment(TEMPLATE_DIR, lang, autoescape_strings=False,
                                  undefined=StrictUndefined, keep_trailing_newline=True)
