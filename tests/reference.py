"""Where the project's read-only reference data (``shared/reference``) lives.

Developers have it at ``/work/shared``; CI lays a copy of ``shared/`` beside the clone. Tests ask here
instead of hard-coding either, and ``EDC_SHARED_DIR`` overrides both.
"""
from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]


def _find() -> Path:
    candidates = [os.environ.get("EDC_SHARED_DIR"), _ROOT.parent / "shared", "/work/shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "reference").is_dir():
            return Path(candidate)
    raise RuntimeError("reference data not found: set EDC_SHARED_DIR to the folder holding reference/")


SHARED = _find()
ELM_REFERENCE = SHARED / "reference" / "elm"
ELM_EXAMPLES = ELM_REFERENCE / "examples"
ESCO_REFERENCE = SHARED / "reference" / "esco"
