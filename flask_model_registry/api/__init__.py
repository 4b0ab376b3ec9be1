"""The native JSON API blueprint (``/api/v4/projects/<id>/ml/...``)."""

from __future__ import annotations

import typing as t

from flask import Blueprint, Response

from ..mlflow import register_error_handlers
from ..mlflow._wire import json_response
from ..scope import call_in_project
from ..state import RegistryState
from .routes import ROUTES, ApiRoute

__all__ = ["BLUEPRINT_NAME", "make_blueprint"]

BLUEPRINT_NAME = "model_registry_api"


def _make_view(route: ApiRoute, state: RegistryState) -> t.Callable[..., Response]:
    def endpoint(project_id: int, **kwargs: t.Any) -> Response:
        result = call_in_project(project_id, route.permission, route.view, kwargs)
        if isinstance(result, Response):
            return result
        payload, status = result if isinstance(result, tuple) else (result, 200)
        return json_response(payload, status=status)

    endpoint.__name__ = route.endpoint
    return endpoint


def make_blueprint(state: RegistryState) -> Blueprint:
    """Build the native API blueprint from its route table."""
    bp = Blueprint(BLUEPRINT_NAME, __name__, url_prefix=state.settings.api_prefix)
    for route in ROUTES:
        bp.add_url_rule(
            route.rule, route.endpoint, _make_view(route, state), methods=[route.method]
        )
        state.endpoint_permissions[f"{BLUEPRINT_NAME}.{route.endpoint}"] = route.permission
    register_error_handlers(bp)
    return bp
