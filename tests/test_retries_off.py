"""Sixteen client processes with the ``mlflow`` client's retries turned off, against gunicorn
with several workers: no call may fail for contention the server can resolve itself.

MLflow 3.18's client no longer retries create-type POSTs on 5xx, so every 503 the server gives
under contention becomes an exception in the user's script. Each process creates experiments,
runs, registered models, versions (half of them of one shared model) and logged models, logs
batches, and sets tags and params on the same shared logged models. Afterwards no process saw
an error, and the database holds exactly what the processes sent: nothing lost, nothing twice,
and the shared model's version numbers run 1..N without gaps.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import queue
import re
import typing as t

import pytest
from flask import Flask
from sqlalchemy import func, select

from flask_model_registry.models import (
    Experiment,
    LoggedModel,
    LoggedModelParam,
    LoggedModelTag,
    ModelVersion,
    RegisteredModel,
    Run,
    RunMetric,
    RunParam,
    RunTag,
)
from tests.support.live import GunicornServer

pytestmark = [pytest.mark.live, pytest.mark.timeout(240)]

PROCESSES = 16
RUNS = 2  # runs per process
BATCHES = 2  # log_batch calls per run
METRICS, PARAMS, TAGS = 10, 5, 3  # per batch
OWN_VERSIONS = 2  # versions of each process's own registered model
SHARED_VERSIONS = 3  # versions of the shared model, by each even-numbered process
SHARED_LOGGED_MODELS = 2
SHARED_ROUNDS = 2  # tag and param calls per process on each shared logged model
SHARED_MODEL = "shared-model"
JOIN_TIMEOUT_S = 150.0


class Plan(t.NamedTuple):
    uri: str
    token: str
    shared_logged_models: list[str]


class Calls:
    """Makes calls, counting them and keeping each failure instead of stopping."""

    def __init__(self) -> None:
        self.made = 0
        self.errors: list[str] = []

    def __call__(self, what: str, function: t.Callable[..., t.Any], /, *args: t.Any,
                 **kwargs: t.Any) -> t.Any:
        self.made += 1
        try:
            return function(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure is reported at the end
            self.errors.append(f"{what}: {type(exc).__name__}: {_shorten(str(exc))}")
            return None


def _shorten(message: str) -> str:
    """The message with ids and ports made generic, so that equal failures count together;
    long ones keep their start and their end (where requests names the cause)."""
    message = re.sub(r"m-[0-9a-f]{32}", "m-<id>", re.sub(r":\d{4,5}", ":<port>", message))
    return message if len(message) <= 400 else f"{message[:150]} ... {message[-250:]}"


def _workload(index: int, plan: Plan, call: Calls) -> None:
    """What process ``index`` sends."""
    from mlflow.entities import LoggedModelInput, Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=plan.uri, registry_uri=plan.uri)
    # The shared logged models first, when all processes start at once: every round adds a
    # key that all of them insert together (tags and params) next to keys of their own.
    for k in range(SHARED_ROUNDS):
        for model_id in plan.shared_logged_models:
            call("set_logged_model_tags", client.set_logged_model_tags,
                 model_id, {f"t-{index}-{k}": "1", f"common-{k}": str(index)})
            call("log_model_params", client.log_model_params,
                 model_id, {f"p-{index}-{k}": "1", f"common-{k}": "same"})

    experiment_id = call("create_experiment", client.create_experiment, f"exp-{index}")
    run_ids = []
    for _ in range(RUNS):
        run = call("create_run", client.create_run, experiment_id)
        run_id = run.info.run_id if run is not None else None
        run_ids.append(run_id)
        for b in range(BATCHES):
            step = b * METRICS
            call(
                "log_batch", client.log_batch, run_id,
                metrics=[Metric(f"m{i % 2}", float(i), 1_700_000_000_000 + step + i, step + i)
                         for i in range(METRICS)],
                params=[Param(f"p{b}-{i}", str(i)) for i in range(PARAMS)],
                tags=[RunTag(f"w-{b}-{i}", str(index)) for i in range(TAGS)],
            )
        call("set_tag", client.set_tag, run_id, "w-single", str(index))
        call("log_param", client.log_param, run_id, "single", "1")
        call("log_inputs", client.log_inputs, run_id,
             models=[LoggedModelInput(model_id) for model_id in plan.shared_logged_models])

    own_model = f"model-{index}"
    call("create_registered_model", client.create_registered_model, own_model)
    for v in range(OWN_VERSIONS):
        call("create_model_version", client.create_model_version,
             own_model, f"s3://bucket/{own_model}/{v}", run_id=run_ids[0])
    logged = call(
        "create_logged_model", client.create_logged_model, experiment_id, name=f"lm-{index}",
        source_run_id=run_ids[0], params={"a": "1", "b": "2"}, tags={"x": "1", "y": "2"},
    )
    call("finalize_logged_model", client.finalize_logged_model,
         logged.model_id if logged is not None else None, "READY")
    if index % 2 == 0:
        for v in range(SHARED_VERSIONS):
            call("create_model_version (shared)", client.create_model_version,
                 SHARED_MODEL, f"s3://bucket/shared/{index}-{v}", run_id=run_ids[1])


def _work(index: int, plan: Plan, start: t.Any, results: t.Any) -> None:
    """One client process: wait for the others, then send its workload."""
    os.environ.update({
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
        "MLFLOW_TRACKING_TOKEN": plan.token,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    })
    call = Calls()
    try:
        import mlflow.tracking  # noqa: F401 - imported before the start, not in the race

        start.wait(timeout=120)
        _workload(index, plan, call)
    except BaseException as exc:  # noqa: BLE001 - a process that dies must say why
        call.errors.append(f"process: {type(exc).__name__}: {exc}")
    results.put((index, call.made, call.errors))


def _run_processes(plan: Plan) -> tuple[dict[int, int], list[str]]:
    """Start the processes together; (calls made per process, failures with their process)."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=_work, args=(i, plan, start, results), daemon=True)
        for i in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    made: dict[int, int] = {}
    failures: list[str] = []
    try:
        for _ in processes:
            index, count, errors = results.get(timeout=JOIN_TIMEOUT_S)
            made[index] = count
            failures.extend(f"process {index} {error}" for error in errors)
    except queue.Empty:
        failures.append(f"processes {sorted(set(range(PROCESSES)) - set(made))} did not finish")
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
    return made, failures


def _expected_calls(index: int) -> int:
    per_run = 1 + BATCHES + 3
    shared = SHARED_ROUNDS * SHARED_LOGGED_MODELS * 2
    versions = SHARED_VERSIONS if index % 2 == 0 else 0
    return 1 + RUNS * per_run + 1 + OWN_VERSIONS + 2 + shared + versions


def _count(app: Flask, stmt: t.Any) -> int:
    with app.app_context():
        return int(app.extensions["sqlalchemy"].session.scalar(stmt) or 0)


def _scalars(app: Flask, stmt: t.Any) -> list[t.Any]:
    with app.app_context():
        return list(app.extensions["sqlalchemy"].session.scalars(stmt))


def _check_database(app: Flask, project_id: int, shared: list[str]) -> None:
    """Everything the processes sent is stored exactly once."""
    runs = select(Run.id).where(Run.project_id == project_id)
    assert _count(app, select(func.count()).select_from(runs.subquery())) == PROCESSES * RUNS
    assert _count(app, select(func.count()).where(
        Experiment.project_id == project_id, Experiment.name.like("exp-%")
    )) == PROCESSES
    per_run_params = BATCHES * PARAMS + 1
    assert _count(app, select(func.count()).where(RunParam.candidate_id.in_(runs))) == (
        PROCESSES * RUNS * per_run_params
    )
    assert _count(app, select(func.count()).where(RunMetric.candidate_id.in_(runs))) == (
        PROCESSES * RUNS * BATCHES * METRICS
    )
    assert _count(app, select(func.count()).where(
        RunTag.candidate_id.in_(runs), RunTag.key.like("w-%")
    )) == PROCESSES * RUNS * (BATCHES * TAGS + 1)

    own_models = select(RegisteredModel.id).where(
        RegisteredModel.project_id == project_id, RegisteredModel.name.like("model-%")
    )
    assert _count(app, select(func.count()).select_from(own_models.subquery())) == PROCESSES
    assert _count(app, select(func.count()).where(ModelVersion.model_id.in_(own_models))) == (
        PROCESSES * OWN_VERSIONS
    )
    shared_numbers = _scalars(app, select(ModelVersion.sequence).join(
        RegisteredModel, ModelVersion.model_id == RegisteredModel.id
    ).where(RegisteredModel.project_id == project_id, RegisteredModel.name == SHARED_MODEL))
    writers = len(range(0, PROCESSES, 2))
    assert sorted(shared_numbers) == list(range(1, writers * SHARED_VERSIONS + 1))

    own_logged = select(LoggedModel.id).where(
        LoggedModel.project_id == project_id, LoggedModel.name.like("lm-%")
    )
    assert _count(app, select(func.count()).select_from(own_logged.subquery())) == PROCESSES
    assert _count(app, select(func.count()).where(
        LoggedModelParam.logged_model_id.in_(own_logged)
    )) == PROCESSES * 2
    for model_id in shared:
        row = select(LoggedModel.id).where(LoggedModel.model_id == model_id).scalar_subquery()
        params = _scalars(app, select(LoggedModelParam.key).where(
            LoggedModelParam.logged_model_id == row
        ))
        tags = dict(_rows(app, select(LoggedModelTag.key, LoggedModelTag.value).where(
            LoggedModelTag.logged_model_id == row
        )))
        sent = {(i, k) for i in range(PROCESSES) for k in range(SHARED_ROUNDS)}
        common = {f"common-{k}" for k in range(SHARED_ROUNDS)}
        assert sorted(params) == sorted({"origin", *common} | {f"p-{i}-{k}" for i, k in sent})
        assert set(tags) == {"origin", *common} | {f"t-{i}-{k}" for i, k in sent}
        assert all(int(tags[key]) in range(PROCESSES) for key in common)


def _rows(app: Flask, stmt: t.Any) -> list[tuple[t.Any, ...]]:
    with app.app_context():
        return [tuple(row) for row in app.extensions["sqlalchemy"].session.execute(stmt)]


def test_no_call_fails_without_client_retries(
    app: Flask,
    project: t.Any,
    database_url: str,
    tmp_path: t.Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlflow.tracking import MlflowClient

    with GunicornServer(database_url, tmp_path, workers=4, threads=4) as server:
        uri = server.tracking_uri(project.id)
        token = project.tokens["developer"]
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
        setup = MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment_id = setup.create_experiment("shared")
        shared = [
            setup.create_logged_model(
                experiment_id, name=f"shared-{i}", params={"origin": "1"}, tags={"origin": "1"}
            ).model_id
            for i in range(SHARED_LOGGED_MODELS)
        ]
        setup.create_registered_model(SHARED_MODEL)
        made, failures = _run_processes(Plan(uri, token, shared))
        log = server.log()

    summary = collections.Counter(failure.split(" ", 2)[2] for failure in failures)
    assert failures == [], f"{len(failures)} failed calls: {summary.most_common()}"
    assert made == {i: _expected_calls(i) for i in range(PROCESSES)}
    assert "Traceback" not in log, log
    _check_database(app, project.id, shared)
