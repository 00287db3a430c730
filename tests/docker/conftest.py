"""Fixtures of the container tests: the test's own Docker engine and the image built in it.

Every test using them carries ``pytest.mark.xdist_group("docker")`` and ``make test`` runs pytest
with ``--dist loadgroup``, so one xdist worker starts one engine and builds the image once.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.docker.engine import (
    Engine,
    EngineUnavailable,
    Image,
    base_image,
    build_image,
    clean_leftovers,
    finish,
    start_engine,
)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    try:
        started = start_engine()
    except EngineUnavailable as exc:
        pytest.skip(f"the Docker engine cannot start on this machine, container tests skipped: {exc}")
    try:
        if started.shared:
            clean_leftovers(started)
        yield started
    finally:
        finish(started)


@pytest.fixture(scope="session")
def edc_image(engine: Engine) -> Image:
    return build_image(engine, base_image(engine))
