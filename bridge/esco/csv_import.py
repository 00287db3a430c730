"""Import of ESCO's official CSV export (the download portal's "CSV" format) into a snapshot.

Columns are read by name because ESCO releases add columns over time (v1.1+ adds status,
modifiedDate, scopeNote, definition, inScheme, hiddenLabels), and any number of languages is
merged by concept URI, one ``skills_<lang>.csv`` (optionally gzipped) per language.
"""
from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.esco.model import SKILL_URI_PREFIX

_LANG_FILE_RE = re.compile(
    r"^(?P<kind>skills|skillGroups)_(?P<lang>[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)\.csv(?:\.gz)?$"
)
_BROADER_FILE_RE = re.compile(r"^broaderRelationsSkillPillar(?:_[A-Za-z-]+)?\.csv(?:\.gz)?$")
_VERSION_RE = re.compile(r"v(\d+(?:\.\d+){1,2})", re.IGNORECASE)
_URI_SPLIT_RE = re.compile(r"[\s|,]+")

# ESCO's newer CSVs may carry URIs where older ones carry short codes.
_SKILL_TYPE_URIS = {
    "http://data.europa.eu/esco/skill-type/skill": "skill/competence",
    "http://data.europa.eu/esco/skill-type/knowledge": "knowledge",
}
_REPLACED_BY_COLUMNS = ("isReplacedBy", "replacedBy", "isReplacedByUri")
_REQUIRED = ("conceptUri", "preferredLabel")


class EscoImportError(ValueError):
    """The directory or one of its files is not a usable ESCO CSV export (message names the file)."""


@dataclass
class ImportResult:
    """What an import produced; the CLI prints it and tests check it."""

    esco_version: str
    languages: list[str]
    skills: int
    groups: int
    broader_relations: int
    obsolete: int
    files: list[str]
    skipped: list[str] = field(default_factory=list)
    concepts: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class _LangFile:
    path: Path
    kind: str
    lang: str


def _open_text(path: Path) -> io.TextIOBase:
    """Text handle for .csv or .csv.gz; utf-8-sig drops the BOM some exports start with."""
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")  # closed by the caller's with-block


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[dict[str, str]]:
    try:
        with _open_text(path) as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                raise EscoImportError(f"{path.name}: missing column(s) {', '.join(missing)}")
            for row in reader:
                yield {k: (v or "").strip() for k, v in row.items() if k is not None}
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise EscoImportError(f"{path.name}: cannot read ({exc})") from None


def detect_version(directory: Path) -> str:
    """ESCO version from the export folder's name ("ESCO dataset - v1.1.1" -> "v1.1.1")."""
    match = _VERSION_RE.search(directory.name)
    return f"v{match.group(1)}" if match else "unknown"


def _language_files(directory: Path) -> tuple[list[_LangFile], list[str]]:
    """Pick one file per (kind, language); a regional variant (en-us) stands in for its base
    language only when the base file is absent, so ELM language maps keep ISO 639-1 keys."""
    found: dict[tuple[str, str], tuple[bool, Path]] = {}
    skipped: list[str] = []
    for path in sorted(directory.iterdir()):
        match = _LANG_FILE_RE.match(path.name)
        if not match:
            continue
        tag = match["lang"].lower()
        base = tag.split("-")[0]
        exact = tag == base
        key = (match["kind"], base)
        previous = found.get(key)
        if previous is None or (exact and not previous[0]):
            if previous is not None:
                skipped.append(previous[1].name)
            found[key] = (exact, path)
        else:
            skipped.append(path.name)
    files = [_LangFile(path, kind, lang) for (kind, lang), (_, path) in sorted(found.items())]
    return files, skipped


def _split_labels(cell: str) -> list[str]:
    """ESCO puts several labels in one cell, one per line (some exports use " | ")."""
    parts = re.split(r"\n|\s\|\s", cell)
    seen: dict[str, None] = {}
    for part in parts:
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


def _first_uri(cell: str) -> str | None:
    for token in _URI_SPLIT_RE.split(cell):
        if token.startswith(SKILL_URI_PREFIX):
            return token
    return None


def _code(cell: str, uri_map: dict[str, str] | None = None) -> str | None:
    """Short code for a skill type / reuse level given either as code or as ESCO URI."""
    values = []
    for token in cell.split():
        if uri_map and token in uri_map:
            values.append(uri_map[token])
        elif token.startswith("http"):
            values.append(token.rstrip("/").rsplit("/", 1)[-1])
        else:
            values.append(token)
    return " ".join(values) or None


def _merge_row(concepts: dict[str, dict[str, Any]], row: dict[str, str], lang: str, kind: str,
               source: str) -> None:
    uri = row["conceptUri"]
    if not uri.startswith(SKILL_URI_PREFIX):
        raise EscoImportError(f"{source}: conceptUri {uri!r} is not an ESCO skill URI")
    concept = concepts.setdefault(uri, {
        "uri": uri,
        "concept_type": row.get("conceptType") or ("SkillGroup" if kind == "skillGroups"
                                                   else "KnowledgeSkillCompetence"),
        "pref": {},
    })
    if row["preferredLabel"]:
        concept["pref"][lang] = row["preferredLabel"]
    alt = _split_labels(row.get("altLabels", ""))
    if alt:
        concept.setdefault("alt", {})[lang] = alt
    hidden = _split_labels(row.get("hiddenLabels", ""))
    if hidden:
        concept.setdefault("hidden", {})[lang] = hidden
    description = row.get("description") or row.get("definition") or ""
    if description:
        concept.setdefault("desc", {})[lang] = description
    # Language-independent fields: the first file that states them wins, files being sorted.
    for key, value in (
        ("skill_type", _code(row.get("skillType", ""), _SKILL_TYPE_URIS)),
        ("reuse_level", _code(row.get("reuseLevel", ""))),
        ("status", (row.get("status") or "").lower() or None),
        ("replaced_by", next((u for c in _REPLACED_BY_COLUMNS if (u := _first_uri(row.get(c, "")))),
                             None)),
    ):
        if value and key not in concept:
            concept[key] = value


def import_directory(directory: Path, esco_version: str | None = None,
                     progress: Callable[[str], None] | None = None) -> ImportResult:
    """Read an ESCO CSV export folder into concept records ready for :func:`snapshot.encode`.

    ``progress`` is called once per file read, with the file name, so the CLI can drive a bar.
    """
    if not directory.is_dir():
        raise EscoImportError(f"{directory}: not a directory")
    lang_files, skipped = _language_files(directory)
    if not any(f.kind == "skills" for f in lang_files):
        raise EscoImportError(f"{directory}: no skills_<lang>.csv or skills_<lang>.csv.gz file")
    broader_files = sorted(p for p in directory.iterdir() if _BROADER_FILE_RE.match(p.name))

    concepts: dict[str, dict[str, Any]] = {}
    languages: set[str] = set()
    for lang_file in lang_files:
        for row in _rows(lang_file.path, _REQUIRED):
            if row["conceptUri"]:
                _merge_row(concepts, row, lang_file.lang, lang_file.kind, lang_file.path.name)
        if lang_file.kind == "skills":
            languages.add(lang_file.lang)
        if progress:
            progress(lang_file.path.name)

    relations = 0
    for path in broader_files[:1]:  # per-language copies of the relations are identical
        for row in _rows(path, ("conceptUri", "broaderUri")):
            child, parent = concepts.get(row["conceptUri"]), row["broaderUri"]
            if child is None and row.get("conceptType") == "SkillGroup":
                # Exports list only some groups' labels; keep the unlabeled ones so the tree stays whole.
                child = concepts.setdefault(row["conceptUri"], {
                    "uri": row["conceptUri"], "concept_type": "SkillGroup", "pref": {}})
            if child is None or not parent.startswith(SKILL_URI_PREFIX):
                continue
            broader = child.setdefault("broader", [])
            if parent not in broader:
                broader.append(parent)
                relations += 1
        if progress:
            progress(path.name)
    skipped.extend(p.name for p in broader_files[1:])

    for concept in concepts.values():
        concept.setdefault("status", "released")
        if "broader" in concept:
            concept["broader"].sort()
    groups = sum(1 for c in concepts.values() if c["concept_type"] == "SkillGroup")
    return ImportResult(
        esco_version=esco_version or detect_version(directory),
        languages=sorted(languages),
        skills=len(concepts) - groups,
        groups=groups,
        broader_relations=relations,
        obsolete=sum(1 for c in concepts.values() if c["status"] == "obsolete"),
        files=[f.path.name for f in lang_files] + [p.name for p in broader_files[:1]],
        skipped=skipped,
        concepts=concepts,
    )


def count_input_files(directory: Path) -> int:
    """Number of files :func:`import_directory` will read (the progress bar's length)."""
    lang_files, _ = _language_files(directory)
    has_broader = any(_BROADER_FILE_RE.match(p.name) for p in directory.iterdir())
    return len(lang_files) + int(has_broader)
