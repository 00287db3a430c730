"""Validation errors that name the offending field, so API callers get all problems at once."""

from __future__ import annotations

from dataclasses import dataclass


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
