"""The shipped Alembic migrations create exactly the tables the models describe."""

from __future__ import annotations

import typing as t

from flask import Flask
from sqlalchemy import inspect

from flask_model_registry import migrate
from flask_model_registry.database import metadata
from flask_model_registry.state import get_state


def test_upgrade_matches_models_without_drift(app: Flask) -> None:
    with app.app_context():
        engine = get_state(app).db.engine
        assert migrate.current(engine) in migrate.heads()
        assert migrate.check(engine) == []
        tables = set(inspect(engine).get_table_names())
    registry_tables = {name for name in tables if name.startswith("ml_")}
    assert registry_tables == set(metadata.tables) | {migrate.VERSION_TABLE}


def test_db_check_command_passes_at_head(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["model-registry", "db", "check"])
    assert result.exit_code == 0, result.output
    assert "matches the models" in result.output


def test_db_check_reports_drift(app: Flask) -> None:
    with app.app_context():
        engine = get_state(app).db.engine
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE ml_model_version_tags")
    result = app.test_cli_runner().invoke(args=["model-registry", "db", "check"])
    assert result.exit_code != 0
    assert "ml_model_version_tags" in result.output


def test_downgrade_to_base_and_upgrade_again(app: Flask) -> None:
    runner = app.test_cli_runner()
    down = runner.invoke(args=["model-registry", "db", "downgrade", "base"])
    assert down.exit_code == 0, down.output
    with app.app_context():
        engine = get_state(app).db.engine
        remaining = {n for n in inspect(engine).get_table_names() if n.startswith("ml_")}
        assert remaining <= {migrate.VERSION_TABLE}
    up = runner.invoke(args=["model-registry", "db", "upgrade"])
    assert up.exit_code == 0, up.output
    with app.app_context():
        assert migrate.check(get_state(app).db.engine) == []


def test_version_table_is_the_registrys_own(app: Flask) -> None:
    with app.app_context():
        names: t.Any = inspect(get_state(app).db.engine).get_table_names()
    assert migrate.VERSION_TABLE in names
    assert "alembic_version" not in names
