"""Fixtures: a fake Moodle site, a fake sidecar and a poller configured for both."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from moodle_adapter.config import Config, load_config
from moodle_adapter.moodle_client import MoodleClient
from moodle_adapter.poller import Poller
from moodle_adapter.sidecar_client import SidecarClient

from .fake_moodle import FakeMoodle, MoodleSite, seeded_site
from .fake_sidecar import FakeSidecar

TOKEN = "0123456789abcdef0123456789abcdef"
API_KEY = "moodle-main-test-key-9f8e7d6c5b4a"
SOURCE = "moodle-main"
T0 = 1_780_000_000  # the poller's clock at its first run
DONE_AT = T0 + 60  # seeded completions happen after the first run started


class Clock:
    """The poller's notion of now, moved by tests (signatures still use real time)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def site() -> MoodleSite:
    return seeded_site(TOKEN, DONE_AT)


@pytest.fixture
def fake_moodle(site: MoodleSite) -> Iterator[FakeMoodle]:
    server = FakeMoodle(site)
    yield server
    server.stop()


@pytest.fixture
def sidecar() -> Iterator[FakeSidecar]:
    server = FakeSidecar({SOURCE: API_KEY})
    yield server
    server.stop()


DEFAULTS_TOML = """
[defaults]
mode = "online"
learning_setting = "non-formal"
volume_of_learning = "PT125H"
credential_profile = "generic"

[defaults.awarding_body]
legal_name = { en = "Université Exemple", fr = "Université Exemple" }
legal_identifier = "123456789"
vat_identifier = "FR12345678901"
country = "FR"
homepage = "https://univ.example"
email = "registrar@univ.example"

[defaults.assessment]
type = "exam"
title = { en = "Final exam", fr = "Examen final" }
min_score = 0
max_score = 100
pass_score = 50
"""


@pytest.fixture
def write_config(tmp_path: Path, fake_moodle: FakeMoodle, sidecar: FakeSidecar) -> Callable[..., Path]:
    """Write a TOML config (secrets in files, as documented) and return its path."""

    def write(courses: str = 'marker_field = "edc_issue"', sidecar_url: str | None = None,
              token: str = TOKEN, api_key: str = API_KEY, extra: str = "") -> Path:
        (tmp_path / "token").write_text(token + "\n")
        (tmp_path / "api_key").write_text(api_key + "\n")
        path = tmp_path / "moodle-edc.toml"
        path.write_text(f"""
[moodle]
url = "{fake_moodle.url}"
token_file = "{tmp_path / 'token'}"

[sidecar]
url = "{sidecar_url or sidecar.url}"
source = "{SOURCE}"
api_key_file = "{tmp_path / 'api_key'}"

[courses]
{courses}

[state]
path = "{tmp_path / 'state' / 'moodle.json'}"
{extra}
{DEFAULTS_TOML}
""")
        return path

    return write


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def make_poller(write_config: Callable[..., Path], clock: Clock) -> Callable[..., tuple[Poller, list[str]]]:
    """A poller on the fakes; returns it with the list its --dry-run output goes to."""

    def make(**kwargs: Any) -> tuple[Poller, list[str]]:
        config: Config = load_config(write_config(**kwargs), env={})
        emitted: list[str] = []
        poller = Poller(config, MoodleClient(config.moodle_url, config.moodle_token, timeout=30),
                        SidecarClient(config.sidecar_url, config.source, config.api_key, timeout=30),
                        emit=emitted.append, clock=clock)
        return poller, emitted

    return make
