"""The native JSON API blueprint (``/api/v4/projects/<id>/ml/...``)."""

from __future__ import annotations

from flask import Blueprint

from ..routing import register_routes
from ..state import RegistryState
from ..wire import json_result, register_error_handlers
from .routes import ROUTES

__all__ = ["BLUEPRINT_NAME", "make_blueprint"]

BLUEPRINT_NAME = "model_registry_api"


def make_blueprint(state: RegistryState) -> Blueprint:
    """Build the native API blueprint from its route table."""
    bp = Blueprint(BLUEPRINT_NAME, __name__, url_prefix=state.settings.api_prefix)
    register_routes(bp, ROUTES, state, json_result)
    register_error_handlers(bp)
    return bp
