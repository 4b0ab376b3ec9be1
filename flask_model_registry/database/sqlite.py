"""SQLite connection settings for concurrent use: WAL, a busy timeout, foreign keys, and
``BEGIN IMMEDIATE`` for writing requests so that two writers queue instead of failing.

Registry views set ``WRITE_PHASE_KEY``: false while a request is authorized and for reading
routes (searches are POSTs too), true once a writing route's view runs, so the write lock is
held only while that view itself runs."""

from __future__ import annotations

import typing as t

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

__all__ = ["WRITE_PHASE_KEY", "configure_engine"]

#: Set on ``flask.g`` once a writing request is authorized: its next transaction takes the lock.
WRITE_PHASE_KEY = "_model_registry_write_phase"

_CONFIGURED = "_model_registry_sqlite"
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def configure_engine(engine: Engine, *, busy_timeout: float) -> None:
    """Install the listeners once per engine; other dialects are left alone."""
    if engine.dialect.name != "sqlite" or getattr(engine, _CONFIGURED, False):
        return
    setattr(engine, _CONFIGURED, True)
    memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: t.Any, _record: t.Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN so writers can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: t.Any) -> None:
        writing = (
            has_request_context()
            and request.method not in _READ_METHODS
            and g.get(WRITE_PHASE_KEY, True)
        )
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")
