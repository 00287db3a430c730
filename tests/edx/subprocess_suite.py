"""Run one Django-configured suite in its own Python process.

Django is set up once per process with one settings module; the workbench (workbench.settings, a
``var/`` folder in the working directory) and the plugin app (a minimal LMS-like configuration)
need different ones, and neither may leak into the xdist workers that run the rest of the project's
tests. So each suite is a plain pytest run in a subprocess with its own working directory; its
fixtures live in a pytest plugin module (``-p``), not a conftest, so the outer run never loads them.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_suite(name: str, workdir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EDC_EDX_WORKDIR": str(workdir)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    for key in [k for k in env if k.startswith(("PYTEST_XDIST", "EDC_"))]:
        if key != "EDC_EDX_WORKDIR":
            env.pop(key)
    suite = ROOT / "tests" / "edx" / name
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
         "-p", f"tests.edx.{name}.harness", "-o", "python_files=suite_*.py", "--rootdir", str(ROOT),
         "-c", str(ROOT / "pyproject.toml"), str(suite)],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{name} suite failed:\n{result.stdout[-12000:]}\n{result.stderr[-4000:]}"
    print(result.stdout[-2000:])
