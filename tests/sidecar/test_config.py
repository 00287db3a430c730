"""Configuration from the environment: defaults for a laptop, secrets from files, clear errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import ConfigError, Settings


def test_embedded_defaults(tmp_path: Path) -> None:
    s = Settings.from_env({"EDC_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'edc-bridge.sqlite3'}"
    assert s.broker_url is None and s.admin_token is None and s.dev_seal is True
    assert s.outbox_dir == tmp_path / "outbox"
    assert (s.max_body_bytes, s.max_batch_items, s.signature_window) == (1024 * 1024, 50_000, 300)


def test_production_settings_and_secret_files(tmp_path: Path) -> None:
    token = tmp_path / "admin"
    token.write_text("s3cret-token\n")
    s = Settings.from_env({"DATABASE_URL": "postgres://u@db/edc", "EDC_BROKER_URL": "redis://r:6379/0",
                           "EDC_ADMIN_TOKEN_FILE": str(token), "EDC_SEAL_PKCS12": "/keys/seal.p12",
                           "EDC_WALLET_URL": "https://wallet.example/", "EDC_MAX_BODY_BYTES": "2048"})
    assert s.database_url == "postgresql+psycopg://u@db/edc"
    assert s.admin_token == "s3cret-token"
    assert s.dev_seal is False
    assert s.wallet_url == "https://wallet.example"
    assert s.max_body_bytes == 2048
    assert "s3cret" not in repr(s)


@pytest.mark.parametrize(("env", "variable"), [
    ({"EDC_MAX_BODY_BYTES": "big"}, "EDC_MAX_BODY_BYTES"),
    ({"EDC_SWEEP_GRACE": "-5"}, "EDC_SWEEP_GRACE"),
    ({"EDC_ADMIN_TOKEN_FILE": "/nonexistent/token"}, "EDC_ADMIN_TOKEN_FILE"),
])
def test_bad_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(env)


def test_container_secrets_from_files(tmp_path: Path) -> None:
    """Compose and Kubernetes mount secrets as files: the database password and the broker URL too."""
    (tmp_path / "db").write_text("p@ss:w/rd\n")
    (tmp_path / "broker").write_text("redis://:brokerpw@redis:6379/0\n")
    s = Settings.from_env({"EDC_DATABASE_URL": "postgresql://edc@postgres:5432/edc",
                           "EDC_DATABASE_PASSWORD_FILE": str(tmp_path / "db"),
                           "EDC_BROKER_URL_FILE": str(tmp_path / "broker"), "EDC_DELIVERY_LEASE": "45"})
    assert s.database_url == "postgresql+psycopg://edc:p%40ss%3Aw%2Frd@postgres:5432/edc"
    assert s.broker_url == "redis://:brokerpw@redis:6379/0"
    assert s.delivery_lease == 45
    assert "p%40ss" not in repr(s) and "brokerpw" not in repr(s)


def test_database_password_needs_a_server_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="EDC_DATABASE_PASSWORD") as err:
        Settings.from_env({"EDC_DATA_DIR": str(tmp_path), "EDC_DATABASE_PASSWORD": "never-shown"})
    assert "never-shown" not in str(err.value)
