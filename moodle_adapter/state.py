"""The poller's cursor file: what was already sent, per course, written atomically.

Moodle's Web Services cannot list "completions since T", so the state remembers per course the
learners already sent (never asked again), the learners who had completed before the poller
started (skipped unless ``--backfill``), the latest completion time seen (the cursor) and the
hash of the last template PUT. A crash mid-write leaves the previous file intact (temp file +
fsync + rename); a lock file stops two overlapping cron runs.
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

STATE_VERSION = 1


class StateError(Exception):
    """The state file is unreadable, or another poller run holds the lock."""


@dataclass
class CourseState:
    since: int
    cursor: int = 0
    template_hash: str = ""
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    before_start: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since, "cursor": self.cursor, "template_hash": self.template_hash,
                "sent": self.sent, "before_start": sorted(self.before_start)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CourseState:
        return cls(since=int(data.get("since", 0)), cursor=int(data.get("cursor", 0)),
                   template_hash=str(data.get("template_hash", "")), sent=dict(data.get("sent", {})),
                   before_start=[str(x) for x in data.get("before_start", [])])


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
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"unsupported version {data.get('version')!r}")
            courses = {cid: CourseState.from_json(c) for cid, c in data.get("courses", {}).items()}
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            raise StateError(f"state file {path} is unreadable ({exc}); fix or move it away "
                             "(a new one starts from now, or use --backfill)") from None
        return cls(path, courses)

    def course(self, course_id: int, now: int, backfill: bool) -> CourseState:
        """The course's state, created on first sight with its start time (0 when backfilling)."""
        key = str(course_id)
        if key not in self.courses:
            self.courses[key] = CourseState(since=0 if backfill else now)
        return self.courses[key]

    def save(self) -> None:
        courses = {k: v.to_json() for k, v in sorted(self.courses.items())}
        payload = {"version": STATE_VERSION, "courses": courses}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
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
