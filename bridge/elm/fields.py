"""The typed fields of the documents the sidecar accepts, with their limits, as pydantic v2 types.

These annotated types are the single statement of what a field may hold: the request models of the
HTTP API (``bridge.api.schemas``), the domain models (``CourseTemplate.from_dict``,
``Completion.from_dict``) and the generated OpenAPI description all use them, so a limit cannot be
enforced in one place and documented differently in another.

Strings are refused when they hold control characters (C0, DEL, C1; single-line fields also refuse
tab, line breaks and U+2028/U+2029) or unpaired surrogates (pydantic reports those as
``string_unicode`` whenever a string has a constraint, which every string here has). Numbers must be
finite and within a stated range; ISO 8601 durations and date-times must fit what Python dates and
ELM's xsd:dateTime hold (years 1900 to 9999 here), so no later step can overflow or loop.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    StrictBool,
    StringConstraints,
    Tag,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from bridge.elm.codelists import LANGUAGES

# Characters no field may hold: C0 controls except tab/LF/CR, DEL, C1 controls.
_BAD = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# Single-line fields (names, identifiers, addresses) also refuse tab, line breaks and U+2028/U+2029:
# they end up in e-mail headers, file names and one-line displays.
_BAD_LINE = r"\x00-\x1f\x7f-\x9f\u2028\u2029"

TEXT_PATTERN = rf"^[^{_BAD}]*[^\s{_BAD}][^{_BAD}]*$"
LINE_PATTERN = rf"^[^{_BAD_LINE}]*[^\s{_BAD_LINE}][^{_BAD_LINE}]*$"
SOURCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
EMAIL_PATTERN = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
# Each component at most 6 digits: a bound on the text before any arithmetic on it.
DURATION_PATTERN = (
    r"^P(?:(\d{1,6})Y)?(?:(\d{1,6})M)?(?:(\d{1,6})W)?(?:(\d{1,6})D)?"
    r"(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,6}(?:\.\d{1,9})?)S)?)?$"
)
DURATION_RE = re.compile(DURATION_PATTERN)
DATE_TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|z|[+-][0-9]{2}:[0-9]{2})$"
)
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
LANGUAGE_TAG_PATTERN = r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$"  # BCP 47, as ELM's language-tagged strings take it
ESCO_SKILL_PATTERN = (
    r"^http://data\.europa\.eu/esco/skill/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)

# What each pattern means, for error messages (pydantic's own message would quote the regex).
PATTERN_MESSAGES = {
    TEXT_PATTERN: "expected a non-empty text without control characters",
    LINE_PATTERN: "expected a non-empty single-line text without control characters (no tab or line break)",
    SOURCE_PATTERN: "expected a source name: a letter or digit, then letters, digits, '.', '_' or '-' "
                    "(64 characters at most)",
    EMAIL_PATTERN: "expected an email address like name@example.org",
    DURATION_PATTERN: "expected an ISO 8601 duration like PT125H or P1Y (each number at most 6 digits)",
    DATE_TIME_PATTERN: "expected an ISO 8601 date-time with time zone, like 2026-11-20T10:00:00Z",
    DATE_PATTERN: "expected a date YYYY-MM-DD",
    LANGUAGE_TAG_PATTERN: "expected a language tag like fr or pt-BR",
    ESCO_SKILL_PATTERN: "expected an ESCO skill URI http://data.europa.eu/esco/skill/<uuid> (lower-case UUID)",
}

MAX_TEXT = 4000
MAX_NAME = 200
MAX_IDENTIFIER = 200
MAX_NUMBER = 1e9  # grades, scores, credits: far beyond any real scale, far below float overflow
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)  # leaves a year of room for any later arithmetic
# Durations: a credential valid for a century, or a century of learning, is the most ELM needs.
MAX_DURATION = timedelta(days=36_525)

Language = Literal[tuple(sorted(LANGUAGES))]  # type: ignore[valid-type]


def field_error(field: str | None, message: str) -> PydanticCustomError:
    """An error of a rule across fields, raised by a model validator; ``field`` (relative to the model,
    dotted) is added to the model's path when the error is reported."""
    return PydanticCustomError("field_rule", message, {"field": field} if field else None)


def text(max_length: int, *, pattern: str = TEXT_PATTERN, description: str | None = None) -> Any:
    """Non-empty text, checked as sent (a control character is refused even at either end), then trimmed."""
    return Annotated[str, StringConstraints(strict=True, min_length=1, max_length=max_length, pattern=pattern),
                     AfterValidator(str.strip), Field(description=description)]


Text = text(MAX_TEXT)
ShortText = text(500)
Line = text(MAX_NAME, pattern=LINE_PATTERN)
Email = Annotated[str, StringConstraints(strict=True, max_length=254, pattern=EMAIL_PATTERN)]
SourceName = Annotated[str, StringConstraints(strict=True, pattern=SOURCE_PATTERN)]


def _stringify_int(value: Any) -> Any:
    """LMS ids are often integers (Moodle's course and user ids): accepted and kept as their text."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return str(value)
    return value


def identifier(max_length: int = MAX_IDENTIFIER) -> Any:
    """An external id (course, learner): single-line text, or an integer (kept as its decimal text)."""
    return Annotated[str, BeforeValidator(_stringify_int, json_schema_input_type=str | int),
                     StringConstraints(strict=True, min_length=1, max_length=max_length, pattern=LINE_PATTERN)]


Identifier = identifier()


def _number_kind(value: Any) -> str:
    return "~int" if isinstance(value, int) and not isinstance(value, bool) else "~float"


def number(minimum: float = 0, maximum: float = MAX_NUMBER, *, exclusive_minimum: bool = False) -> Any:
    """A finite JSON number within [minimum, maximum]; integers stay integers (a grade of 2 prints as 2).

    Booleans and numeric texts are refused.
    """
    bound = {"gt": minimum} if exclusive_minimum else {"ge": minimum}
    schema = {"type": "number", "maximum": maximum,
              **({"exclusiveMinimum": minimum} if exclusive_minimum else {"minimum": minimum})}
    return Annotated[
        Annotated[int, Field(strict=True, le=maximum, **bound), Tag("~int")]
        | Annotated[float, Field(strict=True, allow_inf_nan=False, le=maximum, **bound), Tag("~float")],
        Discriminator(_number_kind),
        WithJsonSchema(schema),
    ]


Score = number()
Bool = StrictBool


def _duration(value: str) -> str:
    if value in ("P", "PT") or value.endswith("T"):
        raise PydanticCustomError("duration", "expected an ISO 8601 duration like PT125H or P1Y")
    if duration_span(value) > MAX_DURATION:
        raise PydanticCustomError("duration_range", "expected a duration of at most 100 years")
    return value


def duration_span(value: str) -> timedelta:
    """An upper bound of the time a duration spans (a year counted as 366 days, a month as 31)."""
    m = DURATION_RE.fullmatch(value)
    if not m:
        raise ValueError("not an ISO 8601 duration")
    years, months, weeks, days, hours, minutes = (int(g or 0) for g in m.groups()[:6])
    seconds = float(m.group(7) or 0)
    return timedelta(days=366 * years + 31 * months + 7 * weeks + days, hours=hours, minutes=minutes,
                     seconds=seconds)


Duration = Annotated[str, StringConstraints(strict=True, pattern=DURATION_PATTERN), AfterValidator(_duration)]


def _date_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] in "Zz" else value)
        moment = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise PydanticCustomError("date_time", "expected a real date and time, like 2026-11-20T10:00:00Z") from None
    if not EARLIEST <= moment < LATEST:
        raise PydanticCustomError("date_time_range", "expected a date-time between 1900 and 9998 (UTC)")
    return moment


def iso_utc(moment: datetime) -> str:
    """An aware datetime as stored: ISO 8601 in UTC with 'Z' (seconds, or microseconds when it has them)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day(value: str) -> str:
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date", "expected a real date YYYY-MM-DD") from None
    if not EARLIEST.date() <= parsed < LATEST.date():
        raise PydanticCustomError("date_range", "expected a date between 1900 and 9998")
    return value


# Date-times: text in, checked, handed on as an aware UTC datetime. Dates: checked, kept as their text.
DateTime = Annotated[str, StringConstraints(strict=True, pattern=DATE_TIME_PATTERN),
                     AfterValidator(_date_time), Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, StringConstraints(strict=True, pattern=DATE_PATTERN), AfterValidator(_day),
                Field(json_schema_extra={"format": "date"})]
EscoSkillUri = Annotated[str, StringConstraints(strict=True, pattern=ESCO_SKILL_PATTERN)]
LangMap = Annotated[dict[Language, Text], Field(min_length=1, max_length=len(LANGUAGES))]
ShortLangMap = Annotated[dict[Language, ShortText], Field(min_length=1, max_length=len(LANGUAGES))]
