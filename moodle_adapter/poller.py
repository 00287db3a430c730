"""One polling pass: Moodle courses → course templates and completions in the sidecar.

Moodle's Web Services cannot list "completions since T": a learner's completion is only read
one learner at a time (``core_completion_get_course_completion_status``). So the pass keeps,
per course and learner, where each stands (``state.py``) and asks about: learners never seen,
learners whose last course access moved since they were last asked, and, within a fixed budget
per run (``poll.checks_per_run``, shared by the courses), the other incomplete learners, the
longest unchecked first. A small site is thus checked in full every run; a large one costs at
most the budget, and an inactive learner completed by a teacher is found within
open learners / budget runs. Participants are read in pages (``poll.page_size``).

Nothing is given up: a learner leaves ``pending`` only when the sidecar accepted the completion;
a Moodle error on a grade keeps the learner waiting rather than sending without grade; the
sidecar being down stops the sending but not the reading; a backfill is a course state that
lasts until every past completion went through.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from moodle_adapter import moodle_data
from moodle_adapter.completion import LearnerDataError, build_completion
from moodle_adapter.config import Config
from moodle_adapter.moodle_client import REQUIRED_FUNCTIONS, MoodleClient, MoodleError
from moodle_adapter.report import RunReport
from moodle_adapter.sidecar_client import SidecarClient, SidecarRejected, SidecarUnavailable
from moodle_adapter.state import CourseState, State
from moodle_adapter.template import CourseDataError, build_template, is_ticked

# Moodle error codes that concern the whole course, so asking about further learners is pointless.
COURSE_WIDE_ERRORS = {"nocriteriaset", "cannotviewreport", "invalidrecord", "requireloginerror",
                      "errorcoursecontextnotvalid", "nopermissions", "nopermissiontoviewgrades"}
# Moodle error codes that concern the whole site or token: the pass cannot do anything.
SITE_WIDE_ERRORS = {"invalidtoken", "accessexception", "servicerequireslogin", "sitemaintenance",
                    "unreachable", "timeout", "httperror", "invalidresponse", "restdisabled"}
COMPETENCIES_OFF = {"competenciesarenotenabled"}
# What a missing capability looks like, per function, for the report.
CAPABILITY_HINTS = {
    "core_completion_get_course_completion_status": "report/completion:view (or completion is off for the course)",
    "core_enrol_get_enrolled_users": "moodle/course:viewparticipants",
    "core_competency_list_course_competencies": "moodle/competency:coursecompetencyview",
    "gradereport_user_get_grade_items": "gradereport/user:view and moodle/grade:viewall",
    "gradereport_user_get_grades_table": "gradereport/user:view and moodle/grade:viewall",
}


class SiteError(Exception):
    """The Moodle site or token is unusable (wrong token, service lacks functions…)."""


class SidecarDown(Exception):
    """Raised inside a course when the sidecar stops answering: the pass stops sending."""


def _describe(exc: MoodleError) -> str:
    text = f"{exc.function}: {exc.errorcode}: {exc.message}"
    if exc.errorcode in ("nopermissions", "cannotviewreport", "nopermissiontoviewgrades") \
            and exc.function in CAPABILITY_HINTS:
        text += f" (the token's role needs {CAPABILITY_HINTS[exc.function]})"
    if exc.errorcode in ("requireloginerror", "errorcoursecontextnotvalid"):
        text += " (the token's role needs moodle/course:view, and moodle/course:viewhiddencourses for hidden courses)"
    return text


def _user_hash(user: dict[str, Any]) -> str:
    data = json.dumps([user.get("firstname"), user.get("lastname"), user.get("email")], ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


class Poller:
    def __init__(self, config: Config, moodle: MoodleClient, sidecar: SidecarClient,
                 emit: Callable[[str], None] = print, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.moodle = moodle
        self.sidecar = sidecar
        self.emit = emit  # where --dry-run writes what it would send
        self.clock = clock

    # --- site and courses ---------------------------------------------------------------------
    def check_site(self) -> dict[str, Any]:
        """Check the token and that the service offers every function the poller calls."""
        try:
            info = self.moodle.site_info()
        except MoodleError as exc:
            raise SiteError(f"Moodle refused the token check: {exc.errorcode}: {exc.message}") from None
        offered = {f.get("name") for f in info.get("functions") or []}
        missing = [name for name in REQUIRED_FUNCTIONS if name not in offered]
        if missing:
            raise SiteError("the Web Services service of this token lacks: " + ", ".join(missing))
        return info

    def select_courses(self, report: RunReport) -> list[dict[str, Any]]:
        """Configured course ids plus every course whose marker custom field is set."""
        chosen: dict[int, dict[str, Any]] = {}
        if self.config.course_ids:
            found = self.moodle.courses_by_field("ids", ",".join(str(i) for i in self.config.course_ids))
            for course in found:
                chosen[int(course["id"])] = course
            for cid in self.config.course_ids:
                if cid not in chosen:
                    report.error(cid, None, "course not found, or hidden from the token's user "
                                            "(moodle/course:viewhiddencourses)")
        marker = self.config.marker_field
        if marker:
            courses = [c for c in self.moodle.courses_by_field() if int(c["id"]) != 1 and c.get("format") != "site"]
            with_field = [c for c in courses if marker in moodle_data.customfields(c)]
            if courses and not with_field:
                report.error(None, None, f"no course shows the custom field '{marker}': it does not exist, or its "
                                         "visibility is 'Teachers' (the token's role then needs moodle/course:update) "
                                         "or 'Nobody'; set it to 'Everyone'")
            for course in with_field:
                if is_ticked(moodle_data.customfields(course), marker):
                    chosen.setdefault(int(course["id"]), course)
        return [chosen[k] for k in sorted(chosen)]

    # --- the pass -----------------------------------------------------------------------------
    def run_once(self, backfill: bool = False, dry_run: bool = False) -> RunReport:
        report = RunReport()
        calls_before = self.moodle.calls
        state = State.load(self.config.state_path)
        try:
            courses = self.select_courses(report)
        except MoodleError as exc:
            report.error(None, None, _describe(exc))
            report.moodle_calls = self.moodle.calls - calls_before
            return report
        self._sidecar_up = True
        # The re-check budget is shared evenly, so that no course waits behind a large one.
        self._budget = max(1, self.config.poll["checks_per_run"] // max(1, len(courses)))
        for course in courses:
            report.courses += 1
            cid = int(course["id"])
            cstate = state.course(cid, int(self.clock()))
            if backfill and not cstate.backfill:
                cstate.backfill = cstate.dirty = True
            sent_before = report.completions_sent + report.templates_sent
            try:
                self._poll_course(course, cstate, report, dry_run)
            except SidecarDown as exc:
                self._sidecar_up = False
                report.error(cid, None, f"{exc} (completions kept: the next run sends them)")
            except MoodleError as exc:
                cstate.dirty = True  # keep what this course learnt before the error
                report.error(cid, None, _describe(exc) + ("" if not exc.transient else " (the next run retries)"))
                if exc.errorcode in SITE_WIDE_ERRORS:
                    self._count(cstate, report)
                    break
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                # A Moodle version or plugin answering in another shape: report it, go on.
                report.error(cid, None, f"unexpected answer from Moodle ({type(exc).__name__}: {exc})")
            self._count(cstate, report)
            if not dry_run and report.completions_sent + report.templates_sent > sent_before:
                state.save()  # after each course that sent something: a crash later cannot lose it
        if not dry_run and state.dirty:
            state.save()
        report.moodle_calls = self.moodle.calls - calls_before
        return report

    @staticmethod
    def _count(cstate: CourseState, report: RunReport) -> None:
        report.waiting += cstate.count("pending")
        report.refused += cstate.count("refused")
        if not cstate.backfill:
            report.past += cstate.count("past")
        else:
            report.waiting += cstate.count("past")

    def _learners(self, cid: int, report: RunReport) -> dict[str, dict[str, Any]]:
        """The course's participants with a learner role, read page by page."""
        roles = set(self.config.learner_roles)
        size = self.config.poll["page_size"]
        learners: dict[str, dict[str, Any]] = {}
        start = 0
        while True:
            page = self.moodle.enrolled_users(cid, start, size)
            for user in page:
                if roles & {r.get("shortname") for r in user.get("roles") or []}:
                    learners[str(user["id"])] = user
            if len(page) < size:
                break
            start += size
        if learners and all("firstname" not in u and "lastname" not in u for u in learners.values()):
            report.error(cid, None, "Moodle returns no first or last names: the token's role needs "
                                    "moodle/site:viewfullnames")
        if not learners:
            # Moodle leaves out, without error, every participant the token may not see in detail;
            # the gradebook lists learners regardless, so it tells an empty course from a hidden one.
            hidden = len(self.moodle.grade_items(cid))
            if hidden:
                report.error(cid, None, f"Moodle shows none of the course's {hidden} graded learner(s) as "
                                        "participants: the token's role needs moodle/user:viewdetails")
        return learners

    @staticmethod
    def _moved(entry: dict[str, Any], user: dict[str, Any]) -> bool:
        """The learner came back to the course since last asked (the usual way to complete)."""
        access = user.get("lastcourseaccess")
        return access is not None and int(access) > int(entry.get("access", 0))

    @staticmethod
    def _still_open(user: dict[str, Any], now: int) -> dict[str, Any]:
        return {"s": "open", "checked": now, "access": int(user.get("lastcourseaccess") or 0)}

    def _due(self, cstate: CourseState, learners: dict[str, dict[str, Any]], budget: int) -> list[str]:
        """Who to ask this run: new learners, learners back in the course, then the budget's worth
        of the other incomplete learners, the longest unchecked first."""
        due: list[str] = []
        waiting: list[tuple[int, int, str]] = []
        for uid, user in learners.items():
            entry = cstate.learners.get(uid)
            if entry is None or (entry.get("s") == "open" and self._moved(entry, user)):
                due.append(uid)
            elif entry.get("s") == "open":
                waiting.append((int(entry.get("checked", 0)), int(uid), uid))
        waiting.sort()
        due.extend(uid for _, _, uid in waiting[:budget])
        return due

    def _probe(self, cid: int, cstate: CourseState, learners: dict[str, dict[str, Any]], now: int,
               report: RunReport, budget: int) -> None:
        """Ask Moodle about the learners who may have completed since last asked."""
        for uid in self._due(cstate, learners, budget):
            user = learners[uid]
            entry = cstate.learners.get(uid)
            report.checked += 1
            try:
                status = self.moodle.completion_status(cid, int(uid))
            except MoodleError as exc:
                if exc.errorcode in COURSE_WIDE_ERRORS or exc.errorcode in SITE_WIDE_ERRORS:
                    raise
                if exc.errorcode == "usernotenroled":
                    # Suspended or ended enrolment: Moodle does not read completion for it.
                    cstate.learners[uid] = self._still_open(user, now)
                    continue
                report.error(cid, uid, _describe(exc) + " (asked again next run)")
                continue
            completed, finished, criteria = moodle_data.completion_facts(status)
            if not completed:
                cstate.learners[uid] = self._still_open(user, now)
                continue
            if finished is None:
                report.warn(cid, uid, "complete, but no criterion carries a completion time: the time it was "
                                      "first seen complete is used")
                finished = now
            past = entry is None and finished < cstate.since
            cstate.learners[uid] = {"s": "past" if past else "pending", "done": finished,
                                    "crit": [[c["type"], int(c["complete"])] for c in criteria]}

    def _poll_course(self, course: dict[str, Any], cstate: CourseState, report: RunReport, dry_run: bool) -> None:
        cid = int(course["id"])
        now = int(self.clock())
        learners = self._learners(cid, report)
        checked = report.checked
        self._probe(cid, cstate, learners, now, report, self._budget)
        if report.checked > checked:
            cstate.dirty = True

        to_send = []
        for uid, entry in cstate.learners.items():
            status = entry.get("s")
            if status == "pending" or (status == "past" and cstate.backfill):
                to_send.append(uid)
            elif status == "refused":
                user = learners.get(uid)
                changed = user is not None and _user_hash(user) != entry.get("user")
                if changed or now - int(entry.get("at", 0)) >= self.config.poll["refused_retry"]:
                    to_send.append(uid)
                else:
                    report.error(cid, uid, f"refused by the sidecar: {entry.get('error')} (sent again when the "
                                           "learner's data changes, or a day later)")
        # Learners whose own data cannot make a completion are reported without asking Moodle more.
        ready = [uid for uid in to_send if self._learner_ready(cid, cstate, uid, learners.get(uid), report)]
        template_due = now - cstate.template_checked >= self.config.poll["template_refresh"]
        if not ready and not template_due:
            return
        cstate.dirty = True
        if not self._ensure_template(course, cstate, report, dry_run, now):
            for uid in ready:
                cstate.learners[uid]["error"] = "held: the course's template could not be sent"
            return
        if not ready:
            return
        if not self._sidecar_up and not dry_run:
            report.error(cid, None, f"{len(ready)} completion(s) not sent: the sidecar is unavailable "
                                    "(kept: the next run sends them)")
            return
        grades = self._grades(cid, ready, report)
        for uid in sorted(ready, key=int):
            self._send(course, cstate, uid, learners[uid], grades, report, dry_run)
        if cstate.backfill and not cstate.count("past"):
            cstate.backfill = False  # every past completion went through

    def _ensure_template(self, course: dict[str, Any], cstate: CourseState, report: RunReport, dry_run: bool,
                         now: int, force: bool = False) -> bool:
        """Build the course's template and send it when it changed; False when it could not be."""
        cid = int(course["id"])
        try:
            comps = moodle_data.competencies(self.moodle.course_competencies(cid))
        except MoodleError as exc:
            if exc.errorcode not in COMPETENCIES_OFF:
                raise
            report.warn(cid, None, "competencies are disabled on this site: no learning outcome")
            comps = []
        try:
            built = build_template(moodle_data.course_input(course), moodle_data.customfields(course), comps,
                                   self.config.fields, self.config.defaults, self.config.policy)
        except CourseDataError as exc:
            report.error(cid, None, f"{exc} (completions of this course wait until it is fixed)")
            return False
        for warning in built.warnings:
            report.warn(cid, None, warning)
        cstate.template_checked = now
        if built.digest == cstate.template_hash and not force:
            return True
        if dry_run:
            self.emit(json.dumps({"action": "PUT", "path": self.sidecar.template_path(str(cid)),
                                  "body": built.template}, ensure_ascii=False, sort_keys=True))
            return True
        if not self._sidecar_up:
            report.error(cid, None, "template not sent: the sidecar is unavailable")
            return False
        try:
            answer = self.sidecar.put_template(str(cid), built.template)
        except SidecarRejected as exc:
            report.error(cid, None, f"template refused by the sidecar: {exc} (completions of this course wait)")
            return False
        except SidecarUnavailable as exc:
            raise SidecarDown(f"template not sent: {exc}") from None
        esco = answer.get("esco") or {}
        for kind in ("unknown", "obsolete"):
            for uri in esco.get(kind) or []:
                report.warn(cid, None, f"ESCO skill {kind} to the sidecar: {uri}")
        cstate.template_hash = built.digest
        report.templates_sent += 1
        return True

    def _grades(self, cid: int, uids: list[str], report: RunReport) -> dict[str, Any]:
        """Each learner's course total as they may see it: ``{uid: grade input or None}``, or an
        exception object for learners whose grade could not be read (they are not sent)."""
        out: dict[str, Any] = {}
        if not uids:
            return out
        items: dict[str, dict[str, Any] | None] = {}
        tables: dict[str, dict[str, Any]] = {}
        bulk = len(uids) >= self.config.poll["bulk_grades"]
        try:
            if bulk:
                for usergrade in self.moodle.grade_items(cid):
                    items[str(usergrade["userid"])] = moodle_data.course_total(usergrade)
            for uid in uids:
                if uid not in items:
                    try:
                        answer = self.moodle.grade_items(cid, int(uid))
                        items[uid] = moodle_data.course_total(answer[0]) if answer else None
                    except MoodleError as exc:
                        if not exc.transient and exc.errorcode not in ("usernotenroled",):
                            raise
                        out[uid] = exc
            scored = [uid for uid in uids if uid not in out and items.get(uid)
                      and items[uid].get("graderaw") is not None]  # type: ignore[union-attr]
            if bulk and scored:
                for table in self.moodle.grades_table(cid):
                    tables[str(table["userid"])] = table
            for uid in scored:
                if uid not in tables:
                    try:
                        answer = self.moodle.grades_table(cid, int(uid))
                        if answer:
                            tables[uid] = answer[0]
                    except MoodleError as exc:
                        if not exc.transient:
                            raise
                        out[uid] = exc
        except MoodleError as exc:
            if exc.transient:
                for uid in uids:
                    out.setdefault(uid, exc)
                return out
            raise
        for uid in uids:
            if uid in out:
                continue
            item = items.get(uid)
            passing = moodle_data.passing_from_table(tables.get(uid), int(item["id"]), int(uid)) if item else None
            out[uid] = moodle_data.grade_input(item, passing)
        return out

    def _learner_ready(self, cid: int, cstate: CourseState, uid: str, user: dict[str, Any] | None,
                       report: RunReport) -> bool:
        """Whether the learner's own data can make a completion (checked before reading grades)."""
        entry = cstate.learners[uid]
        problem = None
        if user is None:
            problem = "Moodle no longer lists this learner among the course's participants"
            report.warn(cid, uid, f"completion kept, not sent: {problem}")
        else:
            try:
                build_completion(self.config.source, cid, moodle_data.learner_input(user), int(entry["done"]), [],
                                 None)
            except LearnerDataError as exc:
                hint = ""
                if exc.field == "learner.email" and "email" not in user:
                    hint = " (or the token's role lacks moodle/course:useremail)"
                problem = str(exc) + hint
                report.error(cid, uid, f"{problem}; sent once Moodle has it")
        if problem is not None and entry.get("error") != problem:
            entry["error"] = problem
            cstate.dirty = True
        return problem is None

    def _send(self, course: dict[str, Any], cstate: CourseState, uid: str, user: dict[str, Any],
              grades: dict[str, Any], report: RunReport, dry_run: bool) -> None:
        cid = int(course["id"])
        entry = cstate.learners[uid]
        grade = grades.get(uid)
        if isinstance(grade, MoodleError):
            entry["error"] = f"grade not readable: {grade.errorcode}"
            report.error(cid, uid, f"not sent yet: the grade could not be read ({_describe(grade)}); "
                                   "the next run tries again")
            return
        criteria = [{"type": t, "complete": bool(c)} for t, c in entry.get("crit", [])]
        completion = build_completion(self.config.source, cid, moodle_data.learner_input(user),
                                      int(entry["done"]), criteria, grade)
        if dry_run:
            self.emit(json.dumps({"action": "POST", "path": "/api/v1/completions", "body": completion},
                                 ensure_ascii=False, sort_keys=True))
            return
        try:
            try:
                accepted = self.sidecar.post_completion(completion)
            except SidecarRejected as exc:
                if not exc.missing_template or not self._ensure_template(
                        course, cstate, report, False, int(self.clock()), force=True):
                    raise
                accepted = self.sidecar.post_completion(completion)
        except SidecarRejected as exc:
            cstate.learners[uid] = {**entry, "s": "refused", "error": str(exc), "at": int(self.clock()),
                                    "user": _user_hash(user)}
            report.error(cid, uid, f"completion refused by the sidecar: {exc}")
            return
        except SidecarUnavailable as exc:
            entry["error"] = str(exc)
            raise SidecarDown(f"sending stopped: {exc}") from None
        cstate.learners[uid] = {"s": "sent", "id": accepted.credential_id, "done": int(entry["done"])}
        report.completions_sent += 1
        report.duplicates += int(accepted.duplicate)
