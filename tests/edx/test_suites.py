"""The two Django-configured suites (xblock-sdk workbench; plugin app with openedx-events), each in
its own process: see subprocess_suite.py for why."""
from __future__ import annotations

from pathlib import Path

from .subprocess_suite import run_suite


def test_workbench_suite(tmp_path: Path) -> None:
    run_suite("workbench", tmp_path)


def test_plugin_suite(tmp_path: Path) -> None:
    run_suite("plugin", tmp_path)
