"""Key sources: where the organisation's eSeal private key lives, behind one small interface.

This is the stable API other parts (the JAdES and XAdES sealers here, a PDF sealer elsewhere) build on:

* :class:`KeySource` — ``certificate`` (the eSeal, a ``cryptography`` certificate), ``chain`` (leaf
  first, then intermediates), ``key_type`` (``"RSA"``/``"EC"``), ``default_alg``, ``check_alg(alg)``
  and ``sign(data, alg) -> bytes`` (JOSE-form signature: RSA PKCS#1 v1.5/PSS, ECDSA raw ``r || s``);
* :func:`open_key_source` — the one factory reading ``EDC_SEAL_*`` / ``EDC_DEV_SEAL`` settings;
* :class:`Pkcs12KeySource`, ``Pkcs11KeySource`` (loaded lazily: python-pkcs11 stays out of processes
  that never touch a token), :func:`create_dev_seal` for a NOT QUALIFIED development seal.
"""
from __future__ import annotations

from sealer.keys.base import (
    EC_ALGS,
    RSA_ALGS,
    SUPPORTED_ALGS,
    KeySource,
    KeySourceError,
    UnsupportedAlgorithm,
)
from sealer.keys.config import ChainedKeySource, open_key_source
from sealer.keys.devseal import create_dev_seal
from sealer.keys.software import Pkcs12KeySource, SoftwareKeySource

__all__ = [
    "EC_ALGS", "RSA_ALGS", "SUPPORTED_ALGS", "ChainedKeySource", "KeySource", "KeySourceError",
    "Pkcs11KeySource", "Pkcs12KeySource", "SoftwareKeySource", "UnsupportedAlgorithm", "create_dev_seal",
    "open_key_source",
]


def __getattr__(name: str) -> object:
    """``Pkcs11KeySource`` on first use, so importing key sources does not load python-pkcs11."""
    if name == "Pkcs11KeySource":
        from sealer.keys.pkcs11 import Pkcs11KeySource

        return Pkcs11KeySource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
