"""Fixtures shared by the sealer tests (other sealer test modules may add theirs here)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from softhsm import SoftHsm, softhsm_for_process
from tsa_server import LoopbackTsa, make_tsa_identity, serve

from sealer.keys import Pkcs12KeySource
from sealer.keys.devseal import create_dev_seal


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    """SoftHSM2 tokens with RSA and EC eSeal keys generated on them; one set-up per (xdist worker) process."""
    return softhsm_for_process(tmp_path_factory.mktemp("softhsm"))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Pkcs12KeySource]:
    """Development eSeals, one RSA and one EC (P-256), as software key sources."""
    out = {}
    for key_type in ("RSA", "EC"):
        seal = create_dev_seal(tmp_path_factory.mktemp(key_type), key_type=key_type)
        out[key_type] = Pkcs12KeySource(seal.pkcs12_path, seal.password)
    return out


@pytest.fixture
def loopback() -> Iterator[LoopbackTsa]:
    """A real RFC 3161 time-stamping authority on loopback (see tsa_server.py)."""
    server_tsa = LoopbackTsa(*make_tsa_identity())
    server = serve(server_tsa)
    yield server_tsa
    server.shutdown()
    server.server_close()
