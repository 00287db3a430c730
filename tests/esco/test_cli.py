"""`edc-bridge esco ...` and `edc-bridge moodle competency-framework` through the real CLI."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import main
from bridge.esco.moodle_framework import COLUMNS

from .conftest import ADAPT_TO_CHANGE, GROUP, SKILL

BREAD = SKILL + "00000000-0000-4000-8000-000000000001"
HYGIENE = SKILL + "00000000-0000-4000-8000-000000000003"
KNEAD = SKILL + "00000000-0000-4000-8000-000000000002"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        result.exception
    return result.exit_code, result.output


@pytest.fixture()
def imported(newer_export: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data" / "esco" / "esco-snapshot.json.gz"
    code, output = _run("esco", "import", str(newer_export), "--output", str(target))
    assert code == 0, output
    assert "ESCO v1.2.0: 4 skills, 2 skill groups" in output and "2 obsolete" in output
    return target


def test_import_twice_reports_unchanged(imported: Path, newer_export: Path) -> None:
    before = imported.read_bytes()
    code, output = _run("esco", "import", str(newer_export), "-o", str(imported), "--esco-version", "v1.2.0")
    assert code == 0 and f"unchanged {imported}" in output
    assert imported.read_bytes() == before


def test_import_defaults_to_the_data_dir(newer_export: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDC_DATA_DIR", str(tmp_path / "var"))
    code, output = _run("esco", "import", str(newer_export))
    assert code == 0, output
    assert (tmp_path / "var" / "esco" / "esco-snapshot.json.gz").is_file()


def test_import_and_search_agree_without_data_dir(newer_export: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """EDC_DATA_DIR unset: the import lands in ./var and search reads it there (its languages too)."""
    monkeypatch.delenv("EDC_DATA_DIR", raising=False)
    monkeypatch.delenv("EDC_ESCO_API_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    code, output = _run("esco", "import", str(newer_export))
    assert code == 0, output
    assert (tmp_path / "var" / "esco" / "esco-snapshot.json.gz").is_file()
    code, output = _run("esco", "search", "Brot backen", "--lang", "de", "--limit", "1")
    assert code == 0, output
    assert output.strip() == f"{BREAD}  Brot backen"


def test_import_error_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "skills_en.csv").write_text("conceptUri\nx\n", encoding="utf-8")
    code, output = _run("esco", "import", str(tmp_path), "-o", str(tmp_path / "out.json.gz"))
    assert code == 1
    assert "skills_en.csv: missing column(s) preferredLabel" in output and "Traceback" not in output
    assert not (tmp_path / "out.json.gz").exists()


def test_search_and_show_on_bundled_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDC_DATA_DIR", raising=False)
    monkeypatch.delenv("EDC_ESCO_API_URL", raising=False)
    code, output = _run("esco", "search", "s'adapter au changement", "--lang", "fr", "--limit", "3", "--json")
    assert code == 0
    hits = json.loads(output)
    assert len(hits) == 3 and hits[0]["uri"] == ADAPT_TO_CHANGE
    code, output = _run("esco", "search", "adapt to change", "--limit", "1")
    assert code == 0 and output.strip() == f"{ADAPT_TO_CHANGE}  adapt to change"
    code, output = _run("esco", "show", ADAPT_TO_CHANGE.rsplit("/", 1)[1])
    assert code == 0 and json.loads(output)["pref_label"]["fr"] == "s'adapter au changement"


def test_search_and_show_errors() -> None:
    code, output = _run("esco", "search", "adapt", "--lang", "xx")
    assert code == 2 and "lang: must be one of en, fr" in output
    code, output = _run("esco", "show", SKILL + "00000000-0000-4000-8000-000000000000")
    assert code == 1 and "unknown ESCO skill" in output


def _framework(output: Path) -> list[dict[str, str]]:
    text = output.read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    return list(reader)


def _check_structure(rows: list[dict[str, str]]) -> None:
    """Framework first; id numbers unique and <= 100 chars; every parent defined above its child."""
    assert rows[0]["Is framework"] == "1" and rows[0]["Parent id number"] == ""
    assert rows[0]["Scale values"] and json.loads(rows[0]["Scale configuration"])[0] == {"scaleid": "1"}
    ids = [r["Id number"] for r in rows]
    assert len(ids) == len(set(ids)) and all(0 < len(i) <= 100 for i in ids)
    defined: set[str] = set()
    for row in rows[1:]:
        assert row["Is framework"] == "0" and row["Shortname"]
        assert row["Parent id number"] == "" or row["Parent id number"] in defined
        defined.add(row["Id number"])
    depth = {r["Id number"]: 1 for r in rows[1:] if not r["Parent id number"]}
    for row in rows[1:]:
        if row["Parent id number"]:
            depth[row["Id number"]] = depth[row["Parent id number"]] + 1
    assert len(rows[0]["Taxonomy"].split(",")) == max(depth.values())


def test_framework_from_listed_skills_in_french(tmp_path: Path) -> None:
    output = tmp_path / "esco.csv"
    uuid = "5592ab32-4e7a-4cda-8e64-ca36d5de8a10"
    code, text = _run("moodle", "competency-framework", "--skills", f"{ADAPT_TO_CHANGE}, {uuid}",
                      "--lang", "fr", "-o", str(output))
    assert code == 0, text
    rows = _framework(output)
    _check_structure(rows)
    assert rows[0]["Id number"] == "esco-v1.0-fr"
    assert [(r["Id number"], r["Shortname"]) for r in rows[1:]] == [
        (SKILL + uuid, "s'adapter à des changements de situation"),
        (ADAPT_TO_CHANGE, "s'adapter au changement"),
    ]


def test_framework_of_a_group_with_hierarchy(tmp_path: Path) -> None:
    group = "http://data.europa.eu/esco/skill/045f71e6-0699-4169-8a54-9c6b96f3174d"  # give advice to others
    output = tmp_path / "group.csv"
    code, text = _run("moodle", "competency-framework", "--group", group, "--hierarchy", "--lang", "en",
                      "--idnumber", "advice", "--name", "Advice skills", "-o", str(output))
    assert code == 0, text
    rows = _framework(output)
    _check_structure(rows)
    assert (rows[0]["Id number"], rows[0]["Shortname"]) == ("advice", "Advice skills")
    assert rows[1]["Id number"] == group and rows[1]["Parent id number"] == ""
    assert len(rows) > 20 and all(r["Parent id number"] for r in rows[2:])
    flat = tmp_path / "flat.csv"
    assert _run("moodle", "competency-framework", "--group", group, "-o", str(flat))[0] == 0
    flat_rows = _framework(flat)
    assert all(r["Parent id number"] == "" for r in flat_rows[1:])
    assert {r["Id number"] for r in flat_rows[1:]} == {r["Id number"] for r in rows[2:]}


def test_framework_with_all_skills_of_an_import(imported: Path, tmp_path: Path) -> None:
    output = tmp_path / "all.csv"
    code, text = _run("moodle", "competency-framework", "--all", "--hierarchy", "--snapshot", str(imported),
                      "-o", str(output))
    assert code == 0, text
    rows = _framework(output)
    _check_structure(rows)
    parents = {r["Id number"]: r["Parent id number"] for r in rows[1:]}
    # obsolete skills left out; the unlabeled group between hygiene and GROUP is skipped over
    assert parents == {GROUP: "", BREAD: GROUP, HYGIENE: GROUP}


def test_framework_errors(tmp_path: Path) -> None:
    output = tmp_path / "x.csv"
    unknown = SKILL + "00000000-0000-4000-8000-000000000000"
    code, text = _run("moodle", "competency-framework", "--skills", unknown, "-o", str(output))
    assert code == 2 and f"unknown ESCO skill {unknown}" in text
    code, text = _run("moodle", "competency-framework", "--all", "--skills", ADAPT_TO_CHANGE,
                      "-o", str(output))
    assert code == 2 and "exactly one of" in text
    code, text = _run("moodle", "competency-framework", "--all", "--lang", "de", "-o", str(output))
    assert code == 2 and "--lang" in text
    assert not output.exists()


def test_framework_refuses_obsolete_skills(imported: Path, tmp_path: Path) -> None:
    code, text = _run("moodle", "competency-framework", "--skills", KNEAD, "--snapshot", str(imported),
                      "-o", str(tmp_path / "x.csv"))
    assert code == 2 and f"obsolete, replaced by {BREAD}" in text


def test_unwritable_output_is_a_message(newer_export: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code, output = _run("esco", "import", str(newer_export), "-o", str(blocker / "sub" / "snap.json.gz"))
    assert code == 1 and "cannot write" in output and "Traceback" not in output
