"""Signed HTTP calls to the EDC Bridge sidecar (the only way the adapter reaches it).

Two failure kinds matter to the poller and are kept apart:

* :class:`SidecarUnavailable`: nothing was stored and trying again later can succeed — network
  down, 5xx, 408/429, a refused signature (configuration), or an answer that is not the sidecar's
  (a proxy's 404 or 502 page). The poller keeps the completion pending.
* :class:`SidecarRejected`: the sidecar read the request and refused its content with an RFC 9457
  problem (400/409/413/422). ``missing_template`` says the course has no template yet, which the
  poller fixes by sending one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from moodle_adapter.http_errors import network_cause
from moodle_adapter.signing import signed_headers

PROBLEM_TYPES = ("application/problem+json", "application/json")


class SidecarUnavailable(Exception):
    """The sidecar could not be reached, failed on its side, or refused our credentials."""


class SidecarRejected(Exception):
    """The sidecar refused the request's content; ``errors`` lists ``field: message`` strings."""

    def __init__(self, status: int, title: str, errors: list[str], problem: dict[str, Any] | None = None) -> None:
        detail = "; ".join(errors) if errors else title
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.title = title
        self.errors = errors
        self.problem = problem or {}

    @property
    def missing_template(self) -> bool:
        """The course has no credential template in the sidecar (so PUT one and try again)."""
        for error in self.problem.get("errors") or []:
            if isinstance(error, dict) and str(error.get("field", "")).endswith("course_id") \
                    and "template" in str(error.get("message", "")):
                return True
        return False


@dataclass(frozen=True)
class Accepted:
    """A completion the sidecar accepted (202), possibly as a duplicate of an earlier one."""

    credential_id: str
    status: str
    duplicate: bool


def _problem(response: requests.Response) -> dict[str, Any] | None:
    """The RFC 9457 problem in a response, or None when the body is not one (a proxy's page)."""
    if response.headers.get("Content-Type", "").split(";")[0].strip() not in PROBLEM_TYPES:
        return None
    try:
        problem = response.json()
    except ValueError:
        return None
    return problem if isinstance(problem, dict) and ("title" in problem or "errors" in problem) else None


def _problem_errors(problem: dict[str, Any] | None, reason: str) -> tuple[str, list[str]]:
    if not problem:
        return reason or "error", []
    errors = [f"{e.get('field', '?')}: {e.get('message', '')}" for e in problem.get("errors") or []
              if isinstance(e, dict)]
    if not errors and problem.get("detail"):
        errors = [str(problem["detail"])]
    return str(problem.get("title") or reason or "error"), errors


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

    def _request(self, method: str, path: str, payload: Any | None = None) -> requests.Response:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        # The signed path must be byte-for-byte the one sent, base path included.
        signed_path = urlsplit(self.base_url).path + path
        # Signed afresh on every attempt: current timestamp and a fresh X-EDC-Nonce.
        headers = signed_headers(self.source, self._api_key, method, signed_path, body)
        headers["Accept"] = "application/json"
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.session.request(method, self.base_url + path, data=body, headers=headers,
                                            timeout=self.timeout)
        except requests.RequestException as exc:
            raise SidecarUnavailable(f"cannot reach the sidecar at {self.base_url}: {network_cause(exc)}") from None
        status = response.status_code
        problem = _problem(response)
        if status >= 500 or status in (408, 429):
            title, errors = _problem_errors(problem, response.reason)
            raise SidecarUnavailable(f"the sidecar answered HTTP {status} ({'; '.join(errors) or title})")
        if status in (401, 403):
            # Every later request would fail alike: a configuration problem, not a data problem.
            title, errors = _problem_errors(problem, response.reason)
            raise SidecarUnavailable(f"the sidecar refused the request (HTTP {status}: {'; '.join(errors) or title}); "
                                     "check sidecar.source and the API key")
        if status >= 400:
            if problem is None or status not in (400, 409, 412, 413, 422):
                raise SidecarUnavailable(f"HTTP {status} from {self.base_url + path} is not an answer of the "
                                         "sidecar (check sidecar.url and any proxy in between)")
            title, errors = _problem_errors(problem, response.reason)
            raise SidecarRejected(status, title, errors, problem)
        return response

    def template_path(self, course_id: str) -> str:
        return (f"/api/v1/sources/{quote(self.source, safe='')}/courses/"
                f"{quote(str(course_id), safe='')}/template")

    def put_template(self, course_id: str, template: dict[str, Any]) -> dict[str, Any]:
        """Create or replace the course template; returns the sidecar's answer (with ``esco``).

        An unchanged template is answered with its stored version (no new version). A 409 means
        another request (the Moodle plugin, another poller run) created the course's template at the
        same moment: sent once more, this PUT replaces it, as it would have a second later."""
        try:
            response = self._request("PUT", self.template_path(course_id), template)
        except SidecarRejected as exc:
            if exc.status != 409:
                raise
            response = self._request("PUT", self.template_path(course_id), template)
        try:
            answer = response.json()
        except ValueError:
            return {}
        return answer if isinstance(answer, dict) else {}

    def post_completion(self, completion: dict[str, Any]) -> Accepted:
        """Post one completion; the sidecar dedupes on (source, course_id, learner.id)."""
        response = self._request("POST", "/api/v1/completions", completion)
        try:
            answer = response.json()
        except ValueError:
            raise SidecarUnavailable("the sidecar's answer to a completion is not JSON") from None
        if not isinstance(answer, dict) or not answer.get("id"):
            raise SidecarUnavailable("the sidecar's answer to a completion carries no credential id")
        return Accepted(str(answer["id"]), str(answer.get("status", "")), bool(answer.get("duplicate")))

    def credential_status(self, credential_id: str) -> dict[str, Any]:
        """The credential's status document (what ``status_url`` points at)."""
        return self._request("GET", f"/api/v1/credentials/{quote(credential_id, safe='')}").json()

    def sealed_credential(self, credential_id: str) -> bytes:
        """The sealed credential file (JAdES), once the status says it is sealed."""
        return self._request("GET", f"/api/v1/credentials/{quote(credential_id, safe='')}/sealed").content
