"""The embedding guide's complete host, ``docs/examples/host.py``, works as written: its own
commands create the tables, a user, a project and a token; served under gunicorn, it answers
the real ``mlflow`` client running the quick start; and its three hooks decide who sees what
and which package a model version is.

The host and the client run as processes of their own, as a reader would run them.
"""

from __future__ import annotations

import os
import pathlib
import re
import signal
import subprocess
import sys
import typing as t

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.support.live import ServerProcess, listening_socket

ROOT = pathlib.Path(__file__).resolve().parent.parent
HOST = ROOT / "docs" / "examples" / "host.py"
QUICKSTART = ROOT / "scripts" / "quickstart.py"


class GuideHost:
    """The guide's host on ``database_url``: its ``flask`` commands, and gunicorn serving it."""

    def __init__(self, database_url: str, directory: pathlib.Path) -> None:
        self.database_url = database_url
        self.directory = directory
        self.env = {
            **os.environ,
            "FLASK_APP": str(HOST),
            "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
            "FLASK_MODEL_REGISTRY_ARTIFACT_ROOT": str(directory / "artifacts"),
            "FLASK_SECRET_KEY": "test-secret",
        }

    def flask(self, *args: str) -> str:
        return run([sys.executable, "-m", "flask", *args], env=self.env)

    def seed(self, username: str, project: str) -> tuple[int, str]:
        """``flask seed``: the new project's id and the user's token."""
        found = re.fullmatch(r"project (\d+)\ntoken (\S+)\n", self.flask("seed", username, project))
        assert found, "unexpected output of flask seed"
        return int(found.group(1)), found.group(2)

    def server(self) -> ServerProcess:
        listener = listening_socket()
        command = [
            sys.executable, "-m", "gunicorn", "--chdir", str(HOST.parent),
            "--worker-class", "gthread", "--threads", "4",
            "--bind", f"fd://{listener.fileno()}", "--graceful-timeout", "2",
            "--no-control-socket", "host:app",
        ]
        return ServerProcess(
            command, log_path=self.directory / "host.log", env=self.env, listener=listener,
            stop_signal=signal.SIGINT, ready_path="/-/model-registry/openapi.json",
            name="guide host",
        )

    def execute(self, statement: str, **params: t.Any) -> list[t.Any]:
        """Run SQL on the host's database, committed; the rows it returns."""
        engine = create_engine(self.database_url)
        try:
            with engine.begin() as connection:
                result = connection.execute(text(statement), params)
                return list(result) if result.returns_rows else []
        finally:
            engine.dispose()


def run(command: list[str], env: t.Mapping[str, str]) -> str:
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def host(database_url: str, tmp_path: pathlib.Path) -> GuideHost:
    guide = GuideHost(database_url, tmp_path)
    assert guide.flask("init-db") == "The host's and the registry's tables are ready.\n"
    return guide


def mlflow_url(server: ServerProcess, project_id: int, endpoint: str) -> str:
    return f"{server.url}/api/v4/projects/{project_id}/ml/mlflow/api/2.0/mlflow/{endpoint}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.live
def test_the_quick_start_runs_against_the_guides_host(host: GuideHost) -> None:
    project_id, token = host.seed("alice", "demo")
    with host.server() as server:
        output = run([sys.executable, str(QUICKSTART), server.url, str(project_id), token],
                     env=os.environ)
        page = requests.get(
            f"{server.url}/projects/{project_id}/-/ml/experiments/1", headers=bearer(token),
            timeout=30,
        )
    assert output.splitlines()[-1] == "Quick start: experiment 1 with a run, listed on its page."
    assert page.status_code == 200
    assert "My first experiment" in page.text


@pytest.mark.live
def test_the_hooks_answer_401_404_and_403(host: GuideHost) -> None:
    project_id, token = host.seed("alice", "demo")
    _, outsider = host.seed("bob", "elsewhere")
    with host.server() as server:
        create = mlflow_url(server, project_id, "experiments/create")
        search = mlflow_url(server, project_id, "experiments/search")

        def status(url: str, headers: dict[str, str]) -> int:
            body: dict[str, t.Any] = {"name": "x", "max_results": 10}
            return requests.post(url, json=body, headers=headers, timeout=30).status_code

        assert status(create, {}) == 401
        assert status(create, bearer(outsider)) == 404
        host.execute("UPDATE members SET can_write = :no", no=False)
        assert status(create, bearer(token)) == 403
        assert status(search, bearer(token)) == 200


@pytest.mark.live
def test_a_model_version_is_a_host_package(host: GuideHost) -> None:
    project_id, token = host.seed("alice", "demo")
    with host.server() as server:

        def call(endpoint: str, body: dict[str, t.Any], method: str = "POST") -> t.Any:
            response = requests.request(
                method, mlflow_url(server, project_id, endpoint), json=body,
                headers=bearer(token), timeout=30,
            )
            assert response.status_code == 200, response.text
            return response.json()

        experiment_id = call("experiments/create", {"name": "training"})["experiment_id"]
        run_id = call("runs/create", {"experiment_id": experiment_id})["run"]["info"]["run_id"]
        call("registered-models/create", {"name": "fraud"})
        source = {"source": f"runs:/{run_id}/model", "run_id": run_id}
        version = call("model-versions/create", {"name": "fraud", **source})["model_version"]
        packages = "SELECT project_id, name, version FROM packages"
        assert [tuple(row) for row in host.execute(packages)] == [(project_id, "fraud", "1.0.0")]
        call("model-versions/delete", {"name": "fraud", "version": version["version"]}, "DELETE")
        assert host.execute(packages) == []
