"""JSON errors for the API: every failure is a clear 4xx with what was wrong."""
from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import Response, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from app.api import bp
from app.error_pages import APIError, error_response, forget_failed_transaction

Model = TypeVar("Model", bound=BaseModel)

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@bp.errorhandler(APIError)
def _api_error(exc: APIError) -> Response:
    return error_response(exc.status, exc.message, exc.details)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    if exc.code == 500:  # a crash: Flask logged it; its details stay in the log
        forget_failed_transaction()
        return error_response(exc.code or 500, "internal error: it has been logged")
    response = error_response(exc.code or 500, exc.description or exc.name)
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    retry_after = getattr(exc, "retry_after", None)  # rate limits (app.members.limits)
    if exc.code == 429 and retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.before_request
def _only_json_bodies() -> Response | None:
    """Refuse non-JSON bodies on writes: that is what makes the API CSRF-safe."""
    if request.method in UNSAFE_METHODS and request.content_type and request.mimetype != "application/json":
        return error_response(415, f"request body must be application/json, not {request.mimetype}")
    return None


def _location(error: dict[str, Any]) -> str:
    return ".".join(str(part) for part in error.get("loc", ())) or "body"


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"field": _location(e), "message": e["msg"]} for e in exc.errors(include_url=False)]


def parse_json(model: type[Model]) -> Model:
    """Validate the request body against ``model``; 415/400/422 with reasons otherwise."""
    if request.mimetype != "application/json":
        raise APIError(415, "request body must be application/json")
    raw = request.get_data(cache=False)
    try:
        data = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise APIError(400, f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise APIError(400, "request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise APIError(422, "invalid input", validation_details(exc)) from None


