"""Fixtures shared by the sealer tests (other sealer test modules may add theirs here)."""
from __future__ import annotations

import pytest
from softhsm import SoftHsm, softhsm_for_process


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    """SoftHSM2 tokens with RSA and EC eSeal keys generated on them; one set-up per (xdist worker) process."""
    return softhsm_for_process(tmp_path_factory.mktemp("softhsm"))
