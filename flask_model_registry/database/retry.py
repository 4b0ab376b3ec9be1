"""Conflicts between concurrent transactions that running the transaction again resolves.

PostgreSQL aborts one of two conflicting transactions with a serialization failure (SQLSTATE
``40001``, at ``REPEATABLE READ`` or ``SERIALIZABLE``) or a deadlock (``40P01``), and two
transactions inserting the same new key race to a unique violation (``23505``) that a re-run
reads as the row the other one committed. SQLite has none of these: its writers queue for one
lock (:mod:`.sqlite`), and a lock not granted within the busy timeout is an outage, not a
conflict.
"""

from __future__ import annotations

import random

from sqlalchemy.exc import DBAPIError

__all__ = ["MAX_ATTEMPTS", "backoff", "is_conflict", "sqlstate"]

#: How many times a transaction runs at most, the first time included.
MAX_ATTEMPTS = 5
_CONFLICTS = frozenset({"40001", "40P01", "23505"})
_FIRST_WAIT_S = 0.005


def sqlstate(error: DBAPIError) -> str | None:
    """The SQLSTATE of the driver's error (psycopg 3 ``sqlstate``, psycopg2 ``pgcode``)."""
    orig = error.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_conflict(error: DBAPIError) -> bool:
    """Whether ``error`` is a conflict with a concurrent transaction that a re-run resolves."""
    return sqlstate(error) in _CONFLICTS


def backoff(failed: int) -> float:
    """Seconds to wait after ``failed`` attempts: jittered, doubling (up to 5, 10, 20, ... ms)."""
    return random.uniform(0.5, 1.0) * _FIRST_WAIT_S * (1 << (failed - 1))
