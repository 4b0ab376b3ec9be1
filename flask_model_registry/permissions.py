"""The one place that turns the host's membership answer into allow, 401, 403 or 404."""

from __future__ import annotations

import typing as t

from flask import g

from .errors import NotFound, PermissionDenied, Unauthenticated
from .hooks import Permission
from .state import get_state

__all__ = ["authorize", "current_user", "is_allowed"]

_USER_KEY = "_model_registry_user"
#: Project ids are 64-bit; larger ones cannot exist and never reach the host.
MAX_PROJECT_ID = 2**63 - 1
_ACCESS_KEY = "_model_registry_access"


def current_user() -> t.Any:
    """The calling user, loaded once per request through the host's ``user_loader``."""
    if _USER_KEY not in g:
        setattr(g, _USER_KEY, get_state().registry.hooks.load_user())
    return getattr(g, _USER_KEY)


def is_allowed(project_id: int, permission: Permission) -> bool:
    """Ask the host once per request whether the current user has ``permission``."""
    cache: dict[tuple[int, Permission], bool] = g.setdefault(_ACCESS_KEY, {})
    key = (project_id, permission)
    if key not in cache:
        hooks = get_state().registry.hooks
        cache[key] = hooks.allows(current_user(), project_id, permission)
    return cache[key]


def authorize(project_id: int, permission: Permission) -> t.Any:
    """Return the current user if they hold ``permission`` in ``project_id``, else raise.

    Without read access the project does not exist for the caller (404), or, when nobody is
    signed in, authentication is asked for (401). Readers who may not write get 403. A write
    permission implies its read permission, so an allowed write asks the host once.
    """
    if not 0 <= project_id <= MAX_PROJECT_ID:
        raise NotFound(f"Project {project_id} not found.")
    user = current_user()
    if permission.is_write and is_allowed(project_id, permission):
        return user
    if not is_allowed(project_id, permission.read_counterpart):
        if user is None:
            raise Unauthenticated(
                "Authentication required. Send a personal access token as"
                " 'Authorization: Bearer <token>' (MLFLOW_TRACKING_TOKEN)."
            )
        raise NotFound(f"Project {project_id} not found.")
    if permission.is_write:
        if user is None:
            raise Unauthenticated("Authentication required to change this project.")
        raise PermissionDenied(
            f"You may read project {project_id} but lack '{permission.value}' to change it."
        )
    return user
