"""The MLflow-compatible REST API blueprint, mounted under the tracking URI prefix."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..errors import EndpointNotFound
from ..routing import register_routes
from ..state import RegistryState
from ..web.links import tracking_root_page
from ..wire import json_result, register_error_handlers
from .routes import ROUTES

__all__ = ["BLUEPRINT_NAME", "make_blueprint"]

BLUEPRINT_NAME = "model_registry_mlflow"
_ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _endpoint_not_found(project_id: int, path: str = "") -> Response:
    raise EndpointNotFound(f"No API endpoint {request.method} {request.path}.")


def _asks_for_a_page() -> bool:
    """Whether a browser asks for a page: GET preferring HTML to JSON (a tie is JSON)."""
    best = request.accept_mimetypes.best_match(("application/json", "text/html"))
    return request.method in ("GET", "HEAD") and best == "text/html"


def _tracking_root(project_id: int) -> Response:
    """The tracking URI's root: the page the mlflow client's printed links lead a browser to."""
    if _asks_for_a_page():
        return tracking_root_page(project_id)
    return _endpoint_not_found(project_id)


def make_blueprint(state: RegistryState) -> Blueprint:
    """Build the blueprint from :data:`ROUTES` with the configured prefix."""
    bp = Blueprint(BLUEPRINT_NAME, __name__, url_prefix=state.settings.mlflow_prefix)
    register_routes(bp, ROUTES, state, json_result)
    root = _tracking_root if state.settings.enable_web else _endpoint_not_found
    catch_all = (
        ("/", "endpoint_not_found_root", root),
        ("/<path:path>", "endpoint_not_found", _endpoint_not_found),
    )
    for rule, endpoint, view in catch_all:
        bp.add_url_rule(rule, endpoint, view, methods=_ANY_METHOD)
        state.endpoint_permissions[f"{BLUEPRINT_NAME}.{endpoint}"] = None
    register_error_handlers(bp)
    return bp
