"""``edc-bridge serve`` under hostile clients and as an operator runs it: real gunicorn processes.

Slow request bodies must not take the threads /healthz needs; a CR/LF in a URL must not forge
access-log lines; /metrics adds up every worker process; each instance has its own control socket;
the SQLite file holding the sources' keys is private from its creation.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.reference import ELM_EXAMPLES

from .conftest import ADMIN, ROOT, make_sidecar, wait_for

BODY_TIMEOUT = 15  # seconds a client has to send its body in these servers
SLOW_CLIENTS = 24


@dataclass
class Server:
    base: str
    data_dir: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            output, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        return (output or b"").decode(errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def start_server(data_dir: Path, dev_seal_p12: Path, *args: str) -> Server:
    port = _free_port()
    env = {**os.environ, "EDC_DATA_DIR": str(data_dir), "EDC_SEAL_PKCS12": str(dev_seal_p12),
           "EDC_SEAL_PKCS12_PASSWORD": "dev-seal", "EDC_ADMIN_TOKEN": ADMIN,
           "EDC_BODY_TIMEOUT": str(BODY_TIMEOUT), "EDC_EMAIL_PDF": "0"}
    for name in ("EDC_DATABASE_URL", "DATABASE_URL", "EDC_BROKER_URL", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("edc-bridge")), "serve", "--port", str(port), *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        preexec_fn=lambda: os.umask(0o022))  # the usual umask: files are private only if made so
    server = Server(f"http://127.0.0.1:{port}", data_dir, process)
    try:
        wait_for(lambda: _healthy(server.base) or process.poll() is not None, timeout=90)
    except AssertionError:
        server.stop()
        raise
    if process.poll() is not None:
        raise AssertionError(server.stop()[-3000:])
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, dev_seal_p12: Path) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("serve") / "var"
    stale = data_dir / "metrics"
    stale.mkdir(parents=True)
    (stale / "counter_4000000.db").write_bytes(b"\0" * 16)  # an earlier run's counts must not be added
    running = start_server(data_dir, dev_seal_p12, "--workers", "2")
    yield running
    running.stop()


def _slow_upload(base: str) -> socket.socket:
    """Headers of a signed-looking completion, then one byte of its body, and nothing more."""
    port = int(base.rsplit(":", 1)[1])
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(b"POST /api/v1/completions HTTP/1.1\r\nHost: sidecar\r\nContent-Type: application/json\r\n"
                 b"X-EDC-Source: moodle-main\r\nContent-Length: 100000\r\n\r\n{")
    return conn


def test_slow_uploads_leave_healthz_answering(server: Server) -> None:
    uploads = [_slow_upload(server.base) for _ in range(SLOW_CLIENTS)]
    try:
        for _ in range(4):  # several connections, so both worker processes are asked
            assert requests.get(f"{server.base}/healthz", timeout=BODY_TIMEOUT * 2 / 3).status_code == 200
        for conn in uploads:  # and the slow clients are told why they were dropped
            conn.settimeout(BODY_TIMEOUT * 4)
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            conn.settimeout(BODY_TIMEOUT)
            while conn.recv(4096):  # the problem document, then the server closes the connection
                pass
    finally:
        for conn in uploads:
            conn.close()


def test_crlf_in_a_url_does_not_forge_log_lines(tmp_path: Path, dev_seal_p12: Path) -> None:
    running = start_server(tmp_path / "var", dev_seal_p12)
    try:
        forged = '127.0.0.1 "GET /api/v1/credentials" 200 99 1ms'
        target = "/nothing%0d%0a" + forged.replace(" ", "%20").replace('"', "%22") + "%0a"
        response = requests.get(running.base + target, timeout=10)
        assert response.status_code in (400, 404)
    finally:
        log = running.stop()
    lines = log.splitlines()
    assert forged not in lines and not any(line.startswith(forged) for line in lines)
    assert any(line.startswith('127.0.0.1 "GET /nothing\\x0d\\x0a127.0.0.1 \\x22GET') for line in lines), log[-2000:]


def _healthz_count(base: str) -> float:
    text = requests.get(f"{base}/metrics", timeout=10).text
    found = re.findall(r'^edc_http_requests_total\{endpoint="health\.healthz",method="GET",status="200"\} (\S+)$',
                       text, re.M)
    return sum(float(value) for value in found)


def test_metrics_add_up_every_worker_process(server: Server) -> None:
    assert not (server.data_dir / "metrics" / "counter_4000000.db").exists()
    before = _healthz_count(server.base)
    for _ in range(40):  # a new connection each: the two processes share them
        with requests.Session() as fresh:
            assert fresh.get(f"{server.base}/healthz", timeout=10).status_code == 200
    # Whichever process answers the scrape reports every process's requests.
    counts = {_healthz_count(server.base) for _ in range(10)}
    assert counts == {before + 40}


def test_each_instance_has_its_own_control_socket(server: Server, tmp_path: Path, dev_seal_p12: Path) -> None:
    own = server.data_dir / "gunicorn.ctl"
    assert stat.S_ISSOCK(own.stat().st_mode)
    other = start_server(tmp_path / "var", dev_seal_p12)
    try:
        assert stat.S_ISSOCK((tmp_path / "var" / "gunicorn.ctl").stat().st_mode)
    finally:
        other.stop()
    assert stat.S_ISSOCK(own.stat().st_mode)  # the second instance neither took nor removed it
    assert _healthy(server.base)


def test_sqlite_file_is_private_from_creation(server: Server) -> None:
    for name in ("edc-bridge.sqlite3", "edc-bridge.sqlite3-wal", "edc-bridge.sqlite3-shm"):
        path = server.data_dir / name
        if path.exists() or name == "edc-bridge.sqlite3":
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name


def test_sqlite_engine_creates_the_file_private(tmp_path: Path) -> None:
    from bridge.db.session import dispose_engine, get_engine

    url = f"sqlite:///{tmp_path / 'new' / 'keys.sqlite3'}"
    previous = os.umask(0o022)
    try:
        with get_engine(url).connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            conn.commit()
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "new").iterdir()}
    finally:
        os.umask(previous)
        dispose_engine(url)
    assert modes and set(modes.values()) == {0o600}, modes
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


def test_verify_does_not_check_the_content_of_unsealed_uploads(tmp_path: Path, dev_seal_p12: Path) -> None:
    """A 2 MB unsealed credential costs no SHACL run: without a seal nothing vouches for its content."""
    car = make_sidecar(tmp_path, f"sqlite:///{tmp_path / 'v.sqlite3'}", dev_seal_p12)
    source = ELM_EXAMPLES / "elm-v3" / "Sample-CertOfPart-unsigned.jsonld"
    credential = json.loads(source.read_text(encoding="utf-8"))
    credential["description"] = {"en": "x" * (2 * 1024 * 1024)}
    response = car.client.post("/api/v1/verify", data=json.dumps(credential).encode())
    assert response.status_code == 200
    report = response.json
    assert report["verdict"] == "invalid" and report["content"] == {"conforms": None, "checked": False,
                                                                      "messages": []}
    assert "carries no seal" in " ".join(report["errors"])
