"""A local stand-in for the sidecar's v1 HTTP API as adapters see it (test fixture).

It verifies the HMAC signature exactly as docs/architecture.md specifies, X-EDC-Nonce included (its
own code, not the adapter's signer), refuses replays and stale timestamps, records every request, stores templates,
and dedupes completions on (source, course_id, learner.id). ``outage`` makes it answer 503,
``proxy_404`` a proxy's HTML 404 page; ``refuse_emails`` refuses those learners' completions (422),
as the sidecar does for an address it finds invalid.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TEMPLATE_PATH = re.compile(r"^/api/v1/sources/([^/]+)/courses/([^/]+)/template$")


NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def expected_signature(api_key: str, method: str, path: str, timestamp: str, body: bytes,
                       nonce: str | None = None) -> str:
    key = hashlib.sha256(api_key.encode()).hexdigest().encode()
    lines = [method, path, timestamp, hashlib.sha256(body).hexdigest()]
    if nonce is not None:
        lines.append(nonce)  # X-EDC-Nonce, when sent, is the message's fifth line
    message = "\n".join(lines).encode()
    return "v1=" + hmac.new(key, message, hashlib.sha256).hexdigest()


class FakeSidecar:
    def __init__(self, sources: dict[str, str], unknown_esco: set[str] | None = None) -> None:
        self.sources = sources
        self.unknown_esco = unknown_esco or set()
        self.requests: list[dict[str, Any]] = []
        self.rejected: list[str] = []  # why a request was refused (signature problems)
        self.templates: dict[tuple[str, str], dict[str, Any]] = {}
        self.completions: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.seen_signatures: set[str] = set()
        self.outage = False
        self.proxy_404 = False
        self.refuse_emails: set[str] = set()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802 (http.server naming)
                fake.handle(self)

            def do_POST(self) -> None:  # noqa: N802
                fake.handle(self)

            def do_GET(self) -> None:  # noqa: N802
                fake.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def completion_posts(self) -> list[dict[str, Any]]:
        return [r["json"] for r in self.requests
                if r["method"] == "POST" and r["path"] == "/api/v1/completions"]

    def template_puts(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "PUT"]

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any],
              ctype: str = "application/json") -> None:
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _problem(self, handler: BaseHTTPRequestHandler, status: int, title: str,
                 errors: list[dict[str, str]] | None = None) -> None:
        self._send(handler, status, {"type": "about:blank", "title": title, "status": status,
                                     "detail": title, "errors": errors or []}, "application/problem+json")

    def _verify(self, handler: BaseHTTPRequestHandler, body: bytes) -> str | None:
        source = handler.headers.get("X-EDC-Source", "")
        timestamp = handler.headers.get("X-EDC-Timestamp", "")
        signature = handler.headers.get("X-EDC-Signature", "")
        nonce = handler.headers.get("X-EDC-Nonce")
        if source not in self.sources:
            return "unknown source"
        if not timestamp.isdigit() or abs(int(timestamp) - time.time()) > 300:
            return "timestamp outside ±300 s"
        if nonce is not None and not NONCE.fullmatch(nonce):
            return "malformed X-EDC-Nonce"
        expected = expected_signature(self.sources[source], handler.command, handler.path, timestamp, body, nonce)
        if not hmac.compare_digest(expected, signature):
            return "bad signature"
        if signature in self.seen_signatures:
            return "replayed signature"
        self.seen_signatures.add(signature)
        return None

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self.lock:
            if self.outage:
                self._problem(handler, 503, "maintenance")
                return
            if self.proxy_404:
                self._send(handler, 404, {"html": "<h1>404 Not Found</h1>"}, "text/html")
                return
            problem = self._verify(handler, body)
            if problem:
                self.rejected.append(problem)
                self._problem(handler, 401, problem)
                return
            source = handler.headers["X-EDC-Source"]
            payload = json.loads(body) if body else None
            self.requests.append({"method": handler.command, "path": handler.path, "json": payload,
                                  "headers": dict(handler.headers)})
            match = TEMPLATE_PATH.match(handler.path)
            if match and handler.command == "PUT":
                self._put_template(handler, source, match.group(1), match.group(2), payload)
            elif handler.path == "/api/v1/completions" and handler.command == "POST":
                self._post_completion(handler, source, payload)
            else:
                self._problem(handler, 404, "not found")

    def _put_template(self, handler: BaseHTTPRequestHandler, source: str, path_source: str, course_id: str,
                      template: Any) -> None:
        if path_source != source:
            self._problem(handler, 403, "a source may only write its own courses")
            return
        if not isinstance(template, dict) or not template.get("title"):
            self._problem(handler, 422, "invalid template", [{"field": "title", "message": "required"}])
            return
        created = (source, course_id) not in self.templates
        self.templates[(source, course_id)] = template
        skills = {s for lo in template.get("learning_outcomes", []) for s in lo.get("esco_skills", [])}
        answer = dict(template, esco={"unknown": sorted(skills & self.unknown_esco), "obsolete": []})
        self._send(handler, 201 if created else 200, answer)

    def _post_completion(self, handler: BaseHTTPRequestHandler, source: str, completion: Any) -> None:
        errors = []
        if not isinstance(completion, dict):
            self._problem(handler, 422, "invalid completion", [{"field": "", "message": "not an object"}])
            return
        if completion.get("source") != source:
            errors.append({"field": "source", "message": "does not match X-EDC-Source"})
        learner = completion.get("learner") or {}
        if "@" not in str(learner.get("email", "")) or learner.get("email") in self.refuse_emails:
            errors.append({"field": "learner.email", "message": "expected an e-mail address"})
        if (source, str(completion.get("course_id"))) not in self.templates:
            errors.append({"field": "course_id", "message": f"course '{completion.get('course_id')}' of source "
                                                           f"'{source}' has no credential template; PUT one first"})
        if errors:
            self._problem(handler, 422, "invalid completion", errors)
            return
        key = (source, str(completion["course_id"]), str(learner.get("id")))
        duplicate = key in self.completions
        if not duplicate:
            self.completions[key] = {"id": str(uuid.uuid4()), "completion": completion}
        cid = self.completions[key]["id"]
        self._send(handler, 202, {"id": cid, "status": "queued", "status_url": f"/api/v1/credentials/{cid}",
                                  "duplicate": duplicate})
