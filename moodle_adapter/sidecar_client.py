"""Signed HTTP calls to the EDC Bridge sidecar (the only way the adapter reaches it).

Two failure kinds matter to the poller and are kept apart: :class:`SidecarUnavailable` (network
down, 5xx: retry next run, mark nothing) and :class:`SidecarRejected` (4xx with an RFC 9457
problem: the data is wrong, report the fields named by the sidecar).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from moodle_adapter.signing import signed_headers


class SidecarUnavailable(Exception):
    """The sidecar could not be reached, failed on its side, or refused our credentials.

    In each case nothing was stored and every later request would fail the same way, so the
    poller stops sending for this run and marks nothing as sent.
    """


class SidecarRejected(Exception):
    """The sidecar refused the request; ``errors`` lists ``field: message`` strings."""

    def __init__(self, status: int, title: str, errors: list[str]) -> None:
        detail = "; ".join(errors) if errors else title
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.title = title
        self.errors = errors


@dataclass(frozen=True)
class Accepted:
    """A completion the sidecar accepted (202), possibly as a duplicate of an earlier one."""

    credential_id: str
    status: str
    duplicate: bool


def _problem_errors(response: requests.Response) -> tuple[str, list[str]]:
    """Read an RFC 9457 problem; fall back to the status line when the body is not one."""
    try:
        problem = response.json()
    except ValueError:
        return response.reason or "error", []
    if not isinstance(problem, dict):
        return response.reason or "error", []
    errors = [f"{e.get('field', '?')}: {e.get('message', '')}" for e in problem.get("errors") or []
              if isinstance(e, dict)]
    if not errors and problem.get("detail"):
        errors = [str(problem["detail"])]
    return str(problem.get("title") or response.reason or "error"), errors


class SidecarClient:
    """Signs every request with the source's API key (the key itself is never sent)."""

    def __init__(self, base_url: str, source: str, api_key: str, timeout: float = 30.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.source = source
        self._api_key = api_key
        self.timeout = timeout
        self.session = session or requests.Session()

    def __repr__(self) -> str:
        return f"SidecarClient({self.base_url!r}, source={self.source!r})"

    def _headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        """Sign one attempt: current timestamp and a fresh X-EDC-Nonce, never reused.

        The sidecar refuses a signature seen twice; the nonce keeps an identical request (a template
        re-PUT, a completion sent again after a timeout) within the same second from signing alike.
        """
        return signed_headers(self.source, self._api_key, method, path, body)

    def _request(self, method: str, path: str, payload: Any | None = None) -> requests.Response:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        # The signed path must be byte-for-byte the one sent, base path included.
        signed_path = urlsplit(self.base_url).path + path
        headers = self._headers(method, signed_path, body)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.session.request(method, self.base_url + path, data=body, headers=headers,
                                            timeout=self.timeout)
        except requests.RequestException as exc:
            raise SidecarUnavailable(
                f"cannot reach the sidecar at {self.base_url} ({type(exc).__name__})") from None
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise SidecarUnavailable(f"the sidecar answered HTTP {response.status_code}")
        if response.status_code in (401, 403):
            # Every later request would fail alike: a configuration problem, not a data problem.
            title, errors = _problem_errors(response)
            detail = "; ".join(errors) or title
            raise SidecarUnavailable(f"the sidecar refused the request (HTTP {response.status_code}: {detail}); "
                                     "check sidecar.source and the API key")
        if response.status_code >= 400:
            title, errors = _problem_errors(response)
            raise SidecarRejected(response.status_code, title, errors)
        return response

    def template_path(self, course_id: str) -> str:
        return (f"/api/v1/sources/{quote(self.source, safe='')}/courses/"
                f"{quote(str(course_id), safe='')}/template")

    def put_template(self, course_id: str, template: dict[str, Any]) -> dict[str, Any]:
        """Create or replace the course template; returns the sidecar's answer (with ``esco``)."""
        response = self._request("PUT", self.template_path(course_id), template)
        try:
            return response.json()
        except ValueError:
            return {}

    def post_completion(self, completion: dict[str, Any]) -> Accepted:
        """Post one completion; the sidecar dedupes on (source, course_id, learner.id)."""
        response = self._request("POST", "/api/v1/completions", completion)
        try:
            answer = response.json()
        except ValueError:
            raise SidecarUnavailable("the sidecar's answer to a completion is not JSON") from None
        return Accepted(str(answer.get("id", "")), str(answer.get("status", "")),
                        bool(answer.get("duplicate")))

    def credential_status(self, credential_id: str) -> dict[str, Any]:
        """The credential's status document (what ``status_url`` points at)."""
        return self._request("GET", f"/api/v1/credentials/{quote(credential_id, safe='')}").json()

    def sealed_credential(self, credential_id: str) -> bytes:
        """The sealed credential file (JAdES), once the status says it is sealed."""
        return self._request("GET", f"/api/v1/credentials/{quote(credential_id, safe='')}/sealed").content
