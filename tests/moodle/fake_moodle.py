"""An imitation of a Moodle 4.5 site's Web Services REST server, written from Moodle's sources.

What it reproduces (file references are to Moodle 4.5, ``moodle/``):

* the REST server (``webservice/rest``): PHP-style array parameters (``options[0][name]=…``),
  ``wstoken``/``wsfunction``/``moodlewsrestformat``, the ``moodlewssetting*`` switches, errors as
  HTTP 200 ``{"exception", "errorcode", "message"}`` (``debuginfo`` only in debug mode),
  ``invalidtoken``, ``accessexception`` for a function the service lacks, HTTP 403 with an empty
  body when REST is disabled;
* parameter validation (``external_api::validate_parameters``): missing or unexpected keys and
  wrong types are ``invalid_parameter_exception``;
* text formatting (``core_external\\util``): ``moodlewssettingraw=1`` returns stored text; otherwise
  ``format_string`` strips tags (concatenating multilang spans) and escapes ``&``, and filters run
  only with ``moodlewssettingfilter=1`` (in the token user's language);
* capability effects: ``core_enrol_get_enrolled_users`` (``user_get_user_details``) leaves out
  users the token may not see without ``moodle/user:viewdetails``, first/last names without
  ``moodle/site:viewfullnames``, e-mail without ``moodle/course:useremail`` (or a hidden field),
  ``lastcourseaccess`` when ``lastaccess`` is a hidden user field; never returns ``lang``;
  ``core_completion_get_course_completion_status`` needs ``report/completion:view`` and an active
  enrolment; ``gradereport_user_*`` need ``gradereport/user:view`` and ``moodle/grade:viewall``,
  regrade first, and show hidden totals only with ``moodle/grade:viewhidden``; course custom
  fields of visibility "teachers" need ``moodle/course:update``; a course is only accessible with
  ``moodle/course:view`` (validate_context), hidden ones with ``moodle/course:viewhiddencourses``;
* grade report quirks: ``gradeformatted`` carries the pass/fail icon HTML, the grades table marks
  the total's grade cell ``gradepass``/``gradefail``;
* fault knobs: a function fails N times with a Moodle error, an HTTP 500, a PHP notice before the
  JSON, or a slow answer; every call is logged for counting.
"""
from __future__ import annotations

import html
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ESCO_PYTHON = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"
ESCO_DATA_ANALYSIS = "http://data.europa.eu/esco/skill/2b92a5b2-6758-4ee3-9fb4-b6387a55cc8f"
ESCO_STATISTICS = "http://data.europa.eu/esco/skill/7ee4c2ea-b349-4bd2-81a3-ec31475d4833"

# What docs/moodle.md gives the web service role.
DOCUMENTED_CAPABILITIES = frozenset({
    "webservice/rest:use", "moodle/course:view", "moodle/course:viewhiddencourses",
    "moodle/course:viewparticipants", "moodle/user:viewdetails", "moodle/site:viewfullnames",
    "moodle/course:useremail", "moodle/competency:coursecompetencyview", "report/completion:view",
    "moodle/grade:viewall", "gradereport/user:view",
})
DOCUMENTED_FUNCTIONS = frozenset({
    "core_webservice_get_site_info", "core_course_get_courses_by_field",
    "core_competency_list_course_competencies", "core_enrol_get_enrolled_users",
    "core_completion_get_course_completion_status", "gradereport_user_get_grade_items",
    "gradereport_user_get_grades_table",
})
USER_FIELDS = ("id", "username", "fullname", "firstname", "lastname", "email", "address", "phone1", "phone2",
               "department", "institution", "interests", "firstaccess", "lastaccess", "auth", "confirmed",
               "idnumber", "lang", "theme", "timezone", "mailformat", "description", "descriptionformat", "city",
               "country", "profileimageurlsmall", "profileimageurl", "customfields", "groups", "roles",
               "preferences", "enrolledcourses", "suspended", "lastcourseaccess", "trackforums")
# Keys core_enrol_get_enrolled_users_returns() declares, in order: anything else is cleaned away.
ENROLLED_RETURNS = ("id", "username", "firstname", "lastname", "fullname", "email", "address", "phone1", "phone2",
                    "department", "institution", "idnumber", "interests", "firstaccess", "lastaccess",
                    "lastcourseaccess", "description", "descriptionformat", "city", "country",
                    "profileimageurlsmall", "profileimageurl", "customfields", "groups", "roles", "preferences",
                    "enrolledcourses")
COURSE_CONTACT_ROLES = {"editingteacher"}  # $CFG->coursecontact default
TRACKED_ROLES = {"student"}  # roles with moodle/course:isincompletionreports (and gradebookroles)
CRITERIA_TITLES = {1: "Self completion", 2: "Date", 4: "Activity completion", 5: "Required courses",
                   6: "Course grade", 7: "Manual self completion", 8: "Duration", 9: "Unenrol"}


class WsError(Exception):
    """A Moodle exception as the REST server reports it."""

    def __init__(self, exception: str, errorcode: str, message: str, debuginfo: str | None = None) -> None:
        super().__init__(message)
        self.exception, self.errorcode, self.message, self.debuginfo = exception, errorcode, message, debuginfo


def invalid_parameter(debuginfo: str) -> WsError:
    return WsError("invalid_parameter_exception", "invalidparameter", "Invalid parameter value detected",
                   debuginfo)


def no_capability(name: str) -> WsError:
    return WsError("required_capability_exception", "nopermissions",
                   f"Sorry, but you do not currently have permissions to do that ({name}).")


@dataclass
class Token:
    user_id: int
    functions: set[str] = field(default_factory=lambda: set(DOCUMENTED_FUNCTIONS))
    capabilities: set[str] = field(default_factory=lambda: set(DOCUMENTED_CAPABILITIES))
    site_admin: bool = False
    lang: str = "en"

    def can(self, capability: str) -> bool:
        return self.site_admin or capability in self.capabilities


@dataclass
class CustomField:
    shortname: str
    type: str  # checkbox, select, text, textarea, number, date
    value: str = ""  # stored value; a select stores the 1-based option index
    options: list[str] = field(default_factory=list)
    visibility: int = 2  # 2 everyone, 1 teachers, 0 nobody (course_handler::can_view)
    name: str = ""


@dataclass
class Course:
    id: int
    fullname: str
    shortname: str = ""
    summary: str = ""
    lang: str = ""
    visible: bool = True
    enablecompletion: bool = True
    customfields: list[CustomField] = field(default_factory=list)
    idnumber: str = ""


@dataclass
class User:
    id: int
    firstname: str
    lastname: str
    email: str
    lang: str = "en"
    maildisplay: int = 2  # core_user::MAILDISPLAY_COURSE_MEMBERS_ONLY
    suspended: bool = False


@dataclass
class Enrolment:
    roles: list[str] = field(default_factory=lambda: ["student"])
    active: bool = True
    lastaccess: int = 0


@dataclass
class CourseTotal:
    """The course total grade item and its per-learner final grades."""

    grademax: float = 100.0
    grademin: float = 0.0
    gradepass: float = 0.0
    hidden: bool = False
    grades: dict[int, float] = field(default_factory=dict)
    # A total that depends on hidden activity grades, as shown to someone who may not see them
    # (report_user_showtotalsifcontainhidden): None hides the total, a value replaces it.
    excluding_hidden: dict[int, float | None] = field(default_factory=dict)
    needsupdate: bool = False  # cleared by the regrade every report call does


@dataclass
class Fault:
    function: str
    times: int
    kind: str = "error"  # error | http500 | notice | slow
    errorcode: str = "dmlreadexception"
    exception: str = "dml_read_exception"
    message: str = "Error reading from database"
    seconds: float = 0.0


@dataclass
class MoodleSite:
    """The imitated site's content; tests change it between runs."""

    tokens: dict[str, Token] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    courses: dict[int, Course] = field(default_factory=dict)
    enrolments: dict[int, dict[int, Enrolment]] = field(default_factory=dict)
    competencies: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    criteria: dict[int, list[int]] = field(default_factory=dict)
    criteria_done: dict[tuple[int, int, int], int] = field(default_factory=dict)  # (course, user, type) → time
    completions: dict[tuple[int, int], int] = field(default_factory=dict)  # course_completions.timecompleted
    totals: dict[int, CourseTotal] = field(default_factory=dict)
    hiddenuserfields: set[str] = field(default_factory=set)
    competencies_enabled: bool = True
    completion_enabled: bool = True
    rest_enabled: bool = True
    debug: bool = False
    release: str = "4.5 (Build: 20241007)"
    faults: list[Fault] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    cooked_calls: list[str] = field(default_factory=list)  # functions called without moodlewssettingraw=1

    def calls_to(self, function: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == function]

    def fail(self, function: str, times: int = 1, **kwargs: Any) -> None:
        self.faults.append(Fault(function, times, **kwargs))

    def complete(self, course_id: int, user_id: int, at: int) -> None:
        """Every criterion met at ``at``, and the course marked complete then (as cron aggregates)."""
        for ctype in self.criteria.get(course_id, []):
            self.criteria_done[(course_id, user_id, ctype)] = at
        self.completions[(course_id, user_id)] = at


# --- PHP-style request parsing --------------------------------------------------------------------
def php_params(raw: str) -> dict[str, Any]:
    """``a[0][b]=1&c=2`` → ``{"a": {"0": {"b": "1"}}, "c": "2"}``, as PHP fills ``$_POST``."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        match = re.match(r"^([^\[]+)((?:\[[^\]]*\])*)$", key)
        if not match:
            continue
        path = [match.group(1)] + re.findall(r"\[([^\]]*)\]", match.group(2))
        node = result
        for i, part in enumerate(path):
            if part == "":
                part = str(len(node))
            if i == len(path) - 1:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    break
    return result


def as_list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, dict) or not all(k.isdigit() for k in value):
        raise invalid_parameter(f"{name} => Invalid parameter value detected: Only arrays accepted.")
    return [value[k] for k in sorted(value, key=int)]


def as_int(params: dict[str, Any], name: str, default: int | None = None) -> int:
    if name not in params:
        if default is not None:
            return default
        raise invalid_parameter(f"Invalid parameter value detected (Missing required key in single structure: "
                                f"{name})")
    value = params[name]
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value.strip()):
        raise invalid_parameter(f"{name} => Invalid parameter value detected: Invalid external api parameter: "
                                f"the value is \"{value}\", the server was expecting \"int\" type")
    return int(value)


def only_keys(params: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(params) - allowed)
    if extra:
        raise invalid_parameter(f"Unexpected keys ({', '.join(extra)}) detected in parameter array.")


# --- text formatting ------------------------------------------------------------------------------
def _filter_multilang(text: str, lang: str) -> str:
    """What the multilang filters show a reader of ``lang`` (a plain version for the imitation)."""
    def mlang(match: re.Match[str]) -> str:
        codes = [c.strip().lower() for c in match.group(1).split(",")]
        return match.group(2) if lang in codes else ""
    text = re.sub(r"\{mlang\s+([a-z0-9_,\s-]+)\}(.*?)\{mlang\}", mlang, text, flags=re.S | re.I)

    def spans(match: re.Match[str]) -> str:
        found = dict(re.findall(r'<span[^>]*lang="([^"]+)"[^>]*>(.*?)</span>', match.group(0), re.S))
        return found.get(lang) or found.get("en") or next(iter(found.values()), "")
    return re.sub(r'(?:<span (?:lang="[^"]+" class="multilang"|class="multilang" lang="[^"]+")>.*?</span>\s*){2,}',
                  spans, text, flags=re.S)


class Formatter:
    """``core_external\\util::format_string``/``format_text`` under the request's settings."""

    def __init__(self, raw: bool, filter_: bool, lang: str) -> None:
        self.raw, self.filter, self.lang = raw, filter_, lang

    def string(self, value: str | None) -> str:
        if not value:
            return ""
        if self.raw:
            return value
        text = _filter_multilang(value, self.lang) if self.filter else value
        text = re.sub(r"&(?![#a-zA-Z0-9]+;)", "&amp;", text)
        return re.sub(r"<[^>]*>", "", text).replace("<", "&lt;").replace(">", "&gt;")

    def text(self, value: str | None) -> str:
        if not value:
            return ""
        if self.raw:
            return value
        return _filter_multilang(value, self.lang) if self.filter else value


# --- the server -----------------------------------------------------------------------------------
class FakeMoodle:
    """Serves :class:`MoodleSite` on ``http://127.0.0.1:<port>`` until :meth:`stop`."""

    def __init__(self, site: MoodleSite) -> None:
        self.site = site
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

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
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "application/json") -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def handle(self, handler: BaseHTTPRequestHandler, raw: str) -> None:
        if urlsplit(handler.path).path != "/webservice/rest/server.php":
            self._send(handler, 404, b"<html>Not found</html>", "text/html")
            return
        if not self.site.rest_enabled:
            self._send(handler, 403, b"", "text/html")
            return
        params = php_params(raw)
        prefix = b""
        try:
            with self.lock:
                fault = self._fault(params.get("wsfunction", ""))
            if fault is not None and fault.kind == "http500":
                self._send(handler, 500, b"<html>Internal Server Error</html>", "text/html")
                return
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.seconds)
            if fault is not None and fault.kind == "notice":
                prefix = b"<br />\n<b>Notice</b>:  Undefined index: x in /var/www/moodle/lib/x.php on line 1<br />\n"
            if fault is not None and fault.kind == "error":
                raise WsError(fault.exception, fault.errorcode, fault.message)
            with self.lock:
                result: Any = self.dispatch(params)
        except WsError as exc:
            result = {"exception": exc.exception, "errorcode": exc.errorcode, "message": exc.message}
            if self.site.debug and exc.debuginfo:
                result["debuginfo"] = exc.debuginfo
        self._send(handler, 200, prefix + json.dumps(result).encode())  # Moodle answers errors with 200 too

    def _fault(self, function: str) -> Fault | None:
        for fault in self.site.faults:
            if fault.function == function and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def dispatch(self, params: dict[str, Any]) -> Any:
        token_value, function = params.pop("wstoken", ""), params.pop("wsfunction", "")
        fmt = params.pop("moodlewsrestformat", "xml")
        settings = {k[len("moodlewssetting"):]: params.pop(k) for k in list(params) if k.startswith("moodlewssetting")}
        if fmt != "json":
            raise WsError("moodle_exception", "invalidparameter", "this imitation speaks JSON only")
        token = self.site.tokens.get(token_value)
        if token is None:
            raise WsError("moodle_exception", "invalidtoken", "Invalid token - token not found")
        if not token.can("webservice/rest:use"):
            raise no_capability("Use REST protocol")
        if function not in token.functions:
            raise WsError("webservice_access_exception", "accessexception", "Access control exception",
                          f"Access to the function {function}() is not allowed.")
        self.site.calls.append((function, params))
        self.token = token
        raw = settings.get("raw") in ("1", "true")
        if not raw:
            self.site.cooked_calls.append(function)
        self.fmt = Formatter(raw, settings.get("filter") in ("1", "true"), token.lang)
        return getattr(self, function)(params)

    # --- helpers --------------------------------------------------------------------------------
    def _course(self, cid: int, validate: bool = True) -> Course:
        course = self.site.courses.get(cid)
        if course is None:
            raise WsError("dml_missing_record_exception", "invalidrecord",
                          "Can't find data record in database table course.")
        if validate:
            self._validate_course_context(course)
        return course

    def _validate_course_context(self, course: Course) -> None:
        """require_login_in_context: access without enrolment needs moodle/course:view."""
        if not self.token.can("moodle/course:view"):
            raise WsError("require_login_exception", "requireloginerror", "Course or activity not accessible.")
        if not course.visible and not self.token.can("moodle/course:viewhiddencourses"):
            raise WsError("require_login_exception", "requireloginerror", "Course or activity not accessible.")

    def _user(self, uid: int) -> User:
        user = self.site.users.get(uid)
        if user is None:
            raise WsError("dml_missing_record_exception", "invalidrecord",
                          "Can't find data record in database table user.")
        return user

    def _hidden(self, name: str) -> bool:
        return name in self.site.hiddenuserfields and not self.token.can("moodle/course:viewhiddenuserfields")

    # --- core_webservice ------------------------------------------------------------------------
    def core_webservice_get_site_info(self, params: dict[str, Any]) -> dict[str, Any]:
        only_keys(params, {"serviceshortnames"})
        return {"sitename": "Imitation Moodle", "username": "edcbridge", "firstname": "EDC", "lastname": "Bridge",
                "fullname": "EDC Bridge", "lang": self.token.lang, "userid": self.token.user_id,
                "siteurl": self.url, "userpictureurl": f"{self.url}/theme/image.php/boost/core/1/u/f1",
                "functions": [{"name": f, "version": "2024100700"} for f in sorted(self.token.functions)],
                "downloadfiles": 0, "uploadfiles": 0, "release": self.site.release, "version": "2024100700",
                "mobilecssurl": "", "advancedfeatures": [{"name": "usecomments", "value": 1}],
                "usercanmanageownfiles": True, "userquota": 0, "usermaxuploadfilesize": -1, "userhomepage": 1,
                "userprivateaccesskey": "x", "siteid": 1, "sitecalendartype": "gregorian",
                "usercalendartype": "gregorian", "userissiteadmin": self.token.site_admin, "theme": "boost",
                "limitconcurrentlogins": 0, "policyagreed": 1}

    # --- core_course ----------------------------------------------------------------------------
    def _customfields(self, course: Course) -> list[dict[str, Any]]:
        out = []
        for cf in course.customfields:
            if cf.visibility == 0 or (cf.visibility == 1 and not self.token.can("moodle/course:update")):
                continue
            if cf.type == "checkbox":
                value: Any = "Yes" if cf.value == "1" else "No"
            elif cf.type == "select":
                index = int(cf.value) if cf.value.isdigit() else 0
                value = re.sub(r"<[^>]*>", "", cf.options[index - 1]) if 0 < index <= len(cf.options) else None
            else:
                value = re.sub(r"<[^>]*>", "", html.escape(cf.value, quote=False)) if cf.value else None
            out.append({"type": cf.type, "value": value, "valueraw": cf.value,
                        "name": cf.name or cf.shortname, "shortname": cf.shortname})
        return out

    def _course_record(self, course: Course) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": course.id, "fullname": self.fmt.string(course.fullname),
            "displayname": self.fmt.string(course.fullname), "shortname": self.fmt.string(course.shortname),
            "courseimage": f"{self.url}/pluginfile.php/1/course/generated/{course.id}.svg",
            "categoryid": 1, "categoryname": "Miscellaneous", "sortorder": 10000 + course.id,
            "summary": self.fmt.text(course.summary), "summaryformat": 1, "summaryfiles": [],
            "overviewfiles": [], "showactivitydates": True, "showcompletionconditions": True, "contacts": [],
            "enrollmentmethods": ["manual"],
        }
        fields = self._customfields(course)
        if course.customfields:
            record["customfields"] = fields
        record.update({"filters": [], "format": "topics", "showgrades": 1, "newsitems": 5,
                       "startdate": 1767225600, "enddate": 0, "maxbytes": 0, "showreports": 0,
                       "visible": int(course.visible), "groupmode": 0, "groupmodeforce": 0, "defaultgroupingid": 0,
                       "enablecompletion": int(course.enablecompletion), "completionnotify": 0,
                       "lang": course.lang, "theme": "", "marker": 0})
        if self.token.can("moodle/course:update"):
            record.update({"idnumber": course.idnumber, "legacyfiles": 0, "calendartype": "", "timecreated": 1764547200,
                           "timemodified": 1764547200, "requested": 0, "cacherev": 1764547200})
        return record

    def core_course_get_courses_by_field(self, params: dict[str, Any]) -> dict[str, Any]:
        only_keys(params, {"field", "value"})
        name, value = params.get("field", ""), params.get("value", "")
        if name == "":
            courses = list(self.site.courses.values())
        elif name in ("id", "ids"):
            if not re.fullmatch(r"[0-9,]*", value):
                raise invalid_parameter("value => Invalid parameter value detected")
            wanted = {int(v) for v in value.split(",") if v}
            courses = [c for cid, c in sorted(self.site.courses.items()) if cid in wanted]
        elif name in ("shortname", "idnumber", "category"):
            courses = [c for c in self.site.courses.values() if str(getattr(c, name, "")) == value]
        else:
            raise WsError("invalid_parameter_exception", "invalidparameter", "Invalid parameter value detected",
                          "Invalid field name")
        out = []
        for course in sorted(courses, key=lambda c: c.id):
            if not course.visible and not (self.token.can("moodle/course:viewhiddencourses")
                                           or self.token.can("moodle/course:update")):
                continue
            try:
                self._validate_course_context(course)
            except WsError:
                public = self._course_record(course)  # the public information only
                out.append({k: v for k, v in public.items() if k in (
                    "id", "fullname", "displayname", "shortname", "courseimage", "categoryid", "categoryname",
                    "sortorder", "summary", "summaryformat", "summaryfiles", "overviewfiles", "showactivitydates",
                    "showcompletionconditions", "contacts", "enrollmentmethods", "customfields")})
                continue
            out.append(self._course_record(course))
        return {"courses": out, "warnings": []}

    # --- core_competency ------------------------------------------------------------------------
    def core_competency_list_course_competencies(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        only_keys(params, {"id"})
        cid = as_int(params, "id")
        course = self._course(cid)
        if not self.site.competencies_enabled:
            raise WsError("moodle_exception", "competenciesarenotenabled", "Competencies are not enabled.")
        if not (self.token.can("moodle/competency:coursecompetencyview")
                or self.token.can("moodle/competency:coursecompetencymanage")):
            raise no_capability("View course competencies")
        out = []
        for i, comp in enumerate(self.site.competencies.get(course.id, []), start=1):
            if not isinstance(comp, dict):  # a test's stand-in for a plugin that alters the answer
                out.append(comp)
                continue
            out.append({
                "competency": {
                    "shortname": self.fmt.string(comp["shortname"]), "idnumber": comp["idnumber"],
                    "description": self.fmt.text(comp.get("description", "")), "descriptionformat": 1,
                    "sortorder": i, "parentid": 0, "path": "/0/", "ruleoutcome": 0, "ruletype": None,
                    "ruleconfig": None, "scaleid": None, "scaleconfiguration": None, "competencyframeworkid": 1,
                    "id": comp["id"], "timecreated": 1764547200, "timemodified": 1764547200, "usermodified": 2},
                "coursecompetency": {"courseid": course.id, "competencyid": comp["id"], "sortorder": i,
                                     "ruleoutcome": 0, "id": 100 + comp["id"], "timecreated": 1764547200,
                                     "timemodified": 1764547200, "usermodified": 2},
            })
        return out

    # --- core_enrol -----------------------------------------------------------------------------
    def _user_details(self, user: User, course: Course, fields: list[str],
                      enrolment: Enrolment) -> dict[str, Any] | None:
        """user_get_user_details() for a course, then cleaned to the function's return keys."""
        if not self.token.can("moodle/user:viewdetails") and not set(enrolment.roles) & COURSE_CONTACT_ROLES:
            return None
        fullnames = self.token.can("moodle/site:viewfullnames")
        details: dict[str, Any] = {"id": user.id}
        if "username" in fields and self.token.can("moodle/user:viewalldetails"):
            details["username"] = f"user{user.id}"
        if fullnames:
            if "firstname" in fields:
                details["firstname"] = user.firstname
            if "lastname" in fields:
                details["lastname"] = user.lastname
        details["fullname"] = f"{user.firstname} {user.lastname}"
        if "lastcourseaccess" in fields and not self._hidden("lastaccess"):
            details["lastcourseaccess"] = enrolment.lastaccess
        email_visible = not self._hidden("email") and (user.maildisplay == 1
                                                       or self.token.can("moodle/course:useremail"))
        if "email" in fields and email_visible:
            details["email"] = user.email
        if "roles" in fields:
            details["roles"] = [{"roleid": 5 if r == "student" else 3, "name": "", "shortname": r,
                                 "sortorder": 0} for r in enrolment.roles]
        if "enrolledcourses" in fields:
            details["enrolledcourses"] = [{"id": course.id, "fullname": self.fmt.string(course.fullname),
                                           "shortname": course.shortname}]
        if "lang" in fields and self.token.can("moodle/user:viewalldetails"):
            details["lang"] = user.lang  # computed, then cleaned away: not in the returns structure
        return {k: details[k] for k in ENROLLED_RETURNS if k in details}

    def core_enrol_get_enrolled_users(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        only_keys(params, {"courseid", "options"})
        cid = as_int(params, "courseid")
        options = {}
        for option in as_list(params.get("options"), "options"):
            if not isinstance(option, dict) or set(option) != {"name", "value"}:
                raise invalid_parameter("options => Invalid parameter value detected: Missing required key")
            options[option["name"]] = option["value"]
        fields = list(USER_FIELDS)
        if options.get("userfields"):
            fields = [f.strip() for f in options["userfields"].split(",")]
            for name in fields:
                if name not in USER_FIELDS:
                    raise WsError("moodle_exception", "invaliduserfield", f"Invalid user field: {name}")
        sortby = options.get("sortby", "id")
        if sortby not in ("id", "firstname", "lastname", "siteorder"):
            raise WsError("invalid_parameter_exception", "invalidparameter", "Invalid parameter value detected")
        course = self._course(cid, validate=False)
        try:
            self._validate_course_context(course)
        except WsError as exc:
            raise WsError("moodle_exception", "errorcoursecontextnotvalid",
                          f"You cannot execute functions in the course context (course id:{cid}). "
                          f"The error message was: {exc.message}") from None
        if not (self.token.can("moodle/course:viewparticipants") or self.token.can("moodle/course:enrolreview")):
            raise no_capability("View participants")
        onlyactive = options.get("onlyactive", "0") not in ("", "0")
        if onlyactive and not self.token.can("moodle/course:enrolreview"):
            raise no_capability("Review course enrolments")
        enrolled = self.site.enrolments.get(cid, {})
        ids = sorted(uid for uid, e in enrolled.items() if e.active or not onlyactive)
        if sortby in ("firstname", "lastname"):
            ids.sort(key=lambda u: getattr(self.site.users[u], sortby))
        if options.get("sortdirection", "ASC").upper() == "DESC":
            ids.reverse()
        start = int(options.get("limitfrom", 0) or 0)
        count = int(options.get("limitnumber", 0) or 0)
        page = ids[start:start + count] if count else ids[start:]
        out = []
        for uid in page:
            details = self._user_details(self.site.users[uid], course, fields, enrolled[uid])
            if details is not None:
                out.append(details)
        return out

    # --- core_completion ------------------------------------------------------------------------
    def core_completion_get_course_completion_status(self, params: dict[str, Any]) -> dict[str, Any]:
        only_keys(params, {"courseid", "userid"})
        cid, uid = as_int(params, "courseid"), as_int(params, "userid")
        course = self._course(cid)
        self._user(uid)
        if not self.site.completion_enabled or not course.enablecompletion \
                or not self.token.can("report/completion:view"):
            raise WsError("moodle_exception", "cannotviewreport", "You cannot view this report")
        enrolment = self.site.enrolments.get(cid, {}).get(uid)
        if enrolment is None or not enrolment.active or not set(enrolment.roles) & TRACKED_ROLES:
            raise WsError("moodle_exception", "usernotenroled", "User is not enrolled in this course")
        types = self.site.criteria.get(cid, [])
        if not types:
            raise WsError("moodle_exception", "nocriteriaset", "No completion criteria set for this course")
        rows = []
        for ctype in types:
            done = self.site.criteria_done.get((cid, uid, ctype))
            rows.append({"type": ctype, "title": CRITERIA_TITLES.get(ctype, "Criteria"),
                         "status": "Yes" if done else "No", "complete": done is not None,
                         "timecompleted": done,
                         "details": {"type": CRITERIA_TITLES.get(ctype, ""), "criteria": "",
                                     "requirement": "", "status": ""}})
        return {"completionstatus": {"completed": (cid, uid) in self.site.completions, "aggregation": 1,
                                     "completions": rows}, "warnings": []}

    # --- gradereport_user -----------------------------------------------------------------------
    def _grade_access(self, params: dict[str, Any]) -> tuple[Course, list[int]]:
        only_keys(params, {"courseid", "userid", "groupid"})
        cid = as_int(params, "courseid")
        uid = as_int(params, "userid", 0)
        as_int(params, "groupid", 0)
        course = self._course(cid)
        if not self.token.can("gradereport/user:view"):
            raise no_capability("View your own grade report")
        if uid == 0:
            if not self.token.can("moodle/grade:viewall"):
                raise no_capability("View grades of other users")
            enrolled = self.site.enrolments.get(cid, {})
            return course, sorted(u for u, e in enrolled.items() if e.active and set(e.roles) & TRACKED_ROLES)
        self._user(uid)
        if not self.token.can("moodle/grade:viewall"):
            raise WsError("moodle_exception", "nopermissiontoviewgrades", "Can not view grades.")
        return course, [uid]

    def _total_as_seen(self, cid: int, uid: int) -> tuple[float | None, bool]:
        """The course total shown to the token's user, and whether the grade itself is hidden."""
        total = self.site.totals.get(cid)
        if total is None:
            return None, False
        total.needsupdate = False  # grade_regrade_final_grades() ran first
        value = total.grades.get(uid)
        viewhidden = self.token.can("moodle/grade:viewhidden")
        if total.hidden and not viewhidden:
            return None, True
        if uid in total.excluding_hidden and not viewhidden:
            return total.excluding_hidden[uid], total.hidden
        return value, total.hidden

    def _pass_icon(self, cid: int, value: float | None) -> str:
        total = self.site.totals[cid]
        if value is None or not total.gradepass:
            return ""
        if value >= total.gradepass:
            return '<i class="icon fa fa-check text-success fa-fw " title="Pass" role="img" aria-label="Pass"></i>'
        return '<i class="icon fa fa-xmark text-danger fa-fw " title="Fail" role="img" aria-label="Fail"></i>'

    def gradereport_user_get_grade_items(self, params: dict[str, Any]) -> dict[str, Any]:
        course, users = self._grade_access(params)
        usergrades = []
        for uid in users:
            user = self._user(uid)
            items = []
            total = self.site.totals.get(course.id)
            if total is not None:
                value, hidden = self._total_as_seen(course.id, uid)
                items.append({
                    "id": 900 + course.id, "itemname": None, "itemtype": "course", "itemmodule": None,
                    "iteminstance": course.id, "itemnumber": None, "idnumber": "", "categoryid": None,
                    "outcomeid": None, "scaleid": None, "locked": False, "weightraw": 1, "weightformatted": "100.00 %",
                    "graderaw": value, "gradedatesubmitted": None, "gradedategraded": None,
                    "gradehiddenbydate": False, "gradeneedsupdate": False, "gradeishidden": hidden,
                    "gradeislocked": False, "gradeisoverridden": False,
                    "gradeformatted": "-" if value is None else self._pass_icon(course.id, value) + f"{value:.2f}",
                    "grademin": total.grademin, "grademax": total.grademax,
                    "rangeformatted": f"{total.grademin:.2f}&ndash;{total.grademax:.2f}",
                    "percentageformatted": "-" if value is None else f"{100 * value / total.grademax:.2f} %",
                    "feedback": "", "feedbackformat": 0})
            usergrades.append({"courseid": course.id, "courseidnumber": course.idnumber, "userid": uid,
                               "userfullname": f"{user.firstname} {user.lastname}", "useridnumber": "",
                               "maxdepth": 2, "gradeitems": items})
        return {"usergrades": usergrades, "warnings": []}

    def gradereport_user_get_grades_table(self, params: dict[str, Any]) -> dict[str, Any]:
        course, users = self._grade_access(params)
        tables = []
        for uid in users:
            user = self._user(uid)
            rows: list[dict[str, Any]] = []
            total = self.site.totals.get(course.id)
            if total is not None:
                value, hidden = self._total_as_seen(course.id, uid)
                status = ""
                if value is not None and total.gradepass and not hidden:
                    status = " gradepass" if value >= total.gradepass else " gradefail"
                rows.append({
                    "itemname": {"class": "level1 levelodd item b1b", "colspan": 1,
                                 "content": '<div class="courseitem d-flex align-items-center">Course total</div>',
                                 "id": f"row_{900 + course.id}_{uid}"},
                    "grade": {"class": f"level1 levelodd item b1b itemcenter {status}".rstrip(),
                              "content": "-" if value is None else self._pass_icon(course.id, value) + f"{value:.2f}",
                              "headers": f"cat_{course.id}_{uid} row_{900 + course.id}_{uid} grade{uid}"},
                    "parentcategories": []})
            tables.append({"courseid": course.id, "userid": uid, "userfullname": f"{user.firstname} {user.lastname}",
                           "maxdepth": 2, "tabledata": rows})
        return {"tables": tables, "warnings": []}


def seeded_site(token: str, completed_at: int) -> MoodleSite:
    """A site with marked and unmarked courses, ESCO-tagged competencies and varied learners."""
    site = MoodleSite(tokens={token: Token(user_id=2)})

    def marker(value: str = "1") -> CustomField:
        return CustomField("edc_issue", "checkbox", value, name="European Digital Credential")

    site.courses = {
        2: Course(2, '<span lang="en" class="multilang">Data Analysis with Python</span>'
                     '<span lang="fr" class="multilang">Analyse de données avec Python</span>', "DAP",
                  summary="<p>Clean, explore &amp; model data.</p>", lang="en",
                  customfields=[marker(), CustomField("edc_ects", "text", "5"),
                                CustomField("edc_eqf", "select", "6", [f"Level {i}" for i in range(1, 9)]),
                                CustomField("edc_iscedf", "text", "0613"), CustomField("edc_lang", "text", "en, fr")]),
        3: Course(3, "Statistique descriptive", "STAT", lang="fr", customfields=[marker()]),
        4: Course(4, "Unmarked course", "UNM", customfields=[marker("0")]),
        5: Course(5, "Broken metadata", "BRK", customfields=[marker(), CustomField("edc_eqf", "text", "nine")]),
    }
    site.users = {
        10: User(10, "Camille", "Martin", "camille@example.org", "fr"),
        11: User(11, "Jonas", "Weber", "", "de"),
        12: User(12, "Ana", "Silva", "ana@example.org", "pt_br"),
        13: User(13, "Lea", "Novak", "lea@example.org"),
        14: User(14, "Teach", "Er", "teacher@example.org"),
    }
    site.enrolments = {
        2: {10: Enrolment(), 11: Enrolment(), 12: Enrolment(), 13: Enrolment(), 14: Enrolment(["editingteacher"])},
        3: {10: Enrolment()}, 4: {10: Enrolment()}, 5: {10: Enrolment()},
    }
    site.competencies = {
        2: [{"id": 1, "shortname": "Python (computer programming)", "idnumber": ESCO_PYTHON},
            {"id": 2, "shortname": "{mlang en}Perform data analysis{mlang}{mlang fr}Analyser des données{mlang}",
             "idnumber": ESCO_DATA_ANALYSIS},
            {"id": 3, "shortname": "Local lab safety rule", "idnumber": "LAB-SAFETY-01"}],
        3: [{"id": 4, "shortname": "Statistiques", "idnumber": ESCO_STATISTICS}],
    }
    site.criteria = {2: [4, 6], 3: [4], 4: [4], 5: [4]}
    site.totals = {2: CourseTotal(grades={10: 87.5, 11: 64.0}, gradepass=50.0)}
    for cid, uid in ((2, 10), (2, 11), (4, 10), (5, 10)):
        site.complete(cid, uid, completed_at)
    return site
