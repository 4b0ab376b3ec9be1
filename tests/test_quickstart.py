"""The README's promise: seed the demo, run the quick-start script with the real mlflow client
against a live server, and find the experiment on the project's experiments page."""

from __future__ import annotations

import re
import typing as t

import pytest
import requests
from flask import Flask

from tests.conftest import make_project
from tests.support.live import LiveServer

pytestmark = pytest.mark.live


def _seed(app: Flask) -> tuple[str, str]:
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    uri = re.search(r"MLFLOW_TRACKING_URI=(\S+)", result.output)
    token = re.search(r"MLFLOW_TRACKING_TOKEN=(\S+)", result.output)
    assert uri, result.output
    assert token, result.output
    return uri.group(1), token.group(1)


def _login(server: LiveServer, username: str, password: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{server.url}/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf, form.text
    response = session.post(
        f"{server.url}/login",
        data={"username": username, "password": password, "csrf_token": csrf.group(1)},
    )
    assert response.status_code == 200
    return session


def test_quick_start_script_creates_an_experiment_shown_on_the_page(
    app: Flask, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    printed_uri, token = _seed(app)
    project_path = re.search(r"/api/v4/projects/(\d+)/ml/mlflow$", printed_uri)
    assert project_path, printed_uri
    project_id = int(project_path.group(1))
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", live_server.tracking_uri(project_id))

    experiment_id = MlflowClient().create_experiment("My first experiment")

    assert experiment_id == "1"
    session = _login(live_server, "demo", "demo")
    page = session.get(f"{live_server.url}/projects/{project_id}/-/ml/experiments")
    assert page.status_code == 200
    assert "My first experiment" in page.text


@pytest.mark.parametrize(
    ("role", "method", "status", "code"),
    [
        ("outsider", "get", 404, "RESOURCE_DOES_NOT_EXIST"),
        ("reporter", "create", 403, "PERMISSION_DENIED"),
        (None, "get", 401, "UNAUTHENTICATED"),
    ],
)
def test_tokens_meet_the_project_rules(
    app: Flask, live_server: LiveServer, role: str | None, method: str, status: int, code: str
) -> None:
    project = make_project(app)
    base = live_server.tracking_uri(project.id) + "/api/2.0/mlflow"
    developer = project.headers("developer")
    created = requests.post(f"{base}/experiments/create", json={"name": "fraud"}, headers=developer)
    assert created.status_code == 200, created.text
    experiment_id = created.json()["experiment_id"]
    headers: dict[str, t.Any] = project.headers(role) if role else {}
    if method == "get":
        response = requests.get(
            f"{base}/experiments/get", params={"experiment_id": experiment_id}, headers=headers
        )
    else:
        response = requests.post(f"{base}/experiments/create", json={"name": "x"}, headers=headers)
    assert response.status_code == status
    assert response.json() == {"error_code": code, "message": response.json()["message"]}
    assert response.json()["message"]
