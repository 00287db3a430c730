"""`make demo` is one of the two commands the README promises: it must keep working end to end."""
from __future__ import annotations

import email
import json
import os
import subprocess
import sys
from pathlib import Path


def test_demo_issues_seals_delivers_and_verifies(tmp_path: Path) -> None:
    env = {**os.environ, "EDC_DEMO_DIR": str(tmp_path / "demo")}
    result = subprocess.run([sys.executable, "-m", "bridge.demo"], env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verdict:            VALID" in result.stdout
    assert "Trusted chain:      yes" in result.stdout
    # The demo signed in to the staff console with the first admin login it prints.
    assert "6. A registrar signs in to the staff console" in result.stdout
    assert "Console URL:        http://127.0.0.1:8080/console/" in result.stdout
    login = next(line for line in result.stdout.splitlines() if "First admin login:" in line)
    assert len(login.split("password ")[1].strip()) >= 12
    sealed = next((tmp_path / "demo").glob("credential-*.jsonld"))
    jws = json.loads(sealed.read_text("utf-8"))
    assert json.loads(jws["payload"])["type"] == ["VerifiableCredential", "EuropeanDigitalCredential"]
    eml = next((tmp_path / "demo" / "outbox").glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes())
    attachments = [part for part in message.walk() if part.get_filename()]
    assert attachments and attachments[0].get_payload(decode=True) == sealed.read_bytes()
    # The pictures of what the learner receives, and the checks a person would make on them.
    assert "French labels only, no command to run" in result.stdout
    assert "the PDF's QR code leads to http://127.0.0.1:" in result.stdout
    assert "made with the eSeal certificate (pyHanko)" in result.stdout
    for name in ("email.png", "page-fr.png", "page-en.png", "pdf-page-1.png"):
        picture = tmp_path / "demo" / "pictures" / name
        assert picture.read_bytes().startswith(b"\x89PNG") and f"{picture}" in result.stdout
