"""A local stand-in for a Moodle site's Web Services REST endpoint (test fixture).

It implements the functions the poller uses with the JSON shapes of Moodle 4.x's external
function definitions (``*_returns()``), and Moodle's error shape: HTTP 200 with
``exception``/``errorcode``/``message`` (plus ``debuginfo`` for invalid parameters). Data lives in
plain dicts that tests change between runs; every call is recorded so tests can count them.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ESCO_PYTHON = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"
ESCO_DATA_ANALYSIS = "http://data.europa.eu/esco/skill/2b92a5b2-6758-4ee3-9fb4-b6387a55cc8f"
ESCO_STATISTICS = "http://data.europa.eu/esco/skill/7ee4c2ea-b349-4bd2-81a3-ec31475d4833"

ALL_FUNCTIONS = {
    "core_webservice_get_site_info", "core_course_get_courses_by_field",
    "core_competency_list_course_competencies", "core_enrol_get_enrolled_users",
    "core_completion_get_course_completion_status", "gradereport_user_get_grade_items",
}


class WsError(Exception):
    def __init__(self, exception: str, errorcode: str, message: str, debuginfo: str | None = None) -> None:
        super().__init__(message)
        self.body: dict[str, Any] = {"exception": exception, "errorcode": errorcode, "message": message}
        if debuginfo:
            self.body["debuginfo"] = debuginfo


def invalid_parameter(detail: str) -> WsError:
    return WsError("invalid_parameter_exception", "invalidparameter", "Invalid parameter value detected",
                   detail)


def customfield(shortname: str, ftype: str, valueraw: str, value: str | None = None) -> dict[str, Any]:
    return {"name": shortname.replace("_", " ").title(), "shortname": shortname, "type": ftype,
            "valueraw": valueraw, "value": value if value is not None else valueraw}


def course_record(cid: int, fullname: str, shortname: str, fields: list[dict[str, Any]], lang: str = "",
                  summary: str = "") -> dict[str, Any]:
    return {
        "id": cid, "fullname": fullname, "displayname": fullname, "shortname": shortname,
        "courseimage": "", "categoryid": 1, "categoryname": "Category 1", "sortorder": 10000 + cid,
        "summary": summary, "summaryformat": 1, "summaryfiles": [], "overviewfiles": [],
        "showactivitydates": True, "showcompletionconditions": True, "contacts": [],
        "enrollmentmethods": ["manual"], "customfields": fields, "idnumber": "", "format": "topics",
        "showgrades": 1, "newsitems": 5, "startdate": 1767225600, "enddate": 0, "maxbytes": 0,
        "showreports": 0, "visible": 1, "groupmode": 0, "groupmodeforce": 0, "defaultgroupingid": 0,
        "enablecompletion": 1, "completionnotify": 0, "lang": lang, "theme": "", "marker": 0,
        "legacyfiles": 0, "calendartype": "", "timecreated": 1764547200, "timemodified": 1764547200,
        "requested": 0, "cacherev": 1764547200, "filters": [], "courseformatoptions": [],
    }


def competency(cid: int, comp_id: int, shortname: str, idnumber: str,
               description: str = "") -> dict[str, Any]:
    return {
        "competency": {
            "shortname": shortname, "idnumber": idnumber, "description": description,
            "descriptionformat": 1, "sortorder": comp_id, "parentid": 0, "path": "/0/",
            "ruleoutcome": 0, "ruletype": None, "ruleconfig": None, "scaleid": None,
            "scaleconfiguration": None, "competencyframeworkid": 1, "id": comp_id,
            "timecreated": 1764547200, "timemodified": 1764547200, "usermodified": 2,
        },
        "coursecompetency": {"courseid": cid, "competencyid": comp_id, "sortorder": comp_id, "ruleoutcome": 0,
                             "id": 100 + comp_id, "timecreated": 1764547200, "timemodified": 1764547200,
                             "usermodified": 2},
    }


@dataclass
class MoodleData:
    """The fake site's content; tests edit it between poller runs."""

    tokens: dict[str, set[str]] = field(default_factory=dict)
    courses: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    enrolments: dict[int, dict[int, str]] = field(default_factory=dict)  # course → user → role
    competencies: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    criteria: dict[int, list[int]] = field(default_factory=dict)  # course → criterion types
    completions: dict[tuple[int, int], int] = field(default_factory=dict)  # (course, user) → time
    grades: dict[tuple[int, int], tuple[float | None, float]] = field(default_factory=dict)
    grade_failed: set[tuple[int, int]] = field(default_factory=set)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def calls_to(self, function: str) -> list[dict[str, str]]:
        return [params for name, params in self.calls if name == function]


def seeded_data(token: str, completed_at: int) -> MoodleData:
    """A site with marked and unmarked courses, ESCO-tagged competencies and varied learners."""
    data = MoodleData(tokens={token: set(ALL_FUNCTIONS)})
    marker = customfield("edc_issue", "checkbox", "1", "Yes")
    data.courses = {
        2: course_record(2, '<span lang="en" class="multilang">Data Analysis with Python</span>'
                            '<span lang="fr" class="multilang">Analyse de données avec Python</span>',
                         "DAP", [marker, customfield("edc_ects", "text", "5"),
                                 customfield("edc_eqf", "select", "3", "Level 6"),
                                 customfield("edc_iscedf", "text", "0613"),
                                 customfield("edc_lang", "text", "en, fr")],
                         lang="en", summary="<p>Clean, explore &amp; model data.</p>"),
        3: course_record(3, "Statistique descriptive", "STAT", [marker], lang="fr"),
        4: course_record(4, "Unmarked course", "UNM", [customfield("edc_issue", "checkbox", "0", "No")]),
        5: course_record(5, "Broken metadata", "BRK", [marker, customfield("edc_eqf", "text", "nine")]),
    }
    data.users = {
        10: {"firstname": "Camille", "lastname": "Martin", "email": "camille@example.org", "lang": "fr"},
        11: {"firstname": "Jonas", "lastname": "Weber", "email": "", "lang": "de"},
        12: {"firstname": "Ana", "lastname": "Silva", "email": "ana@example.org", "lang": "pt_br"},
        13: {"firstname": "Lea", "lastname": "Novak", "email": "lea@example.org", "lang": "en"},
        14: {"firstname": "Teach", "lastname": "Er", "email": "teacher@example.org", "lang": "en"},
    }
    data.enrolments = {2: {10: "student", 11: "student", 12: "student", 13: "student", 14: "editingteacher"},
                       3: {10: "student"}, 4: {10: "student"}, 5: {10: "student"}}
    data.competencies = {
        2: [competency(2, 1, "Python (computer programming)", ESCO_PYTHON),
            competency(2, 2, '{mlang en}Perform data analysis{mlang}{mlang fr}Analyser des données{mlang}',
                       ESCO_DATA_ANALYSIS),
            competency(2, 3, "Local lab safety rule", "LAB-SAFETY-01")],
        3: [competency(3, 4, "Statistiques", ESCO_STATISTICS)],
    }
    data.criteria = {2: [4, 6], 4: [4], 5: [4]}  # activity + course grade; course 3 has none
    data.completions = {(2, 10): completed_at, (2, 11): completed_at, (4, 10): completed_at,
                        (5, 10): completed_at}
    data.grades = {(2, 10): (87.5, 100.0), (2, 11): (64.0, 100.0), (2, 13): (None, 100.0)}
    return data


class FakeMoodle:
    """Serves :class:`MoodleData` on ``http://127.0.0.1:<port>`` until :meth:`stop`."""

    def __init__(self, data: MoodleData) -> None:
        self.data = data
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                fake.handle(self, urlsplit(self.path).query)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                query = urlsplit(self.path).query
                fake.handle(self, "&".join(p for p in (query, body) if p))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, handler: BaseHTTPRequestHandler, raw: str) -> None:
        if urlsplit(handler.path).path != "/webservice/rest/server.php":
            handler.send_error(404)
            return
        params = dict(parse_qsl(raw, keep_blank_values=True))
        try:
            with self.lock:
                result: Any = self.dispatch(params)
        except WsError as exc:
            result = exc.body
        body = json.dumps(result).encode()
        handler.send_response(200)  # Moodle answers errors with 200 too
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def dispatch(self, params: dict[str, str]) -> Any:
        token, function = params.pop("wstoken", ""), params.pop("wsfunction", "")
        params.pop("moodlewsrestformat", None)
        if token not in self.data.tokens:
            raise WsError("moodle_exception", "invalidtoken", "Invalid token - token not found")
        if function not in self.data.tokens[token]:
            raise WsError("webservice_access_exception", "accessexception", "Access control exception")
        self.data.calls.append((function, dict(params)))
        self.current_functions = self.data.tokens[token]
        return getattr(self, function)(params)

    # --- helpers -------------------------------------------------------------------------
    @staticmethod
    def _int(params: dict[str, str], name: str, default: int | None = None) -> int:
        if name not in params:
            if default is not None:
                return default
            raise invalid_parameter(f"{name} => Invalid parameter value detected: Missing required key in "
                                    f"single structure: {name}")
        try:
            return int(params[name])
        except ValueError:
            raise invalid_parameter(f"{name} => Invalid parameter value detected: Invalid external api "
                                    f"parameter: the value is \"{params[name]}\", the server was expecting "
                                    "\"int\" type") from None

    def _course(self, cid: int) -> dict[str, Any]:
        if cid not in self.data.courses:
            raise WsError("dml_missing_record_exception", "invalidrecord",
                          "Can't find data record in database table course.")
        return self.data.courses[cid]

    def _user(self, uid: int, with_email: bool = True) -> dict[str, Any]:
        user = self.data.users[uid]
        record = {"id": uid, "username": f"user{uid}", "firstname": user["firstname"],
                  "lastname": user["lastname"], "fullname": f"{user['firstname']} {user['lastname']}",
                  "idnumber": "", "firstaccess": 1764547200, "lastaccess": 1764547200,
                  "lastcourseaccess": 1764547200, "description": "", "descriptionformat": 1,
                  "city": "", "country": "", "lang": user["lang"],
                  "profileimageurlsmall": f"{self.url}/theme/image.php/boost/core/1/u/f2",
                  "profileimageurl": f"{self.url}/theme/image.php/boost/core/1/u/f1"}
        if with_email and user["email"]:  # Moodle leaves out what the token may not see or is empty
            record["email"] = user["email"]
        return record

    # --- Web Services functions ------------------------------------------------------------
    def core_webservice_get_site_info(self, params: dict[str, str]) -> dict[str, Any]:
        functions = sorted(self.current_functions)
        return {"sitename": "Fake Moodle", "username": "edcbridge", "firstname": "EDC", "lastname": "Bridge",
                "fullname": "EDC Bridge", "lang": "en", "userid": 2, "siteurl": self.url,
                "userpictureurl": "", "functions": [{"name": f, "version": "2022112800"} for f in functions],
                "downloadfiles": 0, "uploadfiles": 0, "release": "4.1.12 (Build: 20240812)",
                "version": "2022112812", "mobilecssurl": "", "advancedfeatures": [],
                "usercanmanageownfiles": False, "userquota": 0, "usermaxuploadfilesize": -1,
                "userhomepage": 1, "userprivateaccesskey": "x", "siteid": 1, "sitecalendartype": "gregorian",
                "usercalendartype": "gregorian", "userissiteadmin": False, "theme": "boost"}

    def core_course_get_courses_by_field(self, params: dict[str, str]) -> dict[str, Any]:
        fieldname, value = params.get("field", ""), params.get("value", "")
        if fieldname not in ("", "id", "ids", "shortname", "idnumber", "category"):
            raise invalid_parameter(f"field => Invalid parameter value detected: {fieldname}")
        if fieldname == "":
            courses = list(self.data.courses.values())
        elif fieldname in ("id", "ids"):
            try:
                wanted = {int(v) for v in value.split(",") if v}
            except ValueError:
                raise invalid_parameter("value => Invalid parameter value detected") from None
            courses = [c for cid, c in self.data.courses.items() if cid in wanted]
        else:
            courses = [c for c in self.data.courses.values() if str(c.get(fieldname)) == value]
        return {"courses": courses, "warnings": []}

    def core_competency_list_course_competencies(self, params: dict[str, str]) -> list[dict[str, Any]]:
        cid = self._int(params, "id")
        self._course(cid)
        return self.data.competencies.get(cid, [])

    def core_enrol_get_enrolled_users(self, params: dict[str, str]) -> list[dict[str, Any]]:
        cid = self._int(params, "courseid")
        course = self._course(cid)
        users = []
        for uid, role in self.data.enrolments.get(cid, {}).items():
            record = self._user(uid)
            record["roles"] = [{"roleid": 5 if role == "student" else 3, "name": "", "shortname": role,
                                "sortorder": 0}]
            record["enrolledcourses"] = [{"id": cid, "fullname": course["fullname"],
                                          "shortname": course["shortname"]}]
            users.append(record)
        return users

    def core_completion_get_course_completion_status(self, params: dict[str, str]) -> dict[str, Any]:
        cid, uid = self._int(params, "courseid"), self._int(params, "userid")
        self._course(cid)
        if uid not in self.data.users:
            raise WsError("dml_missing_record_exception", "invalidrecord",
                          "Can't find data record in database table user.")
        if uid not in self.data.enrolments.get(cid, {}):
            raise WsError("moodle_exception", "usernotenroled", "User is not enrolled in this course")
        types = self.data.criteria.get(cid, [])
        if not types:
            raise WsError("moodle_exception", "nocriteriaset", "No criteria set for this course")
        done_at = self.data.completions.get((cid, uid))
        failed = (cid, uid) in self.data.grade_failed
        rows = []
        for ctype in types:
            complete = done_at is not None and not (ctype == 6 and failed)
            rows.append({"type": ctype, "title": "Course grade" if ctype == 6 else "Activity completion",
                         "status": "Yes" if complete else "No", "complete": complete,
                         "timecompleted": done_at if complete else None,
                         "details": {"type": "", "criteria": "", "requirement": "", "status": ""}})
        return {"completionstatus": {"completed": done_at is not None, "aggregation": 1, "completions": rows},
                "warnings": []}

    def gradereport_user_get_grade_items(self, params: dict[str, str]) -> dict[str, Any]:
        cid = self._int(params, "courseid")
        uid = self._int(params, "userid", 0)
        course = self._course(cid)
        enrolled = self.data.enrolments.get(cid, {})
        wanted = [uid] if uid else [u for u, role in enrolled.items() if role == "student"]
        usergrades = []
        for user_id in wanted:
            raw, grademax = self.data.grades.get((cid, user_id), (None, 100.0))
            total = {"id": 900 + cid, "itemname": None, "itemtype": "course", "itemmodule": None,
                     "iteminstance": cid, "itemnumber": None, "idnumber": "", "categoryid": None,
                     "outcomeid": None, "scaleid": None, "locked": False, "graderaw": raw,
                     "gradedatesubmitted": None, "gradedategraded": None, "gradehiddenbydate": False,
                     "gradeneedsupdate": False, "gradeishidden": False, "gradeislocked": False,
                     "gradeisoverridden": False, "gradeformatted": "-" if raw is None else f"{raw:.2f}",
                     "grademin": 0, "grademax": grademax, "rangeformatted": f"0.00&ndash;{grademax:.2f}",
                     "percentageformatted": "-" if raw is None else f"{100 * raw / grademax:.2f} %",
                     "feedback": "", "feedbackformat": 0}
            usergrades.append({"courseid": cid, "courseidnumber": course["idnumber"], "userid": user_id,
                               "userfullname": self._user(user_id)["fullname"], "useridnumber": "",
                               "maxdepth": 2, "gradeitems": [total]})
        return {"usergrades": usergrades, "warnings": []}
