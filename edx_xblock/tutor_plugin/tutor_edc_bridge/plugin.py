"""EDC Bridge for Tutor: configuration values, the pip requirement, and the LMS/Studio settings patches.

Everything goes through Tutor's hooks, so nothing is written under Tutor's generated ``env/`` folder
by hand: the API key is a unique configuration value (kept in ``config.yml`` like Tutor's own
secrets), the package is installed with the image's ``$PIP_COMMAND``, and the settings are patches
rendered by Tutor into the LMS and CMS settings modules.
"""
from __future__ import annotations

from tutor import hooks

from tutor_edc_bridge import __version__

hooks.Filters.CONFIG_DEFAULTS.add_items([
    ("EDC_BRIDGE_VERSION", __version__),
    # Any pip requirement: a version from the package index, or "edc-bridge-openedx @ git+https://…".
    ("EDC_BRIDGE_PIP_REQUIREMENT", "edc-bridge-openedx=={{ EDC_BRIDGE_VERSION }}"),
    ("EDC_BRIDGE_SIDECAR_URL", ""),
    ("EDC_BRIDGE_SOURCE", "openedx"),
    ("EDC_BRIDGE_AWARDING_BODY", {}),
    ("EDC_BRIDGE_POLICY", {}),
    ("EDC_BRIDGE_SUPPORT_CONTACT", "{{ CONTACT_EMAIL }}"),
    ("EDC_BRIDGE_DEFAULT_LANGUAGE", "en"),
    ("EDC_BRIDGE_ELIGIBLE_MODES", None),
    ("EDC_BRIDGE_SEND_DELAY_SECONDS", 30),
    ("EDC_BRIDGE_TIMEOUT", 5),
    ("EDC_BRIDGE_STATUS_TIMEOUT", 1.5),
])

# A secret unique to this platform, generated once by `tutor config save`; register the same key in the
# sidecar with `edc-bridge sources add openedx --key-file …`.
hooks.Filters.CONFIG_UNIQUE.add_items([
    ("EDC_BRIDGE_API_KEY", "{{ 40|random_string }}"),
])

_SETTINGS = """# EDC Bridge (tutor-contrib-edc-bridge)
EDC_BRIDGE = {**globals().get("EDC_BRIDGE", {}), **__import__("json").loads({{ {
    "SIDECAR_URL": EDC_BRIDGE_SIDECAR_URL,
    "SOURCE": EDC_BRIDGE_SOURCE,
    "API_KEY": EDC_BRIDGE_API_KEY,
    "AWARDING_BODY": EDC_BRIDGE_AWARDING_BODY or None,
    "POLICY": EDC_BRIDGE_POLICY or None,
    "SUPPORT_CONTACT": EDC_BRIDGE_SUPPORT_CONTACT,
    "DEFAULT_LANGUAGE": EDC_BRIDGE_DEFAULT_LANGUAGE,
    "ELIGIBLE_MODES": EDC_BRIDGE_ELIGIBLE_MODES,
    "SEND_DELAY_SECONDS": EDC_BRIDGE_SEND_DELAY_SECONDS,
    "TIMEOUT": EDC_BRIDGE_TIMEOUT,
    "STATUS_TIMEOUT": EDC_BRIDGE_STATUS_TIMEOUT,
}|tojson|tojson }})}
"""

hooks.Filters.ENV_PATCHES.add_items([
    ("openedx-dockerfile-post-python-requirements",
     "# EDC Bridge: the XBlock and plugin app (LMS and Studio)\n"
     "RUN --mount=type=cache,target=/openedx/.cache/pip,sharing=shared \\\n"
     "    $PIP_COMMAND install '{{ EDC_BRIDGE_PIP_REQUIREMENT }}'"),
    # OEP-58: the block's translations go where edx-platform's XBlock i18n service reads them (after
    # Tutor's own translation pull, which starts from a clean folder).
    ("openedx-dockerfile-pre-assets",
     "# EDC Bridge: the block's translations\n"
     "RUN python -c \"import edx_xblock.i18n as i; print(i.LOCALE_DIR)\" > /tmp/edc-locale \\\n"
     "    && mkdir -p conf/plugins-locale/xblock.v1/edx_xblock \\\n"
     "    && cp -r \"$(cat /tmp/edc-locale)/.\" conf/plugins-locale/xblock.v1/edx_xblock/ && rm /tmp/edc-locale"),
    ("openedx-lms-common-settings", _SETTINGS),
    ("openedx-cms-common-settings", _SETTINGS),
])
