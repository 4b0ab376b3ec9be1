"""The experiment page with 1,000 candidates of 20 metrics each.

Asserts that the page's statement count is the same as for a small experiment, and reports
(not asserts) how long serving the page's HTML takes: median of several requests, printed and
recorded as ``experiment_page_<case>_ms`` test properties.
"""

from __future__ import annotations

import statistics
import sys
import time
import typing as t
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select, text

from flask_model_registry.models import (
    Candidate,
    CandidateLatestMetric,
    CandidateMetric,
    CandidateParam,
    Experiment,
)
from flask_model_registry.services import experiments as experiment_service
from tests.conftest import Project
from tests.test_web_factories import count_statements, login, project_ctx, web

CANDIDATES = 1000
METRICS = 20
PARAMS = 8
RUNS = 7


def seed(app: Flask, project_id: int, name: str, candidates: int) -> int:
    """An experiment with ``candidates`` finished runs, bulk-inserted; returns its number."""
    with project_ctx(app, project_id) as ctx:
        experiment = experiment_service.create_experiment(ctx, name)
        iid, experiment_pk, location = experiment.iid, experiment.id, experiment.artifact_location
        start = 1_700_000_000_000
        rows = []
        for i in range(candidates):
            run_id = uuid.uuid4().hex
            rows.append({
                "run_id": run_id, "project_id": project_id, "experiment_id": experiment_pk,
                "name": f"run-{i:04d}", "status": "FINISHED", "start_time": start + i * 1000,
                "end_time": start + i * 1000 + 500, "lifecycle_stage": "active",
                "user_id": "bench", "artifact_uri": f"{location}/{run_id}/artifacts",
            })
        ctx.session.execute(insert(Candidate), rows)
        ids = list(ctx.session.scalars(
            select(Candidate.id).where(Candidate.experiment_id == experiment_pk)
        ))
        ctx.session.execute(insert(CandidateParam), [
            {"candidate_id": cid, "key": f"p{k}", "value": str((cid * (k + 1)) % 97)}
            for cid in ids for k in range(PARAMS)
        ])
        metrics = [
            {"candidate_id": cid, "key": f"m{k:02d}", "value": ((cid * 7919 + k) % 1000) / 1000,
             "is_nan": False, "step": 0, "timestamp": start}
            for cid in ids for k in range(METRICS)
        ]
        ctx.session.execute(insert(CandidateLatestMetric), metrics)
        ctx.session.execute(insert(CandidateMetric), metrics)
        ctx.session.execute(
            Experiment.__table__.update()
            .where(Experiment.id == experiment_pk)
            .values(last_update_time=start)
        )
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        if engine.dialect.name == "postgresql":
            # What autovacuum does soon after a bulk load; without statistics the planner
            # guesses one row per table and picks nested loops.
            with engine.connect() as connection:
                connection.execute(text("ANALYZE"))
                connection.commit()
    return iid


def _time(client: FlaskClient, url: str) -> float:
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    return statistics.median(times)


def test_experiment_page_with_1000_candidates_and_20_metrics(
    app: Flask,
    client: FlaskClient,
    project: Project,
    record_property: t.Callable[[str, object], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    big = seed(app, project.id, "big", CANDIDATES)
    small = seed(app, project.id, "small", 10)
    login(client, "alpha-reporter")
    query = "?filter=metrics.m00+%3E+0.2&order_by=metrics.m01+DESC"
    urls = {
        "default": web(project.id, f"/experiments/{big}"),
        "filtered_sorted": web(project.id, f"/experiments/{big}{query}"),
        "last_page": web(project.id, f"/experiments/{big}?page=10"),
    }
    for url in urls.values():
        client.get(url)
    html = client.get(urls["default"]).get_data(as_text=True)
    assert html.count('name="ids"') == 100  # 100 candidates per page by default
    assert "1–100 of 1000 candidates" in html
    with count_statements(app) as on_big:
        client.get(urls["filtered_sorted"])
    client.get(web(project.id, f"/experiments/{small}{query}"))
    with count_statements(app) as on_small:
        client.get(web(project.id, f"/experiments/{small}{query}"))
    assert on_big.count == on_small.count

    figures = {name: _time(client, url) for name, url in urls.items()}
    with app.app_context():
        dialect = app.extensions["sqlalchemy"].engine.dialect.name
    for name, ms in figures.items():
        record_property(f"experiment_page_{name}_ms", round(ms, 1))
    with capsys.disabled():
        sys.stdout.write(
            f"\nexperiment page, {CANDIDATES} candidates x {METRICS} metrics, "
            f"{dialect}: "
            + ", ".join(f"{name} {ms:.0f} ms" for name, ms in figures.items())
            + f" (median of {RUNS}, {on_big.count} statements)\n"
        )
