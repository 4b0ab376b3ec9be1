"""Embedding: one registry object serving several apps, and a host whose own requests see its
database exactly as it configured it."""

from __future__ import annotations

import pathlib
import typing as t

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_model_registry import ModelRegistry
from flask_model_registry.state import get_state

MLFLOW = "/api/v4/projects/1/ml/mlflow/api/2.0/mlflow/"


def host_app(directory: pathlib.Path, **config: t.Any) -> Flask:
    app = Flask("host", instance_path=str(directory / "instance"))
    app.config.update(TESTING=True, **config)
    return app


def open_registry() -> ModelRegistry:
    """A registry whose hooks let anyone do anything."""
    registry = ModelRegistry()
    registry.user_loader(lambda: "someone")
    registry.project_access(lambda user, project_id, permission: True)
    return registry


def create_experiment(app: Flask, name: str) -> None:
    response = app.test_client().post(MLFLOW + "experiments/create", json={"name": name})
    assert response.status_code == 200, response.get_data(as_text=True)


def experiment_names(app: Flask) -> set[str]:
    response = app.test_client().post(MLFLOW + "experiments/search", json={"max_results": 100})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {experiment["name"] for experiment in response.get_json()["experiments"]}


def upgraded(app: Flask, registry: ModelRegistry) -> Flask:
    with app.app_context():
        registry.upgrade_database()
    return app


# -------------------------------------------------------------------------------------------
# one registry object, several apps


def test_one_registry_serves_two_apps_with_their_own_databases(tmp_path: pathlib.Path) -> None:
    registry = open_registry()
    apps, dbs = [], []
    for name in ("a", "b"):
        app = host_app(tmp_path / name, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/{name}.db")
        db = SQLAlchemy()
        db.init_app(app)
        registry.init_app(app)
        apps.append(upgraded(app, registry))
        dbs.append(db)
    assert [get_state(app).db for app in apps] == dbs
    create_experiment(apps[0], "only-in-a")
    create_experiment(apps[1], "only-in-b")
    assert experiment_names(apps[0]) == {"Default", "only-in-a"}
    assert experiment_names(apps[1]) == {"Default", "only-in-b"}


def test_one_registry_creates_a_database_per_app(tmp_path: pathlib.Path) -> None:
    registry = open_registry()
    first = host_app(tmp_path / "a")
    second = host_app(tmp_path / "b")
    for app in (first, second):
        registry.init_app(app)
        upgraded(app, registry)
    databases = []
    for app in (first, second):
        with app.app_context():
            databases.append(get_state(app).db.engine.url.database)
    assert databases == [
        str(tmp_path / "a" / "instance" / "model_registry.sqlite"),
        str(tmp_path / "b" / "instance" / "model_registry.sqlite"),
    ]
    create_experiment(first, "only-in-a")
    assert experiment_names(first) == {"Default", "only-in-a"}
    assert experiment_names(second) == {"Default"}


def test_an_app_with_its_own_db_after_one_without(tmp_path: pathlib.Path) -> None:
    registry = open_registry()
    owned = host_app(tmp_path / "owned")
    registry.init_app(owned)
    hosted = host_app(tmp_path / "hosted", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/h.db")
    db = SQLAlchemy()
    db.init_app(hosted)
    registry.init_app(hosted)
    assert get_state(hosted).db is db
    assert get_state(owned).db is not db
    upgraded(hosted, registry)
    create_experiment(hosted, "hosted")
    assert experiment_names(hosted) == {"Default", "hosted"}


def test_the_registry_object_holds_no_app_state(tmp_path: pathlib.Path) -> None:
    registry = open_registry()
    before = dict(vars(registry))
    app = host_app(tmp_path)
    registry.init_app(app)
    assert vars(registry) == before
    assert registry.db is None
    assert get_state(app).registry is registry


@pytest.mark.parametrize("host_has_db", [False, True])
def test_the_db_passed_in_serves_every_app(tmp_path: pathlib.Path, host_has_db: bool) -> None:
    db = SQLAlchemy()
    registry = ModelRegistry(db=db)
    for name in ("a", "b"):
        app = host_app(tmp_path / name, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/{name}.db")
        if host_has_db:
            db.init_app(app)
        registry.init_app(app)
        assert get_state(app).db is db
        with app.app_context():
            assert db.engine.url.database == f"{tmp_path}/{name}.db"
