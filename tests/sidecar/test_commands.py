"""The operator's commands: db upgrade, sources add/list, sweep, and `serve` running for real."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests
from click.testing import CliRunner
from sqlalchemy import select

from bridge.auth import hash_api_key, signature_headers
from bridge.cli import main
from bridge.db.models import Source
from bridge.db.session import session_factory

from .conftest import ADMIN, ROOT, example_completion, example_template, wait_for


def _env(tmp_path: Path, dev_seal_p12: Path) -> dict[str, str]:
    return {"EDC_DATA_DIR": str(tmp_path / "var"), "EDC_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
            "EDC_SEAL_PKCS12": str(dev_seal_p12), "EDC_SEAL_PKCS12_PASSWORD": "dev-seal",
            "EDC_ADMIN_TOKEN": ADMIN}


def test_db_upgrade_and_sources(tmp_path: Path, dev_seal_p12: Path) -> None:
    env = _env(tmp_path, dev_seal_p12)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    added = runner.invoke(main, ["sources", "add", "moodle-main"], env=env)
    assert added.exit_code == 0, added.output
    api_key = added.output.strip().splitlines()[-1]
    with session_factory(env["EDC_DATABASE_URL"])() as session:
        stored = session.scalar(select(Source.key_hash).where(Source.name == "moodle-main"))
    assert stored == hash_api_key(api_key) and api_key not in stored
    again = runner.invoke(main, ["sources", "add", "moodle-main"], env=env)
    assert again.exit_code != 0 and "already exists" in again.output
    bad = runner.invoke(main, ["sources", "add", "no spaces/allowed"], env=env)
    assert bad.exit_code != 0
    listed = runner.invoke(main, ["sources", "list"], env=env)
    assert "moodle-main" in listed.output and api_key not in listed.output
    swept = runner.invoke(main, ["sweep"], env=env)
    assert swept.exit_code == 0 and "re-enqueued 0 credential(s)" in swept.output


def test_sources_add_with_a_key_generated_elsewhere(tmp_path: Path, dev_seal_p12: Path) -> None:
    """`sources add --key-file`: the key Tutor generated (a unique config value) is registered, never echoed."""
    env = _env(tmp_path, dev_seal_p12)
    runner = CliRunner()
    key = "k" * 20 + "Z9-_" * 5
    (tmp_path / "key").write_text(key + "\n", encoding="utf-8")
    added = runner.invoke(main, ["sources", "add", "openedx", "--key-file", str(tmp_path / "key")], env=env)
    assert added.exit_code == 0, added.output
    assert key not in added.output
    with session_factory(env["EDC_DATABASE_URL"])() as session:
        assert session.scalar(select(Source.key_hash).where(Source.name == "openedx")) == hash_api_key(key)
    (tmp_path / "short").write_text("too-short\n", encoding="utf-8")
    short = runner.invoke(main, ["sources", "add", "other", "--key-file", str(tmp_path / "short")], env=env)
    assert short.exit_code != 0 and "at least 32" in short.output


def test_serve_runs_the_embedded_sidecar_end_to_end(tmp_path: Path, dev_seal_p12: Path) -> None:
    env = {**os.environ, **_env(tmp_path, dev_seal_p12)}
    runner = CliRunner()
    api_key = runner.invoke(main, ["sources", "add", "moodle-main"], env=env).output.strip().splitlines()[-1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(Path(sys.executable).with_name("edc-bridge")), "serve", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _healthy(base), timeout=60)
        put = requests.put(f"{base}/api/v1/sources/moodle-main/courses/42/template", json=example_template(),
                           headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30)
        assert put.status_code == 201, put.text
        body = json.dumps(example_completion()).encode()
        path = "/api/v1/completions"
        posted = requests.post(base + path, data=body, timeout=30, headers={
            **signature_headers("moodle-main", api_key, "POST", path, body), "Content-Type": "application/json"})
        assert posted.status_code == 202, posted.text
        status_path = f"/api/v1/credentials/{posted.json()['id']}"
        final = wait_for(lambda: (s := requests.get(base + status_path, timeout=10, headers=signature_headers(
            "moodle-main", api_key, "GET", status_path)).json())["status"] == "delivered" and s, timeout=60)
        assert final["deliveries"][0]["channel"] == "email"
        assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == 1
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    log = output.decode(errors="replace")
    assert "camille" not in log.lower() and api_key not in log and ADMIN not in log
    assert "Traceback" not in log, log[-3000:]


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False
