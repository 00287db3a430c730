"""Small HTTP client of the sidecar's v1 API, signed as the Open edX source.

Two failure kinds matter to callers: :class:`SidecarUnavailable` (network, timeout, 5xx: try again
later, never surface as an LMS error) and :class:`SidecarRejected` (4xx: the request itself is wrong;
its RFC 9457 field errors are kept so forms can show them next to the field).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import requests

from edx_xblock.config import BridgeConfig
from edx_xblock.signing import signed_headers


class SidecarError(Exception):
    """Base of the client's errors; messages carry no secret and no learner data."""


class SidecarUnavailable(SidecarError):
    """The sidecar could not be reached or failed (5xx); the call may be retried."""


@dataclass
class SidecarRejected(SidecarError):
    """A 4xx answer: ``detail`` and ``errors`` (``[{"field", "message"}]``) come from the problem body."""

    status: int
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"sidecar answered {self.status}: {self.detail}"


def _segment(value: str) -> str:
    """Percent-encode a path segment fully, so the signed path is exactly the one sent."""
    return quote(value, safe="")


class SidecarClient:
    """Signed calls to one sidecar as one source."""

    def __init__(self, config: BridgeConfig, session: requests.Session | None = None,
                 timeout: float | None = None) -> None:
        """``timeout`` overrides ``TIMEOUT`` (the learner page's status look-up uses ``STATUS_TIMEOUT``)."""
        self._config = config
        self._http = session or requests.Session()
        self._timeout = timeout or config.timeout

    def _call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None,
              raw: bool = False) -> Any:
        if query:
            path = f"{path}?{urlencode({k: v for k, v in query.items() if v is not None})}"
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        response = self._send(method, path, data)
        if response.status_code == 401 and method == "GET":
            # A read is safe to send again: once, signed afresh (_send makes new headers, so a new
            # timestamp and X-EDC-Nonce), never with the refused attempt's signature.
            response = self._send(method, path, data)
        if response.status_code >= 500:
            raise SidecarUnavailable(f"the sidecar failed ({response.status_code})")
        if response.status_code >= 400:
            raise _rejection(response)
        if raw:
            return response.content
        try:
            return response.json()
        except ValueError:
            raise SidecarUnavailable("the sidecar answered with a body that is not JSON") from None

    def _send(self, method: str, path: str, data: bytes) -> requests.Response:
        # Fresh headers for every attempt: the nonce makes each signature unique, even for identical
        # requests within one second, so the sidecar's replay check never refuses a legitimate repeat.
        headers = signed_headers(self._config.source, self._config.api_key, method, path, data)
        if data:
            headers["Content-Type"] = "application/json"
        try:
            return self._http.request(method, self._config.sidecar_url + path, data=data or None,
                                      headers=headers, timeout=self._timeout)
        except requests.RequestException as exc:
            raise SidecarUnavailable(f"the sidecar is unreachable ({type(exc).__name__})") from None

    def put_template(self, course_id: str, template: dict[str, Any]) -> dict[str, Any]:
        """Store the course's credential template (and policy); answers the stored version + ESCO report.

        The sidecar answers an unchanged template with its stored version (no new one). A 409 means
        another request created the course's template at the same moment: sent once more, this one
        replaces it, as it would have a second later."""
        path = f"/api/v1/sources/{_segment(self._config.source)}/courses/{_segment(course_id)}/template"
        try:
            return self._call("PUT", path, template)
        except SidecarRejected as exc:
            if exc.status != 409:
                raise
            return self._call("PUT", path, template)

    def search_skills(self, q: str, lang: str, limit: int = 10) -> dict[str, Any]:
        return self._call("GET", "/api/v1/esco/skills", query={"q": q, "lang": lang, "limit": limit})

    def skill(self, uuid: str) -> dict[str, Any]:
        """One ESCO skill with its labels in all languages."""
        return self._call("GET", f"/api/v1/esco/skills/{_segment(uuid)}")

    def credentials_for(self, course_id: str, learner_id: str) -> list[dict[str, Any]]:
        """This source's credentials of one learner in one course (newest first)."""
        answer = self._call("GET", "/api/v1/credentials",
                            query={"source": self._config.source, "course_id": course_id, "learner_id": learner_id})
        return list(answer.get("items") or [])

    def credential(self, credential_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/v1/credentials/{_segment(credential_id)}")

    def sealed(self, credential_id: str) -> bytes:
        """The sealed JAdES file, byte for byte."""
        return self._call("GET", f"/api/v1/credentials/{_segment(credential_id)}/sealed", raw=True)

    def post_completion(self, completion: dict[str, Any]) -> dict[str, Any]:
        """Hand a completion over; a repeat for the same (course, learner) answers the existing id."""
        return self._call("POST", "/api/v1/completions", completion)


def _rejection(response: requests.Response) -> SidecarRejected:
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    errors = [{"field": str(e.get("field", "")), "message": str(e.get("message", ""))}
              for e in problem.get("errors") or [] if isinstance(e, dict)]
    detail = str(problem.get("detail") or problem.get("title") or response.reason or "request refused")
    return SidecarRejected(response.status_code, detail, errors)
