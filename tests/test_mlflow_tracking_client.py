"""The real ``mlflow`` client against the live server: experiments, runs, params, metrics,
tags, inputs/outputs and metric history round-trip through the tracking API."""

from __future__ import annotations

import math
import os
import re
import typing as t

import mlflow
import pytest
from flask import Flask
from mlflow import MlflowClient
from mlflow.entities import LoggedModelInput, LoggedModelOutput, Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

from flask_model_registry.database import now_ms
from flask_model_registry.models import Experiment, LoggedModel

pytestmark = pytest.mark.live

DOUBLE_MAX = 1.7976931348623157e308


@pytest.fixture(autouse=True)
def _forget_active_experiment(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[None]:
    """``mlflow.set_experiment`` exports MLFLOW_EXPERIMENT_ID; keep it from leaking."""
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID")
    yield
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


def _error_code(exc: pytest.ExceptionInfo[MlflowException]) -> str:
    return t.cast(str, exc.value.error_code)


def test_fluent_run_round_trip(mlflow_env: str) -> None:
    experiment_id = mlflow.set_experiment("wf-exp").experiment_id
    assert experiment_id == "1"
    with mlflow.start_run(run_name="run-a") as active:
        run_id = active.info.run_id
        mlflow.log_param("alpha", 0.5)
        mlflow.log_params({"lr": 0.01, "opt": "adam", "empty": ""})
        mlflow.log_metric("rmse", 0.5, step=0, timestamp=1000)
        mlflow.log_metric("rmse", 0.25, step=1, timestamp=2000)
        mlflow.log_metric("rmse", 0.75, step=1, timestamp=1500)  # older at the same step
        mlflow.log_metrics({"acc": 0.9, "nan": math.nan, "pinf": math.inf, "ninf": -math.inf},
                           step=2)
        mlflow.set_tag("team", "ml")
        mlflow.set_tags({"a": "1", "b": "2"})
        mlflow.delete_tag("a")
    assert re.fullmatch(r"[0-9a-f]{32}", run_id)

    run = MlflowClient().get_run(run_id)
    assert run.info.run_name == "run-a"
    assert run.info.experiment_id == "1"
    assert run.info.status == "FINISHED"
    assert run.info.end_time is not None
    assert run.info.end_time >= run.info.start_time
    assert run.info.lifecycle_stage == "active"
    assert run.info.user_id == "alpha-developer"  # the authenticated user, not the OS user
    project_id = _project_id(mlflow_env)
    assert run.info.artifact_uri == f"mlflow-artifacts:/{project_id}/1/{run_id}/artifacts"
    assert run.data.params == {"alpha": "0.5", "lr": "0.01", "opt": "adam", "empty": ""}
    metrics = run.data.metrics
    assert metrics["rmse"] == 0.25  # latest = highest step, then timestamp
    assert metrics["acc"] == 0.9
    assert math.isnan(metrics["nan"])
    assert metrics["pinf"] == DOUBLE_MAX
    assert metrics["ninf"] == -DOUBLE_MAX
    assert run.data.tags["team"] == "ml"
    assert run.data.tags["b"] == "2"
    assert "a" not in run.data.tags
    assert run.data.tags["mlflow.runName"] == "run-a"

    history = MlflowClient().get_metric_history(run_id, "rmse")
    assert [(m.step, m.timestamp, m.value) for m in history] == [
        (0, 1000, 0.5), (1, 1500, 0.75), (1, 2000, 0.25)
    ]
    nan_history = MlflowClient().get_metric_history(run_id, "nan")
    assert len(nan_history) == 1
    assert math.isnan(nan_history[0].value)


def _project_id(tracking_uri: str) -> int:
    match = re.search(r"/projects/(\d+)/", tracking_uri)
    assert match is not None
    return int(match.group(1))


def test_run_names_statuses_and_default_experiment(mlflow_env: str) -> None:
    client = MlflowClient()
    with mlflow.start_run() as active:
        pass
    unnamed = client.get_run(active.info.run_id)
    assert unnamed.info.experiment_id == "0"
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d{1,3}", unnamed.info.run_name)
    assert unnamed.data.tags["mlflow.runName"] == unnamed.info.run_name
    default = client.get_experiment_by_name("Default")
    assert default is not None
    assert default.experiment_id == "0"
    assert client.get_experiment("0").name == "Default"

    # Renaming through the attribute updates the tag, and the tag renames the run.
    client.update_run(active.info.run_id, name="renamed")
    assert client.get_run(active.info.run_id).data.tags["mlflow.runName"] == "renamed"
    client.set_tag(active.info.run_id, "mlflow.runName", "by-tag")
    assert client.get_run(active.info.run_id).info.run_name == "by-tag"

    mlflow.start_run(run_name="will-fail")
    failed_id = mlflow.active_run().info.run_id  # type: ignore[union-attr]
    mlflow.end_run("FAILED")
    assert client.get_run(failed_id).info.status == "FAILED"
    killed = client.create_run("0", run_name="killed", tags={"k": "v"}, start_time=12345)
    assert killed.info.status == "RUNNING"
    assert killed.info.start_time == 12345
    assert killed.data.tags == {"k": "v", "mlflow.runName": "killed"}
    client.set_terminated(killed.info.run_id, status="KILLED", end_time=23456)
    info = client.get_run(killed.info.run_id).info
    assert (info.status, info.end_time) == ("KILLED", 23456)
    # A finished (not deleted) run still accepts data, as in MLflow.
    client.log_param(killed.info.run_id, "late", "yes")
    assert client.get_run(killed.info.run_id).data.params == {"late": "yes"}


def test_params_are_immutable_and_deleted_runs_refuse_writes(mlflow_env: str) -> None:
    client = MlflowClient()
    run_id = client.create_run("0").info.run_id
    client.log_param(run_id, "p", "1")
    client.log_param(run_id, "p", "1")  # same value: a no-op
    with pytest.raises(MlflowException) as exc:
        client.log_param(run_id, "p", "2")
    assert _error_code(exc) == "INVALID_PARAMETER_VALUE"
    assert (
        f"Changing param values is not allowed. Param with key='p' was already logged with"
        f" value='1' for run ID='{run_id}'. Attempted logging new value '2'."
    ) in exc.value.message
    with pytest.raises(MlflowException) as exc:
        client.log_batch(run_id, params=[Param("p", "3"), Param("q", "new")])
    assert "Changing param values is not allowed. Params were already logged=" in exc.value.message
    assert "q" not in client.get_run(run_id).data.params  # the whole batch was refused

    client.delete_run(run_id)
    deleted = client.get_run(run_id)
    assert deleted.info.lifecycle_stage == "deleted"
    for write in (
        lambda: client.log_metric(run_id, "m", 1.0),
        lambda: client.log_param(run_id, "x", "1"),
        lambda: client.set_tag(run_id, "t", "v"),
        lambda: client.set_terminated(run_id),
    ):
        with pytest.raises(MlflowException) as exc:
            write()
        assert _error_code(exc) == "INVALID_PARAMETER_VALUE"
        assert (
            f"The run {run_id} must be in the 'active' state. Current state is deleted."
            in exc.value.message
        )
    assert client.search_runs(["0"]) == []
    assert [r.info.run_id for r in client.search_runs(["0"], run_view_type=ViewType.DELETED_ONLY)] \
        == [run_id]
    client.restore_run(run_id)
    client.log_metric(run_id, "m", 2.0)
    assert client.get_run(run_id).data.metrics == {"m": 2.0}

    with pytest.raises(MlflowException) as exc:
        client.delete_tag(run_id, "missing")
    assert _error_code(exc) == "RESOURCE_DOES_NOT_EXIST"
    assert f"No tag with name: missing in run with id {run_id}" in exc.value.message


def test_log_batch_at_the_limits(mlflow_env: str) -> None:
    client = MlflowClient()
    run_id = client.create_run("0").info.run_id
    metrics = [Metric(f"m{i}", float(i), 1000 + i, i) for i in range(1000)]
    params = [Param(f"p{i}", str(i)) for i in range(100)]
    tags = [RunTag(f"t{i}", str(i)) for i in range(100)]
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    run = client.get_run(run_id)
    assert len(run.data.metrics) == 1000
    assert run.data.metrics["m999"] == 999.0
    assert len(run.data.params) == 100
    assert run.data.params["p42"] == "42"
    assert {f"t{i}" for i in range(100)} <= set(run.data.tags)
    # Re-sending identical points is idempotent.
    client.log_batch(run_id, metrics=metrics[:10])
    assert len(client.get_metric_history(run_id, "m5")) == 1


def test_experiment_lifecycle(mlflow_env: str) -> None:
    client = MlflowClient()
    exp_id = client.create_experiment("exp-a", tags={"owner": "ann"})
    other = client.create_experiment("exp-b")
    assert (exp_id, other) == ("1", "2")
    experiment = client.get_experiment(exp_id)
    assert experiment.name == "exp-a"
    assert experiment.tags == {"owner": "ann"}
    assert experiment.lifecycle_stage == "active"
    assert experiment.artifact_location == f"mlflow-artifacts:/{_project_id(mlflow_env)}/1"
    assert experiment.creation_time is not None
    assert experiment.last_update_time is not None

    with pytest.raises(MlflowException) as exc:
        client.create_experiment("exp-a")
    assert _error_code(exc) == "RESOURCE_ALREADY_EXISTS"

    found = client.search_experiments(filter_string="name LIKE 'exp-%'", order_by=["name DESC"])
    assert [e.name for e in found] == ["exp-b", "exp-a"]
    assert {e.name for e in client.search_experiments()} == {"exp-a", "exp-b", "Default"}
    assert [e.name for e in client.search_experiments(filter_string="tags.owner = 'ann'")] \
        == ["exp-a"]

    client.rename_experiment(exp_id, "exp-renamed")
    assert client.get_experiment(exp_id).name == "exp-renamed"
    client.set_experiment_tag(exp_id, "stage", "dev")
    client.set_experiment_tag(exp_id, "stage", "prod")
    client.delete_experiment_tag(exp_id, "owner")
    assert client.get_experiment(exp_id).tags == {"stage": "prod"}

    run_id = client.create_run(exp_id).info.run_id
    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert client.get_experiment_by_name("exp-renamed").lifecycle_stage == "deleted"  # type: ignore[union-attr]
    assert [e.name for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)] \
        == ["exp-renamed"]
    with pytest.raises(MlflowException) as exc:
        client.create_experiment("exp-renamed")  # a deleted experiment keeps its name
    assert _error_code(exc) == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as exc:
        client.create_run(exp_id)
    assert "must be in the 'active' state" in exc.value.message
    with pytest.raises(MlflowException):
        mlflow.set_experiment("exp-renamed")

    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    with pytest.raises(MlflowException) as exc:
        client.get_experiment("99")
    assert _error_code(exc) == "RESOURCE_DOES_NOT_EXIST"
    assert "No Experiment with id=99 exists" in exc.value.message


def test_projects_are_isolated(
    mlflow_env: str, live_server: t.Any, project: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = MlflowClient()
    exp_id = client.create_experiment("private")
    run_id = client.create_run(exp_id).info.run_id
    client.log_metric(run_id, "m", 1.0)

    # The outsider owns another project: the same ids there name nothing of project A.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", project.tokens["outsider"])
    other = MlflowClient(tracking_uri=live_server.tracking_uri(project.other_id))
    with pytest.raises(MlflowException) as exc:
        other.get_run(run_id)
    assert _error_code(exc) == "RESOURCE_DOES_NOT_EXIST"
    assert f"Run with id={run_id} not found" in exc.value.message
    with pytest.raises(MlflowException) as exc:
        other.log_metric(run_id, "m", 2.0)
    assert _error_code(exc) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as exc:
        other.get_metric_history(run_id, "m")
    assert _error_code(exc) == "RESOURCE_DOES_NOT_EXIST"
    assert other.search_runs([exp_id]) == []
    assert other.get_experiment_by_name("private") is None
    assert other.create_experiment("private") == "1"  # names are unique per project only
    assert other.get_experiment("0").artifact_location == f"mlflow-artifacts:/{project.other_id}/0"
    # ...and project A's data is untouched.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", project.tokens["developer"])
    assert [m.value for m in client.get_metric_history(run_id, "m")] == [1.0]


def _logged_model(app: Flask, project_id: int, experiment_iid: int, model_id: str) -> None:
    with app.app_context():
        session = app.extensions["sqlalchemy"].session
        experiment = session.query(Experiment).filter_by(
            project_id=project_id, iid=experiment_iid
        ).one()
        session.add(
            LoggedModel(
                model_id=model_id,
                project_id=project_id,
                experiment_id=experiment.id,
                name="model",
                artifact_uri=f"{experiment.artifact_location}/models/{model_id}/artifacts",
                creation_timestamp_ms=now_ms(),
                last_updated_timestamp_ms=now_ms(),
            )
        )
        session.commit()


def test_inputs_and_outputs(mlflow_env: str, app: Flask, project: t.Any) -> None:
    import pandas as pd
    from mlflow.data.pandas_dataset import from_pandas

    client = MlflowClient()
    dataset = from_pandas(pd.DataFrame({"x": [1, 2, 3]}), name="train")
    with mlflow.start_run() as active:
        mlflow.log_input(dataset, context="training")
        mlflow.log_input(dataset, context="training")  # logged once
    run_id = active.info.run_id
    _logged_model(app, project.id, 0, "m-" + "a" * 32)
    _logged_model(app, project.id, 0, "m-" + "b" * 32)
    client.log_outputs(run_id, [LoggedModelOutput("m-" + "a" * 32, step=3)])
    client.log_inputs(run_id, models=[LoggedModelInput("m-" + "b" * 32)])

    run = client.get_run(run_id)
    assert run.inputs is not None
    assert run.outputs is not None
    [dataset_input] = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == "train"
    assert dataset_input.dataset.digest == dataset.digest
    assert dataset_input.dataset.source_type == "code"
    assert {tag.key: tag.value for tag in dataset_input.tags} == {"mlflow.data.context": "training"}
    assert [m.model_id for m in run.inputs.model_inputs] == ["m-" + "b" * 32]
    assert [(m.model_id, m.step) for m in run.outputs.model_outputs] == [("m-" + "a" * 32, 3)]

    assert [r.info.run_id for r in client.search_runs(
        ["0"], filter_string="datasets.context = 'training' AND datasets.name = 'train'"
    )] == [run_id]
    assert client.search_runs(["0"], filter_string="datasets.name = 'test'") == []
    with pytest.raises(MlflowException) as exc:
        client.log_outputs(run_id, [LoggedModelOutput("m-" + "c" * 32, step=0)])
    assert _error_code(exc) == "RESOURCE_DOES_NOT_EXIST"

    # Metrics logged against a logged model also land on the model.
    client.log_batch(run_id, metrics=[Metric("auc", 0.8, 1000, 3, model_id="m-" + "a" * 32)])
    with app.app_context():
        model = app.extensions["sqlalchemy"].session.query(LoggedModel).filter_by(
            model_id="m-" + "a" * 32
        ).one()
        assert [(m.key, m.value, m.step, m.run_id) for m in model.metrics] == [
            ("auc", 0.8, 3, run_id)
        ]
