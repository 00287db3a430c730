"""Schemas of the console API's inputs, declared through the sidecar's input layer (bridge.api.inputs)
so that they are validated and described in the OpenAPI document like every other route."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, NotRequired

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict

from bridge.api.schemas import CourseId, Id, Reason, Status, query_int
from bridge.elm import fields

_FORBID = ConfigDict(extra="forbid", hide_input_in_errors=True)


@with_config(_FORBID)
class CredentialSearch(TypedDict):
    """Filters of the credentials search (the page's form uses the same names)."""

    q: NotRequired[Annotated[fields.text(200), Field(description="Learner id, name or e-mail (contains)")]]
    source: NotRequired[fields.SourceName]
    course_id: NotRequired[CourseId]
    status: NotRequired[Status]
    since: NotRequired[Annotated[dt.date, Field(description="Received on or after (YYYY-MM-DD)")]]
    until: NotRequired[Annotated[dt.date, Field(description="Received on or before (YYYY-MM-DD)")]]
    batch_id: NotRequired[Id]
    page: NotRequired[query_int(1, 100_000)]


class RevokeRequest(BaseModel):
    """A revocation from the console: the reason is required and is sent to the learner."""

    model_config = _FORBID
    reason: Reason
    notify: bool = Field(True, description="Tell the learner by e-mail")


@with_config(_FORBID)
class AuditQuery(TypedDict):
    before: NotRequired[Annotated[query_int(1, 1_000_000_000), Field(description="Entries older than this id")]]
