"""Deleting versions and models with the real client: package links (host hook), the files a
version owns, aliases; and nothing of another project is touched."""

from __future__ import annotations

import contextlib
import os
import typing as t

import pytest
from flask import Flask

from tests.conftest import Project
from tests.support.live import LiveServer
from tests.test_registry_helpers import (
    artifact_dir,
    files_under,
    log_constant_model,
    packages,
    predict,
)

pytestmark = pytest.mark.live


@contextlib.contextmanager
def acting_in(
    monkeypatch: pytest.MonkeyPatch, server: LiveServer, project_id: int, token: str
) -> t.Iterator[None]:
    """Point the mlflow client at another project (and token) for the block."""
    import mlflow

    previous_uri = os.environ["MLFLOW_TRACKING_URI"]
    previous_token = os.environ["MLFLOW_TRACKING_TOKEN"]
    uri = server.tracking_uri(project_id)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.tracking.fluent._active_experiment_id = None
        monkeypatch.setenv("MLFLOW_TRACKING_URI", previous_uri)
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", previous_token)
        mlflow.set_tracking_uri(previous_uri)
        mlflow.set_registry_uri(previous_uri)


def test_deleting_a_version_removes_its_package_files_and_aliases(
    app: Flask, project: Project, mlflow_env: str
) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    infos = [log_constant_model(v, registered_model_name="fraud") for v in (1.0, 2.0)]
    client = MlflowClient()
    client.set_registered_model_alias("fraud", "champion", "2")
    owned = artifact_dir(app, client.get_model_version_download_uri("fraud", "2"))
    logged = artifact_dir(app, client.get_logged_model(infos[1].model_id).artifact_location)
    assert "MLmodel" in files_under(owned)

    client.delete_model_version("fraud", "2")

    assert packages(app, project.id) == {("fraud", "1.0.0")}
    assert not os.path.exists(owned)
    assert "MLmodel" in files_under(logged)  # the logged model's own files stay with its run
    assert client.get_registered_model("fraud").aliases == {}
    with pytest.raises(MlflowException, match="alias champion not found"):
        client.get_model_version_by_alias("fraud", "champion")
    assert predict("models:/fraud/latest") == 1.0


def test_deleting_a_model_removes_its_versions_packages_and_files_but_not_its_runs(
    app: Flask, project: Project, mlflow_env: str
) -> None:
    from mlflow import MlflowClient

    infos = [log_constant_model(v, registered_model_name="fraud") for v in (1.0, 2.0)]
    client = MlflowClient()
    experiment = client.get_experiment_by_name("fraud")
    assert experiment is not None
    experiment_id = experiment.experiment_id
    registry_dir = artifact_dir(app, f"mlflow-artifacts:/{project.id}/model-registry")
    assert len(files_under(registry_dir)) > 0

    client.delete_registered_model("fraud")

    assert packages(app, project.id) == set()
    assert files_under(registry_dir) == set()
    assert client.search_model_versions("name='fraud'") == []
    assert {client.get_run(info.run_id).info.lifecycle_stage for info in infos} == {"active"}
    # registering the name again adopts the experiment that kept the candidates
    client.create_registered_model("fraud")
    adopted = client.get_experiment_by_name("fraud")
    assert adopted is not None
    assert adopted.experiment_id == experiment_id


def test_another_project_is_never_touched(
    app: Flask,
    project: Project,
    live_server: LiveServer,
    mlflow_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    with acting_in(monkeypatch, live_server, project.other_id, project.tokens["outsider"]):
        log_constant_model(9.0, registered_model_name="fraud")
        other_uri = MlflowClient().get_model_version_download_uri("fraud", "1")
    log_constant_model(1.0, registered_model_name="fraud")
    log_constant_model(2.0, registered_model_name="fraud")
    client = MlflowClient()
    assert [v.version for v in client.search_model_versions("name='fraud'")] == ["2", "1"]

    client.delete_model_version("fraud", "1")
    client.delete_registered_model("fraud")
    with pytest.raises(MlflowException) as raised:
        client.get_registered_model("fraud")
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    assert packages(app, project.other_id) == {("fraud", "1.0.0")}
    assert "MLmodel" in files_under(artifact_dir(app, other_uri))
    with acting_in(monkeypatch, live_server, project.other_id, project.tokens["outsider"]):
        other = MlflowClient()
        assert [v.version for v in other.search_model_versions("name='fraud'")] == ["1"]
        assert predict("models:/fraud/1") == 9.0
    # the developer of one project cannot see the other project's model at all
    with acting_in(monkeypatch, live_server, project.other_id, project.tokens["developer"]):
        with pytest.raises(MlflowException) as hidden:
            MlflowClient().get_registered_model("fraud")
        assert hidden.value.error_code == "RESOURCE_DOES_NOT_EXIST"
