"""What one poller run did, for the operator: counts, errors and warnings, ids only.

The summary never claims "nothing lost": it says how many completions are still waiting (kept
for the next run), how many the sidecar refused (an administrator must act), and how many past
completions are not sent because no backfill was asked for.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One reported error or warning; learner ids only, never personal data."""

    course_id: int | None
    learner_id: str | None
    message: str

    def __str__(self) -> str:
        where = "site" if self.course_id is None else f"course {self.course_id}"
        if self.learner_id is not None:
            where += f", learner {self.learner_id}"
        return f"{where}: {self.message}"


@dataclass
class RunReport:
    courses: int = 0
    checked: int = 0
    templates_sent: int = 0
    completions_sent: int = 0
    duplicates: int = 0
    waiting: int = 0
    refused: int = 0
    past: int = 0
    moodle_calls: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, course_id: int | None, learner_id: str | None, message: str) -> None:
        self.errors.append(Problem(course_id, learner_id, message))

    def warn(self, course_id: int | None, learner_id: str | None, message: str) -> None:
        self.warnings.append(Problem(course_id, learner_id, message))

    def summary(self) -> str:
        parts = [f"{self.courses} course(s), {self.checked} learner(s) asked about "
                 f"({self.moodle_calls} Moodle call(s))",
                 f"{self.templates_sent} template(s) sent",
                 f"{self.completions_sent} completion(s) sent ({self.duplicates} already known to the sidecar)"]
        if self.waiting:
            parts.append(f"{self.waiting} completion(s) waiting (kept: the next run sends them)")
        if self.refused:
            parts.append(f"{self.refused} refused by the sidecar (fix the data named in the errors)")
        if self.past:
            parts.append(f"{self.past} completed before the poller started (not sent: run with --backfill)")
        parts.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        return "; ".join(parts)
