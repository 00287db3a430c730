"""The PHP plugin local_edcbridge, checked with php-cli (no Moodle needed), and its packaging.

The shared rules are checked by test_rules_vectors.py; the plugin's Moodle-side behaviour
(outbox, task, report, privacy) on a real Moodle 4.5 site (see docs/moodle.md).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from moodle_adapter.moodle_plugin.build_zip import PLUGIN_DIR, build
from moodle_adapter.signing import sign, signed_headers

HERE = Path(__file__).parent
VECTORS = json.loads((HERE / "signing_vector.json").read_text())["vectors"]
PHP_FILES = sorted(PLUGIN_DIR.rglob("*.php")) + sorted((HERE / "php").glob("*.php"))


def php(*args: str) -> str:
    exe = shutil.which("php")
    assert exe, "php-cli is missing: run `make system-deps` (installs Debian's php-cli)"
    done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_php_lint_every_file() -> None:
    assert len(PHP_FILES) >= 30
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


def php_include(relative: str, variable: str) -> Any:
    """Evaluate a plugin file the way Moodle includes it and return one of its variables as JSON."""
    code = ("define('MOODLE_INTERNAL', 1); define('MATURITY_BETA', 100); define('MESSAGE_PERMITTED', 1); "
            "define('MESSAGE_DEFAULT_ENABLED', 2); $plugin = new stdClass(); "
            f"include '{PLUGIN_DIR / relative}'; echo json_encode(${variable});")
    return json.loads(php("-r", code))


def test_plugin_declarations() -> None:
    plugin = php_include("version.php", "plugin")
    assert plugin["component"] == "local_edcbridge"
    assert plugin["requires"] == 2024100700  # Moodle 4.5 LTS
    assert re.fullmatch(r"20\d{8}", str(plugin["version"]))
    assert php_include("db/events.php", "observers") == [
        {"eventname": "\\core\\event\\course_completed", "callback": "\\local_edcbridge\\observer::course_completed",
         "internal": False}]
    # A scheduled task every minute, not ad-hoc tasks (which Moodle drops after 12 attempts, MDL-79128).
    assert php_include("db/tasks.php", "tasks") == [
        {"classname": "\\local_edcbridge\\task\\send_outbox", "blocking": 0, "minute": "*", "hour": "*", "day": "*",
         "month": "*", "dayofweek": "*"}]
    assert not (PLUGIN_DIR / "classes" / "task" / "send_completion.php").exists()
    assert php_include("db/messages.php", "messageproviders")["refused"]["capability"] == "moodle/site:config"
    settings = (PLUGIN_DIR / "settings.php").read_text()
    assert "new admin_setting_encryptedpassword('local_edcbridge/apikey'" in settings
    assert re.search(r"admin_setting_configcheckbox\('local_edcbridge/allowblockedhosts',[^;]*\), 0\)\);", settings)
    assert "$ADMIN->add('reports', new admin_externalpage('local_edcbridge_report'" in settings
    sender = (PLUGIN_DIR / "classes" / "local" / "sender.php").read_text()
    assert "new \\curl(['ignoresecurity' => $this->config->allowblocked])" in sender
    assert "ignoresecurity' => true" not in "".join(p.read_text() for p in PLUGIN_DIR.rglob("*.php"))


def test_outbox_tables_and_upgrade_agree() -> None:
    """install.xml (new sites) and upgrade.php (sites of the previous version) create the same tables."""
    import xml.etree.ElementTree as ET

    root = ET.parse(PLUGIN_DIR / "db" / "install.xml").getroot()  # noqa: S314 (our own file)
    tables = {t.get("NAME"): t for t in root.iter("TABLE")}
    assert set(tables) == {"local_edcbridge_outbox", "local_edcbridge_course"}
    upgrade = (PLUGIN_DIR / "db" / "upgrade.php").read_text()
    for name, table in tables.items():
        fields = [f.get("NAME") for f in table.iter("FIELD")]
        block = upgrade.split(f"new xmldb_table('{name}')", 1)[1].split("create_table", 1)[0]
        assert re.findall(r"add_field\('(\w+)'", block) == fields, name
        for index in table.iter("INDEX"):
            assert f"add_index('{index.get('NAME')}'" in block
    outbox = tables["local_edcbridge_outbox"]
    assert {(i.get("NAME"), i.get("UNIQUE"), i.get("FIELDS")) for i in outbox.iter("INDEX")} == {
        ("courseuser", "true", "courseid, userid"), ("statenext", "false", "state, nextattempt")}
    assert "upgrade_plugin_savepoint(true, 2026120100, 'local', 'edcbridge')" in upgrade
    assert "\\core\\encryption::encrypt($secret)" in upgrade and "unset_config('secret'" in upgrade
    assert "'\\\\local_edcbridge\\\\task\\\\send_completion'" in upgrade  # queued ad-hoc sends become rows


def test_privacy_provider_is_complete() -> None:
    source = (PLUGIN_DIR / "classes" / "privacy" / "provider.php").read_text()
    for interface in ("\\core_privacy\\local\\metadata\\provider", "\\core_privacy\\local\\request\\plugin\\provider",
                      "\\core_privacy\\local\\request\\core_userlist_provider"):
        assert interface in source
    for method in ("get_metadata", "get_contexts_for_userid", "get_users_in_context", "export_user_data",
                   "delete_data_for_all_users_in_context", "delete_data_for_user", "delete_data_for_users"):
        assert f"public static function {method}(" in source
    assert "add_database_table('local_edcbridge_outbox'" in source
    assert "add_external_location_link('edcbridge_sidecar'" in source


def test_language_strings_complete_in_english_and_french() -> None:
    english = php_include("lang/en/local_edcbridge.php", "string")
    french = php_include("lang/fr/local_edcbridge.php", "string")
    assert english.keys() == french.keys()
    assert all(french[k] != english[k] for k in english if k != "pluginname")  # really translated
    for key, text in english.items():  # the same placeholders in both languages
        assert sorted(re.findall(r"\{\$a[^}]*\}", text)) == sorted(re.findall(r"\{\$a[^}]*\}", french[key])), key
    used = set()
    for path in PLUGIN_DIR.rglob("*.php"):
        text = path.read_text()
        used |= set(re.findall(r"(?:get_string|lang_string)\('([^']+)', 'local_edcbridge'", text))
        used |= set(re.findall(r"'(privacy:metadata:[^']+)'", text))
        used |= {f"{name}_desc" for name in re.findall(r"'(field\w+)' => 'edc_", text)}
        used |= set(re.findall(r"'(field\w+)' => 'edc_", text))
        used |= set(re.findall(r"'(error_\w+)'", text))  # sender::cause() picks its reason from a table
    used |= {f"state_{s}" for s in ("pending", "sent", "refused")} | {f"show_{s}" for s in
                                                                      ("attention", "pending", "sent", "all")}
    used |= {"messageprovider:refused", "checkoutbox"}  # Moodle names them: message provider, check\outbox
    assert used - english.keys() == set()
    assert english.keys() - used == set()


def test_plugin_units_with_php(tmp_path: Path) -> None:
    cases = {
        "no_defaults": {"kind": "defaults", "json": ""},
        "not_json": {"kind": "defaults", "json": "{awarding_body:"},
        "a_list": {"kind": "defaults", "json": "[1, 2]"},
        "no_body": {"kind": "defaults", "json": '{"mode": "online"}'},
        "good": {"kind": "defaults", "json": '{"awarding_body": {"legal_name": {"en": "U"}}, "mode": "online"}'},
        "refused": {"kind": "cause", "errno": 7, "error": "Failed to connect to 127.0.0.1 port 9: Connection refused"},
        "dns": {"kind": "cause", "errno": 6, "error": "Could not resolve host: edc.invalid"},
        "tls": {"kind": "cause", "errno": 60, "error": "SSL certificate problem: self-signed certificate"},
        "timeout": {"kind": "cause", "errno": 28, "error": ""},
        "detail": {"kind": "detail", "problem": {"title": "Invalid", "errors": [{"field": "learner.email",
                                                                                 "message": "expected an address"}]}},
        "detail_title": {"kind": "detail", "problem": {"title": "Conflict", "detail": "stale If-Match"}},
        "missing_template": {"kind": "missing_template", "problem": {"errors": [
            {"field": "course_id", "message": "course '2' of source 'm' has no credential template; PUT one first"}]}},
        "other_422": {"kind": "missing_template", "problem": {"errors": [{"field": "learner.email", "message": "x"}]}},
    }
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    got = json.loads(php(str(HERE / "php" / "run_plugin_units.php"), str(path)))
    assert got["no_defaults"]["error"].startswith("No course template defaults are set")
    assert got["not_json"]["error"] == "The course template defaults are not a JSON object: Syntax error"
    assert got["a_list"]["error"].startswith("The course template defaults are not a JSON object")
    assert got["no_body"]["error"].startswith("The course template defaults name no awarding body")
    assert got["good"] == {"defaults": {"awarding_body": {"legal_name": {"en": "U"}}, "mode": "online"}, "error": None}
    assert got["refused"] == ("connection refused (nothing listens at that address and port): Failed to connect to "
                              "127.0.0.1 port 9: Connection refused")
    assert got["dns"].startswith("DNS lookup failed") and got["tls"].startswith("TLS failure")
    assert got["timeout"] == "timed out: cURL error 28"
    assert got["detail"] == "learner.email: expected an address" and got["detail_title"] == "stale If-Match"
    assert got["missing_template"] is True and got["other_422"] is False


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
    shipped = {path.relative_to(PLUGIN_DIR).as_posix() for path in PLUGIN_DIR.rglob("*") if path.is_file()}
    assert {n.split("/", 1)[1] for n in listed} == shipped
    for needed in ("version.php", "settings.php", "lib.php", "report.php", "db/install.xml", "db/upgrade.php",
                   "db/tasks.php", "db/hooks.php", "db/events.php", "db/messages.php", "cli/queue_past.php",
                   "classes/privacy/provider.php", "classes/task/send_outbox.php", "classes/local/rules.php"):
        assert f"edcbridge/{needed}" in listed
    assert "$plugin->component = 'local_edcbridge';" in version


def test_build_zip_script_runs(tmp_path: Path) -> None:
    out = tmp_path / "dist" / "plugin.zip"
    done = subprocess.run([sys.executable, str(PLUGIN_DIR.parent / "build_zip.py"), "-o", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.search(r"\d+ files, version 2026120100", done.stdout) and zipfile.is_zipfile(out)
