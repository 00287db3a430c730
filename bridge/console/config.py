"""Console settings, read from the same environment as the rest of the sidecar.

| Variable | Default | Meaning |
|---|---|---|
| `EDC_CONSOLE_SECRET_KEY` / `_FILE` | generated once into `$EDC_DATA_DIR/console-secret-key` (0600) | Key signing the console's CSRF tokens; set it (same value) on every web host of a cluster. |
| `EDC_CONSOLE_SESSION_IDLE` | `1800` | Seconds without a request after which a console session ends. |
| `EDC_CONSOLE_SESSION_LIFETIME` | `43200` | Seconds after sign-in after which a console session ends whatever happens. |
| `EDC_CONSOLE_COOKIE_SECURE` | `1` when `EDC_PUBLIC_URL` is https | `1`: the session cookie is sent over HTTPS only. |
| `EDC_CONSOLE_LOCAL_LOGIN` | `1` | `0` turns local passwords off (identity provider only). |
| `EDC_CONSOLE_LOCKOUT_ATTEMPTS` / `_SECONDS` | `5` / `900` | Failed local sign-ins in a row that lock an account, and for how long. |
| `EDC_CONSOLE_EXPORT_MAX_ROWS` | `100000` | Most credentials one CSV/XLSX export holds (narrow the period beyond). |
| `EDC_OIDC_ISSUER` | unset | OpenID Connect issuer URL (discovery at `/.well-known/openid-configuration`); unset: no SSO. |
| `EDC_OIDC_CLIENT_ID`, `EDC_OIDC_CLIENT_SECRET` / `_FILE` | unset | The console's client at the identity provider (redirect URI: `$EDC_PUBLIC_URL/console/oidc/callback`). |
| `EDC_OIDC_NAME` | `your institution` | Shown on the sign-in button ("Sign in with …"). |
| `EDC_OIDC_SCOPES` | `openid email profile` | Scopes asked for. |
| `EDC_OIDC_ROLES_CLAIM` | `groups` | ID token / userinfo claim listing the person's groups. |
| `EDC_OIDC_ROLE_MAP` | unset | `group=role,…` (roles: admin, registrar, course_team, recognition_officer, viewer); mapped roles replace the account's roles at each sign-in. |
| `EDC_OIDC_COURSE_PREFIX` | unset | Groups `<prefix><source>/<course_id>` make the person course team of that course. |
"""  # noqa: E501 - the table is meant to be copied to the README as is
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from bridge.config import ConfigError, Settings, _secret
from bridge.db.models import STAFF_ROLES


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError(f"{name} must be a positive integer")
    return int(raw)


def _generated_key(data_dir: Path) -> str:
    """A key made once per installation, in a file only the service user can read."""
    path = data_dir / "console-secret-key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str | None = field(repr=False)
    name: str
    scopes: str
    roles_claim: str
    role_map: dict[str, str]
    course_prefix: str | None


@dataclass(frozen=True)
class ConsoleSettings:
    secret_key: str = field(repr=False)
    session_idle: int
    session_lifetime: int
    cookie_secure: bool
    local_login: bool
    lockout_attempts: int
    lockout_seconds: int
    export_max_rows: int
    oidc: OidcSettings | None

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleSettings:
        env = dict(settings.env)
        secure_raw = env.get("EDC_CONSOLE_COOKIE_SECURE")
        secure = (secure_raw.strip().lower() in ("1", "true", "yes") if secure_raw
                  else settings.public_url.startswith("https://"))
        return cls(
            secret_key=_secret(env, "EDC_CONSOLE_SECRET_KEY") or _generated_key(settings.data_dir),
            session_idle=_int(env, "EDC_CONSOLE_SESSION_IDLE", 1800),
            session_lifetime=_int(env, "EDC_CONSOLE_SESSION_LIFETIME", 43200),
            cookie_secure=secure,
            local_login=(env.get("EDC_CONSOLE_LOCAL_LOGIN") or "1").strip().lower() not in ("0", "false", "no"),
            lockout_attempts=_int(env, "EDC_CONSOLE_LOCKOUT_ATTEMPTS", 5),
            lockout_seconds=_int(env, "EDC_CONSOLE_LOCKOUT_SECONDS", 900),
            export_max_rows=_int(env, "EDC_CONSOLE_EXPORT_MAX_ROWS", 100_000),
            oidc=_oidc(env),
        )


def _oidc(env: dict[str, str]) -> OidcSettings | None:
    issuer = (env.get("EDC_OIDC_ISSUER") or "").strip().rstrip("/")
    if not issuer:
        return None
    client_id = (env.get("EDC_OIDC_CLIENT_ID") or "").strip()
    if not client_id:
        raise ConfigError("EDC_OIDC_CLIENT_ID is required with EDC_OIDC_ISSUER")
    role_map: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in (env.get("EDC_OIDC_ROLE_MAP") or "").split(","))):
        group, _, role = pair.rpartition("=")
        if not group or role not in STAFF_ROLES:
            raise ConfigError(f"EDC_OIDC_ROLE_MAP: '{pair}' is not group=role with role one of "
                              f"{', '.join(STAFF_ROLES)}")
        role_map[group] = role
    return OidcSettings(issuer=issuer, client_id=client_id, client_secret=_secret(env, "EDC_OIDC_CLIENT_SECRET"),
                        name=(env.get("EDC_OIDC_NAME") or "your institution").strip(),
                        scopes=(env.get("EDC_OIDC_SCOPES") or "openid email profile").strip(),
                        roles_claim=(env.get("EDC_OIDC_ROLES_CLAIM") or "groups").strip(),
                        role_map=role_map, course_prefix=(env.get("EDC_OIDC_COURSE_PREFIX") or "").strip() or None)
