"""The embedding guide's complete host, ``docs/examples/host.py``, works as written: its own
commands create the tables, a user, a project and a token; the real ``mlflow`` client runs the
quick start against it; and its three hooks decide who sees what and which package a model
version is."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import sys
import types
import typing as t

import pytest
from sqlalchemy import select

from scripts.quickstart import EXPERIMENT, run_quickstart
from tests.rel_support import dispose
from tests.support.live import LiveServer

HOST = pathlib.Path(__file__).resolve().parent.parent / "docs" / "examples" / "host.py"


@pytest.fixture
def host(
    database_url: str, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> t.Iterator[types.ModuleType]:
    """The guide's module, imported afresh on ``database_url`` with its tables created."""
    monkeypatch.setenv("FLASK_SQLALCHEMY_DATABASE_URI", database_url)
    monkeypatch.setenv("FLASK_MODEL_REGISTRY_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    name = "embedding_guide_host"
    spec = importlib.util.spec_from_file_location(name, HOST)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    assert "The host's and the registry's tables are ready." in invoke(module, "init-db")
    yield module
    dispose(module.app)


def invoke(host: types.ModuleType, *args: str) -> str:
    result = host.app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return str(result.output)


def seed(host: types.ModuleType, username: str, project: str) -> tuple[int, str]:
    """``flask seed``: the new project's id and the user's token."""
    found = re.fullmatch(r"project (\d+)\ntoken (\S+)\n", invoke(host, "seed", username, project))
    assert found, "unexpected output of flask seed"
    return int(found.group(1)), found.group(2)


def mlflow_path(project_id: int, endpoint: str) -> str:
    return f"/api/v4/projects/{project_id}/ml/mlflow/api/2.0/mlflow/{endpoint}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.live
def test_the_quick_start_runs_against_the_guides_host(
    host: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_id, token = seed(host, "alice", "demo")
    # run_quickstart sets these, as the README does; monkeypatch puts them back afterwards.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "unset")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "unset")
    with LiveServer(host.app) as server:
        experiment_id = run_quickstart(server.url, project_id, token)
        page = host.app.test_client().get(
            f"/projects/{project_id}/-/ml/experiments/{experiment_id}", headers=bearer(token)
        )
    assert page.status_code == 200
    assert EXPERIMENT in page.get_data(as_text=True)


def test_the_hooks_answer_401_404_and_403(host: types.ModuleType) -> None:
    project_id, token = seed(host, "alice", "demo")
    _, outsider = seed(host, "bob", "elsewhere")
    client = host.app.test_client()
    create = mlflow_path(project_id, "experiments/create")
    assert client.post(create, json={"name": "x"}).status_code == 401
    assert client.post(create, json={"name": "x"}, headers=bearer(outsider)).status_code == 404
    with host.app.app_context():
        member = host.db.session.get(host.Member, (project_id, 1))
        member.can_write = False
        host.db.session.commit()
    assert client.post(create, json={"name": "x"}, headers=bearer(token)).status_code == 403
    search = mlflow_path(project_id, "experiments/search")
    assert client.post(search, json={"max_results": 10}, headers=bearer(token)).status_code == 200


def test_a_model_version_is_a_host_package(host: types.ModuleType) -> None:
    project_id, token = seed(host, "alice", "demo")
    client = host.app.test_client()

    def call(endpoint: str, body: dict[str, t.Any], method: str = "POST") -> t.Any:
        response = client.open(
            mlflow_path(project_id, endpoint), method=method, json=body, headers=bearer(token)
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def packages() -> list[tuple[int, str, str]]:
        with host.app.app_context():
            rows = host.db.session.execute(
                select(host.Package.project_id, host.Package.name, host.Package.version)
            )
            return [tuple(row) for row in rows]

    experiment_id = call("experiments/create", {"name": "training"})["experiment_id"]
    run_id = call("runs/create", {"experiment_id": experiment_id})["run"]["info"]["run_id"]
    call("registered-models/create", {"name": "fraud"})
    source = {"source": f"runs:/{run_id}/model", "run_id": run_id}
    created = call("model-versions/create", {"name": "fraud", **source})
    assert packages() == [(project_id, "fraud", "1.0.0")]
    version = created["model_version"]["version"]
    call("model-versions/delete", {"name": "fraud", "version": version}, method="DELETE")
    assert packages() == []
