"""Labels of coded values (ISCED-F, EQF, mode, learning setting, language…) in the reader's language.

Credentials carry each coded value as a skos Concept whose ``prefLabel`` is what the code list gives,
and the shipped code lists (XSD, ``data/codelists``) give English only. A French learner must not
read "Software and applications development and analysis" in a French e-mail, so labels are looked
up here for display:

- languages and countries come from CLDR (through Babel), which names every language and country in
  every locale;
- the other lists are translated in the ``codelists`` gettext catalogue (``bridge/i18n/<lang>/
  LC_MESSAGES/codelists.po``), whose message ids are the code lists' own English labels, extracted
  from the XSDs by :func:`extract_xsd` (``scripts/i18n.sh``).

The sealed credential keeps the code list's own labels; only what people read is translated.
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import cache, lru_cache
from typing import IO, Any

from babel import Locale, UnknownLocaleError
from babel.support import Translations
from lxml import etree

from bridge.elm import codelists
from bridge.l10n import CATALOGUE_DIR

DOMAIN = "codelists"
# The code lists whose concepts reach a credential and so a reader (see bridge.elm.assemble).
DISPLAYED = ("isced-f", "eqf", "europass-modes", "europass-learning-setting-types",
             "europass-learning-assessment-types", "europass-credential-types", "credit-points")
_LANGUAGE_AUTHORITY = codelists.AUTHORITY + "language/"
_COUNTRY_AUTHORITY = codelists.AUTHORITY + "country/"


@lru_cache(maxsize=32)
def _catalogue(lang: str) -> Translations:
    loaded = Translations.load(str(CATALOGUE_DIR), [lang], domain=DOMAIN)
    return loaded if isinstance(loaded, Translations) else Translations()


@cache
def _english() -> dict[str, str]:
    """Concept URI -> the code list's English label, over every displayed list."""
    labels: dict[str, str] = {}
    for name in DISPLAYED:
        labels.update(codelists.load(name).labels)
    return labels


@cache
def _iso_by_authority() -> dict[str, str]:
    return {auth: iso for iso, (auth, _en, _native) in codelists.LANGUAGES.items()}


@cache
def _country_by_authority() -> dict[str, str]:
    return {auth: iso for iso, (auth, _en) in codelists.COUNTRIES.items()}


def _locale(lang: str) -> Locale | None:
    try:
        return Locale.parse(lang.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None


def language_name(code: str, lang: str) -> str | None:
    """An ISO 639-1 code (``fr``) named in ``lang`` ("French", "français", "Französisch")."""
    locale = _locale(lang)
    name = locale.languages.get(code) if locale else None
    if name:
        return name
    entry = codelists.LANGUAGES.get(code)
    return entry[1] if entry else None


def label(uri: str | None, lang: str) -> str | None:
    """The label of a code-list concept in ``lang``; None for a URI this bridge does not know.

    Falls back to English for a language without a catalogue entry, never to nothing, so a caller
    can still show the credential's own ``prefLabel`` for unknown URIs only.
    """
    if not uri:
        return None
    if uri.startswith(_LANGUAGE_AUTHORITY):
        iso = _iso_by_authority().get(uri.removeprefix(_LANGUAGE_AUTHORITY))
        return language_name(iso, lang) if iso else None
    if uri.startswith(_COUNTRY_AUTHORITY):
        iso = _country_by_authority().get(uri.removeprefix(_COUNTRY_AUTHORITY))
        locale = _locale(lang)
        if iso is None:
            return None
        return (locale.territories.get(iso) if locale else None) or codelists.COUNTRIES[iso][1]
    english = _english().get(uri)
    if english is None:
        return None
    return _catalogue(lang).gettext(english) if english else None


def extract_xsd(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple]:
    """Babel extractor: the English labels of one shipped code list (XSD enumeration documentation).

    Registered in ``babel-codelists.cfg``; each message carries its concept URI as a comment so
    translators see which code it names.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.parse(fileobj, parser).getroot()
    xs = "{http://www.w3.org/2001/XMLSchema}"
    for enum in root.iter(f"{xs}enumeration"):
        doc = enum.find(f"{xs}annotation/{xs}documentation")
        text = " ".join((doc.text or "").split()) if doc is not None else ""
        if text:
            yield enum.sourceline or 0, "gettext", text, [enum.get("value") or ""]
