"""The shared template and completion rules: the poller (Python) and the plugin (PHP, run by php-cli)
give exactly the results written in vectors/rules.json, case by case."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from moodle_adapter.completion import LearnerDataError, build_completion
from moodle_adapter.moodle_plugin.build_zip import PLUGIN_DIR
from moodle_adapter.multilang import SUPPORTED_LANGUAGES, language_map, render, truncate
from moodle_adapter.template import CourseDataError, build_template

HERE = Path(__file__).parent
VECTORS = HERE / "vectors" / "rules.json"
CASES = json.loads(VECTORS.read_text(encoding="utf-8"))["cases"]


def python_result(case: dict[str, Any]) -> Any:
    data = case["input"]
    kind = case["kind"]
    if kind == "language_map":
        found, dropped = language_map(data["text"], data["default"])
        return {"map": found, "dropped": dropped}
    if kind == "render":
        return render(data["text"], data["lang"])
    if kind == "truncate":
        return truncate(data["text"], data["limit"])
    if kind == "template":
        try:
            built = build_template(data["course"], data["customfields"], data["competencies"], data["fields"],
                                   data["defaults"], data["policy"])
        except CourseDataError as exc:
            return {"error": str(exc)}
        return {"template": built.template, "warnings": built.warnings}
    try:
        return {"completion": build_completion(data["source"], data["course_id"], data["user"],
                                               data["timecompleted"], data["criteria"], data["grade"])}
    except LearnerDataError as exc:
        return {"error": str(exc)}


def test_vectors_cover_every_rule() -> None:
    kinds = {case["kind"] for case in CASES}
    assert kinds == {"language_map", "render", "truncate", "template", "completion"}
    assert len({case["name"] for case in CASES}) == len(CASES) >= 45
    assert sum("error" in case["expect"] for case in CASES if case["kind"] == "template") >= 6


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_python_rules(case: dict[str, Any]) -> None:
    assert python_result(case) == case["expect"]


def test_php_rules_give_the_same_results() -> None:
    php = shutil.which("php")
    assert php, "php-cli is missing: run `make system-deps`"
    done = subprocess.run([php, str(HERE / "php" / "run_rules.php"), str(VECTORS)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(done.stdout)
    assert [r["name"] for r in results] == [c["name"] for c in CASES]
    mismatches = [(case["name"], case["expect"], got["result"]) for case, got in zip(CASES, results, strict=True)
                  if got["result"] != case["expect"]]
    assert mismatches == []


def test_one_list_of_languages_everywhere() -> None:
    """The adapters' list of languages EDC supports is the sidecar's, in Python and in PHP."""
    from bridge.elm.codelists import LANGUAGES

    assert set(LANGUAGES) == SUPPORTED_LANGUAGES
    source = (PLUGIN_DIR / "classes" / "local" / "multilang.php").read_text()
    block = source.split("const SUPPORTED = [", 1)[1].split("];", 1)[0]
    assert set(re.findall(r"'([a-z]{2})'", block)) == SUPPORTED_LANGUAGES
