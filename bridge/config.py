"""Sidecar configuration, read once from the environment.

Every setting is an environment variable so the same image runs on a laptop (no variables at all:
SQLite file, in-process tasks, dev seal, ``.eml`` outbox) and in production (PostgreSQL, Redis,
PKCS#11 token). Secrets can be given through ``*_FILE`` variants so they need not sit in the
process environment.

| Variable | Default | Meaning |
|---|---|---|
| `EDC_DATA_DIR` | `./var` | Folder for the SQLite file, the dev seal and the local mail outbox. |
| `EDC_DATABASE_URL` / `DATABASE_URL` | `sqlite:///$EDC_DATA_DIR/edc-bridge.sqlite3` | SQLAlchemy URL; `postgresql://…` in production (psycopg 3 driver is selected automatically). |
| `EDC_DATABASE_PASSWORD` / `_FILE` | unset | Database password, put into the URL (so the URL itself holds no secret). |
| `EDC_BROKER_URL` / `_FILE` | unset | Celery broker (e.g. `redis://127.0.0.1:6379/0`). Unset: tasks run in-process after the intake commit. |
| `EDC_CELERY_QUEUE` | `edc-bridge` | Celery queue name (lets several sidecars share one broker). |
| `EDC_ADMIN_TOKEN` / `EDC_ADMIN_TOKEN_FILE` | unset | Bearer token for template and credential management. Unset: admin API disabled. |
| `EDC_SEAL_PKCS12` | unset | Path of a PKCS#12 file holding the eSeal key and certificate chain. |
| `EDC_SEAL_PKCS12_PASSWORD` / `_FILE` | unset | Its password. |
| `EDC_SEAL_PKCS11_MODULE` | unset | PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`). |
| `EDC_SEAL_PKCS11_TOKEN_LABEL` | unset | Token label. |
| `EDC_SEAL_PKCS11_KEY_LABEL` | unset | Key (and certificate) label on the token. |
| `EDC_SEAL_PKCS11_PIN` / `_FILE` | unset | User PIN of the token. |
| `EDC_DEV_SEAL` | `1` when no PKCS#12/PKCS#11 is set | `1`: generate (once) a self-signed, NOT QUALIFIED development seal under `$EDC_DATA_DIR/dev-seal`. Never for production. |
| `EDC_SEAL_PKCS11_CERT`, `EDC_SEAL_CHAIN` | unset | eSeal certificate file for tokens holding only the key; intermediate CA certificates for `x5c` (see `sealer.keys.config`). |
| `EDC_TSA_URL` | unset | RFC 3161 time-stamping authority for the seal's time-stamps. |
| `EDC_SEAL_LEVEL` | `B-LTA` with `EDC_TSA_URL`, else `B-B` (warned at start-up) | JAdES baseline level: `B-B`, `B-T` (time-stamps), `B-LT` (+ certificates and OCSP/CRL answers), `B-LTA` (+ archive time-stamp), as EDC seals. B-LT/B-LTA gather the validation data up to the self-signed roots that came with the key (PKCS#12, `EDC_SEAL_CHAIN`) or `EDC_VERIFY_TRUST`. |
| `EDC_WALLET_URL` | unset | Europass wallet base URL; unset disables the `wallet` channel (deliveries fail permanently with a clear reason). |
| `EDC_PUBLIC_URL` | required to seal | Public base URL of the sidecar: sealed into credentials and used for the learner's page, its QR code and `status_url` links. Unset or loopback: sealing is refused unless the development seal signs (`bridge.public_url`). |
| `EDC_WALLET_API` | `v2` | Europass wallet deposit: `v2` (EDC 2.2.x) or `v1` (older wallets); see `bridge.delivery.wallet`. |
| `EDC_EMAIL_PDF` | `1` | Attach the sealed PDF to the learner's e-mail; `0`: made on its first download. |
| `EDC_MAX_BODY_BYTES` | `1048576` | Largest request body for ordinary routes (413 above). |
| `EDC_MAX_BATCH_BYTES` | `67108864` | Largest body for `POST /api/v1/completions:batch`. |
| `EDC_MAX_BATCH_ITEMS` | `50000` | Most completions accepted in one batch. |
| `EDC_BODY_TIMEOUT` | `60` | Seconds a client has to send a whole request body (408 after that), so slow uploads cannot hold the server's threads. |
| `EDC_SIGNATURE_WINDOW` | `300` | Accepted clock skew (seconds) of `X-EDC-Timestamp`. |
| `EDC_SWEEP_GRACE` | `300` | Seconds after which the outbox sweep re-enqueues work still pending. |
| `EDC_SWEEP_INTERVAL` | `60` | Seconds between sweeps (Celery beat, or the in-process sweeper of `edc-bridge serve`). |
| `EDC_DELIVERY_LEASE` | `600` | Seconds a delivery claim lives without a heartbeat: a worker renews its claims every quarter lease and checks them before each send; the sweep hands out only claims silent for this long (a killed or frozen worker's). With SMTP it must be at least 1.5 × the per-message deadline (`EDC_SMTP_CONNECT_TIMEOUT` + 8 × `EDC_SMTP_TIMEOUT` + `EDC_SMTP_DATA_TIMEOUT`, 390 s by default); checked at start-up. |
| `EDC_TASK_TIME_LIMIT` | `600` | Soft time limit (seconds) of each worker task; the hard limit (the worker child is killed) is 10 % later. A credential whose assembly reaches it is failed with the reason; the rest of its chunk goes to a new task. |
| `EDC_OUTBOX_DIR` | `$EDC_DATA_DIR/outbox` | Where email is written as `.eml` files when no SMTP host is set. |
| `EDC_SMTP_*` | see `bridge.delivery` | SMTP host, port, security, user and password of the email channel. |
| `EDC_CATALOGUE_PAGE_SIZE` | `50` | Courses per page (at most 500) of the published feed `/catalogue.jsonld`. |
| `EDC_CATALOGUE_PARTNERS` | unset | Partners' catalogue feeds to harvest, `name=URL` separated by spaces, commas or new lines (e.g. `uni-a=https://a.example/catalogue.jsonld`). A URL is another EDC Bridge's `/catalogue.jsonld` or any ELM LOQ publisher's JSON-LD (one document, a graph, or pages linked with `Link: rel="next"`). Names: letters, digits, `.`, `_`, `-`. |
| `EDC_CATALOGUE_HARVEST_INTERVAL` | `3600` | Seconds between harvests (Celery beat, or the embedded loop of `edc-bridge serve`). |
| `EDC_CATALOGUE_MAX_BYTES` | `5242880` | Largest page of a partner's feed; a bigger one refuses the harvest. |
| `EDC_CATALOGUE_MAX_PAGES` | `20` | Most pages followed in one partner's feed; more refuses the harvest. |
| `EDC_CATALOGUE_MAX_ENTRIES` | `2000` | Most learning opportunities kept from one partner; more refuses the harvest. |
| `EDC_CATALOGUE_TIMEOUT` | `60` | Seconds one partner's harvest may take (all pages); slower refuses it. |
"""  # noqa: E501 - the configuration table is meant to be copied to the README as is
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A setting is malformed; the message names the variable, never its (possibly secret) value."""


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """Read NAME, or the file named by NAME_FILE (trailing newline stripped), so secrets can be mounted."""
    if env.get(name):
        return env[name]
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"{name}_FILE: cannot read the file ({exc.strerror})") from None


PARTNER_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def catalogue_partners(raw: str | None) -> tuple[tuple[str, str], ...]:
    """``EDC_CATALOGUE_PARTNERS``: ``name=URL`` items separated by spaces, commas or new lines."""
    found: dict[str, str] = {}
    for item in re.split(r"[\s,]+", (raw or "").strip()):
        if not item:
            continue
        name, sep, url = item.partition("=")
        if not sep or not PARTNER_NAME.match(name):
            raise ConfigError("EDC_CATALOGUE_PARTNERS: each item is name=URL, the name made of letters, digits, "
                              "'.', '_' or '-' (at most 64)")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            raise ConfigError(f"EDC_CATALOGUE_PARTNERS: the URL of {name} must be http(s) without credentials")
        if name in found:
            raise ConfigError(f"EDC_CATALOGUE_PARTNERS: {name} is given twice")
        found[name] = url
    return tuple(found.items())


SEAL_LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


def _seal_level(env: Mapping[str, str]) -> str:
    """``EDC_SEAL_LEVEL``, or EDC's own level (B-LTA) when a TSA is set, else B-B."""
    raw = (env.get("EDC_SEAL_LEVEL") or "").strip().upper()
    if not raw:
        return "B-LTA" if env.get("EDC_TSA_URL") else "B-B"
    if raw not in SEAL_LEVELS:
        raise ConfigError(f"EDC_SEAL_LEVEL must be one of {', '.join(SEAL_LEVELS)}")
    if raw != "B-B" and not env.get("EDC_TSA_URL"):
        raise ConfigError(f"EDC_SEAL_LEVEL={raw} needs a time-stamping authority: set EDC_TSA_URL")
    return raw


def seal_level_notice(settings: Settings) -> str | None:
    """The start-up warning when seals carry no time-stamp."""
    if settings.seal_level != "B-B":
        return None
    return ("sealing at JAdES B-B (no time-stamp): once the seal certificate expires or is revoked, nothing "
            "proves the seals were made before; set EDC_TSA_URL to seal at B-LTA as EDC does")


def _int(env: Mapping[str, str], name: str, default: int, maximum: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}")
    return value


LEASE_OVER_BUDGET = 1.5
"""How much longer than one message's SMTP deadline the delivery lease must be: the claim is renewed
right before a send, so the send's answer (or its abandonment) and the outcome's write fall inside it."""


def _check_lease(env: Mapping[str, str], lease: int) -> None:
    """Refuse an ``EDC_DELIVERY_LEASE`` that one SMTP message could outlive (see the table above)."""
    if not (env.get("EDC_SMTP_HOST") or "").strip():
        return
    from bridge.delivery.email import message_budget, smtp_timeouts
    from bridge.delivery.errors import DeliveryInputError

    try:
        command, connect, data = smtp_timeouts(env)
    except DeliveryInputError as exc:
        raise ConfigError(str(exc)) from None
    budget = message_budget(connect, command, data)
    if lease < LEASE_OVER_BUDGET * budget:
        raise ConfigError(
            f"EDC_DELIVERY_LEASE ({lease} s) must be at least {LEASE_OVER_BUDGET:g} × the SMTP deadline of one "
            f"message ({budget:g} s = EDC_SMTP_CONNECT_TIMEOUT + 8 × EDC_SMTP_TIMEOUT + EDC_SMTP_DATA_TIMEOUT): "
            "raise the lease or lower the timeouts")


def normalise_database_url(url: str) -> str:
    """Select the installed psycopg 3 driver for plain ``postgresql://`` URLs (Heroku-style too)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def with_password(url: str, password: str) -> str:
    """Put ``password`` into a database URL, so containers can keep the URL plain and the password in a file."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("EDC_DATABASE_URL is not a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        raise ConfigError("EDC_DATABASE_PASSWORD applies to a database server, not to SQLite")
    return parsed.set(password=password).render_as_string(hide_password=False)


@dataclass(frozen=True)
class Settings:
    """Resolved configuration; build with :meth:`from_env` (tests pass their own mapping)."""

    data_dir: Path
    database_url: str = field(repr=False)  # may carry a password
    broker_url: str | None = field(default=None, repr=False)
    celery_queue: str = "edc-bridge"
    admin_token: str | None = field(default=None, repr=False)
    seal_pkcs12: str | None = None
    seal_pkcs12_password: str | None = field(default=None, repr=False)
    seal_pkcs11_module: str | None = None
    seal_pkcs11_token_label: str | None = None
    seal_pkcs11_key_label: str | None = None
    seal_pkcs11_pin: str | None = field(default=None, repr=False)
    dev_seal: bool = True
    tsa_url: str | None = None
    seal_level: str = "B-B"
    wallet_url: str | None = None
    public_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = 1024 * 1024
    max_batch_bytes: int = 64 * 1024 * 1024
    max_batch_items: int = 50_000
    body_timeout: int = 60
    signature_window: int = 300
    sweep_grace: int = 300
    sweep_interval: int = 60
    delivery_lease: int = 600
    task_time_limit: int = 600
    outbox_dir: Path | None = None
    catalogue_page_size: int = 50
    catalogue_partners: tuple[tuple[str, str], ...] = ()
    catalogue_harvest_interval: int = 3600
    catalogue_max_bytes: int = 5 * 1024 * 1024
    catalogue_max_pages: int = 20
    catalogue_max_entries: int = 2000
    catalogue_timeout: int = 60
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the variables of the table above from ``env`` (default: the process environment)."""
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("EDC_DATA_DIR") or "var").resolve()
        db_url = env.get("EDC_DATABASE_URL") or env.get("DATABASE_URL")
        if not db_url:
            db_url = f"sqlite:///{data_dir / 'edc-bridge.sqlite3'}"
        db_password = _secret(env, "EDC_DATABASE_PASSWORD")
        if db_password is not None:
            db_url = with_password(db_url, db_password)
        has_real_key = bool(env.get("EDC_SEAL_PKCS12") or env.get("EDC_SEAL_PKCS11_MODULE"))
        dev_raw = env.get("EDC_DEV_SEAL")
        dev_seal = (dev_raw.strip().lower() in ("1", "true", "yes")) if dev_raw else not has_real_key
        outbox = env.get("EDC_OUTBOX_DIR")
        delivery_lease = _int(env, "EDC_DELIVERY_LEASE", 600)
        _check_lease(env, delivery_lease)
        return cls(
            data_dir=data_dir,
            database_url=normalise_database_url(db_url),
            broker_url=_secret(env, "EDC_BROKER_URL") or None,
            celery_queue=env.get("EDC_CELERY_QUEUE") or "edc-bridge",
            admin_token=_secret(env, "EDC_ADMIN_TOKEN"),
            seal_pkcs12=env.get("EDC_SEAL_PKCS12") or None,
            seal_pkcs12_password=_secret(env, "EDC_SEAL_PKCS12_PASSWORD"),
            seal_pkcs11_module=env.get("EDC_SEAL_PKCS11_MODULE") or None,
            seal_pkcs11_token_label=env.get("EDC_SEAL_PKCS11_TOKEN_LABEL") or None,
            seal_pkcs11_key_label=env.get("EDC_SEAL_PKCS11_KEY_LABEL") or None,
            seal_pkcs11_pin=_secret(env, "EDC_SEAL_PKCS11_PIN"),
            dev_seal=dev_seal,
            tsa_url=env.get("EDC_TSA_URL") or None,
            seal_level=_seal_level(env),
            wallet_url=(env.get("EDC_WALLET_URL") or "").rstrip("/") or None,
            public_url=(env.get("EDC_PUBLIC_URL") or "http://127.0.0.1:8080").rstrip("/"),
            max_body_bytes=_int(env, "EDC_MAX_BODY_BYTES", 1024 * 1024),
            max_batch_bytes=_int(env, "EDC_MAX_BATCH_BYTES", 64 * 1024 * 1024),
            max_batch_items=_int(env, "EDC_MAX_BATCH_ITEMS", 50_000),
            body_timeout=_int(env, "EDC_BODY_TIMEOUT", 60),
            signature_window=_int(env, "EDC_SIGNATURE_WINDOW", 300),
            sweep_grace=_int(env, "EDC_SWEEP_GRACE", 300),
            sweep_interval=_int(env, "EDC_SWEEP_INTERVAL", 60),
            delivery_lease=delivery_lease,
            task_time_limit=_int(env, "EDC_TASK_TIME_LIMIT", 600),
            outbox_dir=Path(outbox).resolve() if outbox else data_dir / "outbox",
            catalogue_page_size=_int(env, "EDC_CATALOGUE_PAGE_SIZE", 50, maximum=500),
            catalogue_partners=catalogue_partners(env.get("EDC_CATALOGUE_PARTNERS")),
            catalogue_harvest_interval=_int(env, "EDC_CATALOGUE_HARVEST_INTERVAL", 3600),
            catalogue_max_bytes=_int(env, "EDC_CATALOGUE_MAX_BYTES", 5 * 1024 * 1024),
            catalogue_max_pages=_int(env, "EDC_CATALOGUE_MAX_PAGES", 20),
            catalogue_max_entries=_int(env, "EDC_CATALOGUE_MAX_ENTRIES", 2000),
            catalogue_timeout=_int(env, "EDC_CATALOGUE_TIMEOUT", 60),
            env=env,
        )
