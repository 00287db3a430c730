"""An LMS/Studio-shaped Django configuration for the plugin suite: the plugin app is found through its
``lms.djangoapp`` and ``cms.djangoapp`` entry points and its settings applied by edx-django-utils, as
edx-platform does; edx-platform's own APIs come from the stand-in in ``platform_root/``."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from edx_django_utils.plugins import add_plugins, get_plugin_apps

sys.path.insert(0, str(Path(__file__).with_name("platform_root")))
WORKDIR = Path(os.environ.get("EDC_EDX_WORKDIR", "."))

SECRET_KEY = "plugin-suite-not-secret"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "openedx_events",
                  *dict.fromkeys([*get_plugin_apps("lms.djangoapp"), *get_plugin_apps("cms.djangoapp")])]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(WORKDIR / "lms.sqlite3"),
                         "TEST": {"NAME": str(WORKDIR / "lms-test.sqlite3")}}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
FEATURES: dict[str, bool] = {}
EDC_BRIDGE = {"SOURCE": "openedx-main"}  # the harness adds the sidecar's URL and key
# Tasks run through Celery's own machinery; the harness decides when queued messages are worked off.
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = "memory://"

add_plugins(__name__, "lms.djangoapp", "common")
add_plugins(__name__, "cms.djangoapp", "common")
