"""The OpenAPI 3.1 document, generated from what each route declares next to itself.

Why a small registry of our own rather than flask-openapi3 or spectree: both want to own request
parsing and their own blueprint or decorator per route, so adopting either means rewriting every
route and its error handling (one error shape, ``app.api.errors``). What the document needs is
little: each route's summary, request model, response model and error codes, which ``@operation``
puts on the view function; the document walks the app's URL map and reads them, so a route
without a declaration fails the document (and its test) instead of going missing from it.
The JSON Schemas come from the same pydantic models that parse the requests and serialize the
responses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, TypeVar

from flask import Flask, Response, current_app, jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.api import bp
from app.api.errors import UNSAFE_METHODS
from app.api.schemas import ErrorOut

View = TypeVar("View", bound=Callable[..., Any])

# What each error code means; a route lists the codes it can answer with.
ERRORS = {400: "Bad request (malformed JSON, bad query)", 401: "Not signed in", 403: "Not allowed",
          404: "Not found", 409: "Conflict (state does not allow it)", 415: "Body is not application/json",
          422: "Invalid input (see details)",
          429: "Rate limited: the message says which limit; Retry-After gives the seconds to wait"}
CACHE_HEADER = {"X-Cache": {"description": "HIT when served from the cache Redis, else MISS",
                            "schema": {"type": "string", "enum": ["HIT", "MISS"]}}}
LOCATION_HEADER = {"Location": {"description": "the new resource's (or the status) URL", "schema": {"type": "string"}}}


@dataclass(frozen=True)
class Operation:
    """One route's contract: what it takes, what it answers, and with which errors."""
    summary: str
    status: int                                   # the success status
    response: type[BaseModel] | None              # its body (None: no body, 204)
    description: str
    body: type[BaseModel] | None = None           # the request body's model
    errors: tuple[int, ...] = ()
    signed_in: bool = False                       # needs the session cookie
    headers: dict[str, Any] = field(default_factory=dict)  # headers of the success response
    # query parameters (OpenAPI parameter objects), or a function of the app's configuration giving them
    query: Any = ()


def operation(summary: str, *, status: int = 200, response: type[BaseModel] | None = None, description: str = "OK",
              body: type[BaseModel] | None = None, errors: tuple[int, ...] = (), signed_in: bool = False,
              headers: dict[str, Any] | None = None,
              query: Callable[[Mapping[str, Any]], tuple[dict[str, Any], ...]] | tuple[dict[str, Any], ...] = (),
              ) -> Callable[[View], View]:
    """Declare a route's contract; put it right under ``@bp.get(...)`` (on the function Flask registers).

    Every write (POST, PUT, PATCH, DELETE) also answers 415 to a body that is not JSON
    (``app.api.errors``): the document adds that code to each of them.
    """
    def declare(view: View) -> View:
        view.api_operation = Operation(summary, status, response, description, body, tuple(errors), signed_in,  # type: ignore[attr-defined]
                                       dict(headers or {}), query)  # type: ignore[arg-type]
        return view
    return declare


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """``/api/posts/<int:post_id>`` -> ``/api/posts/{post_id}`` and its path parameters."""
    parameters = []
    parts = []
    for part in rule.split("/"):
        if part.startswith("<") and part.endswith(">"):
            converter, _, name = part[1:-1].rpartition(":")
            kind = {"int": "integer", "float": "number"}.get(converter, "string")
            parameters.append({"name": name, "in": "path", "required": True, "schema": {"type": kind}})
            part = "{" + name + "}"
        parts.append(part)
    return "/".join(parts), parameters


def _operation_object(method: str, op: Operation, config: Mapping[str, Any]) -> dict[str, Any]:
    success: dict[str, Any] = (_json(op.response, op.description) if op.response is not None
                               else {"description": op.description})
    if op.headers:
        success["headers"] = op.headers
    errors = set(op.errors) | ({415} if method.upper() in UNSAFE_METHODS else set())
    answer: dict[str, Any] = {"summary": op.summary,
                              "responses": {str(op.status): success,
                                            **{str(code): _json(ErrorOut, ERRORS[code]) for code in sorted(errors)}}}
    query = op.query(config) if callable(op.query) else op.query
    if query:
        answer["parameters"] = list(query)
    if op.body is not None:
        answer["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(op.body)}}}
    if op.signed_in:
        answer["security"] = [{"session": []}]
    return answer


def openapi_document(app: Flask) -> dict[str, Any]:
    """The document for ``app``'s API routes, from their declarations (``@operation``)."""
    paths: dict[str, dict[str, Any]] = {}
    models: dict[str, type[BaseModel]] = {ErrorOut.__name__: ErrorOut}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.partition(".")[0] != bp.name or rule.endpoint == "api.openapi_json":
            continue
        op: Operation | None = getattr(app.view_functions[rule.endpoint], "api_operation", None)
        if op is None:
            raise LookupError(f"{rule.rule} ({rule.endpoint}) declares no @operation: it would be missing from the document")
        path, parameters = _openapi_path(rule.rule)
        item = paths.setdefault(path, {})
        if parameters:
            item["parameters"] = parameters
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            item[method.lower()] = _operation_object(method, op, app.config)
        models.update({m.__name__: m for m in (op.body, op.response) if m is not None})
    _, defs = models_json_schema([(m, "validation") for m in models.values()],
                                 ref_template="#/components/schemas/{model}")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Film club API", "version": "1.0.0",
                 "description": "Posts and members of the library's film club. Writes need the session "
                                "cookie from POST /api/auth/login and accept only application/json bodies."},
        "components": {"schemas": defs["$defs"],
                       "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
        "paths": paths,
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    document = current_app.extensions.get("openapi_document")
    if document is None:  # built once per app: the routes and POSTS_PER_PAGE do not change while it runs
        document = current_app.extensions["openapi_document"] = openapi_document(current_app)
    return jsonify(document)
