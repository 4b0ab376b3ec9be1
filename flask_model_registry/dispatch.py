"""Run a view in a project: authorize the caller, then one transaction.

A transaction that PostgreSQL aborts for a conflict with a concurrent one (serialization
failure, deadlock, unique-key race: :mod:`.database.retry`) runs again from the start, a few
times with a short jittered wait, so that clients never see contention the server can resolve.
Only requests that can be replayed run again: a streamed upload is read once.
"""

from __future__ import annotations

import logging
import time
import typing as t

from flask import request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .database import retry
from .database.sqlite import registry_work, start_writing
from .hooks import Permission
from .permissions import authorize
from .services.context import ProjectContext
from .state import get_state

__all__ = ["make_context", "run_in_project", "user_name"]

T = t.TypeVar("T")

logger = logging.getLogger("flask_model_registry")

#: Bodies kept whole once read (JSON by ``wire.request_data``, forms by werkzeug).
_KEPT_BODIES = frozenset({"application/json", "application/x-www-form-urlencoded"})


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
    """Authorize, then run ``call(ctx)`` in one transaction: commit or roll back; run it
    again when it lost a conflict with a concurrent transaction."""
    with registry_work():  # reads (searches sent as POST too) never take SQLite's write lock
        attempt = 1
        while True:
            try:
                return _authorize_and_call(project_id, permission, call)
            except DBAPIError as error:
                if attempt >= retry.MAX_ATTEMPTS or not retry.is_conflict(error):
                    raise
                if not _replayable():
                    raise
                logger.info(
                    "Running the transaction again after SQLSTATE %s (attempt %d)",
                    retry.sqlstate(error), attempt,
                )
                time.sleep(retry.backoff(attempt))
                attempt += 1


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


def _replayable() -> bool:
    """Whether the request can be handled again: it has no body, or one kept once read; a
    streamed body (an artifact upload) is read only once."""
    if request.mimetype in _KEPT_BODIES:
        return True
    return not request.content_length and "Transfer-Encoding" not in request.headers
