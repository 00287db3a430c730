"""Request authentication: HMAC-signed LMS sources and the admin bearer token.

The scheme is fixed in docs/architecture.md. The sidecar stores only ``sha256_hex(api_key)``, which
is also the HMAC key, so a database leak does not reveal the key an LMS holds (it does allow forging
requests, as any shared-secret HMAC scheme would; rotate keys after a leak). Error messages name the
header at fault, never an expected value or part of a secret.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote

from flask import Request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bridge.db.models import SeenSignature, Source, utcnow
from bridge.problems import Problem

_SIGNATURE = re.compile(r"v1=([0-9a-fA-F]{64})")  # checked with fullmatch: no trailing newline
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: str.isdigit() also takes '²' or '٣'
_UNKNOWN_SOURCE_KEY = hashlib.sha256(b"edc-bridge: no such source").hexdigest()
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")  # X-EDC-Nonce, optional; checked with fullmatch
_SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # fullmatch
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the admin, or one LMS source (by name)."""

    is_admin: bool
    source: str | None = None

    def may_act_for(self, source: str) -> bool:
        return self.is_admin or self.source == source


def generate_api_key() -> str:
    """A new API key: 256 random bits, URL-safe, shown to the operator exactly once."""
    return secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    """What the sidecar stores and uses as HMAC key: the hex SHA-256 of the key."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def valid_source_name(name: str) -> bool:
    """Source names appear in URLs and headers: letters, digits, dot, dash, underscore, 64 chars max."""
    return bool(_SOURCE_NAME.fullmatch(name))


def valid_nonce(nonce: str) -> bool:
    """An ``X-EDC-Nonce`` value: 16 to 64 characters of letters, digits, '-' and '_'."""
    return bool(_NONCE.fullmatch(nonce))


def signing_message(method: str, path: str, timestamp: str, body: bytes, nonce: str | None = None) -> bytes:
    """The exact bytes signed: METHOD, path with query, timestamp and body hash, newline-separated.

    With an ``X-EDC-Nonce`` the nonce is a fifth line; without one the message is the original v1
    message, so clients that send no nonce sign exactly as before.
    """
    digest = hashlib.sha256(body).hexdigest()
    message = f"{method.upper()}\n{path}\n{timestamp}\n{digest}"
    if nonce:
        message += f"\n{nonce}"
    return message.encode()


def compute_signature(key_hash: str, method: str, path: str, timestamp: str, body: bytes,
                      nonce: str | None = None) -> str:
    """Hex HMAC-SHA256 with ``sha256_hex(api_key)`` (UTF-8) as key."""
    message = signing_message(method, path, timestamp, body, nonce)
    return hmac.new(key_hash.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_headers(source: str, api_key: str, method: str, path: str, body: bytes = b"",
                      timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """Headers an LMS sends; used by the demo, the benchmark and tests (adapters implement their own).

    No nonce unless one is given (``secrets.token_urlsafe(16)`` makes a good one): then the
    ``X-EDC-Nonce`` header is sent and signed too.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = compute_signature(hash_api_key(api_key), method, path, ts, body, nonce)
    headers = {"X-EDC-Source": source, "X-EDC-Timestamp": ts, "X-EDC-Signature": f"v1={sig}"}
    if nonce:
        headers["X-EDC-Nonce"] = nonce
    return headers


def _paths_as_sent(request: Request) -> set[str]:
    """The request target as the client most likely wrote it.

    Servers differ in what they keep of the raw target (gunicorn/werkzeug: ``RAW_URI``), so the
    re-encoded path and query is accepted as well; both are covered by the same signature check.
    """
    query = request.query_string.decode("latin-1")
    suffix = f"?{query}" if query else ""
    path = request.script_root + request.path
    # Clients differ in how much of a segment they escape: minimal (':' and '+' kept) or fully.
    fully = "/".join(quote(segment, safe="") for segment in path.split("/"))
    candidates = {quote(path, safe=_PATH_SAFE) + suffix, fully + suffix}
    for key in ("RAW_URI", "REQUEST_URI"):
        raw = request.environ.get(key)
        if raw:
            candidates.add(raw)
    return candidates


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, kind="unauthorized",
                   headers={"WWW-Authenticate": 'EDC-HMAC realm="edc-bridge", Bearer'})


class Authenticator:
    """Checks a request's credentials against the sources table and the admin token."""

    def __init__(self, sessions: sessionmaker[Session], admin_token: str | None, window: int) -> None:
        self._sessions = sessions
        self._admin_token = admin_token
        self._window = window

    def authenticate(self, request: Request, body: bytes) -> Principal:
        """Return the caller, or raise a 401/403 :class:`Problem` saying what is wrong."""
        authorization = request.headers.get("Authorization", "")
        if authorization:
            return self._admin(authorization)
        if request.headers.get("X-EDC-Signature") or request.headers.get("X-EDC-Source"):
            return self._source(request, body)
        raise _unauthorized("Authentication required: sign the request (X-EDC-Source, X-EDC-Timestamp, "
                            "X-EDC-Signature) or send 'Authorization: Bearer <admin token>'.")

    def _admin(self, authorization: str) -> Principal:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("The Authorization header must be 'Bearer <admin token>'.")
        if not self._admin_token:
            raise Problem(403, "Forbidden", "The admin API is disabled: EDC_ADMIN_TOKEN is not set.",
                          kind="admin-disabled")
        if not hmac.compare_digest(token.strip().encode(), self._admin_token.encode()):
            raise _unauthorized("The admin token is not valid.")
        return Principal(is_admin=True)

    def _source(self, request: Request, body: bytes) -> Principal:
        name = request.headers.get("X-EDC-Source", "").strip()
        ts_raw = request.headers.get("X-EDC-Timestamp", "").strip()
        sig_raw = request.headers.get("X-EDC-Signature", "").strip()
        for header, value in (("X-EDC-Source", name), ("X-EDC-Timestamp", ts_raw),
                              ("X-EDC-Signature", sig_raw)):
            if not value:
                raise _unauthorized(f"The {header} header is missing.")
        if not _TIMESTAMP.fullmatch(ts_raw):
            raise _unauthorized("X-EDC-Timestamp must be an integer number of Unix seconds.")
        now = int(time.time())
        skew = int(ts_raw) - now
        if abs(skew) > self._window:
            raise _unauthorized(f"X-EDC-Timestamp is {abs(skew)} s {'ahead of' if skew > 0 else 'behind'} "
                                f"the sidecar clock; requests are accepted within ±{self._window} s "
                                "(check the LMS server's clock).")
        match = _SIGNATURE.fullmatch(sig_raw)
        if not match:
            raise _unauthorized("X-EDC-Signature must be 'v1=' followed by 64 hexadecimal digits.")
        given = match.group(1).lower()
        nonce: str | None = None
        if "X-EDC-Nonce" in request.headers:
            nonce = request.headers.get("X-EDC-Nonce", "").strip()
            if not valid_nonce(nonce):
                raise _unauthorized("X-EDC-Nonce must be 16 to 64 characters of letters, digits, '-' and '_' "
                                    "(or be left out).")
        keys = None
        if valid_source_name(name):
            with self._sessions() as session:
                keys = session.execute(select(Source.key_hash, Source.previous_key_hash, Source.previous_key_until)
                                       .where(Source.name == name)).first()
        # An unknown source is checked against a key no source has, and refused with the same words
        # as a wrong signature: the answer does not tell which source names exist. The work is the
        # same too (a query, two keys, every comparison made), so its time does not tell either.
        current = keys.key_hash if keys is not None else _UNKNOWN_SOURCE_KEY
        rotated = bool(keys is not None and keys.previous_key_hash and keys.previous_key_until
                       and keys.previous_key_until > utcnow())  # a rotated key keeps working until its deadline
        previous = keys.previous_key_hash if rotated else _UNKNOWN_SOURCE_KEY
        paths = _paths_as_sent(request)

        def signed_with(key_hash: str) -> bool:
            found = [hmac.compare_digest(given, compute_signature(key_hash, request.method, path, ts_raw, body, nonce))
                     for path in paths]  # every comparison made: the time does not depend on which matched
            return any(found)

        with_current, with_previous = signed_with(current), signed_with(previous)
        accepted = keys is not None and (with_current or (rotated and with_previous))
        if not accepted:
            signed = ("the timestamp, the SHA-256 of the exact body and the X-EDC-Nonce value" if nonce is not None
                      else "the timestamp and the SHA-256 of the exact body")
            raise _unauthorized("X-EDC-Signature does not match the request for this X-EDC-Source. Sign METHOD, "
                                f"the path with its query string, {signed}, with the API key of a registered "
                                "source.")
        self._remember(given, int(ts_raw))
        return Principal(is_admin=False, source=name)

    def _remember(self, signature: str, timestamp: int) -> None:
        """Refuse a second use of a signature; old entries are pruned by the outbox sweep."""
        with self._sessions() as session:
            session.add(SeenSignature(signature=signature, seen_at=timestamp))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                raise _unauthorized("This signature was already used: each request must be signed "
                                    "afresh, with a new X-EDC-Nonce (replayed requests are refused).") from None


def prune_seen_signatures(session: Session, window: int, now: int | None = None) -> int:
    """Forget signatures older than twice the window: their timestamps are refused anyway."""
    limit = (int(time.time()) if now is None else now) - 2 * window
    result = session.execute(delete(SeenSignature).where(SeenSignature.seen_at < limit))
    return result.rowcount or 0


def require(principal: Principal, source: str) -> None:
    """403 when a source acts on another source's resources."""
    if not principal.may_act_for(source):
        raise Problem(403, "Forbidden", f"This request is signed by source '{principal.source}', "
                      f"which may not act for source '{source}'.", kind="forbidden")


def require_admin(principal: Principal) -> None:
    """403 for management calls made with a source signature."""
    if not principal.is_admin:
        raise Problem(403, "Forbidden", "This operation needs the admin token "
                      "(Authorization: Bearer <EDC_ADMIN_TOKEN>).", kind="forbidden")
