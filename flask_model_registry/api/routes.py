"""The native API's routes: method, rule, permission, view and request schema."""

from __future__ import annotations

from marshmallow import Schema

from flask_model_registry.api import views
from flask_model_registry.hooks import Permission
from flask_model_registry.routing import Route, View
from flask_model_registry.schemas import native as s

__all__ = ["ROUTES"]

READ_REG = Permission.READ_MODEL_REGISTRY
WRITE_REG = Permission.WRITE_MODEL_REGISTRY


def _route(method: str, rule: str, permission: Permission, view: View,
           schema: Schema | None = None) -> Route:
    return Route((method,), (rule,), view, permission, schema)


_MODEL = "/models/<int:model_id>"
_VERSION = _MODEL + "/versions/<semver>"
_PAGE = s.PageSchema()

ROUTES: tuple[Route, ...] = (
    _route("GET", "/models", READ_REG, views.list_models, _PAGE),
    _route("POST", "/models", WRITE_REG, views.create_model, s.ModelCreateSchema()),
    _route("GET", _MODEL, READ_REG, views.get_model),
    _route("PATCH", _MODEL, WRITE_REG, views.update_model, s.ModelUpdateSchema()),
    _route("DELETE", _MODEL, WRITE_REG, views.delete_model),
    _route("GET", _MODEL + "/versions", READ_REG, views.list_versions, _PAGE),
    _route("POST", _MODEL + "/versions", WRITE_REG, views.create_version,
           s.VersionCreateSchema()),
    _route("GET", _VERSION, READ_REG, views.get_version),
    _route("DELETE", _VERSION, WRITE_REG, views.delete_version),
)
