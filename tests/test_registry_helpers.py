"""Helpers shared by the registry tests (this module holds no tests)."""

from __future__ import annotations

import os
import typing as t

import pandas as pd
from flask import Flask
from sqlalchemy import select

from tests.conftest import Project

SEMVER_TAG = "model_registry.version"
JSON = {"Content-Type": "application/json"}


def _constant_model_class() -> type:
    from mlflow.pyfunc.model import PythonModel

    class ConstantModel(PythonModel):
        """Stands in for a trained model: predicts the number it was built with."""

        def __init__(self, value: float) -> None:
            self.value = value

        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return [self.value] * len(model_input)

    return ConstantModel


def log_constant_model(value: float, registered_model_name: str | None = None) -> t.Any:
    """Log, in a new run, a pyfunc model that predicts ``value``; register it if named.

    The run gets param ``value`` and metric ``accuracy`` (``value / 10``).
    """
    import mlflow

    with mlflow.start_run():
        mlflow.log_param("value", value)
        mlflow.log_metric("accuracy", value / 10)
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=_constant_model_class()(value),
            registered_model_name=registered_model_name,
            pip_requirements=["mlflow"],
        )


def predict(uri: str) -> float:
    """Load ``uri`` with the real client and return its prediction for one row."""
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(uri)
    return float(model.predict(pd.DataFrame({"x": [1]}))[0])


def packages(app: Flask, project_id: int) -> set[tuple[str, str]]:
    """``(name, version)`` of the host's packages in ``project_id``."""
    from example_app.models import Package, db

    with app.app_context():
        rows = db.session.execute(
            select(Package.name, Package.version).where(Package.project_id == project_id)
        ).all()
        db.session.remove()
    return {(row.name, row.version) for row in rows}


def artifact_dir(app: Flask, uri: str) -> str:
    """The local directory of an ``mlflow-artifacts:/...`` URI."""
    assert uri.startswith("mlflow-artifacts:/"), uri
    root = app.config["MODEL_REGISTRY_ARTIFACT_ROOT"]
    return os.path.join(root, uri[len("mlflow-artifacts:/") :].lstrip("/"))


def files_under(path: str) -> set[str]:
    """Every file below ``path``, relative to it."""
    found = set()
    for directory, _, names in os.walk(path):
        for name in names:
            found.add(os.path.relpath(os.path.join(directory, name), path))
    return found


class Api:
    """The MLflow REST API of one project through the Flask test client."""

    def __init__(self, client: t.Any, project: Project, role: str = "developer") -> None:
        self.client = client
        self.project = project
        self.role = role
        self.base = f"/api/v4/projects/{project.id}/ml/mlflow/api/2.0/mlflow"

    def as_role(self, role: str) -> Api:
        return Api(self.client, self.project, role)

    def call(self, method: str, path: str, body: dict[str, t.Any] | None = None) -> t.Any:
        headers = {**self.project.headers(self.role), **JSON}
        if method == "GET":
            return self.client.get(self.base + path, query_string=body, headers=headers)
        return self.client.open(self.base + path, method=method, json=body or {}, headers=headers)

    def ok(self, method: str, path: str, body: dict[str, t.Any] | None = None) -> t.Any:
        response = self.call(method, path, body)
        assert response.status_code == 200, (path, response.get_json())
        return response.get_json()

    def error(
        self, method: str, path: str, body: dict[str, t.Any] | None = None
    ) -> tuple[int, str, str]:
        response = self.call(method, path, body)
        payload = response.get_json()
        assert response.status_code >= 400, payload
        return response.status_code, payload["error_code"], payload["message"]

    def create_run(self, experiment_id: str = "0") -> str:
        run = self.ok("POST", "/runs/create", {"experiment_id": experiment_id})
        return str(run["run"]["info"]["run_id"])

    def create_model(self, name: str, **fields: t.Any) -> dict[str, t.Any]:
        return t.cast(
            dict[str, t.Any],
            self.ok("POST", "/registered-models/create", {"name": name, **fields})[
                "registered_model"
            ],
        )

    def create_version(self, name: str, run_id: str, **fields: t.Any) -> dict[str, t.Any]:
        body = {"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id, **fields}
        return t.cast(
            dict[str, t.Any], self.ok("POST", "/model-versions/create", body)["model_version"]
        )
