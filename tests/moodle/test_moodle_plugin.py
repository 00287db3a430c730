"""The PHP plugin local_edcbridge, checked with php-cli (no Moodle needed), and its packaging."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from moodle_adapter.completion import build_completion
from moodle_adapter.moodle_plugin.build_zip import PLUGIN_DIR, build
from moodle_adapter.signing import sign, signed_headers
from moodle_adapter.template import build_template

from .fake_moodle import ESCO_DATA_ANALYSIS, ESCO_PYTHON, competency, course_record, customfield

HERE = Path(__file__).parent
VECTORS = json.loads((HERE / "signing_vector.json").read_text())["vectors"]
PHP_FILES = sorted(PLUGIN_DIR.rglob("*.php")) + sorted((HERE / "php").glob("*.php"))


def php(*args: str) -> str:
    exe = shutil.which("php")
    assert exe, "php-cli is missing: run `make system-deps` (installs Debian's php-cli)"
    done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def php_include(relative: str, variable: str) -> Any:
    """Evaluate a plugin file the way Moodle includes it and return one of its variables as JSON."""
    code = ("define('MOODLE_INTERNAL', 1); define('MATURITY_BETA', 100); $plugin = new stdClass(); "
            f"include '{PLUGIN_DIR / relative}'; echo json_encode(${variable});")
    return json.loads(php("-r", code))


def test_php_lint_every_file() -> None:
    assert len(PHP_FILES) >= 12
    for path in PHP_FILES:
        assert "No syntax errors" in php("-l", str(path)), path


def test_signing_vector_python_php_and_sidecar_agree() -> None:
    from bridge.auth import compute_signature, hash_api_key, valid_nonce  # the sidecar's own verifier

    php_results = json.loads(php(str(HERE / "php" / "run_signer.php"), str(HERE / "signing_vector.json")))
    assert len(php_results) == len(VECTORS) == 4
    assert [bool(v.get("nonce")) for v in VECTORS] == [False, False, False, True]
    for vector, from_php in zip(VECTORS, php_results, strict=True):
        body = vector["body"].encode()
        nonce = vector.get("nonce")
        assert sign(vector["api_key"], vector["method"], vector["path"], vector["timestamp"], body, nonce) \
            == vector["signature"]
        assert signed_headers("moodle-main", vector["api_key"], vector["method"], vector["path"], body,
                              vector["timestamp"], nonce or "") == from_php["headers"]
        assert from_php["signature"] == vector["signature"]
        assert from_php["hmac_key"] == vector["hmac_key"] == hash_api_key(vector["api_key"])
        assert from_php["headers"]["X-EDC-Timestamp"] == str(vector["timestamp"])
        assert from_php["headers"].get("X-EDC-Nonce") == nonce
        sidecar = compute_signature(hash_api_key(vector["api_key"]), vector["method"], vector["path"],
                                    str(vector["timestamp"]), body, nonce)
        assert "v1=" + sidecar == vector["signature"]
        # By default the PHP signer sends a fresh random nonce, which the sidecar's verifier accepts.
        fresh, again = from_php["fresh"], from_php["fresh_again"]
        assert fresh["X-EDC-Nonce"] != again["X-EDC-Nonce"]
        assert fresh["X-EDC-Signature"] != again["X-EDC-Signature"]
        for headers in (fresh, again):
            assert valid_nonce(headers["X-EDC-Nonce"]) and len(headers["X-EDC-Nonce"]) == 22
            assert headers["X-EDC-Signature"] == "v1=" + compute_signature(
                hash_api_key(vector["api_key"]), vector["method"], vector["path"], str(vector["timestamp"]),
                body, headers["X-EDC-Nonce"])
    # A one-byte change in the body, or a nonce signed but not sent, changes the signature.
    v = VECTORS[0]
    changed = v["body"].encode() + b" "
    assert sign(v["api_key"], v["method"], v["path"], v["timestamp"], changed) != v["signature"]
    assert VECTORS[3]["signature"] != v["signature"]


def test_python_signer_sends_a_fresh_nonce_by_default() -> None:
    from bridge.auth import compute_signature, hash_api_key, valid_nonce

    first = signed_headers("moodle-main", "k", "GET", "/api/v1/credentials/x", b"", 1764374400)
    second = signed_headers("moodle-main", "k", "GET", "/api/v1/credentials/x", b"", 1764374400)
    assert first["X-EDC-Nonce"] != second["X-EDC-Nonce"]
    assert first["X-EDC-Signature"] != second["X-EDC-Signature"]
    for headers in (first, second):
        assert valid_nonce(headers["X-EDC-Nonce"])
        assert headers["X-EDC-Signature"] == "v1=" + compute_signature(
            hash_api_key("k"), "GET", "/api/v1/credentials/x", "1764374400", b"", headers["X-EDC-Nonce"])
    without = signed_headers("moodle-main", "k", "GET", "/api/v1/credentials/x", b"", 1764374400, "")
    assert "X-EDC-Nonce" not in without
    assert without["X-EDC-Signature"] == sign("k", "GET", "/api/v1/credentials/x", 1764374400, b"")


def test_plugin_declarations() -> None:
    plugin = php_include("version.php", "plugin")
    assert plugin["component"] == "local_edcbridge"
    assert plugin["requires"] == 2022112800  # Moodle 4.1 LTS
    assert re.fullmatch(r"20\d{8}", str(plugin["version"]))
    observers = php_include("db/events.php", "observers")
    assert observers == [{"eventname": "\\core\\event\\course_completed",
                          "callback": "\\local_edcbridge\\observer::course_completed", "internal": False}]
    settings = (PLUGIN_DIR / "settings.php").read_text()
    assert re.search(r"admin_setting_configpasswordunmask\('local_edcbridge/secret'", settings)
    for name in ("sidecarurl", "source"):
        assert f"'local_edcbridge/{name}'" in settings
    provider = (PLUGIN_DIR / "classes/privacy/provider.php").read_text()
    assert "add_external_location_link('edcbridge_sidecar'" in provider
    task = (PLUGIN_DIR / "classes/task/send_completion.php").read_text()
    assert "extends \\core\\task\\adhoc_task" in task and "new \\curl(" in task
    assert "throw new \\moodle_exception" in task


def test_language_strings_complete_in_english_and_french() -> None:
    english = php_include("lang/en/local_edcbridge.php", "string")
    french = php_include("lang/fr/local_edcbridge.php", "string")
    assert english.keys() == french.keys()
    assert all(french[k] != english[k] for k in english if k != "pluginname")  # really translated
    used = set()
    for path in PLUGIN_DIR.rglob("*.php"):
        text = path.read_text()
        used |= set(re.findall(r"(?:get_string|lang_string)\('([^']+)', 'local_edcbridge'", text))
        used |= set(re.findall(r"'(privacy:metadata:[^']+)'", text))
        used |= set(re.findall(r"moodle_exception\('([^']+)', 'local_edcbridge'", text))
        used |= {f"{m}" for m in re.findall(r"'(field\w+)' => 'edc_", text)}
    assert used and used <= english.keys(), used - english.keys()


DEFAULTS = {"mode": "online", "learning_setting": "non-formal",
            "awarding_body": {"legal_name": {"fr": "Université Exemple"}, "country": "FR"}}
COURSE = course_record(
    2, '<span lang="en" class="multilang">Data Analysis</span>'
       '<span lang="fr" class="multilang">Analyse de données</span>', "DA",
    [customfield("edc_ects", "text", "7,5"), customfield("edc_eqf", "select", "3", "Level 6"),
     customfield("edc_iscedf", "text", "613"), customfield("edc_lang", "text", "fr_ca en")],
    lang="fr", summary="<p>Nettoyer &amp; modéliser</p>")
COMPETENCIES = [competency(2, 1, "Python (computer programming)", ESCO_PYTHON),
                competency(2, 2, "{mlang en}Perform data analysis{mlang}{mlang other}Analyser{mlang}",
                           ESCO_DATA_ANALYSIS),
                competency(2, 3, "Local rule", "LOCAL-1")]
USER = {"id": 17, "firstname": "Camille", "lastname": "Martin", "email": "camille@example.org",
        "lang": "fr_ca"}


def _php_cases(tmp_path: Path, cases: dict[str, Any]) -> dict[str, Any]:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    return json.loads(php(str(HERE / "php" / "run_payload_builder.php"), str(path)))


def _php_template_case(course: dict[str, Any], **changes: Any) -> dict[str, Any]:
    fields = {f["shortname"]: f["value"] if f["type"] == "select" else f["valueraw"]
              for f in course["customfields"]}
    fields.update(changes)
    comps = [{k: c["competency"][k] for k in ("id", "shortname", "idnumber", "description")}
             for c in COMPETENCIES]
    return {"kind": "template", "course": {k: course[k] for k in ("fullname", "summary", "lang")},
            "customfields": fields, "competencies": comps, "defaults": DEFAULTS}


def test_php_payload_builder_matches_python_poller(tmp_path: Path) -> None:
    status = {"completionstatus": {"completed": True, "aggregation": 1, "completions": [
        {"type": 4, "complete": True, "timecompleted": 1764374400}]}}
    results = _php_cases(tmp_path, {
        "template": _php_template_case(COURSE),
        "bad_eqf": _php_template_case(COURSE, edc_eqf="nine"),
        "bad_isced": _php_template_case(COURSE, edc_iscedf="06a3"),
        "completion": {"kind": "completion", "courseid": 2, "user": USER, "timecompleted": 1764374400,
                       "grade": {"score": 87.5, "max": 100, "text": "87,50", "pass": 50}},
        "failed": {"kind": "completion", "courseid": 2, "user": USER, "timecompleted": 1764374400,
                   "grade": {"score": 42, "max": 100, "text": "42,00", "pass": 50}},
        "no_email": {"kind": "completion", "courseid": 2, "user": dict(USER, email=""), "timecompleted": 1,
                     "grade": None},
    })
    php_template = results["template"]["result"]
    python_template = build_template(COURSE, COMPETENCIES, {"ects": "edc_ects", "eqf_level": "edc_eqf",
                                                            "isced_f": "edc_iscedf", "language": "edc_lang"},
                                     DEFAULTS)
    assert php_template["template"] == python_template.template
    assert php_template["warnings"] == python_template.warnings
    assert php_template["template"]["title"] == {"en": "Data Analysis", "fr": "Analyse de données"}
    assert (php_template["template"]["ects"], php_template["template"]["eqf_level"],
            php_template["template"]["isced_f"], php_template["template"]["languages"]) \
        == (7.5, 6, "0613", ["fr", "en"])
    assert php_template["template"]["learning_outcomes"][1]["text"] == {"en": "Perform data analysis",
                                                                        "fr": "Analyser"}
    assert results["bad_eqf"] == {"error": "customfield edc_eqf: EQF level must be 1 to 8, got 'nine'"}
    assert results["bad_isced"]["error"].startswith("customfield edc_iscedf: ISCED-F must be a 4-digit")

    grade_item = {"itemtype": "course", "graderaw": 87.5, "grademax": 100, "gradeformatted": "87,50"}
    python_completion = build_completion("moodle-main", 2, USER, status, grade_item, now=0)
    assert results["completion"]["result"] == python_completion
    assert results["failed"]["result"]["passed"] is False
    assert results["no_email"]["error"].startswith("learner.email:")


def test_build_zip(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "local_edcbridge.zip", tmp_path / "b" / "local_edcbridge.zip"
    names = build(first)
    build(second)
    assert first.read_bytes() == second.read_bytes()  # reproducible
    with zipfile.ZipFile(first) as archive:
        listed = archive.namelist()
        assert archive.testzip() is None
        version = archive.read("edcbridge/version.php").decode()
    assert listed == names
    assert {n.split("/")[0] for n in listed} == {"edcbridge"}
    expected = {"edcbridge/version.php", "edcbridge/settings.php", "edcbridge/db/events.php",
                "edcbridge/classes/observer.php", "edcbridge/classes/task/send_completion.php",
                "edcbridge/classes/privacy/provider.php", "edcbridge/classes/local/signer.php",
                "edcbridge/classes/local/payload_builder.php", "edcbridge/lang/en/local_edcbridge.php",
                "edcbridge/lang/fr/local_edcbridge.php"}
    assert set(listed) == expected
    assert "$plugin->component = 'local_edcbridge';" in version


def test_build_zip_script_runs(tmp_path: Path) -> None:
    out = tmp_path / "dist" / "plugin.zip"
    done = subprocess.run([sys.executable, str(PLUGIN_DIR.parent / "build_zip.py"), "-o", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "10 files, version 20" in done.stdout and zipfile.is_zipfile(out)
