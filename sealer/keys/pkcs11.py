"""The eSeal key on a PKCS#11 token or HSM: the key never leaves the device, only signatures do.

Qualified eSeals are normally issued on a QSCD (an HSM or smart card), reached through the vendor's
PKCS#11 module. This key source finds the private key by label, takes the certificate from the token
(same label) or from a file — many HSMs hold only the key — and signs with the mechanisms that give
JOSE-form signatures directly:

* RS256 — ``CKM_SHA256_RSA_PKCS``;
* PS256 — ``CKM_SHA256_RSA_PKCS_PSS`` with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 7518 §3.5);
* ES256 — SHA-256 computed here, then raw ``CKM_ECDSA``, whose PKCS#11 output already is ``r || s``.
  Hashing locally is deliberate: SoftHSM2 and many HSMs implement only the raw mechanism.

Concurrency. python-pkcs11 calls ``C_Initialize(NULL)``, which tells the module the application will
never call it from two threads at once; modules are then free to skip locking, and concurrent use
crashed here. So every module has ONE library object, ONE logged-in session per token and ONE lock per
process, and every call into the module is made under that lock. A forked child inherits a copy of the
parent's PKCS#11 state that the standard forbids it to use: the first use in a new process id
re-initialises the module and logs in again (Celery's prefork workers rely on this).

PINs are held in a :class:`_Secret`, whose ``repr`` is masked, and no message built here contains one.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pkcs11 import MGF, Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11err

from sealer.jose import algorithm, verify_signature
from sealer.keys.base import KeySource, KeySourceError
from sealer.keys.files import read_certificate

_LOG = logging.getLogger(__name__)

PSS_PARAMS = (Mechanism.SHA256, MGF.SHA256, 32)
"""hashAlg, MGF and salt length of PS256 as RFC 7518 fixes them."""

# Errors after which the session is gone but the token may well be back: drop it and log in again once.
_SESSION_LOST = (
    p11err.SessionHandleInvalid,
    p11err.SessionClosed,
    p11err.UserNotLoggedIn,
    p11err.DeviceRemoved,
    p11err.TokenNotPresent,
)


class _Secret:
    """A PIN that cannot leak through ``repr``/``str``, f-strings or logging by accident."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def matches(self, other: _Secret) -> bool:
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __repr__(self) -> str:
        return "<PIN hidden>"

    __str__ = __repr__


def resolve_pin(
    *,
    pin: str | None = None,
    pin_env: str | None = None,
    pin_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> _Secret:
    """Take the PIN from exactly one place: the value, an environment variable, or a file's first line.

    A file or a variable lets operators keep the PIN out of command lines and shell histories.
    """
    given = [name for name, value in (("pin", pin), ("pin_env", pin_env), ("pin_file", pin_file))
             if value is not None]
    if len(given) != 1:
        raise KeySourceError(
            "give the token PIN exactly one way: pin, pin_env (variable name) or pin_file"
            + (f" (got {', '.join(given)})" if given else "")
        )
    if pin_env is not None:
        value = (os.environ if environ is None else environ).get(pin_env)
        if value is None:
            raise KeySourceError(f"environment variable {pin_env} (the token PIN) is not set")
    elif pin_file is not None:
        try:
            with Path(pin_file).open(encoding="utf-8") as handle:
                value = handle.readline().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise KeySourceError(f"cannot read PIN file {pin_file}: {reason}") from None
    else:
        value = pin
    if not value:
        raise KeySourceError("the token PIN is empty")
    return _Secret(value)


@dataclass(eq=False)
class _Module:
    """One loaded PKCS#11 module in this process: its library object, lock and logged-in sessions."""

    path: str
    lib: Any
    pid: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    # token label -> (session, PIN it was logged in with)
    sessions: dict[str, tuple[Any, _Secret]] = field(default_factory=dict)


_modules: dict[str, _Module] = {}
_modules_lock = threading.Lock()


def _fresh_lock_after_fork() -> None:
    """A lock held by another parent thread at fork time would stay held forever in the child."""
    global _modules_lock
    _modules_lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_lock_after_fork)


def _load_module(path: str) -> Any:
    if not Path(path).is_file():
        raise KeySourceError(f"PKCS#11 module not found: {path}")
    try:
        return pkcs11.lib(path)
    except p11err.PKCS11Error as exc:
        raise KeySourceError(f"cannot load PKCS#11 module {path}: {exc}") from None


def _module(path: str) -> _Module:
    """The process's handle on ``path``, loading it, or re-initialising it in a forked child.

    Keyed by the resolved file: Debian's ``/usr/lib/softhsm/libsofthsm2.so`` is a symlink, and a
    second spelling must not C_Initialize the same library twice.
    """
    key = os.path.realpath(path)
    with _modules_lock:
        module = _modules.get(key)
        if module is None:
            module = _Module(path, _load_module(path), os.getpid())
            _modules[key] = module
        elif module.pid != os.getpid():
            # Sessions and handles copied from the parent are not ours; PKCS#11 requires a fresh
            # C_Initialize in the child. C_Finalize first, because python-pkcs11 (and some modules)
            # still consider the copied library initialised.
            try:
                module.lib.finalize()
            except p11err.PKCS11Error:
                _LOG.debug("C_Finalize in forked child failed; initialising anyway")
            try:
                module.lib.initialize()
            except p11err.PKCS11Error as exc:
                raise KeySourceError(f"cannot re-initialise PKCS#11 module {path} after fork: "
                                     f"{type(exc).__name__}") from None
            module.pid = os.getpid()
            module.lock = threading.Lock()
            module.sessions = {}
        return module


def _find_token(module: _Module, label: str) -> Any:
    others = []
    for slot in module.lib.get_slots(token_present=True):
        try:
            token = slot.get_token()
        except p11err.PKCS11Error:
            continue
        if token.label == label:
            return token
        if token.label:
            others.append(repr(token.label))
    present = ", ".join(others) if others else "none (no initialised token)"
    raise KeySourceError(
        f"no token labelled {label!r} in PKCS#11 module {module.path}; tokens present: {present}"
    )


def _login(module: _Module, token_label: str, pin: _Secret) -> Any:
    """The token's logged-in session in this process, opening it on first use. Caller holds the lock."""
    known = module.sessions.get(token_label)
    if known is not None:
        session, known_pin = known
        if not known_pin.matches(pin):
            # Login state is per process, so a second C_Login cannot check this PIN; refuse rather
            # than sign with a PIN nobody verified.
            raise KeySourceError(
                f"wrong PIN for token {token_label!r}: it differs from the PIN this process logged in with"
            )
        return session
    token = _find_token(module, token_label)
    try:
        session = token.open(user_pin=pin.reveal())
    except p11err.PKCS11Error as exc:
        raise login_error(token_label, exc) from None
    module.sessions[token_label] = (session, pin)
    return session


def login_error(token_label: str, exc: p11err.PKCS11Error) -> KeySourceError:
    """Say what went wrong at C_Login in words an operator can act on (the PIN itself never appears)."""
    if isinstance(exc, p11err.PinIncorrect):
        return KeySourceError(f"wrong PIN for token {token_label!r} (CKR_PIN_INCORRECT)")
    if isinstance(exc, p11err.PinLocked):
        return KeySourceError(
            f"the user PIN of token {token_label!r} is locked after too many wrong attempts "
            "(CKR_PIN_LOCKED); the token's security officer must unblock it"
        )
    if isinstance(exc, p11err.PinLenRange | p11err.PinInvalid):
        return KeySourceError(f"the token {token_label!r} rejects this PIN's length or characters")
    if isinstance(exc, p11err.PinExpired):
        return KeySourceError(f"the user PIN of token {token_label!r} has expired; set a new one")
    if isinstance(exc, p11err.UserAlreadyLoggedIn):
        return KeySourceError(
            f"token {token_label!r} is already logged in by other code in this process; "
            "EDC Bridge must be the only user of the token login"
        )
    return KeySourceError(f"cannot log in to token {token_label!r}: {type(exc).__name__}")


def _describe_labels(session: Any) -> str:
    labels = sorted({obj.label for obj in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})})
    return ", ".join(repr(label) for label in labels) if labels else "none"


class Pkcs11KeySource(KeySource):
    """An eSeal key on a PKCS#11 token, used through one shared, locked session per process."""

    def __init__(
        self,
        module_path: str | Path,
        token_label: str,
        key_label: str,
        *,
        pin: str | None = None,
        pin_env: str | None = None,
        pin_file: str | Path | None = None,
        certificate: x509.Certificate | str | Path | None = None,
    ) -> None:
        """Open the key now, so that a wrong PIN or label shows up at start-up rather than at the first seal.

        ``certificate`` (an object or a PEM/DER file) overrides the certificate object stored on the
        token under ``key_label``; one of the two must exist. A test signature, verified with the
        certificate, proves that the certificate belongs to the key before anything is sealed.
        """
        self._module_path = str(module_path)
        self._token_label = token_label
        self._key_label = key_label
        self._pin = resolve_pin(pin=pin, pin_env=pin_env, pin_file=pin_file)
        self._key: Any = None
        self._key_session: Any = None
        given = read_certificate(certificate) if isinstance(certificate, str | Path) else certificate
        module = _module(self._module_path)
        with module.lock:
            try:
                key = self._private_key(module)
                key_type = key.key_type
                cert = given or self._certificate_on_token(module)
            except p11err.PKCS11Error as exc:
                raise KeySourceError(f"cannot open key {key_label!r} on token {token_label!r}: "
                                     f"{type(exc).__name__}") from None
        if key_type == KeyType.RSA:
            self._key_type = "RSA"
        elif key_type == KeyType.EC:
            self._key_type = "EC"
        else:
            raise KeySourceError(f"key {key_label!r} is a {key_type.name} key; eSeals need RSA or EC P-256")
        self._certificate = cert
        self._check_certificate()
        _LOG.info("PKCS#11 eSeal key %r on token %r opened (%s)", key_label, token_label, self._key_type)

    def __repr__(self) -> str:
        return (f"Pkcs11KeySource(module={self._module_path!r}, token={self._token_label!r}, "
                f"key={self._key_label!r})")

    @property
    def module_path(self) -> str:
        return self._module_path

    @property
    def token_label(self) -> str:
        return self._token_label

    @property
    def key_label(self) -> str:
        return self._key_label

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def key_type(self) -> str:
        return self._key_type

    def _private_key(self, module: _Module) -> Any:
        """The key object of the process's current session; caller holds ``module.lock``."""
        session = _login(module, self._token_label, self._pin)
        if self._key_session is session:
            return self._key
        try:
            key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=self._key_label)
        except p11err.NoSuchKey:
            raise KeySourceError(
                f"no private key labelled {self._key_label!r} on token {self._token_label!r}; "
                f"private keys there: {_describe_labels(session)}"
            ) from None
        except p11err.MultipleObjectsReturned:
            raise KeySourceError(
                f"several private keys are labelled {self._key_label!r} on token {self._token_label!r}; "
                "relabel them so the eSeal key is unique"
            ) from None
        self._key, self._key_session = key, session
        return key

    def _certificate_on_token(self, module: _Module) -> x509.Certificate:
        session = _login(module, self._token_label, self._pin)
        found = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE,
                                          Attribute.LABEL: self._key_label}))
        if not found:
            raise KeySourceError(
                f"no certificate labelled {self._key_label!r} on token {self._token_label!r}; "
                "give the eSeal certificate file instead (EDC_SEAL_PKCS11_CERT or --cert)"
            )
        try:
            return x509.load_der_x509_certificate(found[0][Attribute.VALUE])
        except ValueError:
            raise KeySourceError(
                f"the certificate labelled {self._key_label!r} on token {self._token_label!r} "
                "is not valid DER"
            ) from None

    def _check_certificate(self) -> None:
        public = self._certificate.public_key()
        if (self._key_type == "RSA" and not isinstance(public, rsa.RSAPublicKey)) or (
            self._key_type == "EC" and not isinstance(public, ec.EllipticCurvePublicKey)
        ):
            raise KeySourceError(f"the certificate does not belong to the {self._key_type} key "
                                 f"{self._key_label!r} (different key type)")
        if isinstance(public, ec.EllipticCurvePublicKey) and not isinstance(public.curve, ec.SECP256R1):
            raise KeySourceError(f"EC keys must be on P-256 for ES256, not {public.curve.name}")
        challenge = secrets.token_bytes(32)
        signature = self.sign(challenge, self.default_alg)
        if not verify_signature(algorithm(self.default_alg), public, signature, challenge):
            raise KeySourceError(
                f"the certificate does not belong to key {self._key_label!r} on token {self._token_label!r}"
            )

    def sign(self, data: bytes, alg: str) -> bytes:
        self.check_alg(alg)
        if alg == "ES256":
            mechanism, param, message = Mechanism.ECDSA, None, hashlib.sha256(data).digest()
        elif alg == "PS256":
            mechanism, param, message = Mechanism.SHA256_RSA_PKCS_PSS, PSS_PARAMS, data
        else:
            mechanism, param, message = Mechanism.SHA256_RSA_PKCS, None, data
        module = _module(self._module_path)
        with module.lock:
            try:
                signature = self._sign_once(module, message, mechanism, param)
            except _SESSION_LOST:
                _LOG.warning("PKCS#11 session to token %r was lost; logging in again", self._token_label)
                module.sessions.pop(self._token_label, None)
                try:
                    signature = self._sign_once(module, message, mechanism, param)
                except p11err.PKCS11Error as exc:
                    raise self._sign_error(alg, exc) from None
            except p11err.PKCS11Error as exc:
                raise self._sign_error(alg, exc) from None
        if alg == "ES256" and len(signature) != 64:
            raise KeySourceError(f"token {self._token_label!r} returned a {len(signature)}-byte ECDSA "
                                 "signature; ES256 needs raw r||s of 64 bytes")
        return signature

    def _sign_once(self, module: _Module, message: bytes, mechanism: Mechanism, param: Any) -> bytes:
        key = self._private_key(module)
        return bytes(key.sign(message, mechanism=mechanism, mechanism_param=param))

    def _sign_error(self, alg: str, exc: p11err.PKCS11Error) -> KeySourceError:
        return KeySourceError(f"token {self._token_label!r} could not sign {alg} with key "
                              f"{self._key_label!r}: {type(exc).__name__}")
