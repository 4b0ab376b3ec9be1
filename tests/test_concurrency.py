"""Sixteen clients at once: the real ``mlflow`` client logs batches and single metrics into the
same runs and registers versions of the same model, against the threaded werkzeug server and
against gunicorn with several worker processes. Afterwards every metric point is stored exactly
once, version numbers and semantic versions are unique without gaps, and no request failed."""

from __future__ import annotations

import collections
import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from tests.support.live import GunicornServer, LiveServer

pytestmark = pytest.mark.live

THREADS = 16
ROUNDS = 4
BATCH = 25
VERSION_ROUNDS = (0, 2)  # rounds in which every thread registers a version
MODEL = "concurrent-model"
KEYS = ("loss", "accuracy")


class Workload:
    """What each thread sends, and so what the server must hold afterwards."""

    def __init__(self, client: MlflowClient, run_ids: list[str]) -> None:
        self.client = client
        self.run_ids = run_ids
        self.failures: list[str] = []
        self.barrier = threading.Barrier(THREADS)
        self.lock = threading.Lock()

    def run_of(self, worker: int) -> str:
        return self.run_ids[worker % len(self.run_ids)]

    @staticmethod
    def batch_points(worker: int, round_: int) -> list[tuple[str, int, float, int]]:
        """(key, step, value, timestamp) of one batch; every point of the test is distinct."""
        points = []
        for i in range(BATCH):
            step = worker * 10_000 + round_ * 100 + i
            points.append((KEYS[i % 2], step, step / 7.0, 1_700_000_000_000 + step))
        return points

    @staticmethod
    def single_point(worker: int, round_: int) -> tuple[str, int, float, int]:
        step = worker * 100 + round_
        return ("single", step, float(step), 1_700_000_000_000 + step)

    def expected(self) -> dict[tuple[str, str], collections.Counter[tuple[int, float, int]]]:
        expected: dict[tuple[str, str], collections.Counter[tuple[int, float, int]]] = (
            collections.defaultdict(collections.Counter)
        )
        for worker in range(THREADS):
            run_id = self.run_of(worker)
            for round_ in range(ROUNDS):
                for key, step, value, ts in [*self.batch_points(worker, round_),
                                             self.single_point(worker, round_)]:
                    expected[(run_id, key)][(step, value, ts)] += 1
        return expected

    def _record(self, worker: int, what: str, exc: BaseException) -> None:
        with self.lock:
            self.failures.append(f"worker {worker} {what}: {type(exc).__name__}: {exc}")

    def work(self, worker: int) -> None:
        run_id = self.run_of(worker)
        self.barrier.wait(timeout=60)
        for round_ in range(ROUNDS):
            metrics = [Metric(k, v, ts, s) for k, s, v, ts in self.batch_points(worker, round_)]
            params = [Param(f"p{worker}-{round_}", str(round_))]
            tags = [RunTag("last-writer", str(worker))]
            try:
                self.client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
            except Exception as exc:  # noqa: BLE001 - every failure is reported at the end
                self._record(worker, "log_batch", exc)
            key, step, value, ts = self.single_point(worker, round_)
            try:
                self.client.log_metric(run_id, key, value, timestamp=ts, step=step)
            except Exception as exc:  # noqa: BLE001
                self._record(worker, "log_metric", exc)
            if round_ in VERSION_ROUNDS:
                try:
                    self.client.create_model_version(
                        MODEL, f"s3://bucket/models/{worker}-{round_}"
                    )
                except Exception as exc:  # noqa: BLE001
                    self._record(worker, "create_model_version", exc)


def _client(uri: str, token: str, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _run_workload(client: MlflowClient) -> Workload:
    experiment_id = client.create_experiment("concurrency")
    run_ids = [client.create_run(experiment_id).info.run_id for _ in range(2)]
    client.create_registered_model(MODEL)
    workload = Workload(client, run_ids)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(workload.work, range(THREADS)))
    return workload


def _check_outcome(client: MlflowClient, workload: Workload) -> None:
    assert workload.failures == []
    for (run_id, key), points in workload.expected().items():
        history = client.get_metric_history(run_id, key)
        stored = collections.Counter((m.step, m.value, m.timestamp) for m in history)
        assert stored == points, f"metric {key} of run {run_id} differs"
        latest = client.get_run(run_id).data.metrics[key]
        assert latest == max(points)[1]
    for index, run_id in enumerate(workload.run_ids):
        params = client.get_run(run_id).data.params
        workers = [w for w in range(THREADS) if w % len(workload.run_ids) == index]
        assert set(params) == {f"p{w}-{r}" for w in workers for r in range(ROUNDS)}

    versions = client.search_model_versions(f"name = '{MODEL}'", max_results=1000)
    count = THREADS * len(VERSION_ROUNDS)
    assert sorted(int(v.version) for v in versions) == list(range(1, count + 1))
    semvers = sorted(
        tuple(int(x) for x in v.tags["model_registry.version"].split(".")) for v in versions
    )
    assert semvers == [(1, 0, patch) for patch in range(count)]
    sources = sorted(v.source or "" for v in versions)
    assert sources == sorted(
        f"s3://bucket/models/{w}-{r}" for w in range(THREADS) for r in VERSION_ROUNDS
    )


class _StatusRecorder:
    """WSGI middleware remembering every response status of the in-process server."""

    def __init__(self, app: t.Any) -> None:
        self.app = app
        self.statuses: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, t.Any], start_response: t.Any) -> t.Any:
        def recording_start(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
            with self.lock:
                self.statuses.append((status, environ.get("PATH_INFO", "")))
            return start_response(status, headers, exc_info)

        return self.app(environ, recording_start)


def test_threaded_werkzeug(
    app: Flask, project: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = _StatusRecorder(app.wsgi_app)
    monkeypatch.setattr(app, "wsgi_app", recorder)
    with LiveServer(app) as server:
        client = _client(server.tracking_uri(project.id), project.tokens["developer"], monkeypatch)
        workload = _run_workload(client)
        _check_outcome(client, workload)
    failed = [(status, path) for status, path in recorder.statuses if not status.startswith("2")]
    assert failed == []
    assert len(recorder.statuses) > THREADS * ROUNDS * 2


def test_gunicorn_workers(
    app: Flask,
    project: t.Any,
    database_url: str,
    tmp_path: t.Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with GunicornServer(database_url, tmp_path) as server:
        client = _client(server.tracking_uri(project.id), project.tokens["developer"], monkeypatch)
        workload = _run_workload(client)
        _check_outcome(client, workload)
        log = server.log()
    assert "Traceback" not in log


# -------------------------------------------------------------------------------------------
# a transaction that lost a conflict runs again; a streamed upload does not


class _Conflict(Exception):
    """A driver error carrying a SQLSTATE, as psycopg raises them."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def _failing_call(failures: list[str]) -> tuple[t.Callable[[t.Any], str], list[int]]:
    """A view failing with each SQLSTATE of ``failures`` in turn, then answering ``"done"``."""
    from sqlalchemy.exc import OperationalError

    attempts: list[int] = []

    def call(ctx: t.Any) -> str:
        attempts.append(1)
        if len(attempts) <= len(failures):
            raise OperationalError("COMMIT", {}, _Conflict(failures[len(attempts) - 1]))
        return "done"

    return call, attempts


@pytest.mark.parametrize("sqlstate", ["40001", "40P01", "23505"])
def test_a_conflicting_transaction_runs_again(app: Flask, sqlstate: str) -> None:
    from flask_model_registry.dispatch import run_in_project

    call, attempts = _failing_call([sqlstate, sqlstate])
    with app.test_request_context("/", method="POST", json={"run_id": "x"}):
        assert run_in_project(1, None, call) == "done"
    assert len(attempts) == 3


def test_conflicts_end_after_a_few_attempts(app: Flask) -> None:
    from sqlalchemy.exc import OperationalError

    from flask_model_registry.database.retry import MAX_ATTEMPTS
    from flask_model_registry.dispatch import run_in_project

    call, attempts = _failing_call(["40P01"] * 10)
    with app.test_request_context("/", method="POST", json={}), pytest.raises(OperationalError):
        run_in_project(1, None, call)
    assert len(attempts) == MAX_ATTEMPTS


@pytest.mark.parametrize("failure", ["streamed-body", "not-a-conflict"])
def test_other_failures_run_once(app: Flask, failure: str) -> None:
    from sqlalchemy.exc import OperationalError

    from flask_model_registry.dispatch import run_in_project

    sqlstate = "40001" if failure == "streamed-body" else "08006"  # connection failure
    mimetype = "application/octet-stream" if failure == "streamed-body" else "application/json"
    call, attempts = _failing_call([sqlstate])
    with app.test_request_context(
        "/", method="PUT", data=b"x" * 10, content_type=mimetype
    ), pytest.raises(OperationalError):
        run_in_project(1, None, call)
    assert len(attempts) == 1


def test_sqlite_writer_waits_for_the_lock(tmp_path: t.Any) -> None:
    """``BEGIN IMMEDIATE`` waits up to the busy timeout: a lock held briefly delays, not fails."""
    import sqlite3
    import time

    from tests.conftest import make_project
    from tests.rel_support import app_on, engine_of

    with app_on("sqlite", tmp_path, MODEL_REGISTRY_SQLITE_BUSY_TIMEOUT=10) as app:
        project = make_project(app)
        holder = sqlite3.connect(
            str(engine_of(app).url.database), isolation_level=None, check_same_thread=False
        )
        holder.execute("BEGIN EXCLUSIVE")
        release = threading.Timer(0.5, lambda: holder.execute("ROLLBACK"))
        release.start()
        started = time.monotonic()
        try:
            response = app.test_client().post(
                f"/api/v4/projects/{project.id}/ml/mlflow/api/2.0/mlflow/experiments/create",
                json={"name": "waited"}, headers=project.headers("developer"),
            )
        finally:
            release.join()
            holder.close()
        assert response.status_code == 200, response.get_data(as_text=True)
        assert time.monotonic() - started >= 0.4
