"""The ``moodle-edc-bridge`` command: exit codes, report, dry run, and no secret in any output."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from moodle_adapter.cli import main

from .conftest import API_KEY, SOURCE, TOKEN


def _run(*args: str):
    return CliRunner().invoke(main, list(args), env={"EDC_MOODLE_CONFIG": ""})


def test_check_reports_site_and_functions(write_config) -> None:
    result = _run("--config", str(write_config()), "--check")
    assert result.exit_code == 0, result.output
    assert "ok: Fake Moodle (Moodle 4.1.12 (Build: 20240812)), all functions available" in result.stdout


def test_first_run_starts_the_cursor_then_backfill_sends(write_config, sidecar) -> None:
    config = write_config(courses="ids = [2]")
    first = _run("--config", str(config), "--once")
    # The seeded completions predate this real-time first run: they are past completions.
    assert first.exit_code == 0
    assert sidecar.completion_posts() == []
    assert "0 completion(s) sent" in first.stderr

    backfill = _run("--config", str(config), "--backfill")
    assert backfill.exit_code == 1  # learner 11 has no email: reported, and the exit status says so
    assert [p["learner"]["id"] for p in sidecar.completion_posts()] == ["10"]
    assert "error: course 2, learner 11: learner.email:" in backfill.stderr
    assert "1 course(s), 0 template(s) sent, 1 completion(s) sent" in backfill.stderr
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


def test_interval_daemon_polls_repeatedly_and_stops_on_sigterm(write_config, sidecar, moodle_data) -> None:
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
    polls = [p["userid"] for p in moodle_data.calls_to("core_completion_get_course_completion_status")]
    assert sorted(polls[:4]) == ["10", "11", "12", "13"]
    assert "10" not in polls[4:] and "11" in polls[4:]  # later passes skip the learner already sent
