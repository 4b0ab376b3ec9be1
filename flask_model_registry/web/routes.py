"""The pages' routes: methods, rule, the permission a reader (GET) needs, and the view."""

from __future__ import annotations

from flask_model_registry.hooks import Permission
from flask_model_registry.routing import Route, View

from . import links, views

__all__ = ["ROUTES"]

READ_EXP = Permission.READ_MODEL_EXPERIMENTS
WRITE_EXP = Permission.WRITE_MODEL_EXPERIMENTS
READ_REG = Permission.READ_MODEL_REGISTRY
WRITE_REG = Permission.WRITE_MODEL_REGISTRY


def _page(rule: str, permission: Permission, view: View) -> Route:
    return Route(("GET",), (rule,), view, permission)


def _form(rule: str, permission: Permission, write_permission: Permission, view: View) -> Route:
    """A form's target: ``write_permission`` guards its POST."""
    return Route(("POST",), (rule,), view, permission, write_permission=write_permission)


_VERSION = "/models/<int:model_id>/versions/<semver>"

ROUTES: tuple[Route, ...] = (
    _page("/experiments", READ_EXP, views.experiments),
    _page("/experiments/<int:iid>", READ_EXP, views.experiment),
    _form("/experiments/<int:iid>/delete", READ_EXP, WRITE_EXP, views.delete_experiment),
    _page("/candidates/<run_id>", READ_EXP, views.candidate),
    _page("/candidates/<run_id>/artifacts/<path:path>", READ_EXP, views.download_artifact),
    _page("/candidates/<run_id>/models/<model_id>/files/<path:path>", READ_EXP,
          views.download_logged_model_file),
    _form("/candidates/<run_id>/promote", READ_EXP, WRITE_REG, views.promote),
    _page("/compare", READ_EXP, views.compare),
    _page("/models", READ_REG, views.models),
    _page("/models/by-name", READ_REG, links.model_by_name),
    _page("/models/<int:model_id>", READ_REG, views.model),
    _page(_VERSION, READ_REG, views.model_version),
    _page(_VERSION + "/files/<path:path>", READ_REG, views.download_version_file),
)
