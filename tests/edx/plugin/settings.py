"""An LMS-shaped Django configuration for the plugin suite: the plugin app is found through its
``lms.djangoapp`` entry point and its settings applied by edx-django-utils, as edx-platform does."""
from __future__ import annotations

import os
from pathlib import Path

from edx_django_utils.plugins import add_plugins, get_plugin_apps

PROJECT = "lms.djangoapp"
WORKDIR = Path(os.environ.get("EDC_EDX_WORKDIR", "."))

SECRET_KEY = "plugin-suite-not-secret"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "openedx_events", *get_plugin_apps(PROJECT)]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(WORKDIR / "lms.sqlite3"),
                         "TEST": {"NAME": str(WORKDIR / "lms-test.sqlite3")}}}
EDC_BRIDGE = {"SOURCE": "openedx-main"}  # the harness adds the sidecar's URL and key

add_plugins(__name__, PROJECT, "common")
