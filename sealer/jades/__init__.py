"""JAdES (ETSI TS 119 182-1) seals of JSON credentials, shaped like those of the EDC service."""
from __future__ import annotations

from sealer.jades.bulk import JadesSealer
from sealer.jades.parse import parse_jades, split_jws, strict_json
from sealer.jades.seal import SealingError, dumps, key_header, seal_jades

__all__ = ["JadesSealer", "SealingError", "dumps", "key_header", "parse_jades", "seal_jades", "split_jws",
           "strict_json"]
