"""Run a view in a project: authorize the caller, then one transaction."""

from __future__ import annotations

import typing as t

from sqlalchemy.orm import Session

from .database.sqlite import registry_work, start_writing
from .hooks import Permission
from .permissions import authorize
from .services.context import ProjectContext
from .state import get_state

__all__ = ["make_context", "run_in_project", "user_name"]

T = t.TypeVar("T")


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
        packages=state.registry.hooks,
    )


def run_in_project(
    project_id: int,
    permission: Permission | None,
    call: t.Callable[[ProjectContext], T],
) -> T:
    """Authorize, then run ``call(ctx)`` in one transaction: commit or roll back."""
    with registry_work():  # reads (searches sent as POST too) never take SQLite's write lock
        return _authorize_and_call(project_id, permission, call)


def _authorize_and_call(
    project_id: int, permission: Permission | None, call: t.Callable[[ProjectContext], T]
) -> T:
    writing = permission is not None and permission.is_write
    user = authorize(project_id, permission) if permission is not None else None
    ctx = make_context(project_id, user)
    if writing and ctx.session.get_bind().dialect.name == "sqlite":
        # End the authorization's read transaction; the view's writes take the lock anew.
        ctx.session.commit()
        start_writing()
    try:
        result = call(ctx)
        ctx.session.commit()
    except BaseException:
        ctx.session.rollback()
        raise
    return result
