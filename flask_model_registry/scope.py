"""Build a :class:`ProjectContext` for the current app and caller."""

from __future__ import annotations

import typing as t

from sqlalchemy.orm import Session

from .services.context import ProjectContext
from .state import get_state

__all__ = ["make_context", "user_name"]


def user_name(user: t.Any) -> str | None:
    """The name the registry records for ``user`` (``username``, ``name``, or ``str(user)``)."""
    if user is None:
        return None
    for attr in ("username", "name"):
        value = getattr(user, attr, None)
        if isinstance(value, str) and value:
            return value
    return str(user)


def make_context(project_id: int, user: t.Any) -> ProjectContext:
    """A service context for ``project_id`` acting as ``user``, in the app's current session."""
    state = get_state()
    return ProjectContext(
        session=t.cast(Session, state.db.session),
        project_id=project_id,
        user_name=user_name(user),
        artifacts=state.artifact_store,
        settings=state.settings,
        packages=state.registry,
    )
