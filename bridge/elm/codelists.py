"""Controlled vocabularies: the shipped ELM code lists (XSD) plus small EU authority tables.

Coded values in an ELM credential are full skos Concepts (id, inScheme, prefLabel), and the
SHACL "full" shapes check the scheme, so every coded value is built here from one source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from lxml import etree

_XS = "{http://www.w3.org/2001/XMLSchema}"
AUTHORITY = "http://publications.europa.eu/resource/authority/"
ESCO_SKILL_SCHEME = "http://data.europa.eu/esco/concept-scheme/skills"


@dataclass(frozen=True)
class CodeList:
    """One ELM code list: its scheme URI and its concepts (URI -> English label)."""

    scheme: str
    labels: dict[str, str]

    def concept(self, uri: str) -> dict[str, Any]:
        return concept(uri, self.scheme, {"en": self.labels[uri]})

    def by_code(self, code: str) -> str | None:
        """The concept URI whose last path segment is ``code`` (e.g. ISCED-F ``0613``)."""
        uri = self.scheme.rsplit("/", 1)[0] + "/" + code
        return uri if uri in self.labels else None


def concept(uri: str, scheme: str, labels: dict[str, str], notation: str | None = None) -> dict[str, Any]:
    """A skos Concept node in the shape EDC writes it."""
    node: dict[str, Any] = {"id": uri, "type": "Concept", "inScheme": {"id": scheme, "type": "ConceptScheme"}}
    if notation:
        node["notation"] = notation
    node["prefLabel"] = dict(labels)
    return node


@cache
def load(name: str) -> CodeList:
    """Parse ``data/codelists/<name>.xsd`` once per process (no network, no entities)."""
    raw = resources.files("bridge.elm").joinpath("data", "codelists", f"{name}.xsd").read_bytes()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(raw, parser)
    labels: dict[str, str] = {}
    for enum in root.iter(f"{_XS}enumeration"):
        doc = enum.find(f"{_XS}annotation/{_XS}documentation")
        text = " ".join((doc.text or "").split()) if doc is not None else ""
        labels[enum.get("value")] = text
    return CodeList(scheme=root.get("targetNamespace"), labels=labels)


def eqf() -> CodeList:
    return load("eqf")


def isced_f() -> CodeList:
    return load("isced-f")


def credit_frameworks() -> CodeList:
    return load("credit-points")


def credential_types() -> CodeList:
    return load("europass-credential-types")


def assessment_types() -> CodeList:
    return load("europass-learning-assessment-types")


def learning_settings() -> CodeList:
    return load("europass-learning-setting-types")


def modes() -> CodeList:
    return load("europass-modes")


ECTS = "http://data.europa.eu/snb/education-credit/6fcec5c5af"

# Template keywords -> code list URIs. Slugs follow docs/architecture.md.
MODE_CODES = {
    "online": "http://data.europa.eu/snb/learning-assessment/920fbb3cbe",
    "blended": "http://data.europa.eu/snb/learning-assessment/e92d221e4d",
    "presential": "http://data.europa.eu/snb/learning-assessment/9191af2ed9",
    "work-based": "http://data.europa.eu/snb/learning-assessment/729f3bed4b",
    "project-based": "http://data.europa.eu/snb/learning-assessment/7813801c77",
    "research-lab-based": "http://data.europa.eu/snb/learning-assessment/ed4c557045",
}
LEARNING_SETTING_CODES = {
    "formal": "http://data.europa.eu/snb/learning-setting/6fd4685715",
    "non-formal": "http://data.europa.eu/snb/learning-setting/e207a81fc7",
}
CREDENTIAL_PROFILE_CODES = {
    "generic": "http://data.europa.eu/snb/credential/e34929035b",
    "qualification-award": "http://data.europa.eu/snb/credential/6cf8e68c43",
}
_ASSESSMENT_ALIASES = {"exam": "written-examination", "oral-exam": "oral-examination"}


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def assessment_type_uri(key: str) -> str | None:
    """Assessment type by slug of its label (``written-examination``), alias or full URI."""
    types = assessment_types()
    if key in types.labels:
        return key
    wanted = _ASSESSMENT_ALIASES.get(key, key)
    return next((uri for uri, label in types.labels.items() if slug(label) == wanted), None)


def assessment_type_slugs() -> list[str]:
    return sorted(slug(label) for label in assessment_types().labels.values())


def resolve(key: str, table: dict[str, str], codes: CodeList) -> str | None:
    """A template keyword or a full code-list URI -> the code-list URI, or None when unknown."""
    if key in table:
        return table[key]
    return key if key in codes.labels else None


# EU Publications Office language authority; ISO 639-1 -> (authority code, English, native label).
LANGUAGES: dict[str, tuple[str, str, str]] = {
    "bg": ("BUL", "Bulgarian", "български"),
    "cs": ("CES", "Czech", "čeština"),
    "da": ("DAN", "Danish", "dansk"),
    "de": ("DEU", "German", "Deutsch"),
    "el": ("ELL", "Greek", "ελληνικά"),
    "en": ("ENG", "English", "English"),
    "es": ("SPA", "Spanish", "español"),
    "et": ("EST", "Estonian", "eesti"),
    "fi": ("FIN", "Finnish", "suomi"),
    "fr": ("FRA", "French", "français"),
    "ga": ("GLE", "Irish", "Gaeilge"),
    "hr": ("HRV", "Croatian", "hrvatski"),
    "hu": ("HUN", "Hungarian", "magyar"),
    "it": ("ITA", "Italian", "italiano"),
    "lt": ("LIT", "Lithuanian", "lietuvių"),
    "lv": ("LAV", "Latvian", "latviešu"),
    "mt": ("MLT", "Maltese", "Malti"),
    "nl": ("NLD", "Dutch", "Nederlands"),
    "pl": ("POL", "Polish", "polski"),
    "pt": ("POR", "Portuguese", "português"),
    "ro": ("RON", "Romanian", "română"),
    "sk": ("SLK", "Slovak", "slovenčina"),
    "sl": ("SLV", "Slovenian", "slovenščina"),
    "sv": ("SWE", "Swedish", "svenska"),
    "is": ("ISL", "Icelandic", "íslenska"),
    "no": ("NOR", "Norwegian", "norsk"),
    "tr": ("TUR", "Turkish", "Türkçe"),
    "mk": ("MKD", "Macedonian", "македонски"),
    "sr": ("SRP", "Serbian", "српски"),
    "ca": ("CAT", "Catalan", "català"),
    "eu": ("EUS", "Basque", "euskara"),
    "gl": ("GLG", "Galician", "galego"),
    "uk": ("UKR", "Ukrainian", "українська"),
    "sq": ("SQI", "Albanian", "shqip"),
}

# EU country authority; ISO 3166-1 alpha-2 -> (authority code, English name).
COUNTRIES: dict[str, tuple[str, str]] = {
    "AT": ("AUT", "Austria"),
    "BE": ("BEL", "Belgium"),
    "BG": ("BGR", "Bulgaria"),
    "HR": ("HRV", "Croatia"),
    "CY": ("CYP", "Cyprus"),
    "CZ": ("CZE", "Czechia"),
    "DK": ("DNK", "Denmark"),
    "EE": ("EST", "Estonia"),
    "FI": ("FIN", "Finland"),
    "FR": ("FRA", "France"),
    "DE": ("DEU", "Germany"),
    "GR": ("GRC", "Greece"),
    "HU": ("HUN", "Hungary"),
    "IE": ("IRL", "Ireland"),
    "IT": ("ITA", "Italy"),
    "LV": ("LVA", "Latvia"),
    "LT": ("LTU", "Lithuania"),
    "LU": ("LUX", "Luxembourg"),
    "MT": ("MLT", "Malta"),
    "NL": ("NLD", "Netherlands"),
    "PL": ("POL", "Poland"),
    "PT": ("PRT", "Portugal"),
    "RO": ("ROU", "Romania"),
    "SK": ("SVK", "Slovakia"),
    "SI": ("SVN", "Slovenia"),
    "ES": ("ESP", "Spain"),
    "SE": ("SWE", "Sweden"),
    "IS": ("ISL", "Iceland"),
    "LI": ("LIE", "Liechtenstein"),
    "NO": ("NOR", "Norway"),
    "CH": ("CHE", "Switzerland"),
    "GB": ("GBR", "United Kingdom"),
    "TR": ("TUR", "Türkiye"),
    "MK": ("MKD", "North Macedonia"),
    "RS": ("SRB", "Serbia"),
    "AL": ("ALB", "Albania"),
    "ME": ("MNE", "Montenegro"),
    "BA": ("BIH", "Bosnia and Herzegovina"),
    "UA": ("UKR", "Ukraine"),
    "MD": ("MDA", "Moldova"),
}
# The eIDAS organizationIdentifier uses Greek "EL" where ISO 3166 says "GR".
_EIDAS_COUNTRY_ALIASES = {"EL": "GR"}


def language_concept(code: str) -> dict[str, Any]:
    auth, english, native = LANGUAGES[code]
    labels = {"en": english} if code == "en" else {"en": english, code: native}
    return concept(f"{AUTHORITY}language/{auth}", f"{AUTHORITY}language", labels, notation="language")


def country_concept(code: str) -> dict[str, Any]:
    code = _EIDAS_COUNTRY_ALIASES.get(code, code)
    auth, english = COUNTRIES[code]
    return concept(f"{AUTHORITY}country/{auth}", f"{AUTHORITY}country", {"en": english}, notation="country")


def is_country(code: str) -> bool:
    return _EIDAS_COUNTRY_ALIASES.get(code, code) in COUNTRIES


def file_type_concept(kind: str) -> dict[str, Any]:
    """PNG or JPEG, as EDC labels media objects."""
    return concept(
        f"{AUTHORITY}file-type/{kind}", f"{AUTHORITY}file-type", {"en": kind}, notation="file-type"
    )


def base64_encoding_concept() -> dict[str, Any]:
    return concept(
        "http://data.europa.eu/snb/encoding/6146cde7dd",
        "http://data.europa.eu/snb/encoding/25831c2",
        {"en": "base64"},
    )


# Evidence type "Mandate" and its labels, as in EDC's sealed sample (Sample-CertOfPart-signed.jsonld).
MANDATE_EVIDENCE_TYPE = "http://data.europa.eu/snb/evidence-type/c_18016257"
MANDATE_LABELS = {
    "bg": "Мандат",
    "cs": "Mandát",
    "da": "Mandat",
    "de": "Mandat",
    "el": "Εντολή",
    "en": "Mandate",
    "es": "Mandato",
    "et": "Volitused",
    "fi": "Valtuutus",
    "fr": "Mandat",
    "ga": "Sainordú",
    "hr": "Mandat",
    "hu": "Megbízatás",
    "is": "Umboð",
    "it": "Mandato",
    "lt": "Įgaliojimas",
    "lv": "Mandāts",
    "mk": "Мандат",
    "mt": "Mandat",
    "nl": "Mandaat",
    "no": "Mandat",
    "pl": "Upoważnienie",
    "pt": "Mandato",
    "ro": "Mandat",
    "sk": "Mandát",
    "sl": "Pooblastilo",
    "sr": "Mandat",
    "sv": "Uppdrag",
    "tr": "Yetki",
}


def mandate_evidence_type() -> dict[str, Any]:
    return concept(MANDATE_EVIDENCE_TYPE, "http://data.europa.eu/snb/evidence-type/25831c2", MANDATE_LABELS)
