"""Hostile input never escapes as anything but ValidationFailed (a 4xx for the API, never a 500)."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from bridge.elm.assemble import assemble
from bridge.elm.completion import Completion
from bridge.elm.errors import ValidationFailed
from bridge.elm.template import CourseTemplate

from .helpers import PROVIDER, load_example

ODD_VALUES = [
    None,
    0,
    -5,
    1.5,
    float("nan"),
    float("inf"),
    True,
    "",
    "x" * 5000,
    "xx",
    [],
    {},
    [1],
    {"en": 1},
    {"en": {"fr": "x"}},
    "2026-11-20T10:00:00Z",
    "http://data.europa.eu/esco/skill/x",
    "\x00",
]


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += paths(value, prefix + (i,))
    return out


def mutants(document: dict, seed: int, count: int):
    rnd = random.Random(seed)
    targets = paths(document)
    for _ in range(count):
        doc = copy.deepcopy(document)
        for _ in range(rnd.randint(1, 3)):
            path = rnd.choice(targets)
            node = doc
            try:
                for key in path[:-1]:
                    node = node[key]
                node[path[-1]] = rnd.choice(ODD_VALUES)
            except (KeyError, IndexError, TypeError):
                continue  # an earlier mutation replaced a parent
        yield doc


@pytest.mark.parametrize("name", ["course-template.json", "completion.json"])
def test_random_bad_values_only_raise_validation_failed(name):
    completion = Completion.from_dict(load_example("completion.json"))
    accepted = rejected = 0
    for doc in mutants(load_example(name), seed=20261129, count=400):
        try:
            if name == "completion.json":
                Completion.from_dict(doc)
            else:
                assemble(CourseTemplate.from_dict(doc), completion, PROVIDER)
            accepted += 1
        except ValidationFailed as exc:
            assert exc.errors and all(e.field and e.message for e in exc.errors)
            rejected += 1
    assert rejected > 300 and accepted + rejected == 400
