"""The ``moodle-edc-bridge`` command: exit codes, report, dry run, and no secret in any output."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from moodle_adapter.cli import main

from .conftest import API_KEY, SOURCE, TOKEN


def _run(*args: str):
    return CliRunner().invoke(main, list(args), env={"EDC_MOODLE_CONFIG": ""})


def test_check_with_the_documented_role_is_complete(write_config) -> None:
    result = _run("--config", str(write_config()), "--check")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "ok: token of 'edcbridge' on Imitation Moodle (Moodle 4.5 (Build: 20241007))" in lines
    assert "ok: service offers all 7 functions" in lines
    assert "ok: course 2: moodle/course:viewparticipants, moodle/user:viewdetails (4 learner(s) visible)" in lines
    assert "missing" not in result.stdout and lines[-1] == "set-up complete"


@pytest.mark.parametrize(("capability", "named"), [
    ("webservice/rest:use", "token: Moodle refused it (nopermissions"),
    ("moodle/course:view", "course 2: moodle/course:view"),
    ("moodle/course:viewparticipants", "course 2: moodle/course:viewparticipants"),
    ("moodle/user:viewdetails", "course 2: moodle/user:viewdetails (Moodle lists 4 graded learner(s)"),
    ("moodle/site:viewfullnames", "course 2: moodle/site:viewfullnames"),
    ("moodle/course:useremail", "course 2: moodle/course:useremail"),
    ("moodle/competency:coursecompetencyview", "course 2: moodle/competency:coursecompetencyview"),
    ("report/completion:view", "course 2: report/completion:view"),
    ("moodle/grade:viewall", "course 2: gradereport/user:view and moodle/grade:viewall"),
    ("gradereport/user:view", "course 2: gradereport/user:view and moodle/grade:viewall"),
])
def test_check_names_each_missing_capability(write_config, site, capability: str, named: str) -> None:
    """Moodle answers many missing capabilities with less data, not an error: --check probes each."""
    site.tokens[TOKEN].capabilities.discard(capability)
    result = _run("--config", str(write_config(courses="ids = [2]")), "--check")
    assert result.exit_code == 2, result.output
    missing = [line for line in result.stdout.splitlines() if line.startswith("missing: ")]
    assert any(line.startswith(f"missing: {named}") for line in missing), result.stdout
    assert result.stdout.splitlines()[-1] == "set-up incomplete: see the 'missing' lines"


def test_check_names_missing_functions_and_hidden_marker(write_config, site) -> None:
    site.tokens[TOKEN].functions.discard("gradereport_user_get_grades_table")
    result = _run("--config", str(write_config()), "--check")
    assert "missing: functions missing from the service: gradereport_user_get_grades_table" in result.stdout
    site.tokens[TOKEN].functions.add("gradereport_user_get_grades_table")
    for course in site.courses.values():
        for field in course.customfields:
            field.visibility = 1
    result = _run("--config", str(write_config()), "--check")
    assert "missing: site: no course shows the custom field 'edc_issue'" in result.stdout


def test_first_run_starts_the_cursor_then_backfill_sends(write_config, sidecar) -> None:
    config = write_config(courses="ids = [2]")
    first = _run("--config", str(config), "--once")
    # The seeded completions predate this real-time first run: they are past completions.
    assert first.exit_code == 0
    assert sidecar.completion_posts() == []
    assert "0 completion(s) sent" in first.stderr
    assert "2 completed before the poller started (not sent: run with --backfill)" in first.stderr

    backfill = _run("--config", str(config), "--backfill")
    assert backfill.exit_code == 1  # learner 11 has no email: reported, and the exit status says so
    assert [p["learner"]["id"] for p in sidecar.completion_posts()] == ["10"]
    assert "error: course 2, learner 11: learner.email:" in backfill.stderr
    assert "1 course(s), 2 learner(s) asked about" in backfill.stderr  # the two still incomplete
    assert "0 template(s) sent; 1 completion(s) sent (0 already known to the sidecar)" in backfill.stderr
    for output in (first.output, backfill.output):
        assert TOKEN not in output and API_KEY not in output
        assert "camille" not in output.lower()


def test_dry_run_prints_json_lines(write_config, sidecar) -> None:
    result = _run("--config", str(write_config(courses="ids = [2]")), "--dry-run", "--backfill")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["action"] for line in lines] == ["PUT", "POST"]
    assert lines[1]["body"]["source"] == SOURCE
    assert sidecar.requests == []


def test_wrong_token_exits_2_without_leaking_it(write_config) -> None:
    result = _run("--config", str(write_config(token="not-the-token-42")), "--once")
    assert result.exit_code == 2
    assert "Moodle refused the token check: invalidtoken" in result.stderr
    assert "not-the-token-42" not in result.output


def test_bad_config_names_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[moodle]\nurl = "ftp://moodle"\n')
    result = _run("--config", str(path))
    assert result.exit_code == 2
    assert "error: configuration: moodle.url: expected an http(s) URL, got 'ftp://moodle'" in result.stderr


def test_console_script_installed() -> None:
    exe = Path(sys.executable).with_name("moodle-edc-bridge")
    done = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--backfill" in done.stdout


def test_interval_daemon_polls_repeatedly_and_stops_on_sigterm(write_config, sidecar, site) -> None:
    import select
    import signal

    exe = Path(sys.executable).with_name("moodle-edc-bridge")
    config = write_config(courses="ids = [2]")
    proc = subprocess.Popen([str(exe), "--config", str(config), "--interval", "1", "--backfill"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    summaries: list[str] = []
    try:
        while len(summaries) < 2:
            ready, _, _ = select.select([proc.stderr], [], [], 60)
            assert ready, "the daemon printed nothing for 60 s"
            line = proc.stderr.readline()
            assert line, "the daemon exited early"
            if "course(s)" in line:
                summaries.append(line)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 1  # learner 11 still has no email
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "1 completion(s) sent" in summaries[0] and "0 completion(s) sent" in summaries[1]
    assert len(sidecar.completion_posts()) == 1
    polls = [p["userid"] for p in site.calls_to("core_completion_get_course_completion_status")]
    assert sorted(polls[:4]) == ["10", "11", "12", "13"]
    assert set(polls[4:]) == {"12", "13"}  # later passes ask only the learners still incomplete
