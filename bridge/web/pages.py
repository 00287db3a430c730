"""The public pages: ``/verify`` (upload a sealed credential, read the recognition report) and
``/catalogue`` (the courses of every source as ELM LearningOpportunities, with ESCO-linked outcomes).

Plain HTML forms and links only: a registrar behind a locked-down browser, a screen reader or a
printer gets the same page. Errors are pages in the reader's language, never problem+json.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from bridge.api.common import runtime
from bridge.catalogue import options
from bridge.catalogue.search import Filters
from bridge.db.models import CourseTemplate as TemplateRow
from bridge.web import catalogue, catalogue_search, feed
from bridge.web.i18n import PAGE_LANGUAGES, choose_language, render
from bridge.web.receiving import TooLarge, allow_upload, max_bytes, recognise_upload, uploaded_file

log = logging.getLogger(__name__)

bp = Blueprint("web", __name__, static_folder="static", static_url_path="/web-static")


@bp.record_once
def _check_settings(state: Any) -> None:
    """A malformed EDC_VERIFY_MAX_BYTES stops the start (ConfigError), not a later upload."""
    max_bytes(state.app.extensions["edc"].settings)

# No script runs on these pages; forms post to this origin only.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


@bp.after_request
def _headers(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Vary"] = "Accept-Language"
    return response


def _page(name: str, status: int = 200, **context: Any) -> Response:
    lang = choose_language(request)
    switch = {code: url_for(request.endpoint or "web.verify_form", **{**(request.view_args or {}), "lang": code})
              for code in PAGE_LANGUAGES}
    nav = {"verify": url_for("web.verify_form", lang=lang), "catalogue": url_for("web.catalogue_page", lang=lang)}
    html = render(name, lang, switch=switch, nav=nav, css=url_for("web.static", filename="edc.css"), **context)
    return Response(html, status=status, mimetype="text/html")


def _verify_page(status: int = 200, **context: Any) -> Response:
    limit = max_bytes(runtime().settings)
    return _page("verify.html", status, limit_mib=f"{limit / (1024 * 1024):.1f}".rstrip("0").rstrip("."),
                 action=url_for("web.verify_upload", lang=choose_language(request)), **context)


@bp.get("/verify")
def verify_form() -> Response:
    return _verify_page()


@bp.post("/verify")
def verify_upload() -> Response:
    allow_upload()
    try:
        data = uploaded_file(request)
    except (TooLarge, RequestEntityTooLarge):
        return _verify_page(413, problem="too-large")
    if data is None:
        return _verify_page(400, problem="no-file")
    report = recognise_upload(data, choose_language(request))
    return _verify_page(422 if report.get("refused") else 200, report=report)


@bp.get("/catalogue")
def catalogue_page() -> Response:
    """Ours and the partners' courses, searchable (:mod:`bridge.web.catalogue_search`)."""
    lang = choose_language(request)
    status, errors = 200, []
    try:
        filters, number, values = catalogue_search.read_filters(request.args)
    except catalogue_search.BadSearch as exc:
        filters, number, values = Filters(), 1, exc.values
        status, errors = 400, exc.errors
    context = catalogue_search.listing(lang, filters, number, values)
    return _page("catalogue.html", status, single=False, errors=errors, action=url_for("web.catalogue_page"),
                 feed_url=feed.page_url(runtime().settings.public_url, 1), **context)


@bp.get("/catalogue/<source>/<path:course>")
def catalogue_course(source: str, course: str) -> Response:
    """One course: ``<course_id>.jsonld`` is its LearningOpportunity, ``<course_id>`` its page."""
    lang = choose_language(request)
    with runtime().sessions() as session:
        if course.endswith(".jsonld"):
            row = _template(session, source, course.removesuffix(".jsonld"))
            if row is not None:
                return catalogue.jsonld_response(row)
        row = _template(session, source, course)
        view = catalogue.course_view(row, lang) if row is not None else None
        if view is not None and row is not None:
            view["recognition"] = options.for_our_course(session, row.source, row.course_id)
    if view is None:
        return _page("catalogue.html", 404, courses=[], single=True)
    return _page("catalogue.html", courses=[view], single=True)


def _template(session: Any, source: str, course_id: str) -> TemplateRow | None:
    return session.scalars(
        select(TemplateRow).where(TemplateRow.source == source, TemplateRow.course_id == course_id)
    ).first()
