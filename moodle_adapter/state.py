"""The poller's state file: per course, where each learner stands; written atomically.

Each learner of a course has one entry, and only a send the sidecar accepted moves it to ``sent``:

* ``open``: not complete when last asked (``checked``; ``access`` = their last course access then);
* ``pending``: complete in Moodle (``done`` = completion time), not yet accepted by the sidecar;
  ``error`` says why the last attempt did not go through. Retried every run;
* ``past``: complete before the poller first saw the course; sent only with ``--backfill``;
* ``refused``: the sidecar refused the completion as invalid (``error``, ``hash`` of what was
  sent, ``at``); sent again when the learner's data changes or a day later;
* ``sent``: accepted (``id`` = the credential id, ``done``).

A course also keeps its start (``since``), whether a backfill is under way (``backfill``, kept
until every past completion is sent, so a failed backfill resumes) and the hash of the last
template the sidecar accepted. A crash mid-write leaves the previous file intact (temp file +
fsync + rename); a lock file stops two overlapping cron runs. Files written by the previous
format (version 1) are converted on load.
"""
from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_VERSION = 2
STATUSES = ("open", "pending", "past", "refused", "sent")


class StateError(Exception):
    """The state file is unreadable, or another poller run holds the lock."""


@dataclass
class CourseState:
    since: int
    backfill: bool = False
    template_hash: str = ""
    template_checked: int = 0
    learners: dict[str, dict[str, Any]] = field(default_factory=dict)
    dirty: bool = field(default=False, compare=False)  # changed since loaded or saved: not written

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since, "backfill": self.backfill, "template_hash": self.template_hash,
                "template_checked": self.template_checked, "learners": self.learners}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CourseState:
        learners = {str(k): dict(v) for k, v in (data.get("learners") or {}).items()}
        for uid, entry in learners.items():
            if entry.get("s") not in STATUSES:
                raise ValueError(f"learner {uid}: unknown status {entry.get('s')!r}")
        return cls(since=int(data.get("since", 0)), backfill=bool(data.get("backfill", False)),
                   template_hash=str(data.get("template_hash", "")),
                   template_checked=int(data.get("template_checked", 0)), learners=learners)

    @classmethod
    def from_version1(cls, data: dict[str, Any]) -> CourseState:
        """The earlier format kept ``sent`` and ``before_start`` only."""
        learners: dict[str, dict[str, Any]] = {}
        for uid in data.get("before_start", []):
            learners[str(uid)] = {"s": "past", "done": 0}
        for uid, sent in (data.get("sent") or {}).items():
            learners[str(uid)] = {"s": "sent", "id": sent.get("credential_id", ""),
                                  "done": int(sent.get("completed_at", 0))}
        return cls(since=int(data.get("since", 0)), template_hash=str(data.get("template_hash", "")),
                   learners=learners)

    def count(self, status: str) -> int:
        return sum(1 for entry in self.learners.values() if entry.get("s") == status)


@dataclass
class State:
    path: Path
    courses: dict[str, CourseState] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> State:
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            version = data.get("version")
            if version == 1:
                courses = {cid: CourseState.from_version1(c) for cid, c in data.get("courses", {}).items()}
            elif version == STATE_VERSION:
                courses = {cid: CourseState.from_json(c) for cid, c in data.get("courses", {}).items()}
            else:
                raise ValueError(f"unsupported version {version!r}")
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            raise StateError(f"state file {path} is unreadable ({exc}); fix or move it away "
                             "(a new one starts from now, or use --backfill)") from None
        return cls(path, courses)

    def course(self, course_id: int, now: int) -> CourseState:
        """The course's state, created on first sight with this run as its start."""
        key = str(course_id)
        if key not in self.courses:
            self.courses[key] = CourseState(since=now, dirty=True)
        return self.courses[key]

    @property
    def dirty(self) -> bool:
        return any(course.dirty for course in self.courses.values())

    def save(self) -> None:
        courses = {k: v.to_json() for k, v in sorted(self.courses.items(), key=lambda kv: int(kv[0]))}
        payload = {"version": STATE_VERSION, "courses": courses}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, separators=(",", ":"), sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            for course in self.courses.values():
                course.dirty = False
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@contextmanager
def run_lock(state_path: Path) -> Iterator[None]:
    """Hold ``<state>.lock`` for one run, so cron never starts a second run over a slow one."""
    state_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = state_path.with_name(state_path.name + ".lock")
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateError(f"another poller run holds {lock_path}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
