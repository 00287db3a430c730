"""Validation errors that name the offending field, so API callers get all problems at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field; ``field`` is a path such as ``learning_outcomes[2].text``."""

    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ValidationFailed(ValueError):
    """Every problem found in one input document, collected rather than raised one by one.

    The message lists field paths and expectations only, never the offending values, because
    inputs carry personal data that must not end up in logs.
    """

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors) or "invalid input")

    def to_list(self) -> list[dict[str, str]]:
        return [e.to_dict() for e in self.errors]


class Collector:
    """Accumulates FieldErrors while a document is checked, then raises them together."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def from_pydantic(exc: Any, prefix: str = "") -> list[FieldError]:
    """The errors of a pydantic ``ValidationError`` as FieldErrors with our dotted paths and messages.

    Messages say what is expected and never echo the value (pydantic's ``input``), which may be
    personal data.
    """
    out: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for error in exc.errors(include_url=False, include_input=False):
        field = field_path(error["loc"], prefix)
        sub = (error.get("ctx") or {}).get("field")
        if sub:
            field = f"{field}.{sub}" if field != "(document)" else sub
        message = _message(error)
        if (field, message) not in seen:
            seen.add((field, message))
            out.append(FieldError(field, message))
    return out


def field_path(loc: tuple[Any, ...], prefix: str = "") -> str:
    """``("completions", 3, "learner", "id")`` -> ``completions[3].learner.id`` (after ``prefix``).

    Union tags (named ``~…`` by our models) and pydantic's ``[key]`` marker are left out.
    """
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and (part.startswith("~") or part == "[key]"):
            continue
        else:
            path = f"{path}.{part}" if path else str(part)
    return path or "(document)"


_TYPES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field",
    "string_type": "expected a string",
    "string_unicode": "expected text without unpaired surrogate characters",
    "string_too_short": "expected a non-empty text",
    "bool_type": "expected true or false",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number (finite, in range)",
    "finite_number": "expected a finite number (this one is out of range)",
    "dict_type": "expected a JSON object",
    "model_type": "expected a JSON object",
    "model_attributes_type": "expected a JSON object",
    "list_type": "expected a list",
    "union_tag_invalid": "expected a value of another type",
    "set_item_not_hashable": "expected distinct values",
}


def _message(error: dict[str, Any]) -> str:
    from bridge.elm.fields import PATTERN_MESSAGES

    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _TYPES:
        return _TYPES[kind]
    if kind == "string_pattern_mismatch":
        return PATTERN_MESSAGES.get(ctx.get("pattern", ""), "has an invalid form")
    if kind == "string_too_long":
        return f"expected at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"expected at most {ctx.get('max_length')} item(s)"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤", "less_than": "<"}[kind]
        bound = ctx.get({"greater_than_equal": "ge", "greater_than": "gt", "less_than_equal": "le",
                         "less_than": "lt"}[kind])
        return f"expected a number {sign} {_num(bound)}"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected')}"
    return str(error.get("msg") or "invalid value")


def _num(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
