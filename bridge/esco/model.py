"""Value objects handed out by the ESCO service.

They are plain frozen dataclasses so callers (the credential assembly, the Flask blueprint, the
CLI) never depend on how the snapshot is stored, and can turn them into JSON with ``to_dict``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SKILL_URI_PREFIX = "http://data.europa.eu/esco/skill/"
SKILL_CONCEPT_SCHEME = "http://data.europa.eu/esco/concept-scheme/skills"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

SKILL_TYPES = ("skill/competence", "knowledge")
# The ESCO web API names the first type ".../skill-type/skill": accept that short form too.
SKILL_TYPE_ALIASES = {"skill": "skill/competence"}
REUSE_LEVELS = ("transversal", "cross-sector", "sector-specific", "occupation-specific")


def skill_uri(uri_or_uuid: str) -> str | None:
    """The canonical skill URI for a URI or a bare UUID, or None when it is neither.

    Both forms reach the service: templates carry URIs, the HTTP API path carries the UUID.
    """
    value = uri_or_uuid.strip()
    if value.startswith("https://data.europa.eu/esco/skill/"):
        value = "http://" + value[len("https://"):]
    if value.startswith(SKILL_URI_PREFIX):
        value = value[len(SKILL_URI_PREFIX):]
    value = value.lower()
    return SKILL_URI_PREFIX + value if UUID_RE.match(value) else None


@dataclass(frozen=True)
class Skill:
    """One ESCO skill-pillar concept (a skill, a knowledge item or a skill group), all languages."""

    uri: str
    concept_type: str
    pref_labels: dict[str, str]
    alt_labels: dict[str, list[str]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    skill_type: str | None = None
    reuse_level: str | None = None
    status: str = "released"
    broader: list[str] = field(default_factory=list)
    replaced_by: str | None = None

    @property
    def uuid(self) -> str:
        return self.uri.rsplit("/", 1)[-1]

    @property
    def obsolete(self) -> bool:
        return self.status == "obsolete"

    def label(self, lang: str) -> str:
        """Preferred label in ``lang``, else English, else any language: a display never blanks."""
        return self.pref_labels.get(lang) or self.pref_labels.get("en") or next(
            iter(self.pref_labels.values()), self.uri
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "uuid": self.uuid,
            "concept_type": self.concept_type,
            "skill_type": self.skill_type,
            "reuse_level": self.reuse_level,
            "status": self.status,
            "replaced_by": self.replaced_by,
            "pref_label": dict(self.pref_labels),
            "alt_labels": {lang: list(v) for lang, v in self.alt_labels.items()},
            "description": dict(self.descriptions),
            "broader": list(self.broader),
        }


@dataclass(frozen=True)
class SkillHit:
    """One search result: the label shown in the requested language and why it matched."""

    uri: str
    label: str
    matched_text: str
    matched_field: str  # "preferred" | "alternative" | "description"
    skill_type: str | None
    reuse_level: str | None
    score: float

    @property
    def uuid(self) -> str:
        return self.uri.rsplit("/", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "uuid": self.uuid,
            "label": self.label,
            "matched_text": self.matched_text,
            "matched_field": self.matched_field,
            "skill_type": self.skill_type,
            "reuse_level": self.reuse_level,
            "score": round(self.score, 3),
        }


@dataclass(frozen=True)
class EscoCheck:
    """Result of checking a template's skill URIs: unknown ones reject, obsolete ones warn."""

    unknown: list[str] = field(default_factory=list)
    obsolete: list[dict[str, str | None]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unknown

    def to_dict(self) -> dict[str, Any]:
        return {"unknown": list(self.unknown), "obsolete": [dict(o) for o in self.obsolete]}
