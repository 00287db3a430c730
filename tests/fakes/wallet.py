"""A local stand-in for the Europass wallet's deposit endpoints (test fixture, not product code).

Two versions of the contract, as EDC's issuer calls them:

- EDC 2.2.x (``v2``): ``POST /api/v2/credentials?userEmail=…&sendEmail=…&locale=…``. An address
  without a wallet gets 404 with EDC's ``ApiErrorMessage`` (code ``WL-0003``, "No wallet exists with
  Email …"): the wallet does not create one.
- EDC 2.0.6 (``v1``): ``POST /api/v1/wallets/email/{userEmail}/credentials?sendEmail=…&locale=…``;
  an unknown address gets a temporary wallet (``WalletService.createOrRetrieveWalletByEmail``).

Both take multipart with the file part ``_credential`` (JSON-LD) or ``_credentialXML`` (legacy XML)
and expect ``X-Requested-With: XMLHttpRequest`` (EDC's ``EDCIRestRequestBuilder``): without it the
wallet's login filter answers a browser redirect (302 to its login page), as EU Login does. 200 with
a CredentialView carrying ``viewerURL``; 409 ``CR-0001`` when a credential with the same id is
already stored; 400 when the file is not a credential; 404 ``GL-0001`` for any other path. Errors
use EDC's ``ApiErrorMessage`` shape (code, message, description, timestamp, path). Tests open
wallets (``open_wallet``), queue forced answers (503 with Retry-After…), a delay, or require a bearer
token. Used by the WalletClient tests (tests/delivery) and the pipeline tests (tests/sidecar), so
both check the client against the same reading of the contract.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.etree import ElementTree

V1_PATH = re.compile(r"^(.*)/api/v1/wallets/email/([^/]+)/credentials$")
V2_PATH = re.compile(r"^(.*)/api/v2/credentials$")


@dataclass
class Deposit:
    raw_path: str
    email: str
    query: dict[str, list[str]]
    authorization: str | None
    requested_with: str | None
    part_name: str | None
    filename: str | None
    content_type: str | None
    data: bytes
    viewer_url: str | None = None  # what the wallet answered, when it stored the credential


@dataclass
class Forced:
    """One scripted answer, given to the next request instead of the contract's own."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


class WalletStub:
    """The wallet server on a free loopback port; ``base_url`` includes the optional path ``prefix``."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.requests: list[Deposit] = []
        self.stored: dict[str, str] = {}  # credential id → wallet uuid
        self.forced: list[Forced] = []
        self.delay = 0.0
        self.required_token: str | None = None
        self.wallets: set[str] = set()  # addresses with a wallet (lower-cased, as EDC compares them)
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (base class name)
                """Silence the default stderr access log."""

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                stub._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}{prefix}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def open_wallet(self, email: str) -> None:
        """The learner signs up to Europass with this address."""
        self.wallets.add(email.lower())

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WalletStub:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _error(self, handler: BaseHTTPRequestHandler, status: int, code: str, message: str, path: str) -> None:
        """EDC's ``ApiErrorMessage`` JSON."""
        self._reply(handler, status, {"code": code, "message": message, "description": message,
                                      "timestamp": "2026-11-20T10:00:00", "path": path, "affectedAssets": {}})

    def _reply(self, handler: BaseHTTPRequestHandler, status: int, body: Any = None,
               headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        if self.delay:
            time.sleep(self.delay)
        url = urlsplit(handler.path)
        query = parse_qs(url.query)
        v1, v2 = V1_PATH.match(url.path), V2_PATH.match(url.path)
        match = v1 or v2
        if not match or match.group(1) != self.prefix:
            self._error(handler, 404, "GL-0001", "Endpoint not found", url.path)
            return
        email = unquote(v1.group(2)) if v1 else (query.get("userEmail") or [""])[0]
        deposit = Deposit(
            raw_path=url.path,
            email=email,
            query=query,
            authorization=handler.headers.get("Authorization"),
            requested_with=handler.headers.get("X-Requested-With"),
            part_name=None,
            filename=None,
            content_type=None,
            data=b"",
        )
        self._parse_multipart(handler.headers.get("Content-Type", ""), body, deposit)
        with self._lock:
            self.requests.append(deposit)
            forced = self.forced.pop(0) if self.forced else None
        if forced is not None:
            self._reply(handler, forced.status, forced.body, forced.headers)
            return
        if deposit.requested_with != "XMLHttpRequest":
            self._reply(handler, 302, None, {"Location": f"{self.base_url}/login?redirect={url.path}"})
            return
        if self.required_token and deposit.authorization != f"Bearer {self.required_token}":
            self._reply(handler, 401, {"error": "invalid_token"})
            return
        if not deposit.email or "@" not in deposit.email:
            self._error(handler, 400, "WL-0001", "The email is not valid", url.path)
            return
        if v1:
            self.open_wallet(deposit.email)  # 2.0.x creates a temporary wallet for an unknown address
        elif deposit.email.lower() not in self.wallets:
            self._error(handler, 404, "WL-0003", f"No wallet exists with Email {deposit.email}.", url.path)
            return
        credential_id, problem = self._credential_id(deposit)
        if problem:
            self._error(handler, 400, "CR-0005", f"{problem} (wallet of {deposit.email})", url.path)
            return
        with self._lock:
            if credential_id in self.stored:
                self._error(handler, 409, "CR-0001", f"A credential with id {credential_id} already exists",
                            url.path)
                return
            wallet_uuid = str(uuid.uuid4())
            self.stored[credential_id] = wallet_uuid
            deposit.viewer_url = f"{self.base_url}/wallet/credentials/{wallet_uuid}/view"
        self._reply(handler, 200, {
            "uuid": wallet_uuid,
            "credentialId": credential_id,
            "viewerURL": deposit.viewer_url,
        })

    @staticmethod
    def _parse_multipart(content_type: str, body: bytes, deposit: Deposit) -> None:
        if not content_type.startswith("multipart/form-data"):
            return
        message = message_from_bytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=policy.HTTP
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name in ("_credential", "_credentialXML"):
                deposit.part_name = name
                deposit.filename = part.get_filename()
                deposit.content_type = part.get_content_type()
                deposit.data = part.get_payload(decode=True) or b""

    @staticmethod
    def _credential_id(deposit: Deposit) -> tuple[str, str | None]:
        if deposit.part_name is None:
            return "", "Required request part '_credential' is not present"
        if deposit.part_name == "_credentialXML":
            try:
                root = ElementTree.fromstring(deposit.data)  # noqa: S314 (test data we generate)
            except ElementTree.ParseError:
                return "", "Not a valid XML credential"
            return root.get("id") or hashlib.sha256(deposit.data).hexdigest(), None
        try:
            document = json.loads(deposit.data)
            if isinstance(document.get("payload"), str):  # JAdES enveloping: the credential is the payload
                document = json.loads(document["payload"])
            credential_id = document["id"]
        except (ValueError, KeyError, TypeError, AttributeError):
            return "", "Not a valid credential: cannot read the credential JSON"
        return str(credential_id), None
