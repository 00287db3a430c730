"""``POST /api/v1/verify``: the verification report of a sealed credential, as JSON.

Public like the verification page (verifying needs no secret). The file is the raw body (JAdES JSON
or XAdES XML, any content type) or the ``file`` field of a multipart form. The answer is 200 with
the report whatever the verdict — a forged or revoked credential is a successful verification with
``"ok": false`` — except for uploads that are not a credential file at all (empty, not UTF-8,
truncated JSON), which are 422 problems naming the ``file`` field, and oversized ones (413).
"""
from __future__ import annotations

import re
from typing import Annotated, NotRequired

from flask import Blueprint, Response, jsonify, request
from pydantic import ConfigDict, Field, StringConstraints, with_config
from typing_extensions import TypedDict

from bridge.api.inputs import Answer, operation
from bridge.api.verify_schema import VerificationReport
from bridge.problems import FieldProblem, Problem
from bridge.web.receiving import TooLarge, allow_upload, raw_body, recognise_upload, uploaded_file

bp = Blueprint("verify_api", __name__, url_prefix="/api/v1")

_LANG = re.compile(r"^[a-z]{2,3}$")


def _language() -> str:
    """The language of the report's texts (credential language maps): ``?lang=``, else the first
    Accept-Language tag, else English. Unlike the pages, any language the credential carries works."""
    for tag in [request.args.get("lang") or "", *request.accept_languages.values()]:
        primary = tag.replace("_", "-").split("-", 1)[0].strip().lower()
        if _LANG.match(primary):
            return primary
    return "en"


@bp.before_request
def _limit() -> None:
    allow_upload()


@with_config(ConfigDict(extra="forbid", hide_input_in_errors=True))
class VerifyQuery(TypedDict):
    lang: NotRequired[Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{1,8})*$"),
                                Field(description="Language of the report's texts (else Accept-Language)")]]


@operation(bp, "POST", "/verify", auth="public", query=VerifyQuery, body=bytes,
           body_media=("application/octet-stream", "multipart/form-data"), tags=("verification",),
           responses=(Answer(200, "The verification report (200 whatever the verdict)", schema=VerificationReport),))
def verify(query: dict[str, str]) -> Response:
    """Verify a sealed credential (public): the verification report, version 1.

    The file is the raw body (JAdES JSON or XAdES XML, any content type) or the multipart field ``file``.
    """
    try:
        data = uploaded_file(request) if request.mimetype == "multipart/form-data" else raw_body(request)
    except TooLarge as exc:
        raise Problem(413, "Payload Too Large", f"The credential file is larger than {exc.limit} bytes.",
                      kind="too-large", errors=[FieldProblem("file", f"at most {exc.limit} bytes")]) from None
    if data is None:
        raise Problem(400, "Bad Request", "Send the credential as the body or as the form field 'file'.",
                      kind="missing-file", errors=[FieldProblem("file", "no file was sent")])
    report = recognise_upload(data, _language())
    if report.get("refused"):
        raise Problem(422, "Not a credential file", report["errors"][0], kind="not-a-credential",
                      errors=[FieldProblem("file", report["errors"][0])])
    return jsonify(report)
