"""Node ids: derived from the credential id, distinct, version-8 UUIDs, the same in both renderers."""
from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bridge.elm.assemble import assemble, node_uuid
from bridge.elm.compiled import CompiledTemplate
from bridge.elm.completion import Completion
from bridge.elm.issuer import Issuer
from bridge.elm.template import CourseTemplate

from .helpers import PROVIDER

ROOT = Path(__file__).resolve().parents[2]
EPASS = re.compile(r"urn:epass:([A-Za-z]+):([0-9a-f-]{36})")


def _credential(issuer: Issuer, cred_id: uuid.UUID) -> str:
    template = CourseTemplate.from_dict(json.loads((ROOT / "examples" / "course-template.json").read_text("utf-8")))
    completion = Completion.from_dict(json.loads((ROOT / "examples" / "completion.json").read_text("utf-8")))
    issued = datetime(2026, 11, 29, tzinfo=UTC)
    text = json.dumps(assemble(template, completion, issuer, credential_id=str(cred_id), issued=issued),
                      ensure_ascii=False, separators=(",", ":"))
    compiled = CompiledTemplate.compile(template, issuer)
    assert compiled.render(completion, credential_id=str(cred_id), issued=issued).decode() == text
    return text


def test_node_uuid_is_a_version_8_bijection_of_the_credential_id() -> None:
    base = uuid.uuid4()
    names = [f"{kind}#{n}" for kind in ("org", "loc", "claim", "spec") for n in range(1, 9)]
    ids = [node_uuid(base, name) for name in names]
    assert len(set(ids)) == len(names)
    assert all(i.version == 8 and i.variant == uuid.RFC_4122 for i in ids)
    assert node_uuid(base, "org#1") == node_uuid(uuid.UUID(str(base)), "org#1")  # deterministic
    others = {node_uuid(uuid.uuid4(), "org#1") for _ in range(1000)}
    assert len(others) == 1000 and node_uuid(base, "org#1") not in others


def test_every_node_id_of_two_credentials_is_distinct() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    ids_a = [m.group(2) for m in EPASS.finditer(_credential(PROVIDER, a))]
    ids_b = [m.group(2) for m in EPASS.finditer(_credential(PROVIDER, b))]
    assert len(ids_a) > 20
    # Within a credential a node may be referenced more than once; across credentials nothing is shared.
    assert not set(ids_a) & set(ids_b)
    assert all(uuid.UUID(i).version == 8 for i in ids_a + ids_b)
