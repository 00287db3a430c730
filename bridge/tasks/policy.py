"""Course issuing policy: which completions earn a credential, and through which channels.

Kept apart from the templates (which describe the credential) because registrars change policy
(e.g. add the wallet channel) without touching the credential content.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from bridge.db.models import CHANNELS
from bridge.elm import fields

DEFAULT_POLICY: dict[str, Any] = {"issue_when": "passed", "min_grade": None, "channels": ["email"]}


def _distinct(channels: list[str]) -> list[str]:
    if len(set(channels)) != len(channels):
        raise PydanticCustomError("distinct", "lists a channel twice")
    return channels


class PolicyDocument(BaseModel):
    """When a completion earns the credential, and how it is delivered (defaults: passed, e-mail)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    issue_when: Literal["passed", "completed"] = "passed"
    min_grade: Annotated[fields.number(0, 100), Field(description="Percentage of grade.max")] | None = None
    channels: Annotated[list[Literal[CHANNELS]], AfterValidator(_distinct)] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["email"])


def normal_policy(policy: PolicyDocument | None) -> dict[str, Any]:
    """The policy as stored, every setting present."""
    return dict(DEFAULT_POLICY) if policy is None else policy.model_dump()


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
