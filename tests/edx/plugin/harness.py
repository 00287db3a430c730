"""pytest plugin of the plugin-app suite: an LMS-shaped Django set-up (tests/edx/plugin/settings.py),
receivers connected by edx-django-utils as edx-platform does, and the real sidecar on loopback.
Loaded with ``-p`` in a subprocess (see tests/edx/subprocess_suite.py)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

WORKDIR = Path(os.environ["EDC_EDX_WORKDIR"])
COURSE = "course-v1:Univ+DA101+2026"


def pytest_configure(config: pytest.Config) -> None:
    os.chdir(WORKDIR)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.edx.plugin.settings"
    import django
    from django.core.management import call_command
    from edx_django_utils.plugins import connect_plugin_receivers

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    connect_plugin_receivers("lms.djangoapp")


@pytest.fixture(scope="session")
def sidecar() -> Iterator[Any]:
    from edx_xblock.client import SidecarClient
    from edx_xblock.config import load_config
    from tests.edx.sidecar_server import AWARDING_BODY, bridge_settings, running_sidecar

    with running_sidecar(WORKDIR / "sidecar") as running:
        template = {"title": {"en": "Data Analysis", "fr": "Analyse de données"}, "languages": ["en", "fr"],
                    "learning_outcomes": [{"text": {"en": "Adapt to change"}, "esco_skills": [
                        "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4"]}],
                    "awarding_body": AWARDING_BODY}
        SidecarClient(load_config(bridge_settings(running.url))).put_template(COURSE, template)
        yield running


@pytest.fixture
def bridge(sidecar: Any) -> Iterator[dict[str, Any]]:
    """EDC_BRIDGE pointing at the sidecar; draining is explicit unless a test turns it on."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import override_settings

    from edx_xblock.plugin.models import OutboxCompletion
    from tests.edx.sidecar_server import bridge_settings

    OutboxCompletion.objects.all().delete()
    get_user_model().objects.all().delete()
    config = {**settings.EDC_BRIDGE, **bridge_settings(sidecar.url), "DRAIN_ON_COMMIT": False}
    with override_settings(EDC_BRIDGE=config):
        yield config
