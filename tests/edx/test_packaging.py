"""The LMS part installs on its own: its wheel, built from edx_xblock/pyproject.toml, goes into a clean
virtual environment holding only what edx-platform brings (Django 4.2, openedx-events), and pulls in
nothing of the sidecar's stack. pip takes the wheels from its local cache when it has them."""
from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"flask", "celery", "pyshacl", "rdflib", "sqlalchemy", "alembic", "gunicorn", "xblock-sdk",
             "edc-bridge", "psycopg", "pyhanko-certvalidator", "python-pkcs11", "signxml", "weasyprint"}


def _run(*cmd: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{cmd}: {result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_lms_install_brings_none_of_the_sidecar(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", wheels,
         ROOT / "edx_xblock")
    [wheel] = wheels.glob("edc_bridge_openedx-*.whl")
    env = tmp_path / "lms-venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    _run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "Django>=4.2,<5.0",
         "openedx-events>=9.10")
    before = {p["name"].lower() for p in json.loads(_run(python, "-m", "pip", "list", "--format=json"))}
    _run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel)
    after = {p["name"].lower() for p in json.loads(_run(python, "-m", "pip", "list", "--format=json"))}
    added = sorted(after - before)
    print(f"edc-bridge-openedx added {len(added)} distributions to Django 4.2 + openedx-events: {', '.join(added)}")
    assert "edc-bridge-openedx" in added
    assert not FORBIDDEN & after, FORBIDDEN & after
    # It imports there (the XBlock, the app config, the Studio receivers) without the project's code.
    _run(python, "-c", "import edx_xblock.credential_block, edx_xblock.plugin.apps, edx_xblock.plugin.studio_receivers",
         cwd=tmp_path)
    files = _run(python, "-m", "pip", "show", "-f", "edc-bridge-openedx")
    assert "edx_xblock/conf/locale/fr/LC_MESSAGES/django.mo" in files and "edx_xblock/static/js/studio.js" in files
    assert "tutor_edc_bridge" not in files
