"""ESCO skills as a Moodle competency framework, in the CSV format of ``tool_lpimportcsv``.

Teachers tag Moodle course competencies with ESCO by importing this file once; each competency
keeps the ESCO skill URI in its ``idnumber`` (<= 100 characters), which the Moodle poller reads
back with ``core_competency_list_course_competencies`` to fill the course template.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass

from bridge.esco.model import skill_uri
from bridge.esco.normalize import fold
from bridge.esco.service import EscoService

COLUMNS = (
    "Parent id number", "Id number", "Shortname", "Description", "Description format",
    "Scale values", "Scale configuration", "Rule type (optional)", "Rule outcome (optional)",
    "Rule config (optional)", "Cross referenced competency id numbers", "Exported id (optional)",
    "Is framework", "Taxonomy",
)
FORMAT_PLAIN = "2"  # Moodle's FORMAT_PLAIN: ESCO texts are plain text, never HTML
MAX_IDNUMBER = 100
MAX_SHORTNAME = 100
# Moodle's default two-step scale; the importer creates or reuses a scale with these values.
SCALE_VALUES = "Not yet competent,Competent"
SCALE_CONFIGURATION = json.dumps(
    [{"scaleid": "1"}, {"id": 1, "scaledefault": 1, "proficient": 0},
     {"id": 2, "scaledefault": 0, "proficient": 1}], separators=(",", ":"))
ATTRIBUTION = ("ESCO skills. © European Union, ESCO (https://esco.ec.europa.eu), reused under "
               "Commission Decision 2011/833/EU.")


class FrameworkError(ValueError):
    """The selection cannot make a framework (unknown URI, too long id, empty selection)."""


@dataclass(frozen=True)
class FrameworkSpec:
    """What to export: the skills (or a group), the label language and the framework identity."""

    lang: str
    skills: tuple[str, ...] = ()
    all_skills: bool = False
    group: str | None = None
    hierarchy: bool = False
    idnumber: str | None = None
    name: str | None = None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _labelled(service: EscoService, uri: str) -> bool:
    skill = service.get(uri)
    return bool(skill and skill.pref_labels)


def _descendants(service: EscoService, root: str) -> list[str]:
    """Every concept below ``root`` through narrower relations (cycle-safe), root excluded."""
    seen: dict[str, None] = {}
    stack = list(reversed(service.narrower(root)))
    while stack:
        uri = stack.pop()
        if uri in seen or uri == root:
            continue
        seen[uri] = None
        stack.extend(reversed(service.narrower(uri)))
    return list(seen)


def _select(service: EscoService, spec: FrameworkSpec) -> tuple[list[str], str | None]:
    """Selected skill URIs and the root above which the hierarchy must not climb."""
    chosen = [bool(spec.skills), spec.all_skills, spec.group is not None]
    if sum(chosen) != 1:
        raise FrameworkError("choose exactly one of --skills, --all, --group")
    if spec.all_skills:
        return [s.uri for s in service.skills()], None
    if spec.group is not None:
        root = skill_uri(spec.group)
        if root is None or service.get(root) is None:
            raise FrameworkError(f"--group: unknown ESCO skill group {spec.group}")
        members = [u for u in _descendants(service, root)
                   if (s := service.get(u)) and s.concept_type != "SkillGroup" and not s.obsolete]
        if not members:
            raise FrameworkError(f"--group: {root} has no skills below it")
        return members, root
    uris = []
    for given in spec.skills:
        uri = skill_uri(given)
        skill = service.get(uri) if uri else None
        if skill is None:
            raise FrameworkError(f"--skills: unknown ESCO skill {given}")
        if skill.obsolete:
            raise FrameworkError(f"--skills: {skill.uri} is obsolete"
                                 + (f", replaced by {skill.replaced_by}" if skill.replaced_by else ""))
        uris.append(skill.uri)
    return list(dict.fromkeys(uris)), None


def _parent(service: EscoService, uri: str, stop: str | None, inside: set[str] | None) -> str | None:
    """Nearest labelled broader concept; the first in URI order when ESCO gives several, since a
    Moodle competency has one parent. Unlabelled groups are skipped over, never exported; under
    --group only concepts ``inside`` the group qualify, so the tree never leaves it."""
    if uri == stop:
        return None
    skill = service.get(uri)
    frontier = list(skill.broader) if skill else []
    visited = {uri}
    while frontier:
        candidate = frontier.pop(0)
        if candidate in visited or (inside is not None and candidate not in inside):
            continue
        visited.add(candidate)
        if _labelled(service, candidate):
            return candidate
        broader = service.get(candidate)
        frontier.extend(broader.broader if broader else [])
    return None


def framework_rows(service: EscoService, spec: FrameworkSpec) -> list[dict[str, str]]:
    """Rows (framework first, parents before children) for :func:`write_csv`."""
    selected, stop = _select(service, spec)
    parent_of: dict[str, str | None] = {}
    if spec.hierarchy:
        inside = None if stop is None else {stop, *_descendants(service, stop)}
        pending = list(selected)
        while pending:
            uri = pending.pop()
            if uri in parent_of:
                continue
            parent = _parent(service, uri, stop, inside)
            parent_of[uri] = parent
            if parent is not None and parent not in parent_of:
                pending.append(parent)
        _break_cycles(parent_of)
    else:
        parent_of = {uri: None for uri in selected}
    children: dict[str | None, list[str]] = {}
    for uri, parent in parent_of.items():
        children.setdefault(parent, []).append(uri)

    def label(uri: str) -> str:
        """Sort key: the folded label, so "à" sorts with "a" as a reader expects."""
        skill = service.get(uri)
        return fold(skill.label(spec.lang)) if skill else uri

    ordered: list[tuple[str, int]] = []
    stack = [(uri, 1) for uri in sorted(children.get(None, []), key=label, reverse=True)]
    while stack:
        uri, depth = stack.pop()
        ordered.append((uri, depth))
        stack.extend((c, depth + 1) for c in sorted(children.get(uri, []), key=label, reverse=True))

    version = service.esco_version
    depth = max((d for _, d in ordered), default=1)
    framework_id = spec.idnumber or f"esco-{version}-{spec.lang}"
    rows = [_row(
        idnumber=framework_id,
        shortname=spec.name or f"ESCO {version} ({spec.lang})",
        description=ATTRIBUTION,
        scale_values=SCALE_VALUES, scale_configuration=SCALE_CONFIGURATION,
        is_framework="1", taxonomy=",".join(["skill"] * depth),
    )]
    for uri, _ in ordered:
        skill = service.get(uri)
        assert skill is not None
        if len(uri) > MAX_IDNUMBER:
            raise FrameworkError(f"{uri}: longer than Moodle's {MAX_IDNUMBER}-character idnumber")
        description = skill.descriptions.get(spec.lang) or skill.descriptions.get("en", "")
        rows.append(_row(parent=parent_of.get(uri) or "", idnumber=uri,
                         shortname=_clip(skill.label(spec.lang), MAX_SHORTNAME), description=description))
    return rows


def _break_cycles(parent_of: dict[str, str | None]) -> None:
    """ESCO's broader graph is acyclic, but an import of mixed releases might not be: cut any loop
    so Moodle's importer never sees one."""
    for start in list(parent_of):
        seen = {start}
        node = parent_of[start]
        while node is not None:
            if node in seen:
                parent_of[start] = None
                break
            seen.add(node)
            node = parent_of.get(node)


def _row(idnumber: str, shortname: str, description: str, parent: str = "", scale_values: str = "",
         scale_configuration: str = "", is_framework: str = "0", taxonomy: str = "") -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "")
    row.update({
        "Parent id number": parent, "Id number": idnumber, "Shortname": shortname,
        "Description": description, "Description format": FORMAT_PLAIN, "Scale values": scale_values,
        "Scale configuration": scale_configuration, "Is framework": is_framework, "Taxonomy": taxonomy,
    })
    return row


def write_csv(rows: Iterable[dict[str, str]]) -> str:
    """CSV text as tool_lpimportcsv reads it (comma-delimited, UTF-8, header row first)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
