"""The one ESCO service of the process: lookup, validation and search over a snapshot.

The credential assembly passes :meth:`EscoService.labels` as its ``skill_labels`` callable,
template saving calls :meth:`EscoService.check`, the HTTP API and the CLI call
:meth:`EscoService.search` and :meth:`EscoService.get`. :func:`default_service` builds it once per
process (the index takes about a second to build) from, in order: an explicit path, an imported
snapshot under ``$EDC_DATA_DIR/esco/``, the snapshot bundled with the package.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from bridge.esco import snapshot as snapshot_file
from bridge.esco.live import EscoLiveError, EscoWebClient
from bridge.esco.model import (
    REUSE_LEVELS,
    SKILL_TYPE_ALIASES,
    SKILL_TYPES,
    EscoCheck,
    Skill,
    SkillHit,
    skill_uri,
)
from bridge.esco.search import SearchIndex

log = logging.getLogger(__name__)

MAX_LIMIT = 100
MAX_QUERY_LENGTH = 200
LIVE_URL_ENV = "EDC_ESCO_API_URL"
MAX_LIVE_CACHE = 10_000


class EscoQueryError(ValueError):
    """Invalid search parameters; ``errors`` lists (field, message) pairs for a 400 answer."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


def _skill(concept: dict[str, Any]) -> Skill:
    return Skill(
        uri=concept["uri"],
        concept_type=concept["concept_type"],
        pref_labels=dict(concept.get("pref", {})),
        alt_labels={k: list(v) for k, v in concept.get("alt", {}).items()},
        descriptions=dict(concept.get("desc", {})),
        skill_type=concept.get("skill_type"),
        reuse_level=concept.get("reuse_level"),
        status=concept.get("status", "released"),
        broader=list(concept.get("broader", [])),
        replaced_by=concept.get("replaced_by"),
    )


class EscoService:
    """Skills of one snapshot, optionally completed from the ESCO web API (live mode)."""

    def __init__(self, snapshot: snapshot_file.Snapshot, live_base_url: str | None = None,
                 live_timeout: float = 5.0) -> None:
        self._snapshot = snapshot
        self._concepts = snapshot.concepts
        self._search_index: SearchIndex | None = None
        self._index_lock = threading.Lock()
        self._live = EscoWebClient(live_base_url, live_timeout) if live_base_url else None
        self._live_cache: dict[str, dict[str, Any] | None] = {}
        self._lock = threading.Lock()
        self._children: dict[str, list[str]] | None = None

    @property
    def _index(self) -> SearchIndex:
        """The search index, built on the first search: ~2 s and ~150 MB that a process which only
        looks labels up (an issuing worker) never needs to spend."""
        with self._index_lock:
            if self._search_index is None:
                self._search_index = SearchIndex(self._concepts.values())
            return self._search_index

    @classmethod
    def from_path(cls, path: Path, **kwargs: Any) -> EscoService:
        return cls(snapshot_file.load(path), **kwargs)

    @property
    def esco_version(self) -> str:
        return self._snapshot.esco_version

    @property
    def languages(self) -> list[str]:
        return list(self._snapshot.languages)

    @property
    def live(self) -> bool:
        return self._live is not None

    # -- lookup ---------------------------------------------------------------------------------
    def _concept(self, uri: str) -> dict[str, Any] | None:
        concept = self._concepts.get(uri)
        if concept is not None or self._live is None:
            return concept
        with self._lock:
            if uri in self._live_cache:
                return self._live_cache[uri]
        try:
            fetched = self._live.skill(uri)
        except EscoLiveError as exc:
            log.warning("ESCO live lookup failed: %s", exc)
            return None  # not cached: the next call retries
        with self._lock:
            if len(self._live_cache) >= MAX_LIVE_CACHE:  # bounded: lookups come from user input
                del self._live_cache[next(iter(self._live_cache))]
            self._live_cache[uri] = fetched
        return fetched

    def get(self, uri_or_uuid: str) -> Skill | None:
        """The concept with all its languages, or None (unknown, or not a skill URI/UUID)."""
        uri = skill_uri(uri_or_uuid)
        concept = self._concept(uri) if uri else None
        return _skill(concept) if concept else None

    def labels(self, uri: str) -> dict[str, str] | None:
        """prefLabel language map for ELM's ``relatedESCOSkill`` concept, or None when unknown."""
        skill = self.get(uri)
        return dict(skill.pref_labels) if skill and skill.pref_labels else None

    def check(self, uris: Iterable[str]) -> EscoCheck:
        """Unknown URIs (the caller rejects them) and obsolete ones with their replacement (warn)."""
        unknown: list[str] = []
        obsolete: list[dict[str, str | None]] = []
        seen: set[str] = set()
        for uri in uris:
            if not isinstance(uri, str):  # a malformed template entry is unknown, never a crash
                unknown.append(str(uri))
                continue
            if uri in seen:
                continue
            seen.add(uri)
            skill = self.get(uri)
            if skill is None or not skill.pref_labels:  # a credential could not name it
                unknown.append(uri)
            elif skill.obsolete:
                obsolete.append({"uri": skill.uri, "replaced_by": skill.replaced_by})
        return EscoCheck(unknown=unknown, obsolete=obsolete)

    # -- search ---------------------------------------------------------------------------------
    def validate_query(self, q: Any, lang: Any, limit: Any, skill_type: Any,
                       reuse_level: Any) -> list[tuple[str, str]]:
        """Every problem with the search parameters at once, so a form can show them all."""
        errors = []
        if not isinstance(q, str) or not q.strip():
            errors.append(("q", "must be a non-empty search text"))
        elif len(q) > MAX_QUERY_LENGTH:
            errors.append(("q", f"must be at most {MAX_QUERY_LENGTH} characters"))
        if lang not in self._index.languages and not (self._live and isinstance(lang, str)
                                                      and lang.isalpha() and len(lang) == 2):
            errors.append(("lang", f"must be one of {', '.join(self._index.languages)}"))
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            errors.append(("limit", f"must be an integer from 1 to {MAX_LIMIT}"))
        if skill_type is not None and SKILL_TYPE_ALIASES.get(skill_type, skill_type) not in SKILL_TYPES:
            errors.append(("skill_type", f"must be one of {', '.join(SKILL_TYPES)} (or skill)"))
        if reuse_level is not None and reuse_level not in REUSE_LEVELS:
            errors.append(("reuse_level", f"must be one of {', '.join(REUSE_LEVELS)}"))
        return errors

    def search(self, q: str, lang: str = "en", limit: int = 10, skill_type: str | None = None,
               reuse_level: str | None = None) -> list[SkillHit]:
        """Ranked released skills for a (partial) text; obsolete skills and skill groups never show.

        Raises :class:`EscoQueryError` for invalid parameters.
        """
        skill_type = SKILL_TYPE_ALIASES.get(skill_type, skill_type) if skill_type else skill_type
        errors = self.validate_query(q, lang, limit, skill_type, reuse_level)
        if errors:
            raise EscoQueryError(errors)
        hits = self._index.search(q, lang, limit, skill_type, reuse_level)
        if self._live is not None and len(hits) < limit and skill_type is None and reuse_level is None:
            hits.extend(self._live_hits(q, lang, limit, {h.uri for h in hits}))
        return hits[:limit]

    def _live_hits(self, q: str, lang: str, limit: int, known: set[str]) -> list[SkillHit]:
        """Hits the snapshot lacks, from ESCO's own search; each one is looked up (and cached) so
        obsolete skills stay out and type/reuse level are filled in."""
        assert self._live is not None
        try:
            pairs = self._live.search(q, lang, limit)
        except EscoLiveError as exc:
            log.warning("ESCO live search failed: %s", exc)
            return []
        hits = []
        for uri, title in pairs:
            if uri in known or uri in self._concepts:
                continue
            concept = self._concept(uri)
            if concept is None or concept.get("status") == "obsolete":
                continue
            label = concept.get("pref", {}).get(lang) or title
            hits.append(SkillHit(uri=uri, label=label, matched_text=title, matched_field="live",
                                 skill_type=concept.get("skill_type"),
                                 reuse_level=concept.get("reuse_level"), score=0.0))
        return hits

    # -- hierarchy (competency framework export) ------------------------------------------------
    def skills(self) -> Iterator[Skill]:
        """Every released skill of the snapshot (no groups), sorted by URI."""
        for uri in sorted(self._concepts):
            concept = self._concepts[uri]
            if concept["concept_type"] != "SkillGroup" and concept.get("status") != "obsolete":
                yield _skill(concept)

    def narrower(self, uri: str) -> list[str]:
        """URIs whose broader relation points at ``uri`` (skills and groups), sorted."""
        if self._children is None:
            children: dict[str, list[str]] = {}
            for child, concept in sorted(self._concepts.items()):
                for parent in concept.get("broader", []):
                    children.setdefault(parent, []).append(child)
            self._children = children
        return list(self._children.get(uri, []))


def _resolve_snapshot(path: str | os.PathLike[str] | None) -> Path:
    if path is not None:
        candidate = Path(path)
        return candidate / snapshot_file.SNAPSHOT_NAME if candidate.is_dir() else candidate
    imported = imported_snapshot_path()
    return imported if imported.is_file() else snapshot_file.BUNDLED_PATH


def imported_snapshot_path() -> Path:
    """Where ``edc-bridge esco import`` writes and search reads: ``$EDC_DATA_DIR/esco/``, default ``./var``
    (the sidecar's own default data folder)."""
    return Path(os.environ.get("EDC_DATA_DIR") or "var") / "esco" / snapshot_file.SNAPSHOT_NAME


def default_service(path: str | os.PathLike[str] | None = None) -> EscoService:
    """The process-wide service (live mode when ``EDC_ESCO_API_URL`` is set), built once per
    snapshot path."""
    return _cached_service(_resolve_snapshot(path).resolve(), os.environ.get(LIVE_URL_ENV) or None)


@lru_cache(maxsize=4)
def _cached_service(path: Path, live_base_url: str | None) -> EscoService:
    return EscoService.from_path(path, live_base_url=live_base_url)
