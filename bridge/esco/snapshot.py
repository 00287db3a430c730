"""The ESCO snapshot file: one gzipped JSON document holding every skill-pillar concept.

A single compact file loads in well under a second, ships inside the wheel, and can be rebuilt
byte for byte from the same CSVs (sorted keys, fixed gzip header), which is what makes
``edc-bridge esco import`` idempotent and lets a re-import report "unchanged".
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "edc-bridge-esco-snapshot/1"
SNAPSHOT_NAME = "esco-snapshot.json.gz"
BUNDLED_PATH = Path(__file__).parent / "data" / SNAPSHOT_NAME


class SnapshotError(ValueError):
    """The snapshot file is missing, unreadable or not in the expected format."""


@dataclass(frozen=True)
class Snapshot:
    """Decoded snapshot: ESCO version, languages and the concepts keyed by URI."""

    esco_version: str
    languages: list[str]
    concepts: dict[str, dict[str, Any]]
    content_sha256: str

    @property
    def skill_count(self) -> int:
        return sum(1 for c in self.concepts.values() if c["concept_type"] != "SkillGroup")


def encode(esco_version: str, languages: list[str], concepts: dict[str, dict[str, Any]]) -> bytes:
    """Deterministic gzip bytes for a snapshot: same input, same bytes."""
    body = [concepts[uri] for uri in sorted(concepts)]
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    document = {
        "format": FORMAT,
        "esco_version": esco_version,
        "languages": sorted(languages),
        "content_sha256": digest,
        "attribution": "© European Union, ESCO (https://esco.ec.europa.eu), reused under Commission "
        "Decision 2011/833/EU",
        "concepts": body,
    }
    raw = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> bool:
    """Atomically write ``data`` to ``path``; False (and no write) when the file already holds it.

    Writing to a temporary file and renaming means a crash never leaves a half-written snapshot
    that the sidecar would then fail to load.
    """
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".esco-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the snapshot from the sidecar user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def load(path: Path) -> Snapshot:
    """Read a snapshot written by :func:`encode`."""
    try:
        with gzip.open(path, "rb") as handle:
            document = json.loads(handle.read())
    except FileNotFoundError:
        raise SnapshotError(f"ESCO snapshot not found: {path}") from None
    except (OSError, EOFError, ValueError) as exc:
        raise SnapshotError(f"ESCO snapshot {path} is unreadable: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotError(f"ESCO snapshot {path} is not in format {FORMAT}")
    concepts = {c["uri"]: c for c in document["concepts"]}
    return Snapshot(
        esco_version=document["esco_version"],
        languages=list(document["languages"]),
        concepts=concepts,
        content_sha256=document["content_sha256"],
    )
