"""Helpers for the XAdES tests: running Debian's xmlsec1 as an independent verifier, editing sealed XML."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS = {"ds": DS, "xades": XADES}
# Our seals reference SignedProperties and KeyInfo by their Id attribute; xmlsec1 must be told so.
ID_ATTRS = ("--id-attr:Id", f"{XADES}:SignedProperties", "--id-attr:Id", f"{DS}:KeyInfo")


def require_xmlsec1() -> str:
    """xmlsec1's path; without it the test fails on CI (it must be installed there) and skips elsewhere."""
    path = shutil.which("xmlsec1")
    if path is None:
        reason = "xmlsec1 is not installed; apt-get install xmlsec1"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def xmlsec1_verify(
    document: bytes, tmp_path: Path, *, trusted_pem: Path | None = None, id_elements: tuple[str, ...] = (),
    at: dt.datetime | None = None,
) -> tuple[bool, str]:
    """Run ``xmlsec1 --verify``: with ``trusted_pem`` the chain is checked too, else ``--insecure``.

    ``id_elements``: further ``namespace:name`` elements whose ``Id`` attribute references point to.
    ``at``: the time certificates are checked at (tests pin it; never the clock).
    """
    binary = require_xmlsec1()
    path = tmp_path / f"doc-{abs(hash(document))}.xml"
    path.write_bytes(document)
    trust = ["--trusted-pem", str(trusted_pem)] if trusted_pem else ["--insecure"]
    ids = [arg for element in id_elements for arg in ("--id-attr:Id", element)]
    when = ["--verification-gmt-time", at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")] if at else []
    done = subprocess.run([binary, "--verify", *trust, *ID_ATTRS, *ids, *when, str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    return done.returncode == 0, done.stdout + done.stderr


def edit(document: bytes, change) -> bytes:
    """Parse, let ``change(root)`` modify the tree, serialize again (lxml keeps the rest byte-stable)."""
    root = etree.fromstring(document)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
