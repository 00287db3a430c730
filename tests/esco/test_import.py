"""Import of ESCO CSV exports: the real v1.0 reference files and a newer-format export."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bridge.esco import snapshot as snapshot_file
from bridge.esco.csv_import import EscoImportError, ImportResult, import_directory

from .conftest import ADAPT_TO_CHANGE, GROUP, REFERENCE, SKILL, UNLABELED_GROUP


def test_reference_export_merges_en_and_fr_by_uri(reference_import: ImportResult) -> None:
    result = reference_import
    assert result.esco_version == "v1.0"
    assert result.languages == ["en", "fr"]
    assert result.skills == 13485
    assert result.groups == 17
    concept = result.concepts[ADAPT_TO_CHANGE]
    assert concept["pref"] == {"en": "adapt to change", "fr": "s'adapter au changement"}
    assert concept["alt"]["fr"] == ["s'adapter aux changements"]
    assert concept["skill_type"] == "skill/competence"
    assert concept["reuse_level"] == "transversal"
    assert concept["status"] == "released"
    assert concept["desc"]["en"].startswith("Alter one's attitude")
    # every broader target is itself a concept of the export
    broader = {b for c in result.concepts.values() for b in c.get("broader", [])}
    assert broader and broader <= set(result.concepts)
    # the en-us file stands in for en when no plain en file exists
    assert "skills_en-us.csv.gz" in result.files


def test_bundled_snapshot_is_the_reference_import(reference_import: ImportResult) -> None:
    """The shipped file is exactly what `edc-bridge esco import` makes of the reference data."""
    result = reference_import
    rebuilt = snapshot_file.encode(result.esco_version, result.languages, result.concepts)
    assert snapshot_file.BUNDLED_PATH.read_bytes() == rebuilt
    assert len(rebuilt) < 4_000_000


def test_reimport_is_idempotent(tmp_path: Path, reference_import: ImportResult) -> None:
    target = tmp_path / "out" / "snap.json.gz"
    first = reference_import
    data = snapshot_file.encode(first.esco_version, first.languages, first.concepts)
    assert snapshot_file.write(target, data)
    before = target.read_bytes()
    second = import_directory(REFERENCE)
    data = snapshot_file.encode(second.esco_version, second.languages, second.concepts)
    assert not snapshot_file.write(target, data)
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["snap.json.gz"]  # no temp file left
    document = json.loads(gzip.decompress(before))
    assert document["esco_version"] == "v1.0" and "2011/833/EU" in document["attribution"]


def test_newer_format_columns_status_and_replacement(newer_export: Path) -> None:
    result = import_directory(newer_export)
    assert result.esco_version == "v1.2.0"
    assert result.languages == ["de", "en"]
    assert result.obsolete == 2
    assert result.skipped == ["skills_en-us.csv"]
    bread = result.concepts[SKILL + "00000000-0000-4000-8000-000000000001"]
    assert bread["pref"] == {"en": "bake bread", "de": "Brot backen"}  # exact en beats en-us
    assert bread["alt"]["en"] == ["make bread", "bread making"]
    assert bread["hidden"]["en"] == ["baek bread"]
    assert bread["broader"] == [GROUP]
    knead = result.concepts[SKILL + "00000000-0000-4000-8000-000000000002"]
    assert knead["status"] == "obsolete"
    assert knead["replaced_by"] == SKILL + "00000000-0000-4000-8000-000000000001"
    assert knead["desc"]["en"] == "Work dough manually."  # definition when description is empty
    hygiene = result.concepts[SKILL + "00000000-0000-4000-8000-000000000003"]
    assert hygiene["skill_type"] == "knowledge"  # ESCO URIs reduced to the CSV codes
    assert hygiene["reuse_level"] == "cross-sector"
    assert result.concepts[GROUP]["concept_type"] == "SkillGroup"
    # a group known only from the relations is kept, unlabeled, so the hierarchy stays whole
    assert result.concepts[UNLABELED_GROUP] == {
        "uri": UNLABELED_GROUP, "concept_type": "SkillGroup", "pref": {}, "broader": [GROUP],
        "status": "released"}
    assert hygiene["broader"] == [UNLABELED_GROUP]


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    (tmp_path / "skills_en.csv").write_text("conceptUri,label\nx,y\n", encoding="utf-8")
    with pytest.raises(EscoImportError, match=r"skills_en\.csv: missing column\(s\) preferredLabel"):
        import_directory(tmp_path)


def test_directory_without_skills_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "occupations_en.csv").write_text("conceptUri\n", encoding="utf-8")
    with pytest.raises(EscoImportError, match="no skills_<lang>.csv"):
        import_directory(tmp_path)


def test_non_skill_uri_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "skills_en.csv").write_text(
        "conceptUri,preferredLabel\nhttp://data.europa.eu/esco/occupation/1,cook\n", encoding="utf-8")
    with pytest.raises(EscoImportError, match="not an ESCO skill URI"):
        import_directory(tmp_path)


def test_corrupt_gzip_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "skills_en.csv.gz").write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(EscoImportError, match=r"skills_en\.csv\.gz: cannot read"):
        import_directory(tmp_path)
