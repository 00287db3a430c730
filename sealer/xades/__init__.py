"""XAdES (ETSI EN 319 132-1) seals of XML credentials, placed as EDC's legacy files carry them."""
from __future__ import annotations

from sealer.xades.core import XadesError, parse_xades, seal_xades

__all__ = ["XadesError", "parse_xades", "seal_xades"]
