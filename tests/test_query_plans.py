"""The hot endpoints' queries use indexes: no full scan of a table that grows with use.

Each endpoint is called once through the MLflow API while its SQL is recorded; every recorded
SELECT is then explained with the same parameters. SQLite's ``EXPLAIN QUERY PLAN`` must not
``SCAN`` a growing table. PostgreSQL's planner prefers a sequential scan on tables this small,
so it explains with ``enable_seqscan`` off: a ``Seq Scan`` left in the plan means no index
could serve the query. ``docs/performance.md`` lists the plans of one run.
"""

from __future__ import annotations

import re
import typing as t
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import event

from tests.conftest import Project
from tests.test_statement_counts import Api

#: Tables whose size grows with runs, points and versions.
GROWING = (
    "ml_candidates",
    "ml_candidate_metrics",
    "ml_candidate_latest_metrics",
    "ml_candidate_params",
    "ml_candidate_metadata",
    "ml_candidate_dataset_inputs",
    "ml_candidate_model_io",
    "ml_models",
    "ml_model_versions",
    "ml_model_version_tags",
    "ml_model_aliases",
    "ml_model_tags",
)

Recorded = list[tuple[str, t.Any]]


@contextmanager
def recording(app: Flask) -> Iterator[Recorded]:
    """The SELECT statements (with their parameters) run on the app's engine in the block."""
    statements: Recorded = []

    def record(_conn: t.Any, _cursor: t.Any, statement: str, parameters: t.Any,
               _context: t.Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            statements.append((statement, parameters))

    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _is_sqlite(app: Flask) -> bool:
    with app.app_context():
        return bool(app.extensions["sqlalchemy"].engine.dialect.name == "sqlite")


def explain(app: Flask, statement: str, parameters: t.Any) -> list[str]:
    """The plan of ``statement``: SQLite's lines, or PostgreSQL's nodes one per line as
    ``<node type> on <table> using <index> [by key]``; ``by key`` when the index condition
    constrains the index's first column (otherwise the whole index is read)."""
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    with engine.connect() as connection:
        if _is_sqlite(app):
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            lines = [str(row[-1]) for row in rows]
        else:
            connection.exec_driver_sql("SET enable_seqscan = off")
            rows = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
            leading = dict(connection.exec_driver_sql(_LEADING_COLUMNS).all())
            lines = list(_pg_nodes(rows.scalar_one()[0]["Plan"], leading))
        connection.rollback()
    return lines


#: The first column of every index, by index name.
_LEADING_COLUMNS = """
    SELECT c.relname, a.attname
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
"""


def _pg_nodes(node: dict[str, t.Any], leading: dict[str, str]) -> Iterator[str]:
    line = node["Node Type"]
    if "Relation Name" in node:
        line += f" on {node['Relation Name']}"
    if "Index Name" in node:
        index = node["Index Name"]
        line += f" using {index}"
        column = leading.get(index)
        if column and re.search(rf"\b{column}\b", node.get("Index Cond", "")):
            line += " by key"
    yield line
    for child in node.get("Plans", []):
        yield from _pg_nodes(child, leading)


def full_scans(app: Flask, plan: list[str]) -> list[str]:
    """The lines of ``plan`` that read a growing table, or all of its index, end to end.

    SQLite ``SCAN``s a table or index in full and ``SEARCH``es it by key. PostgreSQL, with
    sequential scans discouraged, falls back to reading a whole index when no index fits the
    query, so only index scans by key pass there.
    """
    if _is_sqlite(app):
        return [
            line for line in plan
            if (m := re.match(r"SCAN (\w+)", line)) and m.group(1) in GROWING
        ]
    scans = []
    for line in plan:
        m = re.match(r"(Seq Scan|[\w ]*Index(?: Only)? Scan) on (\w+)", line)
        if m and m.group(2) in GROWING and not line.endswith(" by key"):
            scans.append(line)
        elif line.startswith("Bitmap Index Scan") and not line.endswith(" by key"):
            scans.append(line)
    return scans


def assert_indexed(app: Flask, call: Callable[[], object], what: str) -> int:
    """Run ``call`` and check every query it made; return how many queries touched ml_ tables."""
    with recording(app) as statements:
        call()
    checked = 0
    for statement, parameters in statements:
        if " ml_" not in statement and "\nml_" not in statement:
            continue
        checked += 1
        plan = explain(app, statement, parameters)
        assert not full_scans(app, plan), (
            f"{what}: a full scan in\n{statement}\nplan:\n" + "\n".join(plan)
        )
    assert checked, f"{what}: no query on the registry's tables was recorded"
    return checked


@pytest.fixture
def api(client: t.Any, project: Project) -> Api:
    return Api(client, project)


@pytest.fixture
def tracked(api: Api) -> dict[str, str]:
    """An experiment of 20 runs with params, tags and a few points per key."""
    experiment = api.experiment("plans")
    run_ids = []
    for i in range(20):
        run_id = api.run(experiment, f"run-{i}")
        api.log(run_id, params=3, tags=3, keys=3, steps=5)
        run_ids.append(run_id)
    return {"experiment": experiment, "run": run_ids[0]}


def test_tracking_queries_use_indexes(app: Flask, api: Api, tracked: dict[str, str]) -> None:
    experiment, run_id = tracked["experiment"], tracked["run"]
    search = {"experiment_ids": [experiment], "max_results": 5}
    calls: dict[str, Callable[[], object]] = {
        "runs/get": lambda: api.get("runs/get", run_id=run_id),
        "metrics/get-history": lambda: api.get(
            "metrics/get-history", run_id=run_id, metric_key="m1"
        ),
        "runs/search filtered": lambda: api.post("runs/search", {
            **search,
            "filter": "metrics.m0 > -1 and params.p0 = 'a'",
            "order_by": ["metrics.m1 DESC"],
        }),
        "runs/search by attribute": lambda: api.post(
            "runs/search", {**search, "filter": "attributes.status = 'RUNNING'"}
        ),
        "runs/search": lambda: api.post("runs/search", search),
        "runs/log-metric": lambda: api.post("runs/log-metric", {
            "run_id": run_id, "key": "m0", "value": 1.5, "timestamp": 9_000, "step": 9,
        }),
    }
    for what, call in calls.items():
        assert_indexed(app, call, what)


def test_registry_queries_use_indexes(app: Flask, api: Api, tracked: dict[str, str]) -> None:
    for name in ("alpha", "beta"):
        api.post("registered-models/create", {"name": name})
        for _ in range(3):
            api.post("model-versions/create", {
                "name": name, "source": f"runs:/{tracked['run']}/model",
                "run_id": tracked["run"], "tags": [{"key": "k", "value": "v"}],
            })
        api.post("registered-models/alias", {"name": name, "alias": "champion", "version": "2"})
    calls: dict[str, Callable[[], object]] = {
        "registered-models/get": lambda: api.get("registered-models/get", name="beta"),
        "model-versions/search": lambda: api.get(
            "model-versions/search", filter="name='beta'"
        ),
        "registered-models/alias": lambda: api.get(
            "registered-models/alias", name="beta", alias="champion"
        ),
        "model-versions/get": lambda: api.get("model-versions/get", name="beta", version="3"),
    }
    for what, call in calls.items():
        assert_indexed(app, call, what)


def test_a_full_scan_is_noticed(app: Flask) -> None:
    """The check itself: an unindexed filter on a growing table is reported."""
    plan = explain(app, "SELECT key FROM ml_candidate_metrics WHERE value > 0", {})
    assert full_scans(app, plan), "\n".join(plan)
