"""A small client for Moodle's Web Services REST protocol.

Moodle answers errors with HTTP 200 and a JSON object carrying ``exception``/``errorcode``/
``message``; this client turns those into :class:`MoodleError` so callers can report them per
course or learner. The token travels in the POST body, never in the URL, so it cannot leak
through access logs or exception texts that quote the URL.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import requests

REST_PATH = "/webservice/rest/server.php"

# Every function the poller calls: the Moodle service given to the token needs exactly these.
REQUIRED_FUNCTIONS: tuple[str, ...] = (
    "core_webservice_get_site_info",
    "core_course_get_courses_by_field",
    "core_competency_list_course_competencies",
    "core_enrol_get_enrolled_users",
    "core_completion_get_course_completion_status",
    "gradereport_user_get_grade_items",
)


class MoodleError(Exception):
    """A Web Services call failed; ``errorcode`` is Moodle's (``invalidtoken``, ``nocriteriaset``…)."""

    def __init__(self, function: str, errorcode: str, message: str) -> None:
        super().__init__(f"{function}: {errorcode}: {message}")
        self.function = function
        self.errorcode = errorcode
        self.message = message


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Encode nested lists/dicts the way Moodle's REST server expects (``courseids[0]=4``)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            pairs.extend(flatten_params(value, name))
        elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
            pairs.extend(flatten_params({str(i): item for i, item in enumerate(value)}, name))
        elif isinstance(value, bool):
            pairs.append((name, "1" if value else "0"))
        elif value is not None:
            pairs.append((name, str(value)))
    return pairs


class MoodleClient:
    """Calls Web Services functions with a token; one instance per Moodle site."""

    def __init__(self, site_url: str, token: str, timeout: float = 30.0,
                 session: requests.Session | None = None) -> None:
        self.endpoint = site_url.rstrip("/") + REST_PATH
        self._token = token
        self.timeout = timeout
        self.session = session or requests.Session()

    def __repr__(self) -> str:  # keeps the token out of debug output
        return f"MoodleClient({self.endpoint!r})"

    def call(self, function: str, **params: Any) -> Any:
        """Call one function and return its decoded JSON, or raise :class:`MoodleError`."""
        data = [("wstoken", self._token), ("wsfunction", function), ("moodlewsrestformat", "json")]
        data.extend(flatten_params(params))
        try:
            response = self.session.post(self.endpoint, data=data, timeout=self.timeout)
        except requests.RequestException as exc:
            raise MoodleError(function, "unreachable",
                              f"cannot reach {self.endpoint} ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise MoodleError(function, "httperror", f"HTTP {response.status_code} from {self.endpoint}")
        try:
            result = response.json()
        except ValueError:
            raise MoodleError(function, "invalidresponse",
                              "the answer is not JSON (is Web Services/REST enabled?)") from None
        if isinstance(result, dict) and "exception" in result and "errorcode" in result:
            raise MoodleError(function, str(result["errorcode"]), str(result.get("message", "")))
        return result

    # Thin wrappers: one per function used, so the calls and their parameters are in one place.
    def site_info(self) -> dict[str, Any]:
        return self.call("core_webservice_get_site_info")

    def courses_by_field(self, field: str = "", value: str = "") -> list[dict[str, Any]]:
        return self.call("core_course_get_courses_by_field", field=field, value=value).get("courses", [])

    def course_competencies(self, course_id: int) -> list[dict[str, Any]]:
        return self.call("core_competency_list_course_competencies", id=course_id)

    def enrolled_users(self, course_id: int) -> list[dict[str, Any]]:
        return self.call("core_enrol_get_enrolled_users", courseid=course_id)

    def completion_status(self, course_id: int, user_id: int) -> dict[str, Any]:
        return self.call("core_completion_get_course_completion_status", courseid=course_id, userid=user_id)

    def grade_items(self, course_id: int, user_id: int = 0) -> list[dict[str, Any]]:
        answer = self.call("gradereport_user_get_grade_items", courseid=course_id, userid=user_id)
        return answer.get("usergrades", [])
