"""``make demo``: the whole flow on embedded defaults, exactly as an operator and an LMS would drive it.

It runs the real commands in real processes — ``edc-bridge db upgrade``, ``sources add``, ``serve`` (the
gunicorn server with in-process tasks, a generated development seal, SQLite and a local ``.eml``
outbox) — then acts as an LMS: it stores the example course template and posts a completion over HTTP,
both signed with the source's key, waits for the credential, and checks it with ``edc-bridge verify``.
Nothing here is a shortcut that production would not take.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from bridge.auth import signature_headers

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "demo-moodle"
COURSE = "DATA101"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-m", "bridge.cli", *args], env=env, check=False,
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"edc-bridge {' '.join(args)} failed:\n{result.stderr}{result.stdout}")
    return result.stdout


class _Lms:
    """What an LMS adapter does: JSON bodies signed with HMAC-SHA256 (see docs/architecture.md)."""

    def __init__(self, base: str, api_key: str) -> None:
        self.base, self.api_key = base, api_key

    def call(self, method: str, path: str, payload: Any = None) -> requests.Response:
        body = b"" if payload is None else json.dumps(payload).encode("utf-8")
        headers = signature_headers(SOURCE, self.api_key, method, path, body)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        return requests.request(method, self.base + path, data=body, headers=headers, timeout=30)


CONSOLE_URL = "http://127.0.0.1:8080/console/"  # where `make console` serves this demo's data


def _console_check(base: str, password: str, credential_id: str) -> None:
    """Sign in as the first admin over HTTP (CSRF token from the form, session cookie) and open the
    credential's page, as a person would; exits when any step fails."""
    import re

    browser = requests.Session()
    form = browser.get(f"{base}/console/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if form.status_code != 200 or token is None:
        sys.exit(f"the console sign-in page did not load ({form.status_code})")
    answer = browser.post(f"{base}/console/login", data={"csrf_token": token.group(1), "username": "admin",
                                                         "password": password, "next": "/console/"}, timeout=30)
    if answer.status_code != 200 or 'id="sign-out"' not in answer.text:
        sys.exit(f"signing in to the console failed ({answer.status_code})")
    page = browser.get(f"{base}/console/credentials/{credential_id}", timeout=30)
    if page.status_code != 200 or 'id="timeline"' not in page.text:
        sys.exit(f"the credential's console page did not load ({page.status_code})")


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("the sidecar stopped during start-up; see its output above")
        try:
            if requests.get(base + "/healthz", timeout=2).status_code < 500:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    sys.exit("the sidecar did not answer within 60 s")


def _wait_done(lms: _Lms, status_path: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = lms.call("GET", status_path).json()
        deliveries = status.get("deliveries") or []
        if status.get("status") in ("failed", "skipped") or (
            status.get("status") not in ("received", "assembled")
            and deliveries and all(d.get("status") not in ("pending", "retrying") for d in deliveries)
        ):
            return status
        time.sleep(0.3)
    sys.exit(f"the credential was not issued within 120 s (last status: {status.get('status')})")


def main() -> None:
    data_dir = Path(os.environ.get("EDC_DEMO_DIR") or ROOT / "var" / "demo")
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # The demo runs on embedded defaults whatever this shell has configured.
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDC_") and k != "DATABASE_URL"}
    env.update({"EDC_DATA_DIR": str(data_dir), "EDC_DEV_SEAL": "1", "EDC_PUBLIC_URL": base,
                "EDC_ADMIN_TOKEN": os.urandom(16).hex()})

    print("1. Preparing the embedded database (SQLite) and registering the LMS source", flush=True)
    _cli("db", "upgrade", env=env)
    api_key = _cli("sources", "add", SOURCE, env=env).strip().splitlines()[-1]
    admin_password = _cli("users", "add", "admin", "--name", "Demo administrator", "--role", "admin",
                          env=env).strip().splitlines()[-1]

    print(f"2. Starting the sidecar on {base} (in-process tasks, development seal, local outbox)", flush=True)
    server = subprocess.Popen([sys.executable, "-m", "bridge.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_ready(base, server)
        lms = _Lms(base, api_key)

        print(f"3. The LMS stores the course template of {COURSE} (outcomes tagged with ESCO skills)", flush=True)
        template = json.loads((ROOT / "examples" / "course-template.json").read_text("utf-8"))
        answer = lms.call("PUT", f"/api/v1/sources/{SOURCE}/courses/{COURSE}/template", template)
        if answer.status_code >= 300:
            sys.exit(f"template refused ({answer.status_code}): {answer.text}")

        print("4. A learner completes the course: the LMS posts the completion (signed request)", flush=True)
        completion = json.loads((ROOT / "examples" / "completion.json").read_text("utf-8"))
        completion.update({"source": SOURCE, "course_id": COURSE})
        answer = lms.call("POST", "/api/v1/completions", completion)
        if answer.status_code != 202:
            sys.exit(f"completion refused ({answer.status_code}): {answer.text}")
        accepted = answer.json()
        status_path = "/" + accepted["status_url"].split("/", 3)[3]

        print(f"5. Waiting for credential {accepted['id']} to be sealed and delivered", flush=True)
        status = _wait_done(lms, status_path)
        if status.get("status") in ("failed", "skipped"):
            sys.exit(f"issuance ended as {status.get('status')}: {status.get('error')}")
        sealed = lms.call("GET", status_path + "/sealed")
        sealed_path = data_dir / f"credential-{accepted['id']}.jsonld"
        sealed_path.write_bytes(sealed.content)

        print("6. A registrar signs in to the staff console and finds the credential with its timeline", flush=True)
        _console_check(base, admin_password, accepted["id"])
    finally:
        server.terminate()
        server.wait(timeout=30)

    print("7. Verifying it as a receiving institution would: edc-bridge verify", flush=True)
    trust = next(data_dir.glob("dev*seal*/dev-ca.pem"))
    verify = subprocess.run([sys.executable, "-m", "bridge.cli", "verify", str(sealed_path), "--trust", str(trust)],
                            env=env, check=False)
    emails = sorted((data_dir / "outbox").glob("*.eml"))
    print()
    print(f"Sealed credential: {sealed_path}")
    print(f"Email to learner:  {emails[-1] if emails else '(none written)'}")
    print(f"Deliveries:        {', '.join(d['channel'] + '=' + d['status'] for d in status.get('deliveries', []))}")
    print(f"Development CA:    {trust}  (use with --trust; the dev seal is NOT qualified)")
    print()
    print("Staff console: run `make console` (the sidecar again, on this demo's data), then open")
    print(f"  Console URL:        {CONSOLE_URL}")
    print(f"  First admin login:  user name 'admin', password {admin_password}")
    sys.exit(verify.returncode)


if __name__ == "__main__":
    main()
