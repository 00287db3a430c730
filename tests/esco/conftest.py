"""Fixtures: the real ESCO v1.0 reference export (full en + fr) and a small hand-made export in the
newer releases' format (status, hiddenLabels, isReplacedBy, ...)."""
from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest

from bridge.esco import snapshot as snapshot_file
from bridge.esco.csv_import import ImportResult, import_directory
from bridge.esco.service import EscoService, default_service
from tests.reference import ESCO_REFERENCE

REFERENCE = ESCO_REFERENCE / "official-csv-v1.0"
ADAPT_TO_CHANGE = "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4"
SKILL = "http://data.europa.eu/esco/skill/"

# Newer-format skills: columns in another order than v1.0, plus the v1.1+ columns.
NEW_COLUMNS = ["conceptType", "conceptUri", "skillType", "reuseLevel", "preferredLabel", "altLabels",
               "hiddenLabels", "status", "modifiedDate", "scopeNote", "definition", "inScheme",
               "description", "isReplacedBy"]
NEW_SKILLS_EN = [
    {"conceptUri": SKILL + "00000000-0000-4000-8000-000000000001", "preferredLabel": "bake bread",
     "altLabels": "make bread\nbread making", "hiddenLabels": "baek bread", "status": "released",
     "skillType": "skill/competence", "reuseLevel": "sector-specific",
     "description": "Prepare dough and bake it.", "inScheme": "http://data.europa.eu/esco/concept-scheme/skills"},
    {"conceptUri": SKILL + "00000000-0000-4000-8000-000000000002", "preferredLabel": "knead dough by hand",
     "status": "obsolete", "isReplacedBy": SKILL + "00000000-0000-4000-8000-000000000001",
     "skillType": "skill/competence", "reuseLevel": "occupation-specific",
     "definition": "Work dough manually."},
    {"conceptUri": SKILL + "00000000-0000-4000-8000-000000000003", "preferredLabel": "food hygiene",
     "skillType": "http://data.europa.eu/esco/skill-type/knowledge",
     "reuseLevel": "http://data.europa.eu/esco/skill-reuse-level/cross-sector", "status": "released",
     "description": "Rules of bread hygiene in bakeries."},
    {"conceptUri": SKILL + "00000000-0000-4000-8000-000000000004", "preferredLabel": "shape loaves",
     "status": "obsolete", "skillType": "skill/competence", "reuseLevel": "occupation-specific"},
]
NEW_SKILLS_DE = [
    {"conceptUri": SKILL + "00000000-0000-4000-8000-000000000001", "preferredLabel": "Brot backen",
     "altLabels": "Brotherstellung", "status": "released"},
    {"conceptUri": SKILL + "00000000-0000-4000-8000-000000000003", "preferredLabel": "Lebensmittelhygiene",
     "status": "released"},
]
GROUP = SKILL + "00000000-0000-4000-8000-0000000000aa"
UNLABELED_GROUP = SKILL + "00000000-0000-4000-8000-0000000000bb"  # in the relations file only


def _csv_text(columns: list[str], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({"conceptType": "KnowledgeSkillCompetence", **row})
    return buffer.getvalue()


def write_newer_export(directory: Path) -> Path:
    """A v1.1-style export: plain .csv with BOM for en, .csv.gz for de, an en-us variant that the
    exact en file must win over, a skill group and the broader relations."""
    directory.mkdir(parents=True, exist_ok=True)
    english = "\ufeff" + _csv_text(NEW_COLUMNS, NEW_SKILLS_EN)
    (directory / "skills_en.csv").write_text(english, encoding="utf-8")
    (directory / "skills_en-us.csv").write_text(
        _csv_text(NEW_COLUMNS, [{**NEW_SKILLS_EN[0], "preferredLabel": "bake bread (US)"}]), encoding="utf-8")
    with gzip.open(directory / "skills_de.csv.gz", "wt", encoding="utf-8") as handle:
        handle.write(_csv_text(["conceptUri", "preferredLabel", "altLabels", "status", "conceptType"],
                               NEW_SKILLS_DE))
    (directory / "skillGroups_en.csv").write_text(
        "conceptType,conceptUri,preferredLabel,altLabels,status,description\n"
        f"SkillGroup,{GROUP},bakery skills,,released,Skills of bakers.\n", encoding="utf-8")
    (directory / "broaderRelationsSkillPillar_en.csv").write_text(
        "conceptType,conceptUri,broaderType,broaderUri\n"
        f"KnowledgeSkillCompetence,{SKILL}00000000-0000-4000-8000-000000000001,SkillGroup,{GROUP}\n"
        f"KnowledgeSkillCompetence,{SKILL}00000000-0000-4000-8000-000000000003,SkillGroup,{UNLABELED_GROUP}\n"
        f"SkillGroup,{UNLABELED_GROUP},SkillGroup,{GROUP}\n", encoding="utf-8")
    return directory


@pytest.fixture(scope="session")
def reference_import() -> ImportResult:
    """The full reference export (en + fr, 13,485 skills), imported once per test process."""
    return import_directory(REFERENCE)


@pytest.fixture(scope="session")
def ref_service() -> EscoService:
    """Service over the bundled snapshot, which test_import proves byte-identical to the import of
    the reference export; shared with default_service() so each process builds the index once."""
    service = default_service(snapshot_file.BUNDLED_PATH)
    assert not service.live
    return service


@pytest.fixture()
def newer_export(tmp_path: Path) -> Path:
    return write_newer_export(tmp_path / "ESCO dataset - v1.2.0 - classification - en - csv")


@pytest.fixture()
def newer_service(newer_export: Path, tmp_path: Path) -> EscoService:
    result = import_directory(newer_export)
    path = tmp_path / "newer.json.gz"
    snapshot_file.write(path, snapshot_file.encode(result.esco_version, result.languages, result.concepts))
    return EscoService.from_path(path)
