"""The suite's Celery app, configured from Django settings the way edx-platform's ``lms.celery`` is."""
from __future__ import annotations

from celery import Celery

APP = Celery("lms")
APP.config_from_object("django.conf:settings", namespace="CELERY")
APP.set_default()
