"""EDC_SEAL_LEVEL: the sidecar seals at EDC's level (B-LTA) when a TSA is set, and says so when not."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from bridge.config import ConfigError, Settings
from sealer.jose import b64url_decode
from sealer.validation import validate_seal
from tests.sidecar.conftest import Sidecar, example_completion, make_sidecar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sealer"))
from tsa_server import LoopbackTsa, make_tsa_identity, serve  # noqa: E402


def test_default_level_follows_the_tsa() -> None:
    assert Settings.from_env({}).seal_level == "B-B"
    assert Settings.from_env({"EDC_TSA_URL": "http://127.0.0.1:9/tsa"}).seal_level == "B-LTA"
    assert Settings.from_env({"EDC_TSA_URL": "http://127.0.0.1:9/tsa", "EDC_SEAL_LEVEL": "b-t"}).seal_level == "B-T"
    with pytest.raises(ConfigError, match="needs a time-stamping authority"):
        Settings.from_env({"EDC_SEAL_LEVEL": "B-LT"})
    with pytest.raises(ConfigError, match="EDC_SEAL_LEVEL must be one of"):
        Settings.from_env({"EDC_SEAL_LEVEL": "LTA"})


def test_b_b_is_warned_at_start_up(tmp_path: Path, dev_seal_p12: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        make_sidecar(tmp_path, f"sqlite:///{tmp_path / 'a.sqlite3'}", dev_seal_p12)
    assert any("sealing at JAdES B-B" in r.getMessage() for r in caplog.records)


def test_pipeline_seals_at_b_lta_with_a_tsa(tmp_path: Path, dev_seal_p12: Path) -> None:
    tsa = LoopbackTsa(*make_tsa_identity())
    server = serve(tsa)
    try:
        car: Sidecar = make_sidecar(tmp_path, f"sqlite:///{tmp_path / 'b.sqlite3'}", dev_seal_p12,
                                    EDC_TSA_URL=tsa.url)
        car.add_source()
        car.put_template(policy={"channels": []})
        ids = [car.admin("POST", "/api/v1/completions",
                         example_completion(learner={"id": f"L{i}"})).json["id"] for i in range(3)]
        car.drain()
        for cred_id in ids:
            sealed = car.admin("GET", f"/api/v1/credentials/{cred_id}/sealed")
            assert sealed.status_code == 200, sealed.json
            entries = [next(iter(json.loads(b64url_decode(e, "etsiU"))))
                       for e in json.loads(sealed.data)["signatures"][0]["header"]["etsiU"]]
            assert entries == ["sigTst", "xVals", "arcTst"]  # the dev seal declares no OCSP/CRL: no rVals
            report = validate_seal(sealed.data, trust=dev_seal_p12.parent / "dev-ca.pem", fetch=False)
            assert report.level == "B-LTA" and report.verdict == "valid", report.errors
        assert tsa.requests_seen == 9  # content, signature and archive time-stamps of each credential
    finally:
        server.shutdown()
        server.server_close()
