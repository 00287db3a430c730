"""A client for Moodle's Web Services REST protocol, as Moodle 4.5 really answers.

Moodle answers errors with HTTP 200 and ``{"exception", "errorcode", "message"}``; this client
turns them into :class:`MoodleError`. Every call asks for the stored text
(``moodlewssettingraw=1``, filters off): otherwise Moodle strips multilang markup and the course
name arrives with its languages run together. The token travels in the POST body, never in the
URL, so it cannot leak through access logs or exception texts that quote the URL.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import requests

from moodle_adapter.http_errors import network_cause

REST_PATH = "/webservice/rest/server.php"

# Every function the poller calls: the Moodle service given to the token needs exactly these.
REQUIRED_FUNCTIONS: tuple[str, ...] = (
    "core_webservice_get_site_info",
    "core_course_get_courses_by_field",
    "core_competency_list_course_competencies",
    "core_enrol_get_enrolled_users",
    "core_completion_get_course_completion_status",
    "gradereport_user_get_grade_items",
    "gradereport_user_get_grades_table",
)
# Errors that say nothing about the data and may well pass: the call is tried again next run.
TRANSIENT_ERRORS = frozenset({"unreachable", "timeout", "httperror", "invalidresponse", "sitemaintenance",
                              "dmlreadexception", "dmlwriteexception", "dbsessionhandlerproblem",
                              "generalexceptionmessage", "ddlexecuteerror", "cannotgetlock"})
# The fields the poller reads about learners (core_enrol_get_enrolled_users "userfields").
LEARNER_FIELDS = "id,firstname,lastname,fullname,email,roles,lastcourseaccess"


class MoodleError(Exception):
    """A Web Services call failed; ``errorcode`` is Moodle's (``invalidtoken``, ``nocriteriaset``…)."""

    def __init__(self, function: str, errorcode: str, message: str) -> None:
        super().__init__(f"{function}: {errorcode}: {message}")
        self.function = function
        self.errorcode = errorcode
        self.message = message

    @property
    def transient(self) -> bool:
        return self.errorcode in TRANSIENT_ERRORS


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Encode nested lists/dicts the way Moodle's REST server (PHP) expects (``options[0][name]=…``)."""
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
        self.calls = 0

    def __repr__(self) -> str:  # keeps the token out of debug output
        return f"MoodleClient({self.endpoint!r})"

    def call(self, function: str, **params: Any) -> Any:
        """Call one function and return its decoded JSON, or raise :class:`MoodleError`."""
        data = [("wstoken", self._token), ("wsfunction", function), ("moodlewsrestformat", "json"),
                ("moodlewssettingraw", "1"), ("moodlewssettingfilter", "0")]
        data.extend(flatten_params(params))
        self.calls += 1
        try:
            response = self.session.post(self.endpoint, data=data, timeout=self.timeout)
        except requests.Timeout:
            raise MoodleError(function, "timeout", f"{self.endpoint} did not answer within {self.timeout:g} s") \
                from None
        except requests.RequestException as exc:
            raise MoodleError(function, "unreachable", f"cannot reach {self.endpoint}: {network_cause(exc)}") \
                from None
        if response.status_code == 403 and not response.content:
            raise MoodleError(function, "restdisabled", "Moodle refused the REST call (HTTP 403): enable Web "
                                                        "services and the REST protocol")
        if response.status_code != 200:
            raise MoodleError(function, "httperror", f"HTTP {response.status_code} from {self.endpoint}")
        try:
            result = response.json()
        except ValueError:
            start = response.text.lstrip()[:60].replace("\n", " ")
            raise MoodleError(function, "invalidresponse",
                              f"the answer is not JSON (it starts with {start!r}): is Web Services/REST "
                              "enabled, and PHP's display_errors off?") from None
        if isinstance(result, dict) and "exception" in result and "errorcode" in result:
            raise MoodleError(function, str(result["errorcode"]), str(result.get("message", "")))
        return result

    # One wrapper per function used, so the calls and their parameters are in one place.
    def site_info(self) -> dict[str, Any]:
        return self.call("core_webservice_get_site_info")

    def courses_by_field(self, field: str = "", value: str = "") -> list[dict[str, Any]]:
        return self.call("core_course_get_courses_by_field", field=field, value=value).get("courses", [])

    def course_competencies(self, course_id: int) -> list[dict[str, Any]]:
        return self.call("core_competency_list_course_competencies", id=course_id)

    def enrolled_users(self, course_id: int, limitfrom: int = 0, limitnumber: int = 0,
                       userfields: str = LEARNER_FIELDS) -> list[dict[str, Any]]:
        """One page of a course's participants (ordered by user id, as Moodle does by default)."""
        options = [{"name": "userfields", "value": userfields}, {"name": "sortby", "value": "id"}]
        if limitnumber:
            options += [{"name": "limitfrom", "value": limitfrom}, {"name": "limitnumber", "value": limitnumber}]
        return self.call("core_enrol_get_enrolled_users", courseid=course_id, options=options)

    def completion_status(self, course_id: int, user_id: int) -> dict[str, Any]:
        return self.call("core_completion_get_course_completion_status", courseid=course_id, userid=user_id)

    def grade_items(self, course_id: int, user_id: int = 0) -> list[dict[str, Any]]:
        answer = self.call("gradereport_user_get_grade_items", courseid=course_id, userid=user_id)
        return answer.get("usergrades", [])

    def grades_table(self, course_id: int, user_id: int = 0) -> list[dict[str, Any]]:
        answer = self.call("gradereport_user_get_grades_table", courseid=course_id, userid=user_id)
        return answer.get("tables", [])
