"""Lookup, validation and the process-wide default service."""
from __future__ import annotations

from pathlib import Path

import pytest

from bridge.esco import service as service_module
from bridge.esco import snapshot as snapshot_file
from bridge.esco.service import EscoService, default_service

from .conftest import ADAPT_TO_CHANGE, GROUP, SKILL, UNLABELED_GROUP

BREAD = SKILL + "00000000-0000-4000-8000-000000000001"
KNEAD = SKILL + "00000000-0000-4000-8000-000000000002"
SHAPE = SKILL + "00000000-0000-4000-8000-000000000004"


def test_get_accepts_uri_uuid_and_https_form(ref_service: EscoService) -> None:
    uuid = ADAPT_TO_CHANGE.rsplit("/", 1)[1]
    for key in (ADAPT_TO_CHANGE, uuid, uuid.upper(), ADAPT_TO_CHANGE.replace("http:", "https:")):
        skill = ref_service.get(key)
        assert skill is not None and skill.uri == ADAPT_TO_CHANGE
    skill = ref_service.get(uuid)
    assert skill.pref_labels == {"en": "adapt to change", "fr": "s'adapter au changement"}
    assert skill.to_dict()["alt_labels"] == {"fr": ["s'adapter aux changements"]}
    assert skill.skill_type == "skill/competence" and skill.reuse_level == "transversal"


def test_get_unknown_or_malformed_is_none(ref_service: EscoService) -> None:
    assert ref_service.get(SKILL + "00000000-0000-4000-8000-000000000000") is None
    assert ref_service.get("not-a-uuid") is None
    assert ref_service.get("http://data.europa.eu/esco/occupation/" + "0" * 8) is None


def test_labels_is_the_preflabel_language_map(ref_service: EscoService) -> None:
    assert ref_service.labels(ADAPT_TO_CHANGE) == {"en": "adapt to change", "fr": "s'adapter au changement"}
    assert ref_service.labels(SKILL + "00000000-0000-4000-8000-000000000000") is None


def test_check_reports_unknown_and_obsolete_with_replacement(newer_service: EscoService) -> None:
    unknown = SKILL + "00000000-0000-4000-8000-0000000000ff"
    result = newer_service.check([BREAD, KNEAD, SHAPE, unknown, "bogus", BREAD, None])
    assert result.unknown == [unknown, "bogus", "None"]
    assert result.obsolete == [{"uri": KNEAD, "replaced_by": BREAD}, {"uri": SHAPE, "replaced_by": None}]
    assert not result.ok
    assert result.to_dict() == {"unknown": result.unknown, "obsolete": result.obsolete}
    assert newer_service.check([BREAD]).ok
    # known to ESCO but without any label: a credential could not name it
    assert newer_service.check([UNLABELED_GROUP]).unknown == [UNLABELED_GROUP]
    assert newer_service.labels(UNLABELED_GROUP) is None
    assert newer_service.get(UNLABELED_GROUP).broader == [GROUP]


def test_default_service_prefers_imported_snapshot(tmp_path: Path, newer_service: EscoService,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(service_module.LIVE_URL_ENV, raising=False)
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "empty"))
    bundled = default_service()
    assert bundled is default_service()  # cached per process
    assert bundled.esco_version == "v1.0" and bundled.languages == ["en", "fr"]
    assert bundled.labels(ADAPT_TO_CHANGE)["fr"] == "s'adapter au changement"

    data_dir = tmp_path / "data"
    target = data_dir / "esco" / snapshot_file.SNAPSHOT_NAME
    target.parent.mkdir(parents=True)
    target.write_bytes((tmp_path / "newer.json.gz").read_bytes())
    monkeypatch.setenv("EDC_DATA_DIR", str(data_dir))
    imported = default_service()
    assert imported.esco_version == "v1.2.0" and imported.get(BREAD) is not None
    assert default_service(target.parent).get(BREAD) is not None  # a folder works as path too


def test_broken_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"nope")
    with pytest.raises(snapshot_file.SnapshotError, match="unreadable"):
        EscoService.from_path(bad)
    with pytest.raises(snapshot_file.SnapshotError, match="not found"):
        EscoService.from_path(tmp_path / "missing.json.gz")


def test_search_index_is_built_on_first_search_only(ref_service: EscoService,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Issuing workers only look labels up: they must not pay for the search index (~2 s, ~150 MB)."""
    built: list[int] = []
    real = service_module.SearchIndex

    def counting(*args: object, **kwargs: object) -> object:
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(service_module, "SearchIndex", counting)
    service = EscoService(ref_service._snapshot)
    assert service.labels(ADAPT_TO_CHANGE) == {"en": "adapt to change", "fr": "s'adapter au changement"}
    assert service.check([ADAPT_TO_CHANGE]).unknown == []
    assert service.get(ADAPT_TO_CHANGE) is not None
    assert built == []
    first = service.search("adapt to change", "en")
    assert service.search("adapt", "en") and built == [1]
    assert first == ref_service.search("adapt to change", "en")
