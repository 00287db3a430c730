"""healthz, metrics, OpenAPI and docs page, and problem+json for routing errors."""
from __future__ import annotations

import re
from pathlib import Path

from .conftest import Sidecar, example_completion, make_sidecar


def test_healthz_reports_each_dependency(sidecar: Sidecar) -> None:
    response = sidecar.client.get("/healthz")
    assert response.status_code == 200
    checks = response.json["checks"]
    assert checks["database"]["ok"] and checks["key_source"]["ok"]
    assert checks["broker"] == {"ok": True, "mode": "in-process"}


def test_healthz_is_503_when_broker_or_seal_is_unavailable(tmp_path: Path, db_url: str,
                                                           dev_seal_p12: Path) -> None:
    car = make_sidecar(tmp_path, db_url, dev_seal_p12, EDC_BROKER_URL="redis://127.0.0.1:1/0",
                       EDC_SEAL_PKCS12_PASSWORD="wrong-password")
    response = car.client.get("/healthz")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["database"]["ok"] is True
    assert checks["broker"]["ok"] is False
    assert checks["key_source"]["ok"] is False
    assert "wrong-password" not in response.get_data(as_text=True)


def test_metrics_count_requests_and_pipeline_states(sidecar: Sidecar) -> None:
    sidecar.add_source()
    sidecar.put_template(policy={"issue_when": "passed"})
    sidecar.admin("POST", "/api/v1/completions", example_completion(passed=False))
    text = sidecar.client.get("/metrics").get_data(as_text=True)
    assert 'edc_credentials{status="skipped"} 1.0' in text
    assert 'edc_completions_received_total{outcome="skipped"} 1.0' in text
    assert 'edc_http_requests_total{endpoint="completions.post_completion",method="POST",status="202"} 1.0' in text


def test_openapi_and_docs_page(sidecar: Sidecar) -> None:
    spec = sidecar.client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/completions:batch" in spec["paths"]
    routes = {re.sub(r"<(?:\w+:)?\w+>", "{}", rule.rule) for rule in sidecar.app.url_map.iter_rules()
              if rule.endpoint != "static"}
    documented = {re.sub(r"\{\w+\}", "{}", path) for path in spec["paths"]}
    assert documented <= routes
    assert {r for r in routes if r.startswith("/api/")} <= documented  # every API route is described
    page = sidecar.client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "/api/v1/credentials/{cred_id}:revoke" in page.get_data(as_text=True)
    assert "http" not in page.get_data(as_text=True).replace("https://edc-bridge.invalid", "")


def _keys(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for value in node.values() for k in _keys(value)}
    if isinstance(node, list):
        return {k for value in node for k in _keys(value)}
    return set()


def test_openapi_says_esco_search_is_public_and_states_its_limits(sidecar: Sidecar) -> None:
    spec = sidecar.client.get("/openapi.json").json
    for path in ("/api/v1/esco/skills", "/api/v1/esco/skills/{skill_id}"):
        operation = spec["paths"][path]["get"]
        assert operation["security"] == [] and "401" not in operation["responses"]
    assert sidecar.client.get("/api/v1/esco/skills?q=adapt&limit=3").status_code == 200  # indeed public
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/esco/skills"]["get"]["parameters"]}
    assert (params["limit"]["minimum"], params["limit"]["maximum"]) == (1, 100)
    assert params["q"]["maxLength"] == 200
    per_page = [p["schema"] for p in spec["paths"]["/api/v1/credentials"]["get"]["parameters"]
                if p["name"] == "per_page"]
    assert per_page and per_page[0]["maximum"] == 200
    # Constraints are JSON Schema words, never pydantic's own (which a client would ignore).
    assert not _keys(spec) & {"ge", "le", "gt", "lt", "max_length", "min_length"}


def test_routing_errors_are_problems(sidecar: Sidecar) -> None:
    missing = sidecar.client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    wrong_method = sidecar.client.delete("/api/v1/completions")
    assert wrong_method.status_code == 405 and wrong_method.mimetype == "application/problem+json"
    assert "POST" in wrong_method.headers["Allow"]


def test_healthz_refuses_a_seal_without_organization_identifier(tmp_path: Path, db_url: str) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "No Identifier University")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    p12 = tmp_path / "plain.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"plain", key, cert, None, serialization.BestAvailableEncryption(b"pw")))
    car = make_sidecar(tmp_path, db_url, p12, EDC_SEAL_PKCS12_PASSWORD="pw")
    response = car.client.get("/healthz")
    assert response.status_code == 503
    assert "organizationIdentifier" in response.json["checks"]["key_source"]["error"]
