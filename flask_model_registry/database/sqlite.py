"""SQLite settings for concurrent use, applied to the registry's own work only.

The registry marks its work with :func:`registry_work` (every registry request, migrations):
its transactions begin explicitly, with ``BEGIN IMMEDIATE`` once :func:`start_writing` was
called, so that two writers queue instead of failing. Python's ``sqlite3`` issues no implicit
``BEGIN`` inside a transaction begun this way, so the connection's isolation level can stay as
it is.

- On an engine the registry **owns**, every connection gets WAL journaling,
  ``synchronous=NORMAL``, foreign keys and the busy timeout, and every transaction begins
  explicitly (plain ``BEGIN`` outside the registry's writes).
- On an engine **shared** with the host, the host's work sees the engine exactly as the host
  configured it. The registry's transactions turn on foreign keys and its busy timeout on their
  connection; the host's values come back when the host next begins a transaction there. The
  journal mode belongs to the database file and stays the host's choice.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import typing as t
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

__all__ = ["configure_engine", "registry_work", "start_writing"]


class _Phase(enum.Enum):
    READ = "read"
    WRITE = "write"


#: ``None`` outside the registry's work, else whether its transactions take the write lock.
_phase: ContextVar[_Phase | None] = ContextVar("model_registry_sqlite_phase", default=None)

_CONFIGURED = "_model_registry_sqlite"
#: Connection info key, present while the registry's settings are on the connection: the
#: host's ``(foreign_keys, busy_timeout)`` to restore, or ``None`` when they are the same.
_HOST_SETTINGS = "model_registry_host_settings"


@contextlib.contextmanager
def registry_work() -> t.Iterator[None]:
    """Mark the registry's own work: its transactions read until :func:`start_writing`."""
    token = _phase.set(_Phase.READ)
    try:
        yield
    finally:
        _phase.reset(token)


def start_writing() -> None:
    """The registry's next transactions, until :func:`registry_work` ends, take the lock."""
    _phase.set(_Phase.WRITE)


def configure_engine(engine: Engine, *, busy_timeout: float, owned: bool) -> None:
    """Install the listeners once per engine; other dialects are left alone.

    :param owned: The registry created this engine (configure every connection) rather than
        sharing the host's (configure the registry's transactions only).
    """
    if engine.dialect.name != "sqlite" or getattr(engine, _CONFIGURED, False):
        return
    setattr(engine, _CONFIGURED, True)
    busy_ms = int(busy_timeout * 1000)
    if owned:
        memory = engine.url.database in (None, "", ":memory:")
        event.listen(engine, "connect", functools.partial(_own_connection, busy_ms, memory))
        event.listen(engine, "begin", _begin_owned)
    else:
        event.listen(engine, "begin", functools.partial(_begin_shared, busy_ms))


def _own_connection(busy_ms: int, memory: bool, dbapi_connection: t.Any, _record: t.Any) -> None:
    # Let the "begin" listener issue BEGIN so that writers can take the lock up front.
    dbapi_connection.isolation_level = None
    if not memory:
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    _set_pragmas(dbapi_connection, (1, busy_ms))


def _begin_owned(connection: Connection) -> None:
    connection.exec_driver_sql(_begin_statement(_phase.get()))


def _begin_shared(busy_ms: int, connection: Connection) -> None:
    phase = _phase.get()
    pooled = connection.connection
    dbapi_connection: t.Any = pooled.dbapi_connection
    if phase is None:
        host_settings = pooled.info.pop(_HOST_SETTINGS, None)
        if host_settings is not None:
            _set_pragmas(dbapi_connection, host_settings)
        return
    if _HOST_SETTINGS not in pooled.info:
        host_settings = _pragmas(dbapi_connection)
        changed = host_settings != (1, busy_ms)
        if changed:
            _set_pragmas(dbapi_connection, (1, busy_ms))
        pooled.info[_HOST_SETTINGS] = host_settings if changed else None
    if not dbapi_connection.in_transaction:
        connection.exec_driver_sql(_begin_statement(phase))


def _begin_statement(phase: _Phase | None) -> str:
    return "BEGIN IMMEDIATE" if phase is _Phase.WRITE else "BEGIN"


def _pragmas(dbapi_connection: t.Any) -> tuple[int, int]:
    """The connection's ``(foreign_keys, busy_timeout)``."""
    foreign_keys = dbapi_connection.execute("PRAGMA foreign_keys").fetchone()[0]
    busy_timeout = dbapi_connection.execute("PRAGMA busy_timeout").fetchone()[0]
    return int(foreign_keys), int(busy_timeout)


def _set_pragmas(dbapi_connection: t.Any, settings: tuple[int, int]) -> None:
    foreign_keys, busy_timeout = settings
    dbapi_connection.execute(f"PRAGMA foreign_keys={int(foreign_keys)}")
    dbapi_connection.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
