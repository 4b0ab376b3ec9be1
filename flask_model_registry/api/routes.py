"""The native API's routes: method, rule, view and permission."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from flask_model_registry.api import views
from flask_model_registry.hooks import Permission

__all__ = ["ROUTES", "ApiRoute"]

READ_REG = Permission.READ_MODEL_REGISTRY
WRITE_REG = Permission.WRITE_MODEL_REGISTRY


@dataclass(frozen=True)
class ApiRoute:
    method: str
    rule: str
    endpoint: str
    view: t.Callable[..., t.Any]
    permission: Permission


_MODEL = "/models/<int:model_id>"
_VERSION = _MODEL + "/versions/<semver>"

ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute("GET", "/models", "list_models", views.list_models, READ_REG),
    ApiRoute("POST", "/models", "create_model", views.create_model, WRITE_REG),
    ApiRoute("GET", _MODEL, "get_model", views.get_model, READ_REG),
    ApiRoute("PATCH", _MODEL, "update_model", views.update_model, WRITE_REG),
    ApiRoute("DELETE", _MODEL, "delete_model", views.delete_model, WRITE_REG),
    ApiRoute("GET", _MODEL + "/versions", "list_versions", views.list_versions, READ_REG),
    ApiRoute("POST", _MODEL + "/versions", "create_version", views.create_version, WRITE_REG),
    ApiRoute("GET", _VERSION, "get_version", views.get_version, READ_REG),
    ApiRoute("DELETE", _VERSION, "delete_version", views.delete_version, WRITE_REG),
)
