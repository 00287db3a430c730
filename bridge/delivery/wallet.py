"""Deposit sealed credentials into the learner's Europass wallet, as EDC's own issuer does.

Contract of EDC 2.2.x (``api="v2"``, the default)::

    POST {wallet}/api/v2/credentials?userEmail=<address>&sendEmail=true|false&locale=<lang>
    X-Requested-With: XMLHttpRequest
    multipart/form-data, file part ``_credential`` (``_credentialXML`` for legacy XML credentials)

Older wallets (EDC 2.0.x, ``api="v1"``, ``EDC_WALLET_API=v1``) take the address in the path:
``POST {wallet}/api/v1/wallets/email/{userEmail}/credentials?sendEmail=…&locale=…``, same body and
headers (EDC 2.0.6's ``WalletResourceUtil`` sends ``X-Requested-With`` on every wallet call).

Answers map to outcomes: 200/201 → delivered (with the CredentialView's ``viewerURL``); 409 → the
credential is already there, which is success for us; 404 → the learner has no wallet for this
address (EDC's ``ApiErrorMessage`` with code ``WL-0003``, "No wallet exists with Email …"): not
transient, the learner's page and e-mail offer the manual upload instead (:class:`NoWalletError`);
400 → the wallet rejected the credential (permanent); 401/403 → our token is refused (permanent);
408/425/429, 5xx, timeouts and connection errors → transient, retried by the pipeline on the
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

__all__ = ["NoWalletError", "RetryPolicy", "WalletClient", "WalletResult", "WALLET_APIS"]

log = logging.getLogger(__name__)

_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_RETRYABLE = {408, 425, 429}
WALLET_APIS = ("v2", "v1")
# EDC's error codes (eu.europa.ec.empl.edci.constants.ErrorCode): no wallet for the address, and an
# unknown endpoint (a wrong base URL or API version, which no retry will fix).
_NO_WALLET_CODE = "WL-0003"
_NO_ENDPOINT_CODE = "GL-0001"
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


class NoWalletError(PermanentDeliveryError):
    """The learner has no Europass wallet for this address: retrying cannot help until they open one.

    ``result`` is what the delivery row records, so the learner's page and e-mail can offer the
    manual upload instead.
    """

    result = {"wallet_status": "no_wallet"}


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

    def __init__(self, base_url: str, timeout: float = 30.0, bearer_token: str | None = None,
                 api: str = "v2") -> None:
        if not is_web_link(base_url):
            raise DeliveryInputError("base_url", "must be an http(s) URL")
        if timeout <= 0:
            raise DeliveryInputError("timeout", "must be positive")
        if api not in WALLET_APIS:
            raise DeliveryInputError("api", f"must be one of {', '.join(WALLET_APIS)}")
        self.api = api
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._bearer_token = bearer_token
        self._session = requests.Session()

    def __repr__(self) -> str:
        token = ", bearer_token='***'" if self._bearer_token else ""
        return f"WalletClient({self.base_url!r}, timeout={self.timeout}, api={self.api!r}{token})"

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
        params = {"sendEmail": "true" if send_email else "false", "locale": language}
        if self.api == "v2":
            url = f"{self.base_url}/api/v2/credentials"
            params = {"userEmail": address, **params}
        else:
            url = f"{self.base_url}/api/v1/wallets/email/{quote(address, safe='')}/credentials"
        headers = {"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"}
        if self._bearer_token:
            headers["Authorization"] = f"Bearer {self._bearer_token}"
        try:
            response = self._session.post(
                url,
                params=params,
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
    if status == 404:
        body = _json(response)
        if isinstance(body, dict) and body.get("code") == _NO_ENDPOINT_CODE:
            raise PermanentDeliveryError("the wallet has no such endpoint (404); check EDC_WALLET_URL and "
                                         "EDC_WALLET_API", code=status)
        raise NoWalletError("the learner has no Europass wallet for this address (404)", code=status)
    if status == 400:
        raise PermanentDeliveryError(f"the wallet rejected the credential: {_reason(response)}", code=status)
    if status in (401, 403):
        raise PermanentDeliveryError(
            f"the wallet refused access ({status}); check the wallet bearer token", code=status
        )
    if status in _RETRYABLE or status >= 500:
        raise TransientDeliveryError(f"the wallet is unavailable ({status})", code=status,
                                     retry_after=_retry_after(response))
    raise PermanentDeliveryError(
        f"unexpected answer from the wallet ({status}): {_reason(response)}", code=status
    )
