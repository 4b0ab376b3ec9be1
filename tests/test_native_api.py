"""The native JSON API under ``/api/v4/projects/<id>/ml/models``: models, versions listed by
SemVer precedence, promotion of a candidate, provenance, deletes, errors and permissions."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask

from tests.conftest import Project
from tests.test_registry_helpers import (
    Api,
    artifact_dir,
    files_under,
    log_constant_model,
    packages,
    predict,
)
from tests.test_statement_counts import counting


class Native:
    """Calls to the native API of one project as one role."""

    def __init__(self, client: t.Any, project: Project, role: str = "developer") -> None:
        self.client = client
        self.project = project
        self.role = role
        self.base = f"/api/v4/projects/{project.id}/ml"

    def call(self, method: str, path: str, body: t.Any = None, **query: t.Any) -> t.Any:
        headers = self.project.headers(self.role)
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        return self.client.open(
            self.base + path, method=method, json=body, query_string=query, headers=headers
        )

    def ok(
        self, method: str, path: str, body: t.Any = None, status: int = 200, **query: t.Any
    ) -> t.Any:
        response = self.call(method, path, body, **query)
        assert response.status_code == status, (path, response.status_code, response.get_data())
        return response.get_json()

    def error(
        self, method: str, path: str, body: t.Any = None, **query: t.Any
    ) -> tuple[int, str, str]:
        response = self.call(method, path, body, **query)
        payload = response.get_json()
        assert response.status_code >= 400, payload
        return response.status_code, payload["error_code"], payload["message"]


@pytest.fixture
def native(client: t.Any, project: Project) -> Native:
    return Native(client, project)


@pytest.fixture
def mlflow_api(client: t.Any, project: Project) -> Api:
    return Api(client, project)


def _candidate(api: Api, value: float) -> str:
    """A run of experiment ``fraud`` with param ``alpha`` and metric ``auc`` (two steps)."""
    run_id = api.create_run(_experiment(api, "fraud"))
    api.ok(
        "POST",
        "/runs/log-batch",
        {
            "run_id": run_id,
            "params": [{"key": "alpha", "value": str(value)}],
            "metrics": [
                {"key": "auc", "value": value / 20, "timestamp": 1, "step": 0},
                {"key": "auc", "value": value / 10, "timestamp": 2, "step": 1},
                {"key": "loss", "value": "NaN", "timestamp": 2, "step": 1},
            ],
        },
    )
    return run_id


def _experiment(api: Api, name: str) -> str:
    response = api.call("GET", "/experiments/get-by-name", {"experiment_name": name})
    if response.status_code == 200:
        return str(response.get_json()["experiment"]["experiment_id"])
    return str(api.ok("POST", "/experiments/create", {"name": name})["experiment_id"])


def test_models_crud(native: Native) -> None:
    created = native.ok(
        "POST",
        "/models",
        {"name": "fraud", "description": "d", "tags": {"team": "risk"}},
        status=201,
    )
    assert created["name"] == "fraud"
    assert created["tags"] == {"team": "risk"}
    assert created["version_count"] == 0
    assert created["latest_version"] is None
    assert isinstance(created["experiment_id"], int)
    model_id = created["id"]

    assert native.ok("GET", f"/models/{model_id}") == created
    patched = native.ok("PATCH", f"/models/{model_id}", {"description": "fraud detector"})
    assert patched["description"] == "fraud detector"
    renamed = native.ok("PATCH", f"/models/{model_id}", {"name": "fraud2"})
    assert (renamed["id"], renamed["name"]) == (model_id, "fraud2")

    native.ok("DELETE", f"/models/{model_id}", status=204)
    assert native.error("GET", f"/models/{model_id}")[:2] == (404, "RESOURCE_DOES_NOT_EXIST")


def test_models_list_is_paged(native: Native) -> None:
    for name in ("c", "a", "b"):
        native.ok("POST", "/models", {"name": name}, status=201)
    first = native.ok("GET", "/models", per_page=2)
    assert [m["name"] for m in first["models"]] == ["a", "b"]
    assert first["next_page"] == 2
    second = native.ok("GET", "/models", per_page=2, page=2)
    assert [m["name"] for m in second["models"]] == ["c"]
    assert second["next_page"] is None
    assert native.error("GET", "/models", per_page=101)[:2] == (400, "INVALID_PARAMETER_VALUE")
    assert native.error("GET", "/models", page=0)[:2] == (400, "INVALID_PARAMETER_VALUE")
    assert native.error("GET", "/models", page=10**20)[:2] == (400, "INVALID_PARAMETER_VALUE")
    assert native.error("GET", f"/models/{10**20}")[:2] == (404, "RESOURCE_DOES_NOT_EXIST")


def test_promotion_keeps_provenance(native: Native, mlflow_api: Api) -> None:
    model_id = native.ok("POST", "/models", {"name": "fraud"}, status=201)["id"]
    run_id = _candidate(mlflow_api, 8.0)

    version = native.ok(
        "POST",
        f"/models/{model_id}/versions",
        {"candidate_id": run_id, "version": "1.2.0", "description": "tuned"},
        status=201,
    )

    assert (version["semver"], version["version"], version["description"]) == ("1.2.0", 1, "tuned")
    assert version["source"] == f"runs:/{run_id}/model"
    fetched = native.ok("GET", f"/models/{model_id}/versions/1.2.0")
    candidate = fetched["candidate"]
    assert candidate["run_id"] == run_id
    assert candidate["experiment_name"] == "fraud"
    assert candidate["params"] == {"alpha": "8.0"}
    assert candidate["metrics"] == {"auc": 0.8, "loss": "NaN"}  # latest values
    assert fetched["package_id"] is not None
    assert fetched["package_url"].endswith(f"/packages/{fetched['package_id']}")
    # the MLflow API sees the same version
    mv = mlflow_api.ok("GET", "/model-versions/get", {"name": "fraud", "version": "1"})
    assert mv["model_version"]["run_id"] == run_id


def test_versions_are_listed_by_semver_precedence(native: Native, mlflow_api: Api) -> None:
    model_id = native.ok("POST", "/models", {"name": "fraud"}, status=201)["id"]
    run_id = _candidate(mlflow_api, 1.0)
    order = ["1.0.0-rc.1", "1.10.0", "1.0.0", "1.0.0-beta.11", "1.2.0", "1.0.0-beta.2"]
    for semver in order:
        native.ok(
            "POST",
            f"/models/{model_id}/versions",
            {"candidate_id": run_id, "version": semver},
            status=201,
        )

    listed = native.ok("GET", f"/models/{model_id}/versions")
    assert [v["semver"] for v in listed["versions"]] == [
        "1.10.0",
        "1.2.0",
        "1.0.0",
        "1.0.0-rc.1",
        "1.0.0-beta.11",
        "1.0.0-beta.2",
    ]
    assert [v["version"] for v in listed["versions"]] == [2, 5, 3, 1, 4, 6]
    page = native.ok("GET", f"/models/{model_id}/versions", per_page=4, page=2)
    assert [v["semver"] for v in page["versions"]] == ["1.0.0-beta.11", "1.0.0-beta.2"]
    assert page["next_page"] is None
    model = native.ok("GET", f"/models/{model_id}")
    assert (model["version_count"], model["latest_version"]) == (6, "1.10.0")
    bumped = native.ok("POST", f"/models/{model_id}/versions", {"candidate_id": run_id}, status=201)
    assert bumped["semver"] == "1.10.1"


def test_version_errors(native: Native, mlflow_api: Api, project: Project) -> None:
    model_id = native.ok("POST", "/models", {"name": "fraud"}, status=201)["id"]
    run_id = _candidate(mlflow_api, 1.0)
    path = f"/models/{model_id}/versions"
    native.ok("POST", path, {"candidate_id": run_id, "version": "1.0.0"}, status=201)
    cases = [
        ({"candidate_id": run_id, "version": "1.0"}, 400, "Invalid semantic version '1.0'"),
        ({"candidate_id": run_id, "version": "1.0.0+b"}, 400, "already has version 1.0.0"),
        ({"candidate_id": "nope"}, 404, "Run with id=nope not found"),
        ({"candidate_id": run_id, "semver": "1.0.1"}, 400, "Unknown field"),
        ({}, 400, "candidate_id"),
    ]
    for body, status, message in cases:
        got = native.error("POST", path, body)
        assert got[0] == status, (body, got)
        assert message in got[2], (body, got)
    assert native.error("GET", f"{path}/9.9.9")[:2] == (404, "RESOURCE_DOES_NOT_EXIST")
    assert native.error("GET", f"{path}/latest")[:2] == (400, "INVALID_PARAMETER_VALUE")
    assert native.error("POST", "/models", {"name": "fraud"})[:2] == (
        400,
        "RESOURCE_ALREADY_EXISTS",
    )
    assert native.error("POST", "/models", {"name": "x", "colour": "red"})[:2] == (
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert native.error("PATCH", f"/models/{model_id}", {})[:2] == (400, "INVALID_PARAMETER_VALUE")
    assert len(native.ok("GET", path)["versions"]) == 1


def test_permissions_and_other_projects(native: Native, client: t.Any, project: Project) -> None:
    model_id = native.ok("POST", "/models", {"name": "fraud"}, status=201)["id"]
    reporter = Native(client, project, "reporter")
    assert reporter.ok("GET", f"/models/{model_id}")["name"] == "fraud"
    assert reporter.error("POST", "/models", {"name": "x"})[:2] == (403, "PERMISSION_DENIED")
    assert reporter.error("DELETE", f"/models/{model_id}")[:2] == (403, "PERMISSION_DENIED")
    assert Native(client, project, "outsider").error("GET", "/models")[:2] == (
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert Native(client, project, "anonymous").error("GET", "/models")[:2] == (
        401,
        "UNAUTHENTICATED",
    )
    # a model id of this project does not exist in the other project
    owner_of_other = Native(client, Project(project.other_id, project.tokens), "outsider")
    assert owner_of_other.error("GET", f"/models/{model_id}")[:2] == (
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert owner_of_other.error("DELETE", f"/models/{model_id}")[:2] == (
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert native.ok("GET", f"/models/{model_id}")["name"] == "fraud"


def test_list_statements_do_not_grow(app: Flask, native: Native, mlflow_api: Api) -> None:
    run_id = _candidate(mlflow_api, 1.0)
    ids = [native.ok("POST", "/models", {"name": f"m{i}"}, status=201)["id"] for i in range(5)]
    for model_id in ids:
        for _ in range(3):
            native.ok("POST", f"/models/{model_id}/versions", {"candidate_id": run_id}, status=201)
    counts = []
    for per_page in (1, 5):
        native.ok("GET", "/models", per_page=1)
        with counting(app) as statements:
            listed = native.ok("GET", "/models", per_page=per_page)
        assert len(listed["models"]) == per_page
        counts.append(len(statements))
        with counting(app) as statements:
            versions = native.ok("GET", f"/models/{ids[0]}/versions", per_page=per_page)
        assert len(versions["versions"]) == min(per_page, 3)
        counts.append(len(statements))
    assert counts[0] == counts[2], counts
    assert counts[1] == counts[3], counts


@pytest.mark.live
def test_promoting_a_logged_model_and_deleting_the_version(
    app: Flask, project: Project, native: Native, mlflow_env: str
) -> None:
    from mlflow import MlflowClient

    info = log_constant_model(4.0)
    model_id = native.ok("POST", "/models", {"name": "fraud"}, status=201)["id"]

    version = native.ok(
        "POST",
        f"/models/{model_id}/versions",
        {"candidate_id": info.run_id, "version": "3.1.0"},
        status=201,
    )

    assert version["logged_model_id"] == info.model_id
    assert version["source"] == f"models:/{info.model_id}"
    assert version["candidate"]["params"] == {"value": "4.0"}
    assert version["candidate"]["metrics"] == {"accuracy": 0.4}
    assert predict("models:/fraud/3.1.0") == 4.0
    assert packages(app, project.id) == {("fraud", "3.1.0")}
    owned = artifact_dir(app, MlflowClient().get_model_version_download_uri("fraud", "1"))
    assert "MLmodel" in files_under(owned)
    with app.app_context():
        files = app.extensions["model_registry"].registry.package_files(
            project.id, version["package_id"]
        )
    assert "MLmodel" in {f.path for f in files}

    native.ok("DELETE", f"/models/{model_id}/versions/3.1.0", status=204)

    assert packages(app, project.id) == set()
    assert files_under(owned) == set()
    assert native.ok("GET", f"/models/{model_id}/versions")["versions"] == []
