"""The image built from docker/Dockerfile: what it contains, who it runs as, and an HSM inside it."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from sealer.keys.devseal import create_dev_seal
from tests.docker.engine import HOST_CA_BUNDLE, ROOT, Engine, Image, inspect

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docker")]

PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\s+(.+?)-----END CERTIFICATE-----", re.S)


def _run(engine: Engine, image: Image, *args: str, volumes: tuple[str, ...] = (), env: dict[str, str] | None = None,
         timeout: float = 180) -> subprocess.CompletedProcess[str]:
    command = ["run", "--rm", "--network", "host"]
    for volume in volumes:
        command += ["-v", volume]
    for name, value in (env or {}).items():
        command += ["-e", f"{name}={value}"]
    return engine.docker(*command, image.tag, *args, timeout=timeout, check=False)


def test_image_configuration(engine: Engine, edc_image: Image) -> None:
    config = inspect(engine, edc_image.tag)[0]["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["tini", "--", "edc-entrypoint"] and config["Cmd"] == ["serve"]
    assert "/var/lib/edc-bridge" in config["Volumes"]
    assert "EDC_DATA_DIR=/var/lib/edc-bridge" in config["Env"]
    assert config["Healthcheck"]["Test"] == ["CMD", "edc-healthcheck"]
    assert "8080/tcp" in config["ExposedPorts"]


def test_no_compiler_and_not_root(engine: Engine, edc_image: Image) -> None:
    probe = _run(engine, edc_image, "sh", "-c",
                 "id -u; for c in gcc cc c++ g++ clang make ld as; do command -v $c; done; "
                 "ls /usr/lib/gcc 2>/dev/null; ls /usr/include/python3.11 2>/dev/null | head -1; true")
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["10001"], probe.stdout  # uid only: no compiler, linker or headers


def test_project_installed_as_a_wheel_with_its_runtime_libraries(engine: Engine, edc_image: Image) -> None:
    script = (
        "import importlib.metadata as m, ctypes.util, bridge, sealer, sys\n"
        "dist = m.distribution('edc-bridge')\n"
        "print(dist.version, sys.version_info[:2] == (3, 11), bridge.__file__.startswith('/opt/edc-bridge/lib/'))\n"
        "print(all(ctypes.util.find_library(n) for n in ('pango-1.0', 'pangoft2-1.0', 'harfbuzz', 'fontconfig')))\n"
        "print(next(p for p in dist.files if p.name == 'direct_url.json') if dist.read_text('direct_url.json') "
        "else 'no-direct-url')\n"
    )
    probe = _run(engine, edc_image, "python", "-c", script)
    assert probe.returncode == 0, probe.stderr
    lines = probe.stdout.splitlines()
    assert lines[0].split()[1:] == ["True", "True"], lines
    assert lines[1] == "True", "WeasyPrint's Pango/HarfBuzz/fontconfig libraries are missing"
    assert "direct_url.json" in lines[2]  # installed from a wheel file, not in development mode
    listing = _run(engine, edc_image, "sh", "-c", "ls /src /wheels 2>&1; fc-list 2>/dev/null | head -1; "
                   "ls /usr/share/fonts/truetype/dejavu | head -1")
    assert "No such file" in listing.stdout and "DejaVu" in listing.stdout  # no sources left; fonts present


def _bodies(data: bytes) -> set[bytes]:
    return {re.sub(rb"\s", b"", body) for body in PEM_BLOCK.findall(data)}


def _locally_added_cas() -> set[bytes]:
    """Certificates this machine trusts beyond its Debian package's list (a re-signing proxy's, say):
    the content pip's build secret carries that no public image has."""
    if not HOST_CA_BUNDLE.exists():
        return set()
    packaged: set[bytes] = set()
    for path in Path("/usr/share/ca-certificates").rglob("*.crt"):
        packaged |= _bodies(path.read_bytes())
    return _bodies(HOST_CA_BUNDLE.read_bytes()) - packaged


def test_build_secret_not_baked_into_the_image(engine: Engine, edc_image: Image, tmp_path: Path) -> None:
    """pip's CA bundle was a build secret: no layer of the final image holds the machine's own CAs."""
    needles = [body[64:160] for body in _locally_added_cas()]  # a stretch of each one's base64 body
    saved = tmp_path / "image.tar"
    engine.docker("save", "-o", str(saved), edc_image.tag, timeout=600)
    found: list[str] = []
    with tarfile.open(saved) as outer:
        for member in outer:
            if not member.name.endswith("layer.tar"):
                continue
            with tarfile.open(fileobj=outer.extractfile(member)) as layer:
                for item in layer:
                    if not item.isfile() or item.size > 8 * 1024 * 1024:
                        continue
                    if item.name.endswith("pipcert"):
                        found.append(item.name)
                    data = layer.extractfile(item).read()  # type: ignore[union-attr]
                    flat = re.sub(rb"\s", b"", data) if b"BEGIN CERTIFICATE" in data else b""
                    if flat and any(needle in flat for needle in needles):
                        found.append(item.name)
    assert not found, f"build-time CA material in the final image: {found}"
    bundle = _run(engine, edc_image, "cat", "/etc/ssl/certs/ca-certificates.crt").stdout.encode()
    assert len(_bodies(bundle)) > 50  # Debian's own list, for TLS to TSAs, wallets and SMTP servers
    history = engine.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", edc_image.tag).stdout
    assert "BEGIN CERTIFICATE" not in history and "PIP_CERT=/etc" not in history


def test_roles_and_secrets_from_files(engine: Engine, edc_image: Image, tmp_path: Path) -> None:
    """`migrate` and a one-off command on SQLite, with the admin token read from /run/secrets."""
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, 10001, 10001)
    token = tmp_path / "admin_token"
    token.write_text("token-from-a-file\n")
    os.chown(token, 10001, 10001)
    token.chmod(0o600)
    volumes = (f"{data}:/var/lib/edc-bridge", f"{token}:/run/secrets/admin_token:ro")
    migrated = _run(engine, edc_image, "migrate", volumes=volumes)
    assert migrated.returncode == 0 and "database is up to date" in migrated.stdout, migrated.stderr
    assert (data / "edc-bridge.sqlite3").exists()
    script = "from bridge.config import Settings; print(Settings.from_env().admin_token == 'token-from-a-file')"
    read = _run(engine, edc_image, "python", "-c", script, volumes=volumes,
                env={"EDC_ADMIN_TOKEN_FILE": "/run/secrets/admin_token"})
    assert read.stdout.strip() == "True", read.stderr
    unknown = _run(engine, edc_image, "edc-bridge", "--help")
    assert unknown.returncode == 0 and "serve" in unknown.stdout


def test_seal_with_softhsm2_inside_the_image(engine: Engine, edc_image: Image, tmp_path: Path) -> None:
    """SoftHSM2 through the PKCS#11 module path, the PIN from /run/secrets; the host verifies the seal."""
    seal = create_dev_seal(tmp_path / "seal", password="p12-pass", organization_identifier="VATBE-0123456789")
    key, cert, _ = pkcs12.load_key_and_certificates(seal.pkcs12_path.read_bytes(), b"p12-pass")
    work = tmp_path / "work"
    work.mkdir()
    (work / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,  # type: ignore[union-attr]
                                                     serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    (work / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))  # type: ignore[union-attr]
    for name in ("course-template.json", "completion.json"):
        (work / name).write_bytes((ROOT / "examples" / name).read_bytes())
    pin = tmp_path / "hsm_pin"
    pin.write_text("PIN-9f3d-container\n")
    for path in (work, *work.iterdir(), pin):
        os.chown(path, 10001, 10001)
    pin.chmod(0o600)
    (work / "key.pem").chmod(0o600)
    script = (
        'set -e; P="$(cat /run/secrets/hsm_pin)"; '
        'softhsm2-util --init-token --free --label edc --so-pin 11223344 --pin "$P" >/dev/null; '
        'softhsm2-util --import /work/key.pem --token edc --label seal --id 01 --pin "$P" >/dev/null; '
        "rm /work/key.pem; "
        "edc-bridge keys info; "
        "edc-bridge seal --template /work/course-template.json --completion /work/completion.json "
        "-o /work/credential.jsonld"
    )
    env = {"EDC_SEAL_PKCS11_MODULE": "/usr/lib/softhsm/libsofthsm2.so", "EDC_SEAL_PKCS11_TOKEN_LABEL": "edc",
           "EDC_SEAL_PKCS11_KEY_LABEL": "seal", "EDC_SEAL_PKCS11_PIN_FILE": "/run/secrets/hsm_pin",
           "EDC_SEAL_PKCS11_CERT": "/work/cert.pem"}
    sealed = _run(engine, edc_image, "sh", "-c", script, env=env,
                  volumes=(f"{work}:/work", f"{pin}:/run/secrets/hsm_pin:ro"))
    assert sealed.returncode == 0, sealed.stdout[-2000:] + sealed.stderr[-2000:]
    assert "PKCS#11" in sealed.stdout and "VATBE-0123456789" in sealed.stdout
    assert "PIN-9f3d" not in sealed.stdout + sealed.stderr
    trust = tmp_path / "trust"
    trust.mkdir()
    (trust / "ca.pem").write_bytes(seal.ca_certificate_path.read_bytes())
    verify = subprocess.run([str(Path(sys.executable).with_name("edc-bridge")), "verify", "--json", "--trust",
                             str(trust), str(work / "credential.jsonld")],
                            capture_output=True, text=True, timeout=300, check=False)
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]
    report = json.load(io.StringIO(verify.stdout))
    assert "VATBE-0123456789" in json.dumps(report)
