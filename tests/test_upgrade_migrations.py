"""Upgrading keeps every row: the schema is created at the first migration, filled with a
small but complete data set, then upgraded revision by revision to head. Nothing may be lost,
the stored values stay as they were, and the API at head serves the old data."""

from __future__ import annotations

import pathlib
import typing as t

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import MetaData, Table, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine

from flask_model_registry import migrate
from tests.conftest import Project, make_project
from tests.rel_support import build_app, dispose, engine_of

T0 = 1_700_000_000_000
RUN = "0123456789abcdef0123456789abcdef"
LOGGED = "m-" + "ab" * 16


def _seed(project_id: int) -> dict[str, list[dict[str, t.Any]]]:
    """Rows in the first migration's schema, in foreign-key order, as the API would write them."""
    p = project_id
    experiment_uri = f"mlflow-artifacts:/{p}/1"
    run_uri = f"{experiment_uri}/{RUN}/artifacts"
    logged_uri = f"{experiment_uri}/models/{LOGGED}/artifacts"
    stamps = {"creation_timestamp": T0, "last_updated_timestamp": T0 + 5}
    return {
        "ml_models": [{"id": 1, "project_id": p, "name": "churn", "description": "Churn model",
                       "user_id": "alice", "version_counter": 2, **stamps}],
        "ml_experiments": [
            {"id": 1, "project_id": p, "iid": 0, "name": "Default",
             "artifact_location": f"mlflow-artifacts:/{p}/0", "lifecycle_stage": "active",
             "model_id": None, "user_id": None, "creation_time": T0, "last_update_time": T0},
            {"id": 2, "project_id": p, "iid": 1, "name": "training",
             "artifact_location": experiment_uri, "lifecycle_stage": "active",
             "model_id": 1, "user_id": "alice", "creation_time": T0, "last_update_time": T0},
        ],
        "ml_experiment_tags": [{"experiment_id": 2, "key": "team", "value": "risk"}],
        "ml_model_tags": [{"model_id": 1, "key": "domain", "value": "retention"}],
        "ml_candidates": [
            {"id": 1, "run_id": RUN, "project_id": p, "experiment_id": 2, "name": "first-run",
             "status": "FINISHED", "start_time": T0, "end_time": T0 + 60_000,
             "lifecycle_stage": "active", "deleted_time": None, "user_id": "alice",
             "artifact_uri": run_uri},
        ],
        "ml_candidate_params": [{"candidate_id": 1, "key": "lr", "value": "0.01"}],
        "ml_candidate_metadata": [
            {"candidate_id": 1, "key": "mlflow.runName", "value": "first-run"},
            {"candidate_id": 1, "key": "mlflow.user", "value": "alice"},
        ],
        "ml_candidate_metrics": [
            {"candidate_id": 1, "key": "loss", "step": step, "timestamp": T0 + step,
             "value": value, "is_nan": False, "model_id": None, "dataset_name": None,
             "dataset_digest": None}
            for step, value in ((0, 0.9), (1, 0.5), (2, 0.25))
        ] + [
            {"candidate_id": 1, "key": "gap", "step": 0, "timestamp": T0, "value": 0.0,
             "is_nan": True, "model_id": None, "dataset_name": None, "dataset_digest": None},
        ],
        "ml_candidate_latest_metrics": [
            {"candidate_id": 1, "key": "loss", "value": 0.25, "is_nan": False, "step": 2,
             "timestamp": T0 + 2, "model_id": None, "dataset_name": None, "dataset_digest": None},
            {"candidate_id": 1, "key": "gap", "value": 0.0, "is_nan": True, "step": 0,
             "timestamp": T0, "model_id": None, "dataset_name": None, "dataset_digest": None},
        ],
        "ml_datasets": [{"id": 1, "experiment_id": 2, "name": "customers", "digest": "d1g3st",
                         "source_type": "local", "source": "{\"uri\": \"/data\"}",
                         "schema": None, "profile": None}],
        "ml_candidate_dataset_inputs": [
            {"candidate_id": 1, "dataset_id": 1,
             "tags": "[{\"key\": \"mlflow.data.context\", \"value\": \"training\"}]"},
        ],
        "ml_logged_models": [
            {"id": 1, "model_id": LOGGED, "project_id": p, "experiment_id": 2, "name": "model",
             "model_type": None, "source_run_id": RUN, "status": "LOGGED_MODEL_READY",
             "status_message": None, "creator_id": "alice", "artifact_uri": logged_uri,
             "lifecycle_stage": "active", "creation_timestamp_ms": T0,
             "last_updated_timestamp_ms": T0},
        ],
        "ml_logged_model_params": [{"logged_model_id": 1, "key": "depth", "value": "4"}],
        "ml_logged_model_tags": [{"logged_model_id": 1, "key": "flavor", "value": "sklearn"}],
        "ml_logged_model_metrics": [
            {"id": 1, "logged_model_id": 1, "key": "auc", "value": 0.8, "is_nan": False,
             "step": 0, "timestamp": T0, "run_id": RUN, "dataset_name": None,
             "dataset_digest": None},
        ],
        "ml_candidate_model_io": [
            {"candidate_id": 1, "logged_model_id": 1, "direction": "output", "step": 0},
        ],
        "ml_model_versions": [
            {"id": seq, "model_id": 1, "project_id": p, "sequence": seq, "semver": semver,
             "semver_major": 1, "semver_minor": 0, "semver_patch": patch,
             "semver_prerelease": "", "description": f"v{seq}", "status": "READY",
             "status_message": None, "current_stage": stage, "source": f"models:/{LOGGED}",
             "storage_location": logged_uri, "run_id": RUN, "run_link": None,
             "candidate_id": 1, "logged_model_id": 1, "package_id": None, "user_id": "alice",
             **stamps}
            for seq, semver, patch, stage in ((1, "1.0.0", 0, "Archived"),
                                              (2, "1.0.1", 1, "Production"))
        ],
        "ml_model_version_tags": [
            {"version_id": seq, "key": "model_registry.version", "value": semver}
            for seq, semver in ((1, "1.0.0"), (2, "1.0.1"))
        ],
        "ml_model_aliases": [{"model_id": 1, "alias": "champion", "version_id": 2}],
    }


def _revisions() -> list[str]:
    """Every revision from the first migration to head, oldest first."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _table(connection: Connection, name: str) -> Table:
    return Table(name, MetaData(), autoload_with=connection)


def _insert(engine: Engine, seed: dict[str, list[dict[str, t.Any]]]) -> None:
    with engine.begin() as connection:
        for name, rows in seed.items():
            table = _table(connection, name)
            unknown = {key for row in rows for key in row} - set(table.c.keys())
            assert not unknown, f"the seed names columns {unknown} that {name} lacks"
            connection.execute(table.insert(), rows)
            if connection.dialect.name == "postgresql" and "id" in table.c:
                # explicit ids, as a restored dump has them: move the sequence past them
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id)"
                    f" FROM {name}))"
                ))


def _counts(engine: Engine, names: t.Iterable[str]) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.execute(select(func.count()).select_from(_table(connection, name)))
            .scalar_one()
            for name in names
        }


def _stored_rows(engine: Engine, name: str, columns: set[str]) -> list[dict[str, t.Any]]:
    with engine.connect() as connection:
        table = _table(connection, name)
        kept = [table.c[c] for c in sorted(columns & set(table.c.keys()))]
        return [dict(row._mapping) for row in connection.execute(select(*kept))]


def _comparable(rows: t.Iterable[dict[str, t.Any]], columns: set[str]) -> list[tuple[t.Any, ...]]:
    def norm(value: t.Any) -> t.Any:
        return int(value) if isinstance(value, bool) else value

    return sorted(
        (tuple((c, norm(row[c])) for c in sorted(columns)) for row in rows), key=repr
    )


@pytest.fixture
def old_app(database_url: str, tmp_path: pathlib.Path) -> t.Iterator[tuple[Flask, Project]]:
    """The host app with the registry's tables at the first migration, and a project."""
    application = build_app(database_url, tmp_path, init=False)
    with application.app_context():
        migrate.upgrade(engine_of(application), _revisions()[0])
        application.extensions["sqlalchemy"].create_all()
    try:
        yield application, make_project(application)
    finally:
        dispose(application)


def test_upgrade_from_the_first_migration_keeps_every_row(
    old_app: tuple[Flask, Project],
) -> None:
    app, project = old_app
    engine = engine_of(app)
    revisions = _revisions()
    assert migrate.current(engine) == revisions[0]
    seed = _seed(project.id)
    _insert(engine, seed)
    seeded = {name: len(rows) for name, rows in seed.items()}
    assert _counts(engine, seed) == seeded

    for revision in revisions[1:]:  # one step at a time: a loss shows at the step causing it
        migrate.upgrade(engine, revision)
        with engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
        counts = _counts(engine, [name for name in seed if name in present])
        assert counts == {n: c for n, c in seeded.items() if n in present}, revision
    migrate.upgrade(engine, "head")

    assert migrate.current(engine) in migrate.heads()
    assert migrate.check(engine) == []
    for name, rows in seed.items():
        columns = set(rows[0])
        stored = _stored_rows(engine, name, columns)
        kept = columns & set(stored[0]) if stored else columns
        assert _comparable(stored, kept) == _comparable(rows, kept), name
    _served_at_head(app, project)


def _served_at_head(app: Flask, project: Project) -> None:
    """The upgraded data, read through the MLflow API and the native API."""
    client = app.test_client()
    headers = project.headers("reporter")
    base = f"/api/v4/projects/{project.id}/ml/mlflow/api/2.0/mlflow"

    def get(path: str, **params: t.Any) -> dict[str, t.Any]:
        response = client.get(base + path, query_string=params, headers=headers)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        return t.cast(dict[str, t.Any], response.get_json())

    experiment = get("/experiments/get-by-name", experiment_name="training")["experiment"]
    assert experiment["experiment_id"] == "1"
    assert experiment["tags"] == [{"key": "team", "value": "risk"}]
    run = get("/runs/get", run_id=RUN)["run"]
    assert run["info"]["run_name"] == "first-run"
    assert run["info"]["status"] == "FINISHED"
    assert run["data"]["params"] == [{"key": "lr", "value": "0.01"}]
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert metrics == {"loss": 0.25, "gap": "NaN"}
    assert run["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "customers"
    assert run["outputs"]["model_outputs"] == [{"model_id": LOGGED, "step": 0}]
    history = get("/metrics/get-history", run_id=RUN, metric_key="loss")["metrics"]
    assert [(m["step"], m["value"]) for m in history] == [(0, 0.9), (1, 0.5), (2, 0.25)]

    model = get("/registered-models/get", name="churn")["registered_model"]
    assert model["description"] == "Churn model"
    assert model["aliases"] == [{"alias": "champion", "version": "2"}]
    assert model["tags"] == [{"key": "domain", "value": "retention"}]
    champion = get("/registered-models/alias", name="churn", alias="champion")["model_version"]
    assert champion["version"] == "2"
    assert champion["current_stage"] == "Production"
    logged = get(f"/logged-models/{LOGGED}")["model"]
    assert logged["info"]["status"] == "LOGGED_MODEL_READY"
    assert logged["data"]["params"] == [{"key": "depth", "value": "4"}]

    native = client.get(f"/api/v4/projects/{project.id}/ml/models/1", headers=headers)
    assert native.status_code == 200, native.get_data(as_text=True)
    assert native.get_json()["latest_version"] == "1.0.1"
    assert native.get_json()["version_count"] == 2

    # and the upgraded database takes new data: numbering continues after the old rows
    write = project.headers("developer")
    created = client.post(base + "/model-versions/create", headers=write,
                          json={"name": "churn", "source": "s3://bucket/churn/3"})
    assert created.status_code == 200, created.get_data(as_text=True)
    assert created.get_json()["model_version"]["version"] == "3"
    new_run = client.post(base + "/runs/create", headers=write, json={"experiment_id": "1"})
    assert new_run.status_code == 200, new_run.get_data(as_text=True)
