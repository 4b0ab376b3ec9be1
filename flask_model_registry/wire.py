"""Requests and responses in MLflow's JSON wire format, shared by the MLflow and native APIs.

Reading: a request's parameters (query string or JSON body) validated with a schema, and the
URL values checked. Writing: compact JSON, doubles as MLflow sends them, and every error as
``{"error_code", "message"}`` with MLflow's status, never as an HTML page.
"""

from __future__ import annotations

import json
import logging
import math
import re
import typing as t

from flask import Blueprint, Response, request
from marshmallow import Schema, fields
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .errors import HookMissing, InvalidParameter, RegistryError, TemporarilyUnavailable
from .schemas.base import load
from .state import get_state

__all__ = [
    "check_url_values",
    "compact",
    "error_response",
    "json_response",
    "json_result",
    "paging",
    "parse",
    "register_error_handlers",
    "request_data",
    "wire_float",
]

logger = logging.getLogger("flask_model_registry")

_CONTENT_CHECKED = frozenset({"POST", "PUT"})
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_NUL_MESSAGE = "NUL characters are not allowed in request values."
#: The WSGI environ key of the JSON body once read, so that a request can be handled again.
_BODY_KEY = "model_registry.body"

# ---------------------------------------------------------------------------------------------
# responses


def wire_float(value: float) -> float | str:
    """A double as MLflow sends it: NaN and infinities become strings."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def compact(data: dict[str, t.Any]) -> dict[str, t.Any]:
    """Drop ``None`` values and empty lists, as protobuf JSON omits unset fields."""
    return {k: v for k, v in data.items() if v is not None and v != []}


def json_response(payload: t.Mapping[str, t.Any], status: int = 200) -> Response:
    """Serialize ``payload`` (already wire-shaped) as compact JSON."""
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return Response(body, status=status, mimetype="application/json")


def json_result(result: t.Any) -> Response:
    """A view's result as a response: a ``Response`` as it is, a payload (or ``None``) as JSON
    with 200, or a ``(payload, status)`` pair."""
    if isinstance(result, Response):
        return result
    payload, status = result if isinstance(result, tuple) else (result, 200)
    return json_response(payload or {}, status=status)


# ---------------------------------------------------------------------------------------------
# requests


def check_url_values(values: t.Mapping[str, t.Any]) -> None:
    """Refuse NUL characters in the URL's values, as in every other request value."""
    if any(isinstance(value, str) and "\x00" in value for value in values.values()):
        raise InvalidParameter("NUL characters are not allowed in URLs.")


def paging(data: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The ``max_results``, ``order_by`` and ``page_token`` of a parsed search request."""
    return {key: data[key] for key in ("max_results", "order_by", "page_token")}


def parse(schema: Schema) -> dict[str, t.Any]:
    """Read and validate the request's parameters with ``schema``."""
    return load(schema, request_data(schema))


def request_data(schema: Schema | None = None) -> dict[str, t.Any]:
    """The request's parameters: the query string for GET, the JSON body otherwise."""
    if request.method in ("GET", "HEAD"):
        lists = _list_fields(schema) if schema is not None else set()
        args = request.args
        if any("\x00" in key or "\x00" in value for key, value in args.items(multi=True)):
            raise InvalidParameter(_NUL_MESSAGE)
        return {key: args.getlist(key) if key in lists else args.get(key) for key in args}
    return _json_body()


def _list_fields(schema: Schema) -> set[str]:
    return {
        field.data_key or name
        for name, field in schema.fields.items()
        if isinstance(field, fields.List)
    }


def _json_body() -> dict[str, t.Any]:
    if request.method in _CONTENT_CHECKED and not request.mimetype == "application/json":
        if not request.content_type:
            raise InvalidParameter("Bad Request. Content-Type header is missing.")
        raise InvalidParameter(
            f"Bad Request. Content-Type must be 'application/json', got '{request.content_type}'."
        )
    raw = _read_body(get_state().settings.max_json_bytes)
    if not raw.strip():
        return {}
    if b"\\u0000" in raw:
        raise InvalidParameter(_NUL_MESSAGE)
    try:
        data = json.loads(raw)
        if isinstance(data, str):  # double-encoded by some older clients
            data = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("Malformed JSON in the request body.") from None
    except RecursionError:
        raise InvalidParameter("The JSON request body is nested too deeply.") from None
    if not isinstance(data, dict):
        raise InvalidParameter("The request body must be a JSON object.")
    if _SURROGATE_ESCAPE.search(raw) and not _encodable(data):
        raise InvalidParameter("The request body contains an unpaired UTF-16 surrogate.")
    return data


def _read_body(limit: int) -> bytes:
    """The body, refused with 413 past ``limit`` bytes, chunked or not; read once and kept."""
    kept: bytes | None = request.environ.get(_BODY_KEY)
    if kept is not None:
        return kept
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise RequestEntityTooLarge()
    request.environ[_BODY_KEY] = raw
    return raw


def _encodable(value: t.Any) -> bool:
    """Whether every string in ``value`` is valid Unicode (no lone surrogates)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_encodable(item) for item in value)
    return True


# ---------------------------------------------------------------------------------------------
# errors


def error_response(error: RegistryError) -> Response:
    """``{"error_code", "message"}`` with MLflow's status for the code; a 503 says in
    ``Retry-After`` when to try again."""
    response = json_response(error.to_dict(), status=error.status_code)
    if isinstance(error, TemporarilyUnavailable):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def register_error_handlers(bp: Blueprint) -> None:
    """Answer every error of ``bp`` in MLflow's JSON shape, never with an HTML page."""
    bp.register_error_handler(RegistryError, error_response)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(OperationalError, _database_error)
    bp.register_error_handler(DBAPIError, _database_error)
    bp.register_error_handler(Exception, _unexpected_error)


_HTTP_ERROR_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    405: "ENDPOINT_NOT_FOUND",
    413: "INVALID_PARAMETER_VALUE",
}


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    default = "BAD_REQUEST" if status < 500 else "INTERNAL_ERROR"
    code = _HTTP_ERROR_CODES.get(status, default)
    message = error.description or error.name
    if status == 413:
        message = "The request body is larger than this server accepts."
    return json_response({"error_code": code, "message": message}, status=status)


_SCHEMA_PROBLEMS = ("no such table", "no such column", "does not exist")


def _database_error(error: DBAPIError) -> Response:
    if any(problem in str(error.orig) for problem in _SCHEMA_PROBLEMS):
        logger.error(
            "The registry's tables are missing or outdated; run 'flask model-registry db upgrade'."
        )
        return json_response(
            {
                "error_code": "INTERNAL_ERROR",
                "message": "The registry's database schema is not set up on this server.",
            },
            status=500,
        )
    if isinstance(error, DataError):
        return error_response(InvalidParameter("A value is out of range or malformed."))
    if error.connection_invalidated or isinstance(error, OperationalError):
        logger.warning("Database unavailable: %s", type(error.orig).__name__)
        return error_response(TemporarilyUnavailable(_unavailable_message(error)))
    return _unexpected_error(error)


def _unavailable_message(error: DBAPIError) -> str:
    if "database is locked" in str(error.orig):
        return "The database stayed locked by other writers past its busy timeout; retry shortly."
    return "The database is temporarily unavailable; retry shortly."


def _unexpected_error(error: Exception) -> Response:
    if isinstance(error, HookMissing):
        raise error
    logger.exception("Unexpected error in %s %s", request.method, request.path)
    return json_response(
        {"error_code": "INTERNAL_ERROR", "message": "An internal error occurred."}, status=500
    )
