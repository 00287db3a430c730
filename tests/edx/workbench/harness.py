"""pytest plugin of the workbench suite: xblock-sdk's own settings, its ``var/`` folder, syncdb, and the
real sidecar on loopback. Loaded with ``-p`` in a subprocess (see tests/edx/subprocess_suite.py)."""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

WORKDIR = Path(os.environ["EDC_EDX_WORKDIR"])


def pytest_configure(config: pytest.Config) -> None:
    """xblock-sdk's quirks, handled once per process: settings module, ./var, migrate --run-syncdb."""
    os.chdir(WORKDIR)
    (WORKDIR / "var").mkdir(exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "workbench.settings"
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings
    from django.utils.translation import trans_real

    from edx_xblock.i18n import LOCALE_DIR

    # OEP-58: the block's catalogues are placed where the runtime's i18n service reads them (in Open edX,
    # conf/plugins-locale/xblock.v1/edx_xblock; the workbench's service is Django's own translation).
    settings.LOCALE_PATHS = [str(LOCALE_DIR)]
    trans_real._translations = {}
    trans_real._default = None
    logging.getLogger("django.db.backends").setLevel(logging.WARNING)  # workbench logs every query
    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)


@pytest.fixture(scope="session")
def sidecar() -> Iterator[Any]:
    from tests.edx.sidecar_server import running_sidecar

    with running_sidecar(WORKDIR / "sidecar") as running:
        yield running


@pytest.fixture
def bridge(sidecar: Any) -> Iterator[dict[str, Any]]:
    """Configure the block through XBLOCK_SETTINGS (the runtime's settings service), as in Open edX."""
    from django.test import override_settings

    from tests.edx.sidecar_server import bridge_settings

    config = bridge_settings(sidecar.url)
    with override_settings(XBLOCK_SETTINGS={"EdcCredentialBlock": config}, EDC_BRIDGE={}):
        yield config
