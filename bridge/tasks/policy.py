"""Course issuing policy: which completions earn a credential, and through which channels.

Kept apart from the templates (which describe the credential) because registrars change policy
(e.g. add the wallet channel) without touching the credential content.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.db.models import CHANNELS
from bridge.problems import FieldProblem

DEFAULT_POLICY: dict[str, Any] = {"issue_when": "passed", "min_grade": None, "channels": ["email"]}


def validate_policy(raw: Any, field: str = "policy") -> tuple[dict[str, Any], list[FieldProblem]]:
    """Return the normalised policy (defaults filled in) and the problems found."""
    if raw is None:
        return dict(DEFAULT_POLICY), []
    if not isinstance(raw, dict):
        return dict(DEFAULT_POLICY), [FieldProblem(field, "must be an object")]
    errors: list[FieldProblem] = []
    unknown = sorted(set(raw) - set(DEFAULT_POLICY))
    for key in unknown:
        errors.append(FieldProblem(f"{field}.{key}", "unknown policy setting"))
    policy = dict(DEFAULT_POLICY)
    issue_when = raw.get("issue_when", "passed")
    if issue_when not in ("passed", "completed"):
        errors.append(FieldProblem(f"{field}.issue_when", "must be 'passed' or 'completed'"))
    policy["issue_when"] = issue_when
    min_grade = raw.get("min_grade")
    if min_grade is not None and (isinstance(min_grade, bool) or not isinstance(min_grade, int | float)
                                  or not 0 <= min_grade <= 100):
        errors.append(FieldProblem(f"{field}.min_grade", "must be a number from 0 to 100 (a percentage)"))
    policy["min_grade"] = min_grade
    channels = raw.get("channels", ["email"])
    if not isinstance(channels, list):
        errors.append(FieldProblem(f"{field}.channels", "must be a list of 'email' and/or 'wallet'"))
    else:
        for i, channel in enumerate(channels):
            if channel not in CHANNELS:
                errors.append(FieldProblem(f"{field}.channels[{i}]", "must be 'email' or 'wallet'"))
        if len(set(map(str, channels))) != len(channels):
            errors.append(FieldProblem(f"{field}.channels", "lists a channel twice"))
        policy["channels"] = channels
    return policy, errors


@dataclass(frozen=True)
class Decision:
    """Whether to issue, and (when not) the reason shown in the credential status."""

    issue: bool
    reason: str | None = None


def grade_percent(grade: Any) -> float | None:
    """The grade as a percentage of its maximum (a plain score when no maximum is given)."""
    if not isinstance(grade, dict):
        return None
    score = grade.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float):
        return None
    maximum = grade.get("max")
    if isinstance(maximum, int | float) and not isinstance(maximum, bool) and maximum > 0:
        return float(score) * 100.0 / float(maximum)
    return float(score)


def decide(policy: dict[str, Any], completion: dict[str, Any]) -> Decision:
    """Apply the policy to a validated completion document."""
    if policy.get("issue_when", "passed") == "passed" and completion.get("passed") is not True:
        return Decision(False, "policy: the learner has not passed")
    min_grade = policy.get("min_grade")
    if min_grade is not None:
        percent = grade_percent(completion.get("grade"))
        if percent is None:
            return Decision(False, f"policy: a grade of at least {min_grade}% is required, none given")
        if percent < float(min_grade):
            return Decision(False, f"policy: grade below the minimum of {min_grade}%")
    return Decision(True)
