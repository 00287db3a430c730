"""EU trusted lists (ETSI TS 119 612) as trust anchors, through pyHanko's ``validation.qualified``.

Filled in by the trusted-list work; until then :func:`is_cache` finds no cache and anchors come from
certificate files only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

INDEX = "edc-trusted-lists.json"


def is_cache(path: Path) -> bool:
    """Whether ``path`` is a folder written by ``edc-bridge trust update``."""
    return path.is_dir() and (path / INDEX).is_file()


def anchors_from_cache(path: Path) -> Any:
    raise NotImplementedError


def qualification(registry: Any, path: Any, when: Any) -> dict[str, object] | None:
    raise NotImplementedError
