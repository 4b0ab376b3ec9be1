"""The extension's shape: configuration, hooks, state, database ownership."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

from flask_model_registry import ModelRegistry
from flask_model_registry.config import ConfigError
from flask_model_registry.errors import HookMissing
from flask_model_registry.state import get_state


def make_app(tmp_path: t.Any, **config: t.Any) -> Flask:
    app = Flask("host", instance_path=str(tmp_path / "instance"))
    app.config.update(TESTING=True, **config)
    return app


def test_state_lives_in_app_extensions(tmp_path: t.Any) -> None:
    app = make_app(tmp_path)
    registry = ModelRegistry(app)
    state = app.extensions["model_registry"]
    assert state.registry is registry
    assert get_state(app) is state
    assert state.settings.artifact_root == str(tmp_path / "instance" / "model-registry-artifacts")


def test_one_registry_serves_two_apps(tmp_path: t.Any) -> None:
    registry = ModelRegistry()
    first, second = make_app(tmp_path / "a"), make_app(tmp_path / "b")
    registry.init_app(first)
    registry.init_app(second)
    assert get_state(first).settings.artifact_root != get_state(second).settings.artifact_root


def test_second_init_app_is_refused(tmp_path: t.Any) -> None:
    app = make_app(tmp_path)
    registry = ModelRegistry(app)
    with pytest.raises(RuntimeError, match="already registered"):
        registry.init_app(app)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("MODEL_REGISTRY_MLFLOW_PREFIX", "/api/mlflow", "<int:project_id>"),
        ("MODEL_REGISTRY_MLFLOW_PREFIX", "api/<int:project_id>", "starting with '/'"),
        ("MODEL_REGISTRY_MAX_ARTIFACT_BYTES", "lots", "integer"),
        ("MODEL_REGISTRY_MAX_JSON_BYTES", 10, ">= 1024"),
        ("MODEL_REGISTRY_TRUNCATE_LONG_VALUES", "yes", "True or False"),
        ("MODEL_REGISTRY_SQLITE_BUSY_TIMEOUT", -1, "seconds"),
        ("MODEL_REGISTRY_BASE_TEMPLATE", "", "template name"),
    ],
)
def test_bad_configuration_fails_at_init_app(
    tmp_path: t.Any, key: str, value: t.Any, message: str
) -> None:
    app = make_app(tmp_path, **{key: value})
    with pytest.raises(ConfigError, match=key) as info:
        ModelRegistry(app)
    assert message in str(info.value)


def test_options_are_defaults_that_config_overrides(tmp_path: t.Any) -> None:
    app = make_app(tmp_path, MODEL_REGISTRY_MAX_JSON_BYTES=4096)
    ModelRegistry(app, max_json_bytes=2048, artifact_root=str(tmp_path / "store"))
    settings = get_state(app).settings
    assert settings.max_json_bytes == 4096
    assert settings.artifact_root == str(tmp_path / "store")


def test_unknown_option_is_refused() -> None:
    with pytest.raises(TypeError, match="artefact_root"):
        ModelRegistry(artefact_root="/x")


def test_custom_prefix_is_used(tmp_path: t.Any) -> None:
    app = make_app(tmp_path, MODEL_REGISTRY_MLFLOW_PREFIX="/p/<int:project_id>/mlflow")
    ModelRegistry(app)
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert "/p/<int:project_id>/mlflow/api/2.0/mlflow/runs/create" in rules


def test_reuses_the_hosts_db(tmp_path: t.Any) -> None:
    app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/host.db")
    db = SQLAlchemy()
    db.init_app(app)
    registry = ModelRegistry(app)
    assert registry.db is None  # the host's db belongs to the app, not to the registry object
    assert get_state(app).db is db


def test_owns_an_sqlite_engine_in_wal_mode_when_the_host_has_none(tmp_path: t.Any) -> None:
    app = make_app(tmp_path)
    ModelRegistry(app)
    db = get_state(app).db
    assert db is not None
    with app.app_context():
        with db.engine.connect() as connection:
            mode = connection.execute(text("PRAGMA journal_mode")).scalar()
            timeout = connection.execute(text("PRAGMA busy_timeout")).scalar()
            foreign_keys = connection.execute(text("PRAGMA foreign_keys")).scalar()
    assert mode == "wal"
    assert timeout == 30000
    assert foreign_keys == 1


def _request_experiment(app: Flask) -> t.Any:
    return app.test_client().get(
        "/api/v4/projects/1/ml/mlflow/api/2.0/mlflow/experiments/get?experiment_id=0"
    )


def test_missing_user_loader_names_the_decorator(tmp_path: t.Any) -> None:
    app = make_app(tmp_path)
    ModelRegistry(app)
    with pytest.raises(HookMissing, match=r"@registry\.user_loader"):
        _request_experiment(app)


def test_missing_project_access_names_the_decorator(tmp_path: t.Any) -> None:
    app = make_app(tmp_path)
    registry = ModelRegistry(app)
    registry.user_loader(lambda: "someone")
    with pytest.raises(HookMissing, match=r"@registry\.project_access"):
        _request_experiment(app)


def test_missing_package_resolver_names_the_decorator(tmp_path: t.Any) -> None:
    registry = ModelRegistry()
    with pytest.raises(HookMissing, match=r"@registry\.package_resolver"):
        registry.hooks.resolve_package(1, "fraud", "1.0.0")


def test_hook_decorators_return_the_function(tmp_path: t.Any) -> None:
    registry = ModelRegistry()

    def load() -> None:
        return None

    assert registry.user_loader(load) is load
    assert registry.hooks.load_user() is None


def test_cli_group_is_registered(tmp_path: t.Any) -> None:
    app = make_app(tmp_path)
    ModelRegistry(app)
    result = app.test_cli_runner().invoke(args=["model-registry", "db", "--help"])
    assert result.exit_code == 0
    assert "upgrade" in result.output
    assert "check" in result.output
