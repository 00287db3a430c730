"""The sidecar's one input layer: every route declares its path, query, header and body schemas here.

A view is registered with :func:`operation`, which names the schema of each part of the request
(pydantic v2 types: models, TypedDicts or annotated types). Before the view runs, the layer

1. authenticates the caller as the operation requires (``auth``),
2. validates the path variables, the query string (unknown or repeated parameters are refused), the
   declared headers and the JSON body against those schemas,
3. passes the validated values to the view as keyword arguments (``principal``, ``path``, ``query``,
   ``headers``, ``body``),

and answers any failure with an RFC 9457 problem naming the field (``errors[].field``): 400 for a
body that is not JSON (malformed, not UTF-8, duplicate keys at any depth, NaN/Infinity, nesting too
deep), 422 for a JSON body that breaks the schema, 400 for bad path, query or header values.
The same registrations generate the OpenAPI description (``bridge/api/openapi.py``), limits
included, so the description cannot drift from what is enforced.

:func:`install` adds the guard every route of the app gets, declared or not (pages, static files):
the path and the query string must be UTF-8 (no lone surrogate, no stray byte turned into U+FFFD)
and free of control characters, so a NUL never reaches the database.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

from flask import Blueprint, Flask, g, request
from pydantic import TypeAdapter, ValidationError

from bridge.elm.errors import FieldError, field_path, from_pydantic
from bridge.problems import FieldProblem, Problem, problem_response

Auth = Literal["public", "source", "admin", "console"]
"""``source``: an HMAC-signed LMS source or the admin token; ``admin``: the admin token only;
``console``: a staff console session or the admin token, checked by the console's blueprints
(bridge.console.web) together with the person's roles."""

JSON_MEDIA = ("application/json", "application/ld+json")
MAX_INT_DIGITS = 30  # longer integer literals are out of every range here (and cost CPU to convert)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Answer:
    """One documented answer of an operation: status, description, media type and optional schema."""

    status: int
    description: str
    media: str = "application/json"
    schema: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    """Response headers the answer carries: (name, description)."""


PROBLEM_MEDIA = "application/problem+json"


@dataclass(frozen=True)
class Operation:
    """What the layer validates for one view, and what the OpenAPI description says about it."""

    method: str
    summary: str
    description: str
    auth: Auth
    path: Any = None
    query: Any = None
    headers: Any = None
    body: Any = None
    body_required: bool = True
    body_media: tuple[str, ...] = ("application/json",)
    validate_body: bool = True
    responses: tuple[Answer, ...] = ()
    adapters: dict[str, TypeAdapter[Any]] = field(default_factory=dict, compare=False, repr=False)
    tags: tuple[str, ...] = ()

    def adapter(self, part: str) -> TypeAdapter[Any]:
        return self.adapters[part]


def operation(bp: Blueprint, method: str, rule: str, *, auth: Auth, summary: str | None = None,
              path: Any = None, query: Any = None, headers: Any = None, body: Any = None,
              body_required: bool = True, body_media: tuple[str, ...] = ("application/json",),
              validate_body: bool = True, responses: tuple[Answer, ...] = (Answer(200, "OK"),),
              tags: tuple[str, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``view`` on ``bp`` for ``method rule`` behind the input layer (see the module docstring).

    ``body`` is validated only for JSON bodies; an operation taking files (``body_media`` without
    JSON) reads the request itself, and so does one with ``validate_body=False`` (e.g. to refuse an
    oversized batch with 413 before validating it, through :func:`request_json` and ``TypeAdapter``).
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        doc = (view.__doc__ or "").strip()
        first, _, rest = doc.partition("\n")
        op = Operation(method=method.upper(), summary=summary or first.strip(), description=rest.strip(),
                       auth=auth, path=path, query=query, headers=headers, body=body, body_required=body_required,
                       body_media=body_media, validate_body=validate_body, responses=responses, tags=tags)
        for part in ("path", "query", "headers", "body"):
            schema = getattr(op, part)
            if schema is not None:
                op.adapters[part] = TypeAdapter(schema)

        @wraps(view)
        def handler(**values: Any) -> Any:
            kwargs: dict[str, Any] = {}
            if op.auth not in ("public", "console"):
                from bridge.api.common import authenticate
                from bridge.auth import require_admin

                principal = authenticate()
                if op.auth == "admin":
                    require_admin(principal)
                kwargs["principal"] = principal
            if op.path is not None:
                kwargs["path"] = _validate(op.adapter("path"), values, "path")
            if op.query is not None:
                kwargs["query"] = _validate(op.adapter("query"), _query_dict(), "query")
            elif request.args:
                raise _parameter_problem([FieldError(k, "unknown parameter") for k in request.args])
            if op.headers is not None:
                declared = op.adapter("headers").json_schema().get("properties", {})
                given = {name: request.headers[name] for name in declared if name in request.headers}
                kwargs["headers"] = _validate(op.adapter("headers"), given, "header")
            if op.body is not None and op.validate_body and any(m in JSON_MEDIA for m in op.body_media):
                kwargs["body"] = validated_body(op.adapter("body"), required=op.body_required)
            return view(**kwargs)

        handler.edc_operation = op  # type: ignore[attr-defined]
        bp.register_error_handler(Problem, problem_response)  # also answers on an app without problems.install
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=handler, methods=[op.method])
        return handler

    return decorate


def _query_dict() -> dict[str, str]:
    """The query string as a dict; a repeated parameter is ambiguous and refused."""
    repeated = [FieldError(k, "given more than once") for k, v in request.args.lists() if len(v) > 1]
    if repeated:
        raise _parameter_problem(repeated)
    return request.args.to_dict()


def _validate(adapter: TypeAdapter[Any], data: Any, where: str) -> Any:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise _parameter_problem(from_pydantic(exc), where) from None


def _parameter_problem(errors: list[FieldError], where: str = "query") -> Problem:
    return Problem(400, "Bad Request", f"Invalid {where} parameter(s).", kind="invalid-parameter",
                   errors=[FieldProblem(_short(e.field), e.message) for e in errors])


def validated_body(adapter: TypeAdapter[Any], *, required: bool = True) -> Any:
    """The request's JSON body, parsed strictly (:func:`parse_json`) and validated by ``adapter``."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if not required:
            return adapter.validate_python({})
        raise Problem(400, "Bad Request", "The request body must be a JSON document.", kind="invalid-json",
                      errors=[FieldProblem("", "body is empty")])
    mimetype = request.mimetype
    if mimetype and mimetype not in JSON_MEDIA and not mimetype.endswith("+json"):
        raise Problem(415, "Unsupported Media Type", "Send the body as application/json.",
                      kind="unsupported-media-type")
    return validate_document(adapter, request_json())


def request_json() -> Any:
    """The request's body parsed by :func:`parse_json`, once per request (views may need the raw document)."""
    if "edc_json" not in g:
        g.edc_json = parse_json(request.get_data(cache=True))
    return g.edc_json


def validate_document(adapter: TypeAdapter[Any], document: Any, prefix: str = "") -> Any:
    """``document`` validated by ``adapter``; a 422 problem listing every invalid field otherwise."""
    try:
        return adapter.validate_python(document)
    except ValidationError as exc:
        errors = from_pydantic(exc, prefix)
        raise Problem(422, "Validation failed", "The request has invalid fields.", kind="validation-failed",
                      errors=[FieldProblem(_short(e.field), e.message) for e in errors[:MAX_LISTED]],
                      error_count=len(errors)) from None


MAX_LISTED = 200


def parse_json(raw: bytes) -> Any:
    """Parse a request body as JSON, refusing what RFC 8259 leaves ambiguous or no column could store.

    Not UTF-8, malformed, NaN/Infinity, nesting deeper than Python's recursion limit and duplicate
    keys in any object are 400 problems (a duplicate names its path, e.g. ``completions[3].learner.id``).
    Integer literals longer than ``MAX_INT_DIGITS`` digits are read as infinity, which every numeric
    field refuses as out of range, so a 5,000-digit number costs nothing and answers 422 naming its field.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid_json("not UTF-8", "The body must be UTF-8 encoded JSON.") from None
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=_reject_constant,
                          parse_int=_bounded_int)
    except _DuplicateKey:
        raise _invalid_json_at(_duplicate_path(text), "appears more than once in its object") from None
    except json.JSONDecodeError as exc:
        raise _invalid_json("not valid JSON", f"The body is not valid JSON (line {exc.lineno}, column "
                                              f"{exc.colno}: {exc.msg}).") from None
    except RecursionError:
        raise _invalid_json("nested too deeply", "The body is not valid JSON (nested too deeply).") from None


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _DuplicateKey()
    return found


def _bounded_int(digits: str) -> int | float:
    return int(digits) if len(digits) <= MAX_INT_DIGITS else float("inf")


def _reject_constant(name: str) -> None:
    """NaN and Infinity are not JSON (RFC 8259) and no database column could store them."""
    raise Problem(400, "Bad Request", f"The body is not valid JSON ({name} is not a JSON number).",
                  kind="invalid-json", errors=[FieldProblem("", f"{name} is not allowed")])


class _Pairs(list):  # type: ignore[type-arg]
    """An object kept as its list of pairs, to find where a key repeats."""


def _duplicate_path(text: str) -> str:
    """The path of the first repeated key (slow path, only once a duplicate is known to exist)."""
    tree = json.loads(text, object_pairs_hook=_Pairs, parse_constant=lambda name: None,
                      parse_int=_bounded_int)
    stack: list[tuple[tuple[Any, ...], Any]] = [((), tree)]
    while stack:
        loc, node = stack.pop(0)
        if isinstance(node, _Pairs):
            seen: set[str] = set()
            for key, value in node:
                if key in seen:
                    return field_path((*loc, key))
                seen.add(key)
                stack.append(((*loc, key), value))
        elif isinstance(node, list):
            stack.extend(((*loc, i), value) for i, value in enumerate(node))
    return "(document)"


def _invalid_json(message: str, detail: str) -> Problem:
    return Problem(400, "Bad Request", detail, kind="invalid-json", errors=[FieldProblem("", message)])


def _invalid_json_at(path: str, message: str) -> Problem:
    return Problem(400, "Bad Request", "The body is ambiguous JSON: a key appears twice in one object.",
                   kind="invalid-json", errors=[FieldProblem(_short(path), message)])


def _short(path: str, limit: int = 200) -> str:
    """Field paths echo the client's keys: bounded, and control characters shown escaped."""
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", path)
    return shown if len(shown) <= limit else shown[:limit] + "…"


def install(app: Flask) -> None:
    """The guard of every route: UTF-8 without control characters (NUL included) in the path and query."""

    @app.before_request
    def _no_control_characters() -> None:
        if not _utf8(request.environ.get("PATH_INFO", "")):
            raise Problem(400, "Bad Request", "The URL path is not UTF-8.", kind="invalid-parameter",
                          errors=[FieldProblem("path", "expected UTF-8 (a lone surrogate or a stray byte is not)")])
        if not _utf8(unquote(request.query_string.decode("latin-1").replace("+", " "), encoding="latin-1")):
            bad_names = [k for k, v in parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True,
                                                 encoding="latin-1") if not (_utf8(k) and _utf8(v))]
            raise Problem(400, "Bad Request", "The query string is not UTF-8.", kind="invalid-parameter",
                          errors=[FieldProblem(_short(_CONTROL.sub("", k.encode("latin-1").decode("utf-8", "replace"))),
                                               "expected UTF-8 (a lone surrogate or a stray byte is not)")
                                  for k in bad_names or ["query"]])
        if _CONTROL.search(request.path):
            raise Problem(400, "Bad Request", "The URL path holds control characters.", kind="invalid-parameter",
                          errors=[FieldProblem("path", "control characters are not allowed")])
        bad = [k for k, v in request.args.items(multi=True) if _CONTROL.search(k) or _CONTROL.search(v)]
        if bad:
            raise Problem(400, "Bad Request", "The query string holds control characters.",
                          kind="invalid-parameter",
                          errors=[FieldProblem(_short(k), "control characters are not allowed") for k in bad])


def _utf8(wsgi_text: str) -> bool:
    """Whether a WSGI string (bytes as latin-1, per PEP 3333) is UTF-8: werkzeug would otherwise turn a
    lone surrogate's or a stray byte's encoding into U+FFFD silently, and a filter would answer for
    another value than the one sent."""
    try:
        wsgi_text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return False
    return True


def operations(app: Flask) -> list[tuple[str, Operation]]:
    """Every declared operation of ``app`` with its OpenAPI path (``/api/v1/credentials/{cred_id}``)."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        op = getattr(view, "edc_operation", None)
        if op is not None:
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            found.append((path, op))
    return found
