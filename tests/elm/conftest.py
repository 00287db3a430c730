"""Fixtures: fresh copies of the shipped example template and completion."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .helpers import load_example


@pytest.fixture
def template_dict() -> dict[str, Any]:
    return copy.deepcopy(load_example("course-template.json"))


@pytest.fixture
def completion_dict() -> dict[str, Any]:
    return copy.deepcopy(load_example("completion.json"))
