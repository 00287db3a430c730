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
from bridge.demo_pictures import (
    commands_in,
    email_html,
    pdf_first_page,
    qr_text,
    readable_text,
    screenshot,
    untranslated_labels,
)
from sealer.keys.config import DEV_SEAL_DIRNAME

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
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or slow on a busy machine
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
            and deliveries and all(d.get("status") not in ("pending", "sending", "retrying") for d in deliveries)
        ):
            return status
        time.sleep(0.3)
    sys.exit(f"the credential was not issued within 120 s (last status: {status.get('status')})")


def _pictures(data_dir: Path, page_url: str, credential_id: str) -> dict[str, Path]:
    """What the learner receives, as pictures: the e-mail and the page (headless Chromium), the PDF's
    first page (pdftoppm); then the checks a person would make on them."""
    from sealer.pades import verify_pdf

    print("7. Drawing what the learner receives: the e-mail, the credential page and the PDF", flush=True)
    pictures = data_dir / "pictures"
    pictures.mkdir()
    emails = sorted((data_dir / "outbox").glob("*.eml"))
    if not emails:
        sys.exit("no e-mail was written to the outbox")
    html = email_html(emails[-1], pictures / "email.html")
    out = {"Email (picture)": screenshot(html.as_uri(), pictures / "email.png", 760, 2300),
           "Page (picture, fr)": screenshot(f"{page_url}?lang=fr", pictures / "page-fr.png", 1100, 2600),
           "Page (picture, en)": screenshot(f"{page_url}?lang=en", pictures / "page-en.png", 1100, 2600)}
    _french_reader_check({"the e-mail": readable_text(html.read_text("utf-8")),
                          "the e-mail's text part": _email_text(emails[-1]),
                          "the page": readable_text(requests.get(f"{page_url}?lang=fr", timeout=60).text)})
    answer = requests.get(f"{page_url}/credential.pdf", timeout=120)
    if answer.status_code != 200 or not answer.content.startswith(b"%PDF-"):
        sys.exit(f"the PDF could not be downloaded ({answer.status_code})")
    pdf = data_dir / f"credential-{credential_id}.pdf"
    pdf.write_bytes(answer.content)
    out["PDF"] = pdf
    out["PDF page 1 (picture)"] = pdf_first_page(pdf, pictures / "pdf-page-1.png")
    found = qr_text(out["PDF page 1 (picture)"])
    if found != [page_url]:
        sys.exit(f"the PDF's QR code says {found}, not the page address {page_url}")
    print(f"   the PDF's QR code leads to {page_url}", flush=True)
    from cryptography import x509

    ca = x509.load_pem_x509_certificate((data_dir / DEV_SEAL_DIRNAME / "dev-ca.pem").read_bytes())
    seal = x509.load_pem_x509_certificate((data_dir / DEV_SEAL_DIRNAME / "dev-seal.pem").read_bytes())
    report = verify_pdf(answer.content, trust=[ca])
    if not (report.intact and report.valid and report.signer == seal):
        sys.exit(f"the PDF's PAdES seal does not hold: {report.errors}")
    print("   the PDF's PAdES seal is intact and made with the eSeal certificate (pyHanko)", flush=True)
    _french_reader_check({"the PDF": _pdf_text(answer.content)})
    return out


def _email_text(eml: Path) -> str:
    from email import message_from_bytes, policy

    body = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("plain",))
    return body.get_content() if body is not None else ""


def _pdf_text(pdf: bytes) -> str:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        return " ".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def _french_reader_check(texts: dict[str, str]) -> None:
    """The demo's learner reads French: no English code-list label and no command line may reach them."""
    for what, text in texts.items():
        english, commands = untranslated_labels(text, "fr"), commands_in(text)
        if english or commands:
            sys.exit(f"{what} shows a French reader English labels {english} or commands {commands}")
    print(f"   {', '.join(texts)}: French labels only, no command to run", flush=True)


def main() -> None:
    data_dir = Path(os.environ.get("EDC_DEMO_DIR") or ROOT / "var" / "demo")
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # The demo runs on embedded defaults whatever this shell has configured.
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDC_") and k != "DATABASE_URL"}
    # The development seal's own CA is what the demo trusts, so its pages can call the seal valid.
    env.update({"EDC_DATA_DIR": str(data_dir), "EDC_DEV_SEAL": "1", "EDC_PUBLIC_URL": base,
                "EDC_ADMIN_TOKEN": os.urandom(16).hex(),
                "EDC_VERIFY_TRUST": str(data_dir / DEV_SEAL_DIRNAME / "dev-ca.pem")})

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
        page_url = status.get("page_url") or lms.call("GET", status_path).json().get("page_url")
        pictures = _pictures(data_dir, page_url, accepted["id"])
    finally:
        server.terminate()
        server.wait(timeout=30)

    print("8. Verifying it as a receiving institution would: edc-bridge verify", flush=True)
    trust = next(data_dir.glob("dev*seal*/dev-ca.pem"))
    verify = subprocess.run([sys.executable, "-m", "bridge.cli", "verify", str(sealed_path), "--trust", str(trust)],
                            env=env, check=False)
    emails = sorted((data_dir / "outbox").glob("*.eml"))
    print()
    print(f"Sealed credential: {sealed_path}")
    print(f"Email to learner:  {emails[-1] if emails else '(none written)'}")
    print(f"Credential page:   {page_url}  (the server has stopped)")
    for label, path in pictures.items():
        print(f"{label + ':':<19}{path}")
    print(f"Deliveries:        {', '.join(d['channel'] + '=' + d['status'] for d in status.get('deliveries', []))}")
    print(f"Development CA:    {trust}  (use with --trust; the dev seal is NOT qualified)")
    print()
    print("Staff console: run `make console` (the sidecar again, on this demo's data), then open")
    print(f"  Console URL:        {CONSOLE_URL}")
    print(f"  First admin login:  user name 'admin', password {admin_password}")
    sys.exit(verify.returncode)


if __name__ == "__main__":
    main()
