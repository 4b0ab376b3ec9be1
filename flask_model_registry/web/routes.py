"""The pages' routes: methods, rule, view and the permission a reader (GET) needs."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from flask_model_registry.hooks import Permission

from . import views

__all__ = ["ROUTES", "PageRoute"]

READ_EXP = Permission.READ_MODEL_EXPERIMENTS
WRITE_EXP = Permission.WRITE_MODEL_EXPERIMENTS
READ_REG = Permission.READ_MODEL_REGISTRY
WRITE_REG = Permission.WRITE_MODEL_REGISTRY


@dataclass(frozen=True)
class PageRoute:
    """A page; ``write_permission`` guards its POST."""

    methods: tuple[str, ...]
    rule: str
    endpoint: str
    view: t.Callable[..., t.Any]
    permission: Permission
    write_permission: Permission | None = None

    def permission_for(self, method: str) -> Permission:
        if method == "POST" and self.write_permission is not None:
            return self.write_permission
        return self.permission


GET = ("GET",)
POST = ("POST",)

ROUTES: tuple[PageRoute, ...] = (
    PageRoute(GET, "/experiments", "experiments", views.experiments, READ_EXP),
    PageRoute(GET, "/experiments/<int:iid>", "experiment", views.experiment, READ_EXP),
    PageRoute(POST, "/experiments/<int:iid>/delete", "delete_experiment",
              views.delete_experiment, READ_EXP, WRITE_EXP),
    PageRoute(GET, "/candidates/<run_id>", "candidate", views.candidate, READ_EXP),
    PageRoute(GET, "/candidates/<run_id>/artifacts/<path:path>", "download_artifact",
              views.download_artifact, READ_EXP),
    PageRoute(POST, "/candidates/<run_id>/promote", "promote", views.promote, READ_EXP,
              WRITE_REG),
    PageRoute(GET, "/compare", "compare", views.compare, READ_EXP),
    PageRoute(GET, "/models", "models", views.models, READ_REG),
    PageRoute(GET, "/models/<int:model_id>", "model", views.model, READ_REG),
    PageRoute(GET, "/models/<int:model_id>/versions/<semver>", "model_version",
              views.model_version, READ_REG),
    PageRoute(GET, "/models/<int:model_id>/versions/<semver>/files/<path:path>",
              "download_version_file", views.download_version_file, READ_REG),
)
