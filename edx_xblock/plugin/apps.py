"""App configuration, with the ``plugin_app`` dict the Open edX plugin framework reads."""
from __future__ import annotations

from django.apps import AppConfig

_SIGNALS = "openedx_events.learning.signals"


class EdcBridgePluginConfig(AppConfig):
    """Registers settings and receivers through edx-django-utils' plugin framework (no edx-platform edits)."""

    name = "edx_xblock.plugin"
    label = "edc_bridge"
    verbose_name = "EDC Bridge (European Digital Credentials)"
    default_auto_field = "django.db.models.BigAutoField"

    plugin_app = {
        "settings_config": {
            "lms.djangoapp": {
                "common": {"relative_path": "settings.common"},
                "production": {"relative_path": "settings.production"},
            },
        },
        "signals_config": {
            "lms.djangoapp": {
                "relative_path": "receivers",
                "receivers": [
                    {"receiver_func_name": "passing_status_updated",
                     "signal_path": f"{_SIGNALS}.COURSE_PASSING_STATUS_UPDATED"},
                    {"receiver_func_name": "grade_summary_changed",
                     "signal_path": f"{_SIGNALS}.PERSISTENT_GRADE_SUMMARY_CHANGED"},
                    {"receiver_func_name": "certificate_created",
                     "signal_path": f"{_SIGNALS}.CERTIFICATE_CREATED"},
                ],
            },
        },
    }
