"""The database's own limit for the ingest phase: the same rows, ``executemany``, no server.

The tables are the registry's own (created from its SQLAlchemy metadata), so rows, keys and
indexes are exactly what the server writes; only the latest-metric upkeep, which is derived
data, is left out. SQLite gets the connection settings the registry uses (WAL,
``synchronous=NORMAL``, foreign keys).
"""

from __future__ import annotations

import sqlite3
import time
import typing as t

from sqlalchemy import create_engine

from .workload import T0, Sizes, run_params, run_points, run_tags, search_run_steps

__all__ = ["raw_ingest"]

Rows = dict[str, list[tuple[t.Any, ...]]]

INSERTS = {
    "candidates": (
        "INSERT INTO ml_candidates (id, run_id, project_id, experiment_id, name, status,"
        " start_time, lifecycle_stage, user_id, artifact_uri)"
        " VALUES ({p}, {p}, 1, 1, {p}, 'RUNNING', {p}, 'active', 'bench', {p})"
    ),
    "params": "INSERT INTO ml_candidate_params (candidate_id, key, value) VALUES ({p}, {p}, {p})",
    "tags": "INSERT INTO ml_candidate_metadata (candidate_id, key, value) VALUES ({p}, {p}, {p})",
    "metrics": (
        "INSERT INTO ml_candidate_metrics (candidate_id, key, step, timestamp, value, is_nan)"
        " VALUES ({p}, {p}, {p}, {p}, {p}, {p})"
    ),
}
EXPERIMENT = (
    "INSERT INTO ml_experiments (id, project_id, iid, name, artifact_location, lifecycle_stage,"
    " creation_time, last_update_time) VALUES (1, 1, 1, 'raw', 'raw', 'active', 0, 0)"
)


def _rows(sizes: Sizes, first_id: int = 1) -> list[Rows]:
    """Per run, the rows the ingest phase makes the server write."""
    runs = []
    for index in range(sizes.ingest_runs):
        cid = first_id + index
        run_id = f"{cid:032x}"
        run: Rows = {
            "candidates": [(cid, run_id, f"run-{index:05d}", T0 + index, f"raw/{run_id}")],
            "params": [(cid, p["key"], p["value"]) for p in run_params(index, sizes.params)],
            "tags": [(cid, p["key"], p["value"]) for p in run_tags(index, sizes.tags)],
            "metrics": [
                (cid, m["key"], m["step"], m["timestamp"], m["value"], False)
                for m in run_points(index, search_run_steps(sizes, index), sizes.metric_keys)
            ],
        }
        runs.append(run)
    return runs


def _merge(runs: list[Rows]) -> Rows:
    merged: Rows = {name: [] for name in INSERTS}
    for run in runs:
        for name, rows in run.items():
            merged[name].extend(rows)
    return merged


def _create_schema(url: str) -> None:
    import flask_model_registry.models  # noqa: F401 - registers the tables on the metadata
    from flask_model_registry.database import metadata

    engine = create_engine(url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


class _Raw:
    """A bare DBAPI connection (sqlite3 or psycopg) with explicit transactions."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        self.placeholder = "?" if self.sqlite else "%s"
        self.conn: t.Any
        if self.sqlite:
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                self.conn.execute(f"PRAGMA {pragma}")
        else:
            import psycopg

            from .servers import libpq_url

            self.conn = psycopg.connect(libpq_url(url))

    def begin(self) -> None:
        if self.sqlite:
            self.conn.execute("BEGIN IMMEDIATE")  # psycopg opens a transaction by itself

    def commit(self) -> None:
        if self.sqlite:
            self.conn.execute("COMMIT")
        else:
            self.conn.commit()

    def many(self, sql: str, rows: list[tuple[t.Any, ...]]) -> None:
        sql = sql.format(p=self.placeholder)
        if self.sqlite:
            self.conn.executemany(sql, rows)
        else:
            with self.conn.cursor() as cursor:
                cursor.executemany(sql.encode(), rows)

    def insert(self, rows: Rows) -> None:
        """All ``rows`` in one transaction, one ``executemany`` per table."""
        self.begin()
        for name, sql in INSERTS.items():
            if rows[name]:
                self.many(sql, rows[name])
        self.commit()

    def close(self) -> None:
        self.conn.close()


def _timed(url: str, batches: list[Rows]) -> float:
    """Seconds to insert ``batches`` (one transaction each) into the empty database ``url``."""
    _create_schema(url)
    raw = _Raw(url)
    try:
        raw.begin()
        raw.conn.execute(EXPERIMENT)
        raw.commit()
        started = time.perf_counter()
        for rows in batches:
            raw.insert(rows)
        return time.perf_counter() - started
    finally:
        raw.close()


def raw_ingest(new_database: t.Callable[[str], str], sizes: Sizes) -> dict[str, float]:
    """Metric points per second for the ingest rows, each variant on a fresh database from
    ``new_database(label)``: all rows in one transaction (the limit), and one transaction per
    run, as a server commits once per request."""
    runs = _rows(sizes)
    points = sum(len(run["metrics"]) for run in runs)
    one_txn = _timed(new_database("raw_one_txn"), [_merge(runs)])
    per_run = _timed(new_database("raw_per_run"), runs)
    return {
        "raw_points_per_s": points / one_txn,
        "raw_per_run_txn_points_per_s": points / per_run,
        "points": float(points),
    }
