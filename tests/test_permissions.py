"""The one chokepoint: 401 without a user, 404 without read access, 403 without write access,
all in MLflow's JSON error shape; the host is asked once per request."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask, request

from flask_model_registry import ModelRegistry

PREFIX = "/api/v4/projects/{}/ml/mlflow/api/2.0/mlflow"
ROLES = {"reader-token": "reader", "writer-token": "writer", "stranger-token": "stranger"}


@pytest.fixture
def host(tmp_path: t.Any) -> tuple[Flask, list[tuple[t.Any, int, str]]]:
    app = Flask("host", instance_path=str(tmp_path))
    app.config["TESTING"] = True
    registry = ModelRegistry(app)
    calls: list[tuple[t.Any, int, str]] = []

    @registry.user_loader
    def load_user() -> str | None:
        return ROLES.get(request.headers.get("Authorization", "").removeprefix("Bearer "))

    @registry.project_access
    def can(user: t.Any, project_id: int, permission: str) -> bool:
        calls.append((user, project_id, permission))
        if project_id == 2:
            return permission.startswith("read_")  # a public project
        if user == "writer":
            return True
        return user == "reader" and permission.startswith("read_")

    return app, calls


def call(app: Flask, method: str, path: str, token: str | None, project: int = 1) -> t.Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = PREFIX.format(project) + path
    if method == "GET":
        return app.test_client().get(url, headers=headers)
    return app.test_client().post(url, json={"name": "x"}, headers=headers)


@pytest.mark.parametrize(
    ("method", "path", "token", "status", "code"),
    [
        ("GET", "/experiments/get?experiment_id=0", None, 401, "UNAUTHENTICATED"),
        ("GET", "/experiments/get?experiment_id=0", "bad-token", 401, "UNAUTHENTICATED"),
        (
            "GET",
            "/experiments/get?experiment_id=0",
            "stranger-token",
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        ("POST", "/experiments/create", None, 401, "UNAUTHENTICATED"),
        ("POST", "/experiments/create", "stranger-token", 404, "RESOURCE_DOES_NOT_EXIST"),
        ("POST", "/experiments/create", "reader-token", 403, "PERMISSION_DENIED"),
        ("POST", "/registered-models/create", "reader-token", 403, "PERMISSION_DENIED"),
    ],
)
def test_refusals_are_mlflow_json(
    host: tuple[Flask, t.Any], method: str, path: str, token: str | None, status: int, code: str
) -> None:
    app, _ = host
    response = call(app, method, path, token)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error_code"] == code
    assert body["message"]


def test_public_project_reads_anonymously_but_writes_need_a_user(
    host: tuple[Flask, t.Any],
) -> None:
    app, _ = host
    write = call(app, "POST", "/experiments/create", None, project=2)
    assert write.status_code == 401
    denied = call(app, "POST", "/experiments/create", "reader-token", project=2)
    assert denied.status_code == 403
    assert denied.get_json()["error_code"] == "PERMISSION_DENIED"


def test_a_refused_write_asks_for_write_then_read(host: tuple[Flask, t.Any]) -> None:
    app, calls = host
    call(app, "POST", "/experiments/create", "reader-token")
    assert calls == [
        ("reader", 1, "write_model_experiments"),
        ("reader", 1, "read_model_experiments"),
    ]


def test_an_allowed_write_asks_the_host_once(host: tuple[Flask, t.Any]) -> None:
    app, calls = host
    call(app, "POST", "/experiments/create", "writer-token")
    assert calls == [("writer", 1, "write_model_experiments")]


def test_unknown_endpoint_is_endpoint_not_found(host: tuple[Flask, t.Any]) -> None:
    app, _ = host
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(app.test_client(), method)(PREFIX.format(1) + "/no/such/thing")
        assert response.status_code == 404
        assert response.get_json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_wrong_method_on_a_known_path_is_endpoint_not_found(host: tuple[Flask, t.Any]) -> None:
    app, _ = host
    response = app.test_client().delete(PREFIX.format(1) + "/runs/create")
    assert response.status_code == 404
    assert response.get_json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_every_registry_endpoint_declares_a_permission(host: tuple[Flask, t.Any]) -> None:
    app, _ = host
    permissions = app.extensions["model_registry"].endpoint_permissions
    ours = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("model_registry_")
    ]
    assert ours
    missing = [endpoint for endpoint in ours if endpoint not in permissions]
    assert missing == []
