"""Shared fixtures: an example host app per test on SQLite (and PostgreSQL when configured),
users with each role, and a live server on 127.0.0.1 for the real ``mlflow`` client."""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass, field

import pytest
from flask import Flask

from tests.rel_support import build_app, dispose, fresh_database
from tests.support.live import LiveServer

POSTGRES_URL = os.environ.get("MODEL_REGISTRY_TEST_POSTGRES_URL")
ROLES = ("guest", "reporter", "developer", "maintainer", "owner")

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")


def _backends() -> list[t.Any]:
    params: list[t.Any] = [pytest.param("sqlite", id="sqlite")]
    if POSTGRES_URL:
        params.append(pytest.param("postgres", id="postgres", marks=pytest.mark.postgres))
    elif os.environ.get("CI"):
        raise pytest.UsageError("CI must set MODEL_REGISTRY_TEST_POSTGRES_URL.")
    return params


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: t.Any) -> t.Iterator[str]:
    """A fresh, empty database: a SQLite file, or a throw-away PostgreSQL schema."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def app(database_url: str, tmp_path: t.Any) -> t.Iterator[Flask]:
    """The example host app with an initialised database."""
    application = build_app(database_url, tmp_path)
    yield application
    dispose(application)


def run_cli(app: Flask, *args: str) -> str:
    """Run a host CLI command and return its last output line."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@dataclass
class Project:
    """A project with one user per role, and an outsider who belongs to another project."""

    id: int
    tokens: dict[str, str] = field(default_factory=dict)
    other_id: int = 0

    def headers(self, role: str) -> dict[str, str]:
        """``Authorization`` for a role, ``outsider``, or ``{}`` for anonymous."""
        token = self.tokens.get(role)
        return {"Authorization": f"Bearer {token}"} if token else {}


def make_project(app: Flask, name: str = "alpha") -> Project:
    """Create users for every role, project ``name`` owned by ``<name>-owner``, and an
    outsider with a project of their own."""
    tokens = {}
    for role in ROLES:
        tokens[role] = run_cli(app, "create-user", f"{name}-{role}", "--password", "pw")
    project_id = int(run_cli(app, "create-project", name, "--owner", f"{name}-owner"))
    for role in ROLES[:-1]:
        run_cli(app, "add-member", str(project_id), f"{name}-{role}", "--role", role)
    tokens["outsider"] = run_cli(app, "create-user", f"{name}-outsider", "--password", "pw")
    other_id = int(run_cli(app, "create-project", f"{name}-other", "--owner", f"{name}-outsider"))
    return Project(id=project_id, tokens=tokens, other_id=other_id)


@pytest.fixture
def project(app: Flask) -> Project:
    return make_project(app)


@pytest.fixture
def client(app: Flask) -> t.Any:
    return app.test_client()


@pytest.fixture
def live_server(app: Flask) -> t.Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def mlflow_env(
    live_server: LiveServer, project: Project, monkeypatch: pytest.MonkeyPatch
) -> t.Iterator[str]:
    """Point the real mlflow client at the live server as the project's developer."""
    import mlflow

    uri = live_server.tracking_uri(project.id)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", project.tokens["developer"])
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield uri
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.tracking.fluent._active_experiment_id = None
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
    mlflow.set_registry_uri(None)  # type: ignore[arg-type]
