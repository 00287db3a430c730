"""Request schemas of the v1 API that are not ELM documents: paths, queries, headers, action bodies.

The documents themselves (course template, completion) live with their domain models in
``bridge.elm``; everything here reuses the typed fields of ``bridge.elm.fields``, so every limit has
one statement, enforced by the input layer and printed in the OpenAPI description.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal, NotRequired

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, with_config
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from bridge.db.models import CHANNELS, CREDENTIAL_STATUSES
from bridge.elm import fields
from bridge.elm.completion import Document
from bridge.elm.template import TemplateDocument
from bridge.tasks.policy import PolicyDocument

_FORBID = ConfigDict(extra="forbid", hide_input_in_errors=True)
_DIGITS = re.compile(r"[0-9]{1,9}")


def _ascii_integer(value: Any) -> Any:
    """Query integers are ASCII digits only: no sign, spaces, '_', '.0' or other scripts' digits."""
    if isinstance(value, str):
        if not _DIGITS.fullmatch(value):
            raise PydanticCustomError("digits", "expected a whole number written with the digits 0-9")
        return int(value)
    return value


def query_int(minimum: int, maximum: int) -> Any:
    # Field first: the generated schema then says minimum/maximum (after a BeforeValidator it would not).
    return Annotated[int, Field(ge=minimum, le=maximum), BeforeValidator(_ascii_integer)]


Id = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
CourseId = fields.identifier(255)
Channel = Literal[CHANNELS]  # type: ignore[valid-type]
Status = Literal[CREDENTIAL_STATUSES]  # type: ignore[valid-type]
Reason = fields.text(500)
ETagList = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=500,
                                            pattern=r'^(\*|(W/)?"[!#-~]*"(\s*,\s*(W/)?"[!#-~]*")*)$')]
MAX_PER_PAGE = 200


# --- paths ----------------------------------------------------------------------------------------
@with_config(_FORBID)
class SourcePath(TypedDict):
    source: fields.SourceName


@with_config(_FORBID)
class CoursePath(TypedDict):
    source: fields.SourceName
    course_id: CourseId


@with_config(_FORBID)
class CredentialPath(TypedDict):
    cred_id: Annotated[Id, Field(description="Credential id (UUID)")]


@with_config(_FORBID)
class BatchPath(TypedDict):
    batch_id: Annotated[Id, Field(description="Batch id (UUID)")]


# --- queries and headers --------------------------------------------------------------------------
@with_config(_FORBID)
class CredentialQuery(TypedDict):
    source: NotRequired[fields.SourceName]
    course_id: NotRequired[CourseId]
    learner_id: NotRequired[fields.Identifier]
    status: NotRequired[Status]
    batch_id: NotRequired[Id]
    page: NotRequired[query_int(1, 1_000_000)]
    per_page: NotRequired[query_int(1, MAX_PER_PAGE)]


@with_config(ConfigDict(extra="forbid", hide_input_in_errors=True, populate_by_name=True))
class TemplateHeaders(TypedDict):
    """Optimistic concurrency: ``If-Match`` with the ETag last read; ``If-None-Match: *`` to create only."""

    if_match: NotRequired[Annotated[ETagList, Field(alias="If-Match")]]
    if_none_match: NotRequired[Annotated[ETagList, Field(alias="If-None-Match")]]


# --- bodies ---------------------------------------------------------------------------------------
class TemplatePut(TemplateDocument):
    """A course template and, optionally, the course's issuing policy."""

    policy: PolicyDocument | None = None
    esco: Annotated[dict[str, Any] | None, Field(description="Ignored: answers carry the ESCO report here")] = None


@with_config(_FORBID)
class BatchBody(TypedDict):
    completions: Annotated[list[Document], Field(min_length=1)]


@with_config(_FORBID)
class ResendBody(TypedDict):
    channels: NotRequired[Annotated[list[Channel], Field(min_length=1, max_length=len(CHANNELS))] | None]


@with_config(_FORBID)
class RevokeBody(TypedDict):
    reason: NotRequired[Reason | None]


@with_config(_FORBID)
class ReissueBody(TypedDict):
    """The corrected completion (same source, course and learner), or none to issue the stored one anew."""

    completion: NotRequired[Document | None]
    reason: NotRequired[Reason | None]
