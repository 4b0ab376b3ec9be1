"""Reading requests and writing responses in MLflow's protobuf-JSON wire format."""

from __future__ import annotations

import json
import math
import re
import typing as t

from flask import Response, request
from marshmallow import Schema, fields
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import InvalidParameter
from ..schemas.base import load
from ..state import get_state

__all__ = ["json_response", "parse", "request_data", "wire_float"]

_CONTENT_CHECKED = frozenset({"POST", "PUT"})
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def wire_float(value: float) -> float | str:
    """A double as MLflow sends it: NaN and infinities become strings."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def json_response(payload: t.Mapping[str, t.Any], status: int = 200) -> Response:
    """Serialize ``payload`` (already wire-shaped) as compact JSON."""
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return Response(body, status=status, mimetype="application/json")


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
        raise InvalidParameter("NUL characters are not allowed in request values.")
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
    """The body, refused with 413 past ``limit`` bytes, chunked or not."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise RequestEntityTooLarge()
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


def request_data(schema: Schema | None = None) -> dict[str, t.Any]:
    """The request's parameters: the query string for GET, the JSON body otherwise."""
    if request.method in ("GET", "HEAD"):
        lists = _list_fields(schema) if schema is not None else set()
        args = request.args
        if any("\x00" in key or "\x00" in value for key, value in args.items(multi=True)):
            raise InvalidParameter("NUL characters are not allowed in request values.")
        return {key: args.getlist(key) if key in lists else args.get(key) for key in args}
    return _json_body()


def parse(schema: Schema) -> dict[str, t.Any]:
    """Read and validate the request's parameters with ``schema``."""
    return load(schema, request_data(schema))
