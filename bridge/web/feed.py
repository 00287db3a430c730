"""``GET /catalogue.jsonld``: the whole course catalogue as paged ELM JSON-LD, for partners to harvest.

Each page is one JSON-LD document whose ``@graph`` holds LearningOpportunity nodes built exactly as
the per-course documents (:func:`bridge.web.catalogue.opportunity_document`). The body carries
nothing but ELM: paging is in ``Link`` headers (RFC 8288 ``first``/``prev``/``next``/``last``), not
in Hydra or other vocabulary the ELM context does not define, so a partner expanding a page loses
no property and the LOQ shapes check the whole page as published.

Partners poll, so every page answers conditional requests: a strong ``ETag`` over the page and the
state of the whole catalogue (number of courses and latest change), so that an unchanged first page
with a ``304`` means the whole feed is unchanged, and ``Last-Modified`` (the latest template
change). ``If-None-Match`` wins over ``If-Modified-Since`` (RFC 9110 §13.2.2).
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Annotated, Any, NotRequired

from flask import Blueprint, Response, request
from pydantic import ConfigDict, Field, StringConstraints, with_config
from sqlalchemy import func, select
from typing_extensions import TypedDict

from bridge.api.common import runtime
from bridge.api.inputs import Answer, operation
from bridge.api.schemas import ETagList, query_int
from bridge.db.models import CourseTemplate as TemplateRow
from bridge.elm.learning_opportunity import EDC_CONTEXT, LOCAL_TERMS
from bridge.problems import Problem
from bridge.web import catalogue

log = logging.getLogger(__name__)

bp = Blueprint("catalogue_feed", __name__)

MAX_PAGE = 1_000_000
FEED_PATH = "/catalogue.jsonld"


@with_config(ConfigDict(extra="forbid", hide_input_in_errors=True))
class FeedQuery(TypedDict):
    page: NotRequired[Annotated[query_int(1, MAX_PAGE), Field(description="Page number, from 1 (default 1)")]]


@with_config(ConfigDict(extra="forbid", hide_input_in_errors=True, populate_by_name=True))
class FeedHeaders(TypedDict):
    """Conditional requests of a harvester; an unparseable date is ignored, as RFC 9110 says."""

    if_none_match: NotRequired[Annotated[ETagList, Field(alias="If-None-Match")]]
    if_modified_since: NotRequired[Annotated[str, StringConstraints(strict=True, max_length=100),
                                             Field(alias="If-Modified-Since")]]


def page_url(base: str, page: int) -> str:
    return f"{base.rstrip('/')}{FEED_PATH}" + (f"?page={page}" if page > 1 else "")


def _links(base: str, page: int, pages: int) -> str:
    rels = [("first", 1), ("last", pages)]
    if page > 1:
        rels.append(("prev", page - 1))
    if page < pages:
        rels.append(("next", page + 1))
    return ", ".join(f'<{page_url(base, number)}>; rel="{rel}"' for rel, number in rels)


@operation(bp, "GET", FEED_PATH, auth="public", query=FeedQuery, headers=FeedHeaders, tags=("catalogue",),
           responses=(Answer(200, "One page of the catalogue: LearningOpportunity nodes in `@graph`; the `Link` "
                                  "header names the first, previous, next and last pages", media="application/ld+json"),
                      Answer(304, "Not modified since the `If-None-Match` ETag or `If-Modified-Since` date"),
                      Answer(404, "No such page", media="application/problem+json")))
def catalogue_feed(query: dict[str, Any], headers: dict[str, Any]) -> Response:
    """The course catalogue for partners (public), paged ELM JSON-LD with ETag and Last-Modified.

    Every property is one the ELM JSON-LD context defines and every node conforms to the LOQ shapes.
    """
    rt = runtime()
    size = rt.settings.catalogue_page_size
    number = query.get("page", 1)
    with rt.sessions() as session:
        total = session.scalar(select(func.count()).select_from(TemplateRow)) or 0
        latest = session.scalar(select(func.max(TemplateRow.updated_at)))
        pages = max(1, -(-total // size))
        if number > pages:
            raise Problem(404, "Not Found", f"The catalogue has {pages} page(s).", kind="not-found")
        rows = session.scalars(select(TemplateRow).order_by(TemplateRow.source, TemplateRow.course_id)
                               .offset((number - 1) * size).limit(size)).all()
        nodes = []
        for row in rows:
            document = catalogue.opportunity_document(row)
            if document is not None:
                document.pop("@context")
                nodes.append(document)
    body = json.dumps({"@context": [EDC_CONTEXT, dict(LOCAL_TERMS)], "@graph": nodes}, ensure_ascii=False,
                      indent=1).encode("utf-8")
    state = f"{total}|{latest.isoformat() if latest else ''}|".encode()
    response = Response(body, mimetype=catalogue.JSONLD)
    response.headers["Link"] = _links(rt.settings.public_url, number, pages)
    response.set_etag(hashlib.sha256(state + body).hexdigest()[:40])
    if latest is not None:
        response.last_modified = latest.replace(microsecond=0)
    catalogue.public_linked_data(response)
    return response.make_conditional(request)
