"""Faults of the backing services: the database going away (and coming back), the artifact
store failing to write, and clients vanishing in the middle of an upload."""

from __future__ import annotations

import errno
import http.client
import json
import pathlib
import socket
import sqlite3
import threading
import time
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from flask_model_registry.artifacts import LocalArtifactStore
from flask_model_registry.errors import StorageError
from flask_model_registry.services import pages
from tests.conftest import Project, make_project
from tests.rel_support import (
    POSTGRES_URL,
    TcpProxy,
    app_on,
    build_app,
    dispose,
    engine_of,
    files_under,
    fresh_database,
    proxied_postgres_url,
)
from tests.support.live import GunicornServer, LiveServer
from tests.test_web_factories import login

MLFLOW = "/api/v4/projects/{id}/ml/mlflow/api/2.0/mlflow"
ARTIFACTS = "/api/v4/projects/{id}/ml/mlflow/api/2.0/mlflow-artifacts/artifacts"


def _api(client: FlaskClient, project: Project, method: str, path: str,
         body: dict[str, t.Any] | None = None, role: str = "developer") -> t.Any:
    url = MLFLOW.format(id=project.id) + "/" + path
    if method == "GET":
        return client.get(url, query_string=body or {}, headers=project.headers(role))
    return client.open(url, method=method, json=body or {}, headers=project.headers(role))


def _ok(response: t.Any) -> dict[str, t.Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return t.cast(dict[str, t.Any], response.get_json())


def _assert_unavailable(response: t.Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert body["message"]
    assert int(response.headers["Retry-After"]) > 0


# -------------------------------------------------------------------------------------------
# the database goes away


@pytest.fixture
def proxied_app(tmp_path: pathlib.Path) -> t.Iterator[tuple[Flask, TcpProxy]]:
    """The app on PostgreSQL reached through a TCP proxy the test can cut."""
    if not POSTGRES_URL:
        pytest.skip("needs MODEL_REGISTRY_TEST_POSTGRES_URL")
    target = make_url(POSTGRES_URL)
    with fresh_database("postgres", tmp_path) as url, TcpProxy(
        target.host or "127.0.0.1", target.port or 5432
    ) as proxy:
        app = build_app(proxied_postgres_url(url, proxy.port), tmp_path)
        try:
            yield app, proxy
        finally:
            proxy.restore()
            dispose(app)


@pytest.mark.postgres
def test_database_outage_is_503_and_recovers_without_restart(
    proxied_app: tuple[Flask, TcpProxy],
) -> None:
    app, proxy = proxied_app
    project = make_project(app)
    client = app.test_client()
    experiment_id = _ok(_api(client, project, "POST", "experiments/create", {"name": "e"}))[
        "experiment_id"
    ]
    native = f"/api/v4/projects/{project.id}/ml/models"
    assert client.get(native, headers=project.headers("developer")).status_code == 200

    proxy.cut()
    for _ in range(2):  # the first request finds dead pooled connections, the next none at all
        _assert_unavailable(_api(client, project, "GET", "experiments/get",
                                 {"experiment_id": experiment_id}))
        _assert_unavailable(_api(client, project, "POST", "runs/create",
                                 {"experiment_id": experiment_id}))
        _assert_unavailable(client.get(native, headers=project.headers("developer")))

    proxy.restore()
    run = _ok(_api(client, project, "POST", "runs/create", {"experiment_id": experiment_id}))
    got = _ok(_api(client, project, "GET", "runs/get", {"run_id": run["run"]["info"]["run_id"]}))
    assert got["run"]["info"]["experiment_id"] == experiment_id
    assert client.get(native, headers=project.headers("developer")).status_code == 200
    listed = _ok(_api(client, project, "GET", "experiments/search", {"max_results": 10}))
    assert "e" in [e["name"] for e in listed["experiments"]]


@pytest.mark.postgres
@pytest.mark.live
def test_mlflow_client_rides_out_an_outage(
    proxied_app: tuple[Flask, TcpProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    """503 is what the client retries: a call made during the outage succeeds once it ends."""
    from mlflow.tracking import MlflowClient

    app, proxy = proxied_app
    project = make_project(app)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", project.tokens["developer"])
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "6")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
    with LiveServer(app) as server:
        client = MlflowClient(tracking_uri=server.tracking_uri(project.id))
        experiment_id = client.create_experiment("outage")
        proxy.cut()
        threading.Timer(1.0, proxy.restore).start()
        started = time.monotonic()
        run = client.create_run(experiment_id)
        assert time.monotonic() - started >= 0.5  # it did wait for the database
        assert client.get_run(run.info.run_id).info.experiment_id == experiment_id


def test_sqlite_lock_timeout_is_503_and_recovers(tmp_path: pathlib.Path) -> None:
    """A writer that cannot get SQLite's lock within the busy timeout gets 503, not 500."""
    with app_on("sqlite", tmp_path, MODEL_REGISTRY_SQLITE_BUSY_TIMEOUT=0.2) as app:
        project = make_project(app)
        client = app.test_client()
        _ok(_api(client, project, "POST", "experiments/create", {"name": "e"}))
        holder = sqlite3.connect(str(engine_of(app).url.database), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            _assert_unavailable(
                _api(client, project, "POST", "experiments/create", {"name": "f"})
            )
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        _ok(_api(client, project, "POST", "experiments/create", {"name": "f"}))


# -------------------------------------------------------------------------------------------
# the artifact store fails


class _FailingStore(LocalArtifactStore):
    """A store whose writes fail after ``after`` successful ones, like a disk filling up."""

    def __init__(self, root: str, error: Exception, after: int = 0) -> None:
        super().__init__(root)
        self.error = error
        self.after = after
        self.writes = 0

    def write(self, path: str, stream: t.BinaryIO, *, max_bytes: int | None = None) -> int:
        self.writes += 1
        if self.writes > self.after:
            stream.read(100)  # the failure comes once data is flowing
            raise self.error
        return super().write(path, stream, max_bytes=max_bytes)

    def copy_tree(self, src: str, dst: str) -> None:
        # The local store copies without calling write(); copy file by file so it fails too.
        for info in self.walk(src):
            suffix = info.path[len(src):].lstrip("/")
            with self.open(info.path) as source:
                self.write(f"{dst}/{suffix}" if suffix else dst, source)


_DISK_FULL = [
    pytest.param(StorageError("Could not write artifact: No space left on device."),
                 id="storage-error"),
    pytest.param(OSError(errno.ENOSPC, "No space left on device"), id="raw-oserror"),
]


def _run_with_files(client: FlaskClient, project: Project) -> dict[str, t.Any]:
    experiment_id = _ok(_api(client, project, "POST", "experiments/create", {"name": "art"}))[
        "experiment_id"
    ]
    info = _ok(_api(client, project, "POST", "runs/create", {"experiment_id": experiment_id}))[
        "run"
    ]["info"]
    root = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
    for name in ("model/MLmodel", "model/model.pkl"):
        response = client.put(
            ARTIFACTS.format(id=project.id) + f"/{root}/{name}",
            data=b"x" * 1000,
            headers=project.headers("developer"),
        )
        assert response.status_code == 200, response.get_data(as_text=True)
    return t.cast(dict[str, t.Any], info)


def _use_store(app: Flask, monkeypatch: pytest.MonkeyPatch, store: LocalArtifactStore) -> None:
    monkeypatch.setattr(app.extensions["model_registry"], "artifact_store", store)


def _assert_json_5xx(response: t.Any, store_root: str) -> None:
    assert 500 <= response.status_code < 600, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) >= {"error_code", "message"}
    assert store_root not in response.get_data(as_text=True)  # no server paths disclosed


@pytest.mark.parametrize("error", _DISK_FULL)
def test_failed_upload_is_5xx_json_and_leaves_nothing(
    app: Flask, project: Project, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    client = app.test_client()
    info = _run_with_files(client, project)
    root = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
    store_root = app.extensions["model_registry"].artifact_store.root
    before = files_under(pathlib.Path(store_root))
    _use_store(app, monkeypatch, _FailingStore(store_root, error))

    response = client.put(
        ARTIFACTS.format(id=project.id) + f"/{root}/data/big.bin",
        data=b"y" * 100_000,
        headers=project.headers("developer"),
    )
    _assert_json_5xx(response, store_root)
    assert files_under(pathlib.Path(store_root)) == before
    listing = _ok(_api(client, project, "GET", "artifacts/list",
                       {"run_id": info["run_id"], "path": "data"}))
    assert listing.get("files", []) == []


@pytest.mark.parametrize("error", _DISK_FULL)
def test_failed_version_copy_leaves_no_version_and_no_files(
    app: Flask, project: Project, monkeypatch: pytest.MonkeyPatch, error: Exception,
) -> None:
    """Registering copies the source's files; when the copy fails, no version points at them."""
    client = app.test_client()
    info = _run_with_files(client, project)
    _ok(_api(client, project, "POST", "registered-models/create", {"name": "fragile"}))
    store_root = app.extensions["model_registry"].artifact_store.root
    before = files_under(pathlib.Path(store_root))
    # The first of the two files copies, the second fails: a half-copied version.
    _use_store(app, monkeypatch, _FailingStore(store_root, error, after=1))

    response = _api(client, project, "POST", "model-versions/create", {
        "name": "fragile",
        "source": info["artifact_uri"] + "/model",
        "run_id": info["run_id"],
    })
    _assert_json_5xx(response, store_root)
    found = _ok(_api(client, project, "GET", "model-versions/search",
                     {"filter": "name = 'fragile'"}))
    assert found.get("model_versions", []) == []
    assert files_under(pathlib.Path(store_root)) == before

    monkeypatch.undo()
    created = _ok(_api(client, project, "POST", "model-versions/create", {
        "name": "fragile",
        "source": info["artifact_uri"] + "/model",
        "run_id": info["run_id"],
    }))["model_version"]
    assert created["version"] == "1"


def test_failure_after_copy_removes_the_copied_files(
    app: Flask, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reverse: files copied, then the database part fails; the copy is removed again."""
    client = app.test_client()
    info = _run_with_files(client, project)
    _ok(_api(client, project, "POST", "registered-models/create", {"name": "fragile"}))
    store_root = pathlib.Path(app.extensions["model_registry"].artifact_store.root)
    before = files_under(store_root)
    registry = app.extensions["model_registry"].registry

    def broken_resolver(*args: t.Any, **kwargs: t.Any) -> t.Any:
        raise RuntimeError("package service down")

    monkeypatch.setattr(registry.hooks, "package_resolver", broken_resolver)
    response = _api(client, project, "POST", "model-versions/create", {
        "name": "fragile",
        "source": info["artifact_uri"] + "/model",
        "run_id": info["run_id"],
    })
    _assert_json_5xx(response, str(store_root))
    assert files_under(store_root) == before
    found = _ok(_api(client, project, "GET", "model-versions/search",
                     {"filter": "name = 'fragile'"}))
    assert found.get("model_versions", []) == []


# -------------------------------------------------------------------------------------------
# the client vanishes mid-upload


def _abandon_upload(base_url: str, path: str, token: str, *, chunked: bool) -> None:
    """Start a 4 MiB upload, send 256 KiB of it, and hang up."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    headers = [
        f"PUT {path} HTTP/1.1",
        f"Host: {host}:{port}",
        f"Authorization: Bearer {token}",
        "Content-Type: application/octet-stream",
        "Transfer-Encoding: chunked" if chunked else f"Content-Length: {4 * 1024 * 1024}",
    ]
    sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
    piece = b"z" * (64 * 1024)
    for _ in range(4):
        sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
    time.sleep(0.2)
    sock.close()


def _wait_for_no_temp_files(root: pathlib.Path, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        leftovers = [f for f in files_under(root) if ".upload-" in f]
        if not leftovers or time.monotonic() > deadline:
            return leftovers
        time.sleep(0.1)


def _listing(base_url: str, project: Project, root: str) -> list[dict[str, t.Any]]:
    connection = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=10)
    connection.request(
        "GET", ARTIFACTS.format(id=project.id) + f"?path={root}",
        headers=project.headers("developer"),
    )
    body = connection.getresponse().read()
    connection.close()
    return t.cast(list[dict[str, t.Any]], json.loads(body).get("files", []))


@pytest.mark.live
@pytest.mark.parametrize("server_kind", ["werkzeug", "gunicorn"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_disconnect_mid_upload_leaves_no_partial_file(
    app: Flask, project: Project, database_url: str, tmp_path: pathlib.Path,
    server_kind: str, chunked: bool,
) -> None:
    client = app.test_client()
    info = _run_with_files(client, project)
    root = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
    store_root = pathlib.Path(app.extensions["model_registry"].artifact_store.root)
    before = files_under(store_root)
    server: LiveServer | GunicornServer = (
        LiveServer(app) if server_kind == "werkzeug" else GunicornServer(database_url, tmp_path)
    )
    with server:
        path = ARTIFACTS.format(id=project.id) + f"/{root}/partial.bin"
        _abandon_upload(server.url, path, project.tokens["developer"], chunked=chunked)
        assert _wait_for_no_temp_files(store_root) == []
        names = [f["path"] for f in _listing(server.url, project, root)]
    assert "partial.bin" not in names
    assert files_under(store_root) == before


def test_a_page_during_an_outage_is_503_with_retry_after(
    app: Flask, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages answer an unreachable database as the API does: 503 and when to retry."""
    def unreachable(*_args: t.Any, **_kwargs: t.Any) -> t.NoReturn:
        raise OperationalError("SELECT 1", {}, ConnectionError("connection refused"))

    monkeypatch.setattr(pages, "experiment_page", unreachable)
    client = app.test_client()
    login(client, "alpha-reporter")
    response = client.get(f"/projects/{project.id}/-/ml/experiments")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "temporarily unavailable" in response.get_data(as_text=True)
