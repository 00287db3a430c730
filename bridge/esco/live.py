"""Client for the ESCO web service API, used only when live mode is configured.

Offline is the default: the bundled snapshot answers everything. Live mode fills the gaps (a
skill released after the snapshot was built) from ``GET {base}/resource/skill`` and
``GET {base}/search``, following the HAL+JSON shapes documented by ESCO.
"""
from __future__ import annotations

import logging
from typing import Any

import requests

from bridge.esco.model import SKILL_URI_PREFIX

log = logging.getLogger(__name__)


class EscoLiveError(RuntimeError):
    """The ESCO web API could not be reached or answered something unusable."""


def _code(link: dict[str, Any]) -> str | None:
    uri = link.get("uri") or ""
    if uri.endswith("/skill-type/skill"):
        return "skill/competence"
    return uri.rstrip("/").rsplit("/", 1)[-1] or link.get("title") or None


def _text(value: Any) -> str:
    """ESCO gives descriptions as {"literal": ..., "mimetype": ...}; labels as plain strings."""
    if isinstance(value, dict):
        return str(value.get("literal") or "")
    return str(value or "")


def concept_from_resource(document: dict[str, Any]) -> dict[str, Any]:
    """Snapshot-style concept record from an ESCO ``resource/skill`` response."""
    uri = document.get("uri")
    if not isinstance(uri, str) or not uri.startswith(SKILL_URI_PREFIX):
        raise EscoLiveError("ESCO API answer has no skill uri")
    links = document.get("_links") or {}
    pref = {lang: str(v) for lang, v in (document.get("preferredLabel") or {}).items() if v}
    if not pref and document.get("title"):
        pref = {"en": str(document["title"])}
    concept: dict[str, Any] = {
        "uri": uri,
        "concept_type": "SkillGroup" if document.get("className") == "SkillGroup"
        else "KnowledgeSkillCompetence",
        "pref": pref,
        "status": str(document.get("status") or "released").lower(),
    }
    alt = {lang: [str(x) for x in v] if isinstance(v, list) else [str(v)]
           for lang, v in (document.get("alternativeLabel") or {}).items() if v}
    if alt:
        concept["alt"] = alt
    desc = {lang: _text(v) for lang, v in (document.get("description") or {}).items() if _text(v)}
    if desc:
        concept["desc"] = desc
    for key, link_name in (("skill_type", "hasSkillType"), ("reuse_level", "hasReuseLevel")):
        values = [c for link in links.get(link_name) or [] if (c := _code(link))]
        if values:
            concept[key] = " ".join(values)
    broader = sorted({link["uri"] for name in ("broaderSkill", "broaderHierarchyConcept")
                      for link in links.get(name) or [] if isinstance(link.get("uri"), str)})
    if broader:
        concept["broader"] = broader
    replaced = [link.get("uri") for link in links.get("isReplacedBy") or [] if link.get("uri")]
    if replaced:
        concept["replaced_by"] = replaced[0]
    return concept


class EscoWebClient:
    """Thin, timeout-bounded HTTP client; errors become :class:`EscoLiveError` for the caller."""

    def __init__(self, base_url: str, timeout: float = 5.0, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = session or requests.Session()

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
        try:
            response = self._session.get(f"{self.base_url}{path}", params=params, timeout=self.timeout,
                                         headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise EscoLiveError(f"ESCO API unreachable: {type(exc).__name__}") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise EscoLiveError(f"ESCO API answered HTTP {response.status_code} for {path}")
        try:
            document = response.json()
        except ValueError:
            raise EscoLiveError(f"ESCO API answered non-JSON for {path}") from None
        if not isinstance(document, dict):
            raise EscoLiveError(f"ESCO API answered an unexpected document for {path}")
        return document

    def skill(self, uri: str, language: str = "en") -> dict[str, Any] | None:
        """The concept record for ``uri``, or None when ESCO does not know it (404)."""
        document = self._get("/resource/skill", {"uri": uri, "language": language})
        return None if document is None else concept_from_resource(document)

    def search(self, text: str, language: str, limit: int) -> list[tuple[str, str]]:
        """(uri, title) pairs from ESCO's free-text search over skills."""
        document = self._get("/search", {"text": text, "type": "skill", "language": language,
                                         "limit": limit, "full": "false"})
        results = ((document or {}).get("_embedded") or {}).get("results") or []
        pairs = []
        for item in results:
            uri, title = item.get("uri"), item.get("title") or item.get("searchHit")
            if isinstance(uri, str) and uri.startswith(SKILL_URI_PREFIX) and isinstance(title, str):
                pairs.append((uri, title))
        return pairs
