"""Bulk data for the large-page test and benchmark: an experiment of many finished runs."""

from __future__ import annotations

import uuid

from flask import Flask
from sqlalchemy import insert, select, text, update

from flask_model_registry.models import (
    Experiment,
    Run,
    RunLatestMetric,
    RunMetric,
    RunParam,
)
from flask_model_registry.services import experiments as experiment_service
from tests.test_web_factories import project_ctx

__all__ = ["seed_experiment"]

START = 1_700_000_000_000


def seed_experiment(
    app: Flask, project_id: int, name: str, candidates: int, *, metrics: int = 20, params: int = 8
) -> int:
    """An experiment with ``candidates`` finished runs of ``metrics`` metrics and ``params``
    parameters each, bulk-inserted; returns its number."""
    with project_ctx(app, project_id) as ctx:
        experiment = experiment_service.create_experiment(ctx, name)
        iid, experiment_pk, location = experiment.iid, experiment.id, experiment.artifact_location
        rows = []
        for i in range(candidates):
            run_id = uuid.uuid4().hex
            rows.append({
                "run_id": run_id, "project_id": project_id, "experiment_id": experiment_pk,
                "name": f"run-{i:04d}", "status": "FINISHED", "start_time": START + i * 1000,
                "end_time": START + i * 1000 + 500, "lifecycle_stage": "active",
                "user_id": "bench", "artifact_uri": f"{location}/{run_id}/artifacts",
            })
        ctx.session.execute(insert(Run), rows)
        ids = list(ctx.session.scalars(
            select(Run.id).where(Run.experiment_id == experiment_pk)
        ))
        ctx.session.execute(insert(RunParam), [
            {"candidate_id": cid, "key": f"p{k}", "value": str((cid * (k + 1)) % 97)}
            for cid in ids for k in range(params)
        ])
        points = [
            {"candidate_id": cid, "key": f"m{k:02d}", "value": ((cid * 7919 + k) % 1000) / 1000,
             "is_nan": False, "step": 0, "timestamp": START}
            for cid in ids for k in range(metrics)
        ]
        ctx.session.execute(insert(RunLatestMetric), points)
        ctx.session.execute(insert(RunMetric), points)
        ctx.session.execute(
            update(Experiment)
            .where(Experiment.id == experiment_pk)
            .values(last_update_time=START)
            .execution_options(synchronize_session=False)
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
