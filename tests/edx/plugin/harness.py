"""pytest plugin of the plugin-app suite: an LMS/Studio-shaped Django set-up (settings.py), receivers
connected by edx-django-utils for both project types, the real sidecar on loopback, and a queue that
records the Celery messages the receivers send on commit so a test decides when a worker runs them.
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
    import tests.edx.plugin.celery_app  # noqa: F401  (the default app the shared tasks bind to)

    call_command("migrate", verbosity=0, interactive=False)
    connect_plugin_receivers("lms.djangoapp")
    connect_plugin_receivers("cms.djangoapp")


class Queue:
    """Messages the code under test sent with ``apply_async``/``delay``; ``work()`` runs them as a worker would."""

    def __init__(self) -> None:
        self.messages: list[tuple[Any, tuple, dict]] = []

    def work(self) -> list[Any]:
        done = []
        while self.messages:
            task, args, options = self.messages.pop(0)
            done.append(task.apply(args=args).result)
        return done


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Queue:
    from edx_xblock.plugin import tasks

    recorded = Queue()
    for task in (tasks.send_completion, tasks.sync_course_template):
        def fake_apply_async(args: tuple = (), kwargs: Any = None, _task: Any = task, **options: Any) -> None:
            recorded.messages.append((_task, tuple(args), options))
        monkeypatch.setattr(task, "apply_async", fake_apply_async)
        monkeypatch.setattr(task, "delay", lambda *args, _task=task: fake_apply_async(args, _task=_task))
    return recorded


@pytest.fixture(scope="session")
def sidecar() -> Iterator[Any]:
    from tests.edx.sidecar_server import running_sidecar

    with running_sidecar(WORKDIR / "sidecar") as running:
        yield running


@pytest.fixture
def bridge(sidecar: Any) -> Iterator[dict[str, Any]]:
    """EDC_BRIDGE pointing at the sidecar, and a clean platform (users, grades, store, outbox)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import override_settings

    from edx_xblock.plugin.models import CourseCredential, OutboxCompletion
    from tests.edx.sidecar_server import bridge_settings

    OutboxCompletion.objects.all().delete()
    CourseCredential.objects.all().delete()
    get_user_model().objects.all().delete()
    cache.clear()
    from common.djangoapps.student.models import ENROLLMENTS
    from lms.djangoapps.grades.api import GRADES
    from openedx.core.djangoapps.user_api.preferences.api import PREFERENCES
    from xmodule.modulestore.django import STORE

    for table in (ENROLLMENTS, GRADES, PREFERENCES, STORE.draft, STORE.published):
        table.clear()
    config = {**settings.EDC_BRIDGE, **bridge_settings(sidecar.url), "SEND_DELAY_SECONDS": 0}
    with override_settings(EDC_BRIDGE=config):
        yield config
