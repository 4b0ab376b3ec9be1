"""The MLflow-compatible REST API blueprint, mounted under the tracking URI prefix."""

from __future__ import annotations

import importlib
import logging
import typing as t

from flask import Blueprint, Response, request
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from ..errors import (
    EndpointNotFound,
    HookMissing,
    InvalidParameter,
    RegistryError,
    TemporarilyUnavailable,
)
from ..scope import call_in_project
from ..state import RegistryState
from ._wire import json_response
from .routes import ROUTES, Route

__all__ = ["BLUEPRINT_NAME", "error_response", "make_blueprint"]

BLUEPRINT_NAME = "model_registry_mlflow"
logger = logging.getLogger("flask_model_registry")

View = t.Callable[..., t.Any]


def error_response(error: RegistryError) -> Response:
    """``{"error_code", "message"}`` with MLflow's status for the code."""
    return json_response(error.to_dict(), status=error.status_code)


def _resolve(name: str) -> View:
    module_name, func_name = name.rsplit(".", 1)
    module = importlib.import_module(f"{__name__}.{module_name}")
    return t.cast(View, getattr(module, func_name))


def _make_view(route: Route, state: RegistryState) -> View:
    view = _resolve(route.view)

    def endpoint(project_id: int, **kwargs: t.Any) -> Response:
        result = call_in_project(project_id, route.permission, view, kwargs)
        if isinstance(result, Response):
            return result
        return json_response(result or {})

    endpoint.__name__ = f"{route.view.replace('.', '_')}_{route.method.lower()}"
    return endpoint


def _endpoint_not_found(project_id: int, path: str = "") -> Response:
    raise EndpointNotFound(f"No API endpoint {request.method} {request.path}.")


def make_blueprint(state: RegistryState) -> Blueprint:
    """Build the blueprint from :data:`ROUTES` with the configured prefix."""
    bp = Blueprint(BLUEPRINT_NAME, __name__, url_prefix=state.settings.mlflow_prefix)
    for route in ROUTES:
        view = _make_view(route, state)
        for i, rule in enumerate(route.rules):
            endpoint = f"{view.__name__}_{i}"
            bp.add_url_rule(rule, endpoint, view, methods=[route.method])
            state.endpoint_permissions[f"{BLUEPRINT_NAME}.{endpoint}"] = route.permission
    catch_all_methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    for rule in ("/", "/<path:path>"):
        bp.add_url_rule(
            rule,
            "endpoint_not_found" + ("_root" if rule == "/" else ""),
            _endpoint_not_found,
            methods=catch_all_methods,
        )
    state.endpoint_permissions[f"{BLUEPRINT_NAME}.endpoint_not_found"] = None
    state.endpoint_permissions[f"{BLUEPRINT_NAME}.endpoint_not_found_root"] = None
    register_error_handlers(bp)
    return bp


def register_error_handlers(bp: Blueprint) -> None:
    """Answer every error of ``bp`` in MLflow's JSON shape, never with an HTML page."""
    bp.register_error_handler(RegistryError, error_response)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(OperationalError, _database_error)
    bp.register_error_handler(DBAPIError, _database_error)
    bp.register_error_handler(Exception, _unexpected_error)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = {
        400: "INVALID_PARAMETER_VALUE",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "ENDPOINT_NOT_FOUND",
        405: "ENDPOINT_NOT_FOUND",
        413: "INVALID_PARAMETER_VALUE",
    }.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_ERROR")
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
        return error_response(
            TemporarilyUnavailable("The database is temporarily unavailable; retry shortly.")
        )
    return _unexpected_error(error)


def _unexpected_error(error: Exception) -> Response:
    if isinstance(error, HookMissing):
        raise error
    logger.exception("Unexpected error in %s %s", request.method, request.path)
    return json_response(
        {"error_code": "INTERNAL_ERROR", "message": "An internal error occurred."}, status=500
    )
