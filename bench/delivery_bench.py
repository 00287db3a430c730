"""Throughput of bridge.delivery: building the credential e-mail (and the CPU time per message to build
and serialise it, English and French), the .eml outbox, SMTP to a local aiosmtpd server, and wallet
deposits to a local HTTP server answering like the Europass wallet.

Run: ``python bench/delivery_bench.py [N]`` (default N=200). Loopback servers only: the figures
measure this code and the Python SMTP/HTTP stacks, not a real mail relay or the live wallet.
"""

from __future__ import annotations

import json
import socket
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402

from bridge.delivery.email import OutboxTransport, SmtpTransport  # noqa: E402
from bridge.delivery.message import build_credential_message  # noqa: E402
from bridge.delivery.wallet import WalletClient  # noqa: E402
from bridge.elm.assemble import Issuer, assemble  # noqa: E402
from bridge.elm.completion import Completion  # noqa: E402
from bridge.elm.summary import summarise  # noqa: E402
from bridge.elm.template import CourseTemplate  # noqa: E402


def rate(label: str, count: int, seconds: float) -> None:
    print(f"{label:<38} {count:>6} in {seconds:7.3f} s = {count / seconds:9.1f} /s")


class _Sink:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        return "250 OK"


class _Wallet(BaseHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (base class signature)
        """Quiet."""

    def do_POST(self):  # noqa: N802 (http.server hook name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"viewerURL": f"http://127.0.0.1/view/{uuid.uuid4()}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _wire(msg) -> bytes:
    """The bytes a transport sends (an ``EmailMessage`` of older versions flattened with CRLF, as smtplib did)."""
    policy = getattr(msg, "policy", None)
    return msg.as_bytes(policy=policy.clone(linesep="\r\n")) if policy is not None else msg.as_bytes()


def _build_and_serialise(build, parity: int, count: int) -> float:
    """CPU seconds per message to build one and get its wire bytes (what a worker spends before SMTP)."""
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for i in range(parity, 2 * count, 2):
            _wire(build(i))
        best = min(best, (time.process_time() - start) / count)
    return best


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    template = CourseTemplate.from_dict(json.loads((ROOT / "examples" / "course-template.json").read_text("utf-8")))
    completion = Completion.from_dict(json.loads((ROOT / "examples" / "completion.json").read_text("utf-8")))
    issuer = Issuer(legal_name={"en": "Credential Services SARL"}, eidas_identifier="NTRFR-987654321", country="FR")
    credential = assemble(template, completion, issuer)
    sealed = json.dumps({"payload": json.dumps(credential), "signatures": []}).encode()
    summaries = {lang: summarise(credential, lang) for lang in ("en", "fr")}
    print(f"sealed credential: {len(sealed)} bytes")

    def build(i: int):
        lang = "fr" if i % 2 else "en"
        return build_credential_message(
            to_email=f"learner{i}@example.org", learner_name=f"Learner {i}", lang=lang, summary=summaries[lang],
            sealed_bytes=sealed, filename=f"credential-{i}", sender="EDC Bridge <edc@univ.example>",
        )

    build(0)  # warm the template and catalogue caches
    build(1)
    for lang_index, lang in ((0, "en"), (1, "fr")):
        per_message = _build_and_serialise(build, lang_index, max(n, 500))
        print(f"build + serialise, {lang}: {per_message * 1e6:8.1f} µs per message (CPU, best of 5)")
    start = time.perf_counter()
    messages = [build(i) for i in range(n)]
    rate("build_credential_message (en/fr)", n, time.perf_counter() - start)
    print(f"message size: {len(_wire(messages[0]))} bytes")

    with tempfile.TemporaryDirectory() as folder:
        outbox = OutboxTransport(folder)
        start = time.perf_counter()
        for msg in messages:
            outbox.send(msg)
        rate("OutboxTransport.send (.eml, fsync)", n, time.perf_counter() - start)

    controller = Controller(_Sink(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        for label, keepalive in (("kept connection", 30), ("keepalive 0", 0)):
            smtp = SmtpTransport("127.0.0.1", controller.port, security="none", sender="edc@univ.example",
                                 keepalive=keepalive)
            start = time.perf_counter()
            for msg in messages:
                smtp.send(msg)
            smtp.close()  # QUIT: part of the cost
            rate(f"SmtpTransport.send ({label})", n, time.perf_counter() - start)
    finally:
        controller.stop()

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Wallet)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        wallet = WalletClient(f"http://127.0.0.1:{server.server_address[1]}", 10.0)
        start = time.perf_counter()
        for i in range(n):
            wallet.deposit(f"learner{i}@example.org", sealed, f"credential-{i}")
        rate("WalletClient.deposit (local stub)", n, time.perf_counter() - start)
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
