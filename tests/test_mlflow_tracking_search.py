"""Run search through the real client: every filter prefix and comparator, ordering with
missing keys last, pagination over 2,500 runs, and a statement count independent of page size."""

from __future__ import annotations

import os
import typing as t
import uuid

import mlflow
import pytest
from flask import Flask
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from sqlalchemy import event, insert, select

from flask_model_registry import models
from flask_model_registry.database import now_ms
from flask_model_registry.dispatch import make_context
from flask_model_registry.models import Experiment, LoggedModel, Run
from flask_model_registry.services import experiments

pytestmark = pytest.mark.live


@pytest.fixture(autouse=True)
def _forget_active_experiment() -> t.Iterator[None]:
    yield
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


def _make_runs(client: MlflowClient, exp_id: str) -> dict[str, str]:
    """Five runs with distinct metrics, params, tags and attributes; name -> run id."""
    spec: list[dict[str, t.Any]] = [
        {"name": "r1", "start": 1000, "metrics": {"loss": 0.5, "acc": 0.7}, "params": {"lr": "0.1"},
         "tags": {"team": "red"}, "status": "FINISHED"},
        {"name": "r2", "start": 2000, "metrics": {"loss": 0.2}, "params": {"lr": "0.01"},
         "tags": {"team": "Blue"}, "status": "FAILED"},
        {"name": "r3", "start": 3000, "metrics": {"loss": 0.9, "acc": 0.95}, "params": {},
         "tags": {}, "status": "RUNNING"},
        {"name": "r4", "start": 4000, "metrics": {"loss": float("nan")}, "params": {"lr": "1"},
         "tags": {"team": "red-2"}, "status": "FINISHED"},
        {"name": "other5", "start": 5000, "metrics": {}, "params": {"opt": "sgd"},
         "tags": {"team": "blue"}, "status": "KILLED"},
    ]
    ids = {}
    for item in spec:
        run = client.create_run(exp_id, run_name=item["name"], start_time=item["start"])
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, 10, 1) for k, v in item["metrics"].items()],
            params=[Param(k, v) for k, v in item["params"].items()],
            tags=[RunTag(k, v) for k, v in item["tags"].items()],
        )
        if item["status"] != "RUNNING":
            client.set_terminated(run_id, status=item["status"], end_time=item["start"] + 500)
        ids[item["name"]] = run_id
    return ids


def test_filters_and_ordering(mlflow_env: str) -> None:
    client = MlflowClient()
    exp_id = client.create_experiment("search")
    ids = _make_runs(client, exp_id)
    names = {v: k for k, v in ids.items()}

    def found(filter_string: str = "", order_by: list[str] | None = None) -> list[str]:
        result = client.search_runs([exp_id], filter_string, order_by=order_by)
        return [names[r.info.run_id] for r in result]

    def found_set(filter_string: str) -> set[str]:
        return set(found(filter_string))

    # default order: start_time DESC
    assert found() == ["other5", "r4", "r3", "r2", "r1"]
    # metrics: every comparator; NaN only satisfies !=
    assert found_set("metrics.loss = 0.5") == {"r1"}
    assert found_set("metrics.loss != 0.5") == {"r2", "r3", "r4"}
    assert found_set("metrics.loss < 0.5") == {"r2"}
    assert found_set("metrics.loss <= 0.5") == {"r1", "r2"}
    assert found_set("metrics.loss > 0.5") == {"r3"}
    assert found_set("metric.loss >= 0.5") == {"r1", "r3"}
    assert found_set("metrics.acc > 0 and metrics.loss < 0.6") == {"r1"}
    # params and tags: = != LIKE ILIKE IS NULL IS NOT NULL
    assert found_set("params.lr = '0.1'") == {"r1"}
    assert found_set("params.lr != '0.1'") == {"r2", "r4"}
    assert found_set("param.lr LIKE '0.%'") == {"r1", "r2"}
    assert found_set("params.opt ILIKE 'SG%'") == {"other5"}
    assert found_set("params.lr IS NULL") == {"r3", "other5"}
    assert found_set("params.lr IS NOT NULL") == {"r1", "r2", "r4"}
    assert found_set("tags.team = 'red'") == {"r1"}
    assert found_set("tags.team != 'red'") == {"r2", "r4", "other5"}
    assert found_set("tags.team LIKE 'red%'") == {"r1", "r4"}
    assert found_set("tags.team LIKE 'blue'") == {"other5"}  # LIKE is case-sensitive
    assert found_set("tag.team ILIKE 'blue'") == {"r2", "other5"}
    assert found_set("tags.team IS NULL") == {"r3"}
    assert found_set("tags.`mlflow.runName` = 'r2'") == {"r2"}
    # attributes
    assert found_set("attributes.run_name = 'r3'") == {"r3"}
    assert found_set("run_name LIKE 'r%'") == {"r1", "r2", "r3", "r4"}
    assert found_set("attributes.run_name ILIKE 'OTHER%'") == {"other5"}
    assert found_set("attributes.status = 'FINISHED'") == {"r1", "r4"}
    assert found_set("attributes.status != 'FINISHED'") == {"r2", "r3", "other5"}
    assert found_set("attributes.user_id = 'alpha-developer'") == set(ids)
    assert found_set(f"attributes.run_id IN ('{ids['r1']}', '{ids['r3']}')") == {"r1", "r3"}
    assert found_set(f"attributes.run_id NOT IN ('{ids['r1']}')") == set(ids) - {"r1"}
    assert found_set("attributes.start_time >= 3000") == {"r3", "r4", "other5"}
    assert found_set("attributes.start_time < 2000") == {"r1"}
    assert found_set("attributes.end_time > 4000") == {"r4", "other5"}
    assert found_set("attributes.created = 2000") == {"r2"}
    assert found_set(f"attributes.artifact_uri LIKE '%{ids['r2']}%'") == {"r2"}

    # ordering: missing values last in both directions, NaN after numbers
    assert found(order_by=["metrics.acc DESC"]) == ["r3", "r1", "other5", "r4", "r2"]
    assert found(order_by=["metrics.acc ASC"]) == ["r1", "r3", "other5", "r4", "r2"]
    assert found(order_by=["metrics.loss ASC"]) == ["r2", "r1", "r3", "r4", "other5"]
    assert found(order_by=["metrics.loss DESC"]) == ["r3", "r1", "r2", "r4", "other5"]
    assert found(order_by=["params.lr ASC"]) == ["r2", "r1", "r4", "other5", "r3"]
    assert found(order_by=["params.lr DESC"]) == ["r4", "r1", "r2", "other5", "r3"]
    assert found(order_by=["tags.team ASC", "attributes.start_time ASC"]) == [
        "r2", "other5", "r1", "r4", "r3"
    ]
    assert found(order_by=["attributes.run_name ASC"]) == ["other5", "r1", "r2", "r3", "r4"]
    assert found(order_by=["start_time ASC"]) == ["r1", "r2", "r3", "r4", "other5"]
    assert found(order_by=["attributes.status DESC", "run_name DESC"]) == [
        "r3", "other5", "r4", "r1", "r2"
    ]

    # the fluent API pages through the same endpoint
    frame = mlflow.search_runs(
        experiment_names=["search"], filter_string="params.lr IS NOT NULL",
        order_by=["metrics.loss ASC"],
    )
    assert list(frame["tags.mlflow.runName"]) == ["r2", "r1", "r4"]

    # bad filters and orderings are 400s, never 500s
    for bad in ("metrics.loss = 'x'", "params.lr = 1", "foo.bar = 1", "metrics.loss > 1 OR x"):
        with pytest.raises(MlflowException) as exc:
            client.search_runs([exp_id], bad)
        assert exc.value.error_code == "INVALID_PARAMETER_VALUE", bad
    with pytest.raises(MlflowException) as exc:
        client.search_runs([exp_id], order_by=["metrics.loss", "metrics.loss DESC"])
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"
    # unknown experiment ids yield nothing; several experiments are searched together
    assert client.search_runs(["12345"]) == []
    other = client.create_experiment("search-2")
    client.create_run(other, run_name="elsewhere", start_time=6000)
    assert len(client.search_runs([exp_id, other])) == 6


def _bulk_runs(app: Flask, project_id: int, name: str, count: int) -> str:
    """Insert ``count`` runs with distinct start times in two bulk statements; experiment id."""
    with app.app_context():
        ctx = make_context(project_id, None)
        experiment = experiments.create_experiment(ctx, name)
        rows: list[dict[str, t.Any]] = [
            {"run_id": uuid.uuid4().hex, "project_id": project_id, "experiment_id": experiment.id,
             "name": f"bulk-{i}", "status": "FINISHED", "start_time": 1_000_000 + i,
             "lifecycle_stage": "active", "user_id": "bulk", "artifact_uri": "mlflow-artifacts:/x"}
            for i in range(count)
        ]
        ctx.session.execute(insert(Run), rows)
        pks = dict(ctx.session.execute(
            select(Run.run_id, Run.id).where(Run.experiment_id == experiment.id)
        ).all())
        ctx.session.execute(insert(models.RunTag), [
            {"candidate_id": pks[row["run_id"]], "key": "mlflow.runName", "value": row["name"]}
            for row in rows
        ])
        ctx.session.commit()
        return str(experiment.iid)


def test_pagination_over_2500_runs(mlflow_env: str, app: Flask, project: t.Any) -> None:
    exp_id = _bulk_runs(app, project.id, "many", 2500)
    client = MlflowClient()
    seen: list[tuple[int, str]] = []
    token = None
    pages = 0
    while True:
        page = client.search_runs([exp_id], max_results=100, page_token=token)
        assert len(page) == 100 or page.token is None
        seen.extend((r.info.start_time, r.info.run_name) for r in page)
        pages += 1
        token = page.token
        if not token:
            break
    assert pages == 25
    assert len(seen) == 2500
    assert len({name for _, name in seen}) == 2500
    assert [start for start, _ in seen] == sorted((start for start, _ in seen), reverse=True)
    assert seen[0] == (1_002_499, "bulk-2499")
    assert seen[-1] == (1_000_000, "bulk-0")
    # the pandas path pages with 10,000-run pages and finds all of them
    frame = mlflow.search_runs(experiment_ids=[exp_id], max_results=3000)
    assert len(frame) == 2500


def _add_rich_runs(client: t.Any, base: str, headers: dict[str, str], exp_id: str, count: int,
                   model_ids: list[str], offset: int) -> None:
    for i in range(offset, offset + count):
        run = client.post(f"{base}/runs/create", json={
            "experiment_id": exp_id, "run_name": f"rich-{i}", "start_time": i,
            "tags": [{"key": "t", "value": str(i)}],
        }, headers=headers).get_json()["run"]["info"]
        run_id = run["run_id"]
        response = client.post(f"{base}/runs/log-batch", json={
            "run_id": run_id,
            "metrics": [{"key": f"m{j}", "value": i + j, "timestamp": 1, "step": 0}
                        for j in range(3)],
            "params": [{"key": f"p{j}", "value": str(j)} for j in range(3)],
            "tags": [{"key": "u", "value": "x"}],
        }, headers=headers)
        assert response.status_code == 200
        response = client.post(f"{base}/runs/log-inputs", json={
            "run_id": run_id,
            "datasets": [{"dataset": {"name": "d", "digest": f"g{i}", "source_type": "code",
                                      "source": "{}"},
                          "tags": [{"key": "mlflow.data.context", "value": "train"}]}],
            "models": [{"model_id": model_ids[1]}],
        }, headers=headers)
        assert response.status_code == 200, response.get_json()
        response = client.post(f"{base}/runs/outputs", json={
            "run_id": run_id, "models": [{"model_id": model_ids[0], "step": i}],
        }, headers=headers)
        assert response.status_code == 200, response.get_json()


def test_search_statement_count_does_not_grow_with_runs(
    app: Flask, client: t.Any, project: t.Any
) -> None:
    headers = project.headers("developer")
    base = f"/api/v4/projects/{project.id}/ml/mlflow/api/2.0/mlflow"
    exp_id = client.post(f"{base}/experiments/create", json={"name": "stmts"},
                         headers=headers).get_json()["experiment_id"]
    model_ids = ["m-" + "1" * 32, "m-" + "2" * 32]
    with app.app_context():
        session = app.extensions["sqlalchemy"].session
        experiment = session.query(Experiment).filter_by(project_id=project.id,
                                                         iid=int(exp_id)).one()
        for model_id in model_ids:
            session.add(LoggedModel(
                model_id=model_id, project_id=project.id, experiment_id=experiment.id,
                name="m", artifact_uri="mlflow-artifacts:/x", creation_timestamp_ms=now_ms(),
                last_updated_timestamp_ms=now_ms(),
            ))
        session.commit()
        engine = app.extensions["sqlalchemy"].engine

    statements: list[str] = []

    def count(_conn: t.Any, _cursor: t.Any, statement: str, *args: t.Any) -> None:
        statements.append(statement)

    def search() -> tuple[int, int]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            response = client.post(f"{base}/runs/search", json={
                "experiment_ids": [exp_id], "filter": "metrics.m0 >= 0",
                "order_by": ["metrics.m1 DESC", "params.p0"], "max_results": 1000,
            }, headers=headers)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        body = response.get_json()
        assert response.status_code == 200, body
        first = body["runs"][0]
        assert len(first["data"]["metrics"]) == 3
        assert len(first["data"]["params"]) == 3
        assert first["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "d"
        assert first["inputs"]["model_inputs"] == [{"model_id": model_ids[1]}]
        assert first["outputs"]["model_outputs"][0]["model_id"] == model_ids[0]
        return len(body["runs"]), len(statements)

    _add_rich_runs(client, base, headers, exp_id, 4, model_ids, 0)
    small_runs, small = search()
    _add_rich_runs(client, base, headers, exp_id, 8, model_ids, 4)
    large_runs, large = search()
    assert (small_runs, large_runs) == (4, 12)
    assert small == large, statements
    assert small <= 12
