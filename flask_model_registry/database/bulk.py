"""The dialects' bulk-insert paths: ``INSERT ... ON CONFLICT`` constructs, and metric points
handed straight to the driver, where building SQLAlchemy parameters per row would cost more
than the insert itself."""

from __future__ import annotations

import typing as t
from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

__all__ = ["METRIC_POINT_SQL_TYPES", "dialect_insert", "insert_metric_points"]

#: PostgreSQL types of a metric point's columns, in row order: the run's id, key, step,
#: timestamp, value, is_nan, then optional text columns (model id, dataset name and digest).
METRIC_POINT_SQL_TYPES = (
    "bigint", "varchar", "bigint", "bigint", "double precision", "boolean",
    "varchar", "varchar", "varchar",
)


def dialect_insert(dialect: str, table: Table) -> t.Any:
    """The dialect's Core INSERT into ``table``, which supports ``ON CONFLICT``; executed with
    a list of rows it is one cached statement run as executemany."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"Unsupported database dialect {dialect!r}.")


def insert_metric_points(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[t.Any]]
) -> None:
    """Insert metric point ``rows`` (laid out as :data:`METRIC_POINT_SQL_TYPES`) in one
    statement, skipping points already stored.

    On PostgreSQL one ``INSERT ... SELECT FROM unnest(<one array per column>)``, on SQLite one
    prepared statement run over all rows.
    """
    quote = connection.dialect.identifier_preparer.quote
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)})"
    if connection.dialect.name == "postgresql":
        arrays = ", ".join(f"%s::{sql_type}[]" for sql_type in METRIC_POINT_SQL_TYPES)
        connection.exec_driver_sql(
            f"{head} SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING",
            pg_array_literals(rows),
        )
    else:
        marks = ", ".join("?" for _ in columns)
        connection.exec_driver_sql(
            f"{head} VALUES ({marks}) ON CONFLICT DO NOTHING", t.cast(t.Any, rows)
        )


def pg_array_literals(rows: Sequence[Sequence[t.Any]]) -> tuple[t.Any, ...]:
    """One PostgreSQL array per column, written as array literals: joining strings in C is
    several times cheaper than the driver's element-by-element list adaptation.

    Keys must hold no quotes or backslashes (the registry's key check refuses them) and go in
    double quotes; the optional text columns, when any value is set, are left to the driver's
    quoting.
    """
    ids, keys, steps, timestamps, values, nans, *texts = zip(*rows, strict=True)
    head = (
        "{" + ",".join(map(str, ids)) + "}",
        '{"' + '","'.join(keys) + '"}',
        "{" + ",".join(map(str, steps)) + "}",
        "{" + ",".join(map(str, timestamps)) + "}",
        "{" + ",".join(map(repr, values)) + "}",
        "{" + ",".join("t" if nan else "f" for nan in nans) + "}",
    )
    nulls = "{" + ",".join(["NULL"] * len(rows)) + "}"
    return head + tuple(nulls if not any(c) else list(c) for c in texts)
