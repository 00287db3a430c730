"""Which eSeal key to use, from environment-style settings — the one place that decides it.

The sidecar, the Celery workers and ``edc-bridge keys info`` all call :func:`open_key_source` with the
process environment (or a mapping built from command-line options), so they can never disagree about
the key. Exactly one source must be configured; anything else is refused with the list of variables,
because silently preferring one of two configured keys would seal with a key nobody chose.

| Variable | Used with | Meaning |
|---|---|---|
| `EDC_SEAL_PKCS12` | PKCS#12 | Path of the `.p12`/`.pfx` file with the eSeal key and certificate(s). |
| `EDC_SEAL_PKCS12_PASSWORD` | PKCS#12 | Its password (or use the `_FILE` variant). |
| `EDC_SEAL_PKCS12_PASSWORD_FILE` | PKCS#12 | File whose first line is the password. |
| `EDC_SEAL_PKCS11_MODULE` | PKCS#11 | The vendor's PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`. |
| `EDC_SEAL_PKCS11_TOKEN_LABEL` | PKCS#11 | Label of the token (slot) holding the key. |
| `EDC_SEAL_PKCS11_KEY_LABEL` | PKCS#11 | Label of the private key (and of its certificate on the token). |
| `EDC_SEAL_PKCS11_PIN` | PKCS#11 | The token's user PIN (or use the `_FILE` variant). |
| `EDC_SEAL_PKCS11_PIN_FILE` | PKCS#11 | File whose first line (stripped) is the user PIN. |
| `EDC_SEAL_PKCS11_CERT` | PKCS#11 | Optional PEM/DER eSeal certificate, for tokens holding only the key. |
| `EDC_SEAL_CHAIN` | PKCS#12, PKCS#11 | Optional PEM file of intermediate CA certificates for `x5c`. |
| `EDC_DEV_SEAL` | development | `1`: create once, reuse a NOT QUALIFIED seal in `$EDC_DATA_DIR/dev-seal/`. |
| `EDC_DATA_DIR` | development | Data folder (default `./var`). |

Values that are empty count as unset. Secrets are never echoed in error messages.
"""
from __future__ import annotations

import fcntl
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography import x509

from sealer.keys.base import KeySource, KeySourceError
from sealer.keys.devseal import create_dev_seal
from sealer.keys.files import read_certificates
from sealer.keys.software import Pkcs12KeySource, order_chain

_LOG = logging.getLogger(__name__)

PKCS12_VARS = ("EDC_SEAL_PKCS12", "EDC_SEAL_PKCS12_PASSWORD", "EDC_SEAL_PKCS12_PASSWORD_FILE")
PKCS11_VARS = (
    "EDC_SEAL_PKCS11_MODULE", "EDC_SEAL_PKCS11_TOKEN_LABEL", "EDC_SEAL_PKCS11_KEY_LABEL",
    "EDC_SEAL_PKCS11_PIN", "EDC_SEAL_PKCS11_PIN_FILE", "EDC_SEAL_PKCS11_CERT",
)
DEV_SEAL_DIRNAME = "dev-seal"
DEV_SEAL_PASSWORD = "dev-seal"  # noqa: S105 - protects a throwaway, not-qualified development key only
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

HOW_TO_CONFIGURE = (
    "set EDC_SEAL_PKCS12 (+ EDC_SEAL_PKCS12_PASSWORD or EDC_SEAL_PKCS12_PASSWORD_FILE); "
    "or EDC_SEAL_PKCS11_MODULE, EDC_SEAL_PKCS11_TOKEN_LABEL, EDC_SEAL_PKCS11_KEY_LABEL "
    "(+ EDC_SEAL_PKCS11_PIN or EDC_SEAL_PKCS11_PIN_FILE, optionally EDC_SEAL_PKCS11_CERT); "
    "or EDC_DEV_SEAL=1 for a development seal (NOT QUALIFIED)"
)


def _get(settings: Mapping[str, str], name: str) -> str | None:
    value = settings.get(name)
    return value if value else None


def _dev_seal_wanted(settings: Mapping[str, str]) -> bool:
    raw = (_get(settings, "EDC_DEV_SEAL") or "").strip().lower()
    if raw and raw not in _TRUE + _FALSE:
        raise KeySourceError("EDC_DEV_SEAL must be 1 (use a development seal) or 0")
    return raw in _TRUE


def configured_kind(settings: Mapping[str, str]) -> str:
    """``"pkcs12"``, ``"pkcs11"`` or ``"dev"``: the one source the settings describe."""
    found = {
        "pkcs12": [name for name in PKCS12_VARS if _get(settings, name)],
        "pkcs11": [name for name in PKCS11_VARS if _get(settings, name)],
        "dev": ["EDC_DEV_SEAL"] if _dev_seal_wanted(settings) else [],
    }
    chosen = {kind: names for kind, names in found.items() if names}
    if not chosen:
        raise KeySourceError(f"no eSeal key is configured: {HOW_TO_CONFIGURE}")
    if len(chosen) > 1:
        listed = "; ".join(f"{kind.upper()}: {', '.join(names)}" for kind, names in chosen.items())
        raise KeySourceError(f"configure exactly one eSeal key source, found settings for several ({listed})")
    return next(iter(chosen))


def describe_key_source(settings: Mapping[str, str]) -> str:
    """One line naming the configured source, for ``keys info`` and start-up logs (no secrets)."""
    kind = configured_kind(settings)
    if kind == "pkcs12":
        return f"PKCS#12 file {_get(settings, 'EDC_SEAL_PKCS12')}"
    if kind == "pkcs11":
        return (f"PKCS#11 token {_get(settings, 'EDC_SEAL_PKCS11_TOKEN_LABEL')!r}, "
                f"key {_get(settings, 'EDC_SEAL_PKCS11_KEY_LABEL')!r} "
                f"(module {_get(settings, 'EDC_SEAL_PKCS11_MODULE')})")
    return f"development seal in {dev_seal_directory(settings)} (NOT QUALIFIED)"


def dev_seal_directory(settings: Mapping[str, str]) -> Path:
    return Path(_get(settings, "EDC_DATA_DIR") or "var").resolve() / DEV_SEAL_DIRNAME


def open_key_source(settings: Mapping[str, str]) -> KeySource:
    """Open the single configured key source, adding ``EDC_SEAL_CHAIN`` intermediates if given."""
    kind = configured_kind(settings)
    if kind == "pkcs12":
        source: KeySource = _open_pkcs12(settings)
    elif kind == "pkcs11":
        source = _open_pkcs11(settings)
    else:
        source = open_dev_seal(dev_seal_directory(settings))
    chain_file = _get(settings, "EDC_SEAL_CHAIN")
    if chain_file:
        source = ChainedKeySource(source, read_certificates(chain_file), origin="EDC_SEAL_CHAIN")
    return source


def _read_first_line(variable: str, path: str) -> str:
    try:
        with Path(path).open(encoding="utf-8") as handle:
            return handle.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise KeySourceError(f"{variable}: cannot read {path}: {reason}") from None


def _open_pkcs12(settings: Mapping[str, str]) -> KeySource:
    path = _get(settings, "EDC_SEAL_PKCS12")
    if path is None:
        raise KeySourceError(
            "EDC_SEAL_PKCS12 (the .p12 file) is required with EDC_SEAL_PKCS12_PASSWORD[_FILE]"
        )
    password = _get(settings, "EDC_SEAL_PKCS12_PASSWORD")
    password_file = _get(settings, "EDC_SEAL_PKCS12_PASSWORD_FILE")
    if password is not None and password_file is not None:
        raise KeySourceError("set EDC_SEAL_PKCS12_PASSWORD or EDC_SEAL_PKCS12_PASSWORD_FILE, not both")
    if password_file is not None:
        password = _read_first_line("EDC_SEAL_PKCS12_PASSWORD_FILE", password_file)
    return Pkcs12KeySource(path, password)


def _open_pkcs11(settings: Mapping[str, str]) -> KeySource:
    required = ("EDC_SEAL_PKCS11_MODULE", "EDC_SEAL_PKCS11_TOKEN_LABEL", "EDC_SEAL_PKCS11_KEY_LABEL")
    missing = [name for name in required if _get(settings, name) is None]
    pin, pin_file = _get(settings, "EDC_SEAL_PKCS11_PIN"), _get(settings, "EDC_SEAL_PKCS11_PIN_FILE")
    if pin is None and pin_file is None:
        missing.append("EDC_SEAL_PKCS11_PIN or EDC_SEAL_PKCS11_PIN_FILE")
    if missing:
        raise KeySourceError(f"the PKCS#11 key source also needs {', '.join(missing)}")
    if pin is not None and pin_file is not None:
        raise KeySourceError("set EDC_SEAL_PKCS11_PIN or EDC_SEAL_PKCS11_PIN_FILE, not both")
    # Imported here: python-pkcs11 is only loaded by processes that actually use a token.
    from sealer.keys.pkcs11 import Pkcs11KeySource

    return Pkcs11KeySource(
        settings["EDC_SEAL_PKCS11_MODULE"],
        settings["EDC_SEAL_PKCS11_TOKEN_LABEL"],
        settings["EDC_SEAL_PKCS11_KEY_LABEL"],
        pin=pin,
        pin_file=pin_file,
        certificate=_get(settings, "EDC_SEAL_PKCS11_CERT"),
    )


def open_dev_seal(directory: Path) -> KeySource:
    """Reuse the development seal in ``directory``, creating it the first time.

    A file lock makes concurrent first starts (sidecar and workers together) agree on one seal instead
    of each writing its own key over the other's certificate.
    """
    directory.mkdir(parents=True, exist_ok=True)
    p12 = directory / "dev-seal.p12"
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not p12.exists():
            create_dev_seal(directory, password=DEV_SEAL_PASSWORD)
            _LOG.warning("created a development eSeal in %s: NOT QUALIFIED, for development and tests only",
                         directory)
    source = Pkcs12KeySource(p12, DEV_SEAL_PASSWORD)
    _LOG.warning("sealing with the development eSeal in %s: NOT QUALIFIED", directory)
    return source


class ChainedKeySource(KeySource):
    """Another key source, with intermediate CA certificates that its own container did not carry.

    Tokens hold the leaf at most, and some PKCS#12 files lack the intermediates; verifiers need them
    in ``x5c`` to reach a trusted root. Certificates that do not chain up from the leaf are refused
    rather than shipped in every seal.
    """

    def __init__(self, inner: KeySource, extra: Sequence[x509.Certificate], *, origin: str) -> None:
        known = inner.chain
        candidates = [cert for cert in extra if cert not in known]
        ordered = order_chain(known[-1], candidates)
        stray = [cert for cert in candidates if cert not in ordered and cert.subject != cert.issuer]
        if stray:
            raise KeySourceError(
                f"{origin}: {stray[0].subject.rfc4514_string()} is not an issuer on the way up from "
                "the eSeal certificate"
            )
        self._inner = inner
        self._chain = [*known, *ordered]
        self._roots = [*inner.roots, *(c for c in candidates if c.subject == c.issuer and c not in inner.roots)]

    def __repr__(self) -> str:
        return f"ChainedKeySource({self._inner!r}, intermediates={len(self._chain) - 1})"

    @property
    def certificate(self) -> x509.Certificate:
        return self._inner.certificate

    @property
    def chain(self) -> list[x509.Certificate]:
        return list(self._chain)

    @property
    def roots(self) -> list[x509.Certificate]:
        return list(self._roots)

    @property
    def key_type(self) -> str:
        return self._inner.key_type

    def sign(self, data: bytes, alg: str) -> bytes:
        return self._inner.sign(data, alg)
