"""Shared inputs for the bridge.elm tests: example documents and two sealers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge.elm.assemble import Issuer
from tests.reference import ELM_EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ELM_EXAMPLES / "elm-v3"
ISSUED = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
ADAPT_TO_CHANGE = "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4"

# The awarding body of examples/course-template.json seals itself (its VAT number) ...
SAME_ORG = Issuer(
    legal_name={"en": "Université Exemple"},
    eidas_identifier="VATFR-12345678901",
    country="FR",
    homepage="https://univ.example",
)
# ... or a service provider seals on its behalf (mandate).
PROVIDER = Issuer(
    legal_name={"en": "Credential Services SARL"}, eidas_identifier="NTRFR-987654321", country="FR"
)


def load_example(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "examples" / name).read_text("utf-8"))
