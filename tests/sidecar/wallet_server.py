"""A local HTTP server implementing the Europass wallet deposit contract (shared/lms-notes.md):
multipart ``_credential`` + ``sendEmail`` + ``locale``; 200 with ``viewerURL``, 409 duplicate,
400 invalid, 404/5xx. Test fixture only; answers are scripted per test."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Deposit:
    email: str
    send_email: str
    locale: str
    credential: bytes


@dataclass
class WalletState:
    script: list[int] = field(default_factory=list)  # statuses to answer, in order; then 200
    deposits: list[Deposit] = field(default_factory=list)
    url: str = ""


def _handler(state: WalletState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            prefix, suffix = "/api/v1/wallets/email/", "/credentials"
            if not (parts.path.startswith(prefix) and parts.path.endswith(suffix)):
                self._answer(404, {"message": "no such endpoint"})
                return
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            message = BytesParser(policy=policy.default).parsebytes(
                f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body)
            files = {p.get_param("name", header="content-disposition"): p.get_payload(decode=True)
                     for p in message.iter_parts()}
            if "_credential" not in files:
                self._answer(400, {"message": "_credential part missing"})
                return
            query = parse_qs(parts.query)
            status = state.script.pop(0) if state.script else 200
            if status == 200:
                state.deposits.append(Deposit(unquote(parts.path[len(prefix):-len(suffix)]),
                                              query.get("sendEmail", [""])[0], query.get("locale", [""])[0],
                                              files["_credential"]))
                self._answer(200, {"viewerURL": f"{state.url}/view/{len(state.deposits)}"})
            elif status == 400:
                self._answer(400, {"message": "not a valid credential"})
            else:
                self._answer(status, {"message": "unavailable"})

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def wallet_server() -> Iterator[WalletState]:
    state = WalletState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
