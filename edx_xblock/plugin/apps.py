"""App configuration, with the ``plugin_app`` dict the Open edX plugin framework reads.

One app for both sides (entry points ``lms.djangoapp`` and ``cms.djangoapp``): the LMS records
passing learners and sends completions; Studio pushes templates when a course is published. Both
read the same ``EDC_BRIDGE`` settings and share the app's tables.
"""
from __future__ import annotations

from django.apps import AppConfig

_LEARNING = "openedx_events.learning.signals"
_AUTHORING = "openedx_events.content_authoring.signals"
_SETTINGS = {"common": {"relative_path": "settings.common"},
             "production": {"relative_path": "settings.production"}}


class EdcBridgePluginConfig(AppConfig):
    """Registers settings and receivers through edx-django-utils' plugin framework (no edx-platform edits)."""

    name = "edx_xblock.plugin"
    label = "edc_bridge"
    verbose_name = "EDC Bridge (European Digital Credentials)"
    default_auto_field = "django.db.models.BigAutoField"

    plugin_app = {
        "settings_config": {"lms.djangoapp": _SETTINGS, "cms.djangoapp": _SETTINGS},
        "signals_config": {
            "lms.djangoapp": {
                "relative_path": "receivers",
                "receivers": [
                    {"receiver_func_name": "passing_status_updated",
                     "signal_path": f"{_LEARNING}.COURSE_PASSING_STATUS_UPDATED"},
                    {"receiver_func_name": "ccx_passing_status_updated",
                     "signal_path": f"{_LEARNING}.CCX_COURSE_PASSING_STATUS_UPDATED"},
                    {"receiver_func_name": "grade_summary_changed",
                     "signal_path": f"{_LEARNING}.PERSISTENT_GRADE_SUMMARY_CHANGED"},
                ],
            },
            "cms.djangoapp": {
                "relative_path": "studio_receivers",
                "receivers": [
                    {"receiver_func_name": "course_published",
                     "signal_path": "xmodule.modulestore.django.COURSE_PUBLISHED"},
                    {"receiver_func_name": "xblock_changed", "signal_path": f"{_AUTHORING}.XBLOCK_PUBLISHED"},
                    {"receiver_func_name": "xblock_changed", "signal_path": f"{_AUTHORING}.XBLOCK_DELETED"},
                ],
            },
        },
    }

    def ready(self) -> None:
        """Register the Celery tasks with the platform's app (as platform plugins do)."""
        from edx_xblock.plugin import tasks  # noqa: F401
