"""The web pages blueprint (``/projects/<id>/-/ml/...``)."""

from __future__ import annotations

import logging
import typing as t

from flask import Blueprint, Response, redirect, render_template, request, url_for
from sqlalchemy.exc import OperationalError

from ..errors import (
    NotFound,
    PermissionDenied,
    RegistryError,
    TemporarilyUnavailable,
    Unauthenticated,
)
from ..routing import register_routes
from ..state import RegistryState, get_state
from .routes import ROUTES

__all__ = ["BLUEPRINT_NAME", "make_blueprint"]

BLUEPRINT_NAME = "model_registry_web"
logger = logging.getLogger("flask_model_registry")


def _error_page(error: RegistryError) -> t.Any:
    state = get_state()
    if isinstance(error, Unauthenticated) and state.settings.login_view:
        return redirect(url_for(state.settings.login_view, next=request.full_path))
    status = error.status_code
    if isinstance(error, (NotFound, PermissionDenied, Unauthenticated)) or status < 500:
        body = render_template(
            "model_registry/error.html",
            base_template=state.settings.base_template,
            status=status,
            message=error.message,
        )
        return Response(body, status=status)
    raise error


def _drop_project_for_static(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
    # Static files are the same for every project; the prefix still carries its id.
    if endpoint == f"{BLUEPRINT_NAME}.static" and values is not None:
        values.pop("project_id", None)


def _database_unavailable_page(error: OperationalError) -> t.Any:
    logger.warning("Database unavailable: %s", type(error.orig).__name__)
    unavailable = TemporarilyUnavailable(
        "The database is temporarily unavailable; try again shortly."
    )
    body = render_template(
        "model_registry/error.html",
        base_template=get_state().settings.base_template,
        status=unavailable.status_code,
        message=unavailable.message,
    )
    return Response(
        body,
        status=unavailable.status_code,
        headers={"Retry-After": str(unavailable.retry_after)},
    )


def make_blueprint(state: RegistryState) -> Blueprint:
    """Build the pages blueprint from its route table."""
    bp = Blueprint(
        BLUEPRINT_NAME,
        __name__,
        url_prefix=state.settings.web_prefix,
        template_folder="../templates",
        static_folder="../static/model_registry",
        static_url_path="/-/static",
    )
    register_routes(bp, ROUTES, state)
    state.endpoint_permissions[f"{BLUEPRINT_NAME}.static"] = None
    bp.url_value_preprocessor(_drop_project_for_static)
    bp.register_error_handler(RegistryError, _error_page)
    bp.register_error_handler(OperationalError, _database_unavailable_page)
    return bp
