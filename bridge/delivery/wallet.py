"""Deposit sealed credentials into the learner's Europass wallet.

Contract (from the EDC issuer's wallet client, see docs/architecture.md and the LMS notes):
``POST {wallet}/api/v1/wallets/email/{userEmail}/credentials?sendEmail=true&locale=en`` with a
multipart body whose file part is ``_credential`` (``_credentialXML`` for legacy XML credentials).
The wallet creates a temporary wallet for an unknown address, so depositing by e-mail works before
the learner has ever signed in.

Answers map to outcomes: 200 → delivered (with the CredentialView's ``viewerURL``); 409 → the
credential is already there, which is success for us; 400 → the wallet rejected the credential
(permanent); 404, 5xx, timeouts and connection errors → transient, retried by the pipeline on the
schedule of :class:`~bridge.delivery.retry.RetryPolicy`.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import quote

import requests

from bridge.delivery.addresses import check_address
from bridge.delivery.content import is_web_link
from bridge.delivery.errors import (
    DeliveryError,
    DeliveryInputError,
    PermanentDeliveryError,
    TransientDeliveryError,
    redact,
)
from bridge.delivery.message import attachment_name
from bridge.delivery.retry import RetryPolicy

__all__ = ["RetryPolicy", "WalletClient", "WalletResult"]

log = logging.getLogger(__name__)

_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_RETRYABLE = {404, 408, 425, 429}
# xml flag → (multipart part name, file suffix, content type), as the wallet's controller expects.
_PARTS = {
    False: ("_credential", ".jsonld", "application/ld+json"),
    True: ("_credentialXML", ".xml", "application/xml"),
}


@dataclass(frozen=True)
class WalletResult:
    """A successful deposit; ``viewer_url`` is the wallet's page for the credential when it said so."""

    status: Literal["delivered", "already_present"]
    viewer_url: str | None = None


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _reason(response: requests.Response) -> str:
    """The wallet's explanation, from a JSON error body or plain text, with addresses removed."""
    body = _json(response)
    if isinstance(body, dict):
        for key in ("message", "detail", "error_description", "error", "title"):
            if isinstance(body.get(key), str) and body[key].strip():
                return redact(body[key])
    text = response.text
    return redact(text) if text.strip() else response.reason or "no reason given"


def _retry_after(response: requests.Response) -> float | None:
    """Retry-After as seconds, from either of its two forms (delta-seconds or an HTTP date)."""
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    if raw.strip().isdigit():
        return float(raw.strip())
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class WalletClient:
    """Client for the Europass wallet's deposit-by-e-mail endpoint."""

    def __init__(self, base_url: str, timeout: float = 30.0, bearer_token: str | None = None) -> None:
        if not is_web_link(base_url):
            raise DeliveryInputError("base_url", "must be an http(s) URL")
        if timeout <= 0:
            raise DeliveryInputError("timeout", "must be positive")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._bearer_token = bearer_token
        self._session = requests.Session()

    def __repr__(self) -> str:
        token = ", bearer_token='***'" if self._bearer_token else ""
        return f"WalletClient({self.base_url!r}, timeout={self.timeout}{token})"

    def close(self) -> None:
        """Release pooled connections (the client stays usable; a new pool opens on demand)."""
        self._session.close()

    def deposit(
        self,
        email: str,
        sealed_bytes: bytes,
        filename: str,
        locale: str = "en",
        send_email: bool = True,
        xml: bool = False,
    ) -> WalletResult:
        """Put one sealed credential into the wallet of ``email``.

        ``send_email`` asks the wallet to notify the learner itself. Raises
        :class:`DeliveryInputError` for bad arguments (nothing sent),
        :class:`PermanentDeliveryError` or :class:`TransientDeliveryError` otherwise.
        """
        address = check_address(email, "email")
        if not isinstance(sealed_bytes, bytes | bytearray) or not sealed_bytes:
            raise DeliveryInputError("sealed_bytes", "the sealed credential must be non-empty bytes")
        if not isinstance(locale, str) or not _LOCALE.match(locale):
            raise DeliveryInputError("locale", "must be a language code such as 'en' or 'fr'")
        part, suffix, content_type = _PARTS[bool(xml)]
        name = attachment_name(filename, suffix)
        language = re.split(r"[-_]", locale, maxsplit=1)[0].lower()
        url = f"{self.base_url}/api/v1/wallets/email/{quote(address, safe='')}/credentials"
        headers = {"Accept": "application/json"}
        if self._bearer_token:
            headers["Authorization"] = f"Bearer {self._bearer_token}"
        try:
            response = self._session.post(
                url,
                params={"sendEmail": "true" if send_email else "false", "locale": language},
                files={part: (name, bytes(sealed_bytes), content_type)},
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            error = _classify_exception(exc)
            log.warning("wallet deposit failed: %s", error.message)
            raise error from None  # the original quotes the URL, which holds the learner's address
        result = _interpret(response)
        log.info("wallet deposit: %s", result.status)
        return result


def _classify_exception(exc: requests.RequestException) -> DeliveryError:
    if isinstance(exc, requests.Timeout):
        return TransientDeliveryError("the wallet did not answer in time")
    if isinstance(exc, requests.exceptions.SSLError):
        return PermanentDeliveryError("the wallet's TLS certificate is not trusted")
    if isinstance(exc, requests.ConnectionError):
        return TransientDeliveryError("cannot reach the wallet")
    return TransientDeliveryError(f"wallet request failed ({type(exc).__name__})")


def _interpret(response: requests.Response) -> WalletResult:
    status = response.status_code
    if status in (200, 201):
        body = _json(response)
        viewer = body.get("viewerURL") if isinstance(body, dict) else None
        return WalletResult("delivered", viewer if is_web_link(viewer) else None)
    if status == 409:
        return WalletResult("already_present", None)
    if status == 400:
        raise PermanentDeliveryError(f"the wallet rejected the credential: {_reason(response)}", code=status)
    if status in (401, 403):
        raise PermanentDeliveryError(
            f"the wallet refused access ({status}); check the wallet bearer token", code=status
        )
    if status in _RETRYABLE or status >= 500:
        what = "no wallet found for this address" if status == 404 else "the wallet is unavailable"
        raise TransientDeliveryError(f"{what} ({status})", code=status, retry_after=_retry_after(response))
    raise PermanentDeliveryError(
        f"unexpected answer from the wallet ({status}): {_reason(response)}", code=status
    )
