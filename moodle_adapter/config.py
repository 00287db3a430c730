"""Poller configuration: a TOML file, overridden by environment variables.

Secrets (Moodle token, source API key) may come from the environment or from a file readable by
the poller only, so they never need to sit in the main configuration file or on a command line.
Every problem is reported as ``ConfigError`` naming the setting, before anything is contacted.
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moodle_adapter.template import DEFAULT_FIELDS, FIELD_KEYS

ENV_PREFIX = "EDC_MOODLE_"
# [poll] settings: name → (default, minimum), seconds or counts.
POLL_DEFAULTS: dict[str, tuple[int, int]] = {
    "page_size": (500, 10),          # learners per core_enrol_get_enrolled_users call
    "checks_per_run": (100, 1),      # completion checks per run for incomplete learners with no new activity
    "template_refresh": (600, 0),    # re-read a course's competencies and fields at least this often
    "refused_retry": (86400, 600),   # send a refused completion again after this, even if unchanged
    "bulk_grades": (20, 1),          # from this many completions in a course, read grades course-wide
}


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it (``sidecar.url``…)."""


@dataclass
class Config:
    """Everything one poller run needs; built by :func:`load_config`."""

    moodle_url: str
    moodle_token: str = field(repr=False)
    sidecar_url: str
    source: str
    api_key: str = field(repr=False)
    state_path: Path
    course_ids: list[int] = field(default_factory=list)
    marker_field: str | None = None
    learner_roles: list[str] = field(default_factory=lambda: ["student"])
    fields: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELDS))
    defaults: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] | None = None
    timeout: float = 30.0
    poll: dict[str, int] = field(default_factory=lambda: {k: v[0] for k, v in POLL_DEFAULTS.items()})


def _secret(section: Mapping[str, Any], name: str, env: Mapping[str, str], env_name: str) -> str | None:
    """A secret from ``$EDC_MOODLE_X``, ``$EDC_MOODLE_X_FILE``, ``name`` or ``name_file``, in that order."""
    if env.get(env_name):
        return env[env_name].strip()
    file_name = env.get(env_name + "_FILE") or section.get(f"{name}_file")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_file: cannot read {file_name} ({exc.strerror})") from None
    value = section.get(name)
    return str(value).strip() if value else None


def _section(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _url(value: Any, setting: str) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ConfigError(f"{setting}: expected an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _course_ids(value: Any, setting: str) -> list[int]:
    if isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v]
    if not isinstance(value, list):
        raise ConfigError(f"{setting}: expected a list of course ids")
    try:
        ids = [int(v) for v in value]
    except (TypeError, ValueError):
        raise ConfigError(f"{setting}: course ids must be integers, got {value!r}") from None
    if any(i <= 0 for i in ids):
        raise ConfigError(f"{setting}: course ids must be positive")
    return ids


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file (optional when the environment provides everything) and validate it."""
    env = os.environ if env is None else env
    path = path or (Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None
    moodle, sidecar, courses = _section(data, "moodle"), _section(data, "sidecar"), _section(data, "courses")
    fields_section, state = _section(data, "fields"), _section(data, "state")

    moodle_url = _url(env.get(ENV_PREFIX + "URL") or moodle.get("url"), "moodle.url")
    token = _secret(moodle, "token", env, ENV_PREFIX + "TOKEN")
    if not token:
        raise ConfigError("moodle.token: missing (set EDC_MOODLE_TOKEN, EDC_MOODLE_TOKEN_FILE "
                          "or moodle.token_file)")
    sidecar_url = _url(env.get(ENV_PREFIX + "SIDECAR_URL") or sidecar.get("url"), "sidecar.url")
    source = env.get(ENV_PREFIX + "SOURCE") or sidecar.get("source")
    if not isinstance(source, str) or not source.strip() or "/" in source:
        raise ConfigError(f"sidecar.source: expected a source name without '/', got {source!r}")
    api_key = _secret(sidecar, "api_key", env, ENV_PREFIX + "API_KEY")
    if not api_key:
        raise ConfigError("sidecar.api_key: missing (set EDC_MOODLE_API_KEY, EDC_MOODLE_API_KEY_FILE "
                          "or sidecar.api_key_file)")

    raw_ids = env.get(ENV_PREFIX + "COURSES") or courses.get("ids", [])
    course_ids = _course_ids(raw_ids, "courses.ids")
    marker = env.get(ENV_PREFIX + "MARKER_FIELD") or courses.get("marker_field")
    if marker is not None and (not isinstance(marker, str) or not marker.strip()):
        raise ConfigError("courses.marker_field: expected a custom field short name")
    if not course_ids and not marker:
        raise ConfigError("courses: give course ids (courses.ids) or a custom field marker "
                          "(courses.marker_field)")

    state_value = env.get(ENV_PREFIX + "STATE") or state.get("path")
    if not state_value:
        raise ConfigError("state.path: missing (where the poller keeps its cursor)")

    fields = dict(DEFAULT_FIELDS)
    for key, value in fields_section.items():
        if key not in FIELD_KEYS:
            raise ConfigError(f"fields.{key}: unknown; expected one of {', '.join(FIELD_KEYS)}")
        if not isinstance(value, str):
            raise ConfigError(f"fields.{key}: expected a custom field short name")
        fields[key] = value

    roles = moodle.get("learner_roles", ["student"])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles) or not roles:
        raise ConfigError("moodle.learner_roles: expected a list of role short names")
    policy = data.get("policy")
    if policy is not None and not isinstance(policy, dict):
        raise ConfigError("[policy] must be a table")
    timeout = data.get("timeout", 30.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError("timeout: expected a positive number of seconds")
    poll = {k: v[0] for k, v in POLL_DEFAULTS.items()}
    for key, value in _section(data, "poll").items():
        if key not in POLL_DEFAULTS:
            raise ConfigError(f"poll.{key}: unknown; expected one of {', '.join(POLL_DEFAULTS)}")
        if isinstance(value, bool) or not isinstance(value, int) or value < POLL_DEFAULTS[key][1]:
            raise ConfigError(f"poll.{key}: expected a whole number of at least {POLL_DEFAULTS[key][1]}")
        poll[key] = value
    return Config(
        moodle_url=moodle_url, moodle_token=token, sidecar_url=sidecar_url, source=source.strip(),
        api_key=api_key, state_path=Path(state_value), course_ids=course_ids,
        marker_field=marker.strip() if marker else None, learner_roles=roles, fields=fields,
        defaults=_section(data, "defaults"), policy=policy, timeout=float(timeout), poll=poll,
    )
