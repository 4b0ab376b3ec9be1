"""What a newer ``mlflow`` client (3.18) asks of the server, over raw HTTP and through whichever
client is installed: ``make test`` runs this with the pinned client, ``make test-mlflow-next``
with the next release.

3.18 reads ``server-info`` before its first artifact transfer, sends ``"experiment_ids": []``
when asked to search no experiments, and adds a skill registry that this server does not serve.
"""

from __future__ import annotations

import os
import typing as t

import pytest
from flask import Flask
from packaging.version import Version

from tests.conftest import Project
from tests.test_mlflow_artifacts import seed_run

TRACKING = "/api/v4/projects/{}/ml/mlflow"


def _mlflow_version() -> Version:
    import mlflow

    return Version(mlflow.__version__)


# -- server-info --------------------------------------------------------------------------------


def test_server_info_answers_what_the_client_reads(client: t.Any, project: Project) -> None:
    for prefix in ("api", "ajax-api"):
        response = client.get(f"{TRACKING.format(project.id)}/{prefix}/3.0/mlflow/server-info",
                              headers=project.headers("reporter"))
        assert response.status_code == 200
        info = response.get_json()
        # artifacts go through the server: no presigned URLs, no multipart transfers
        assert info["artifact_serving_enabled"] is True
        assert info["artifacts_presigned_only"] is False
        assert info["multipart_uploads_enabled"] is False
        assert info["multipart_downloads_enabled"] is False
        assert info["model_artifact_presigned_downloads_supported"] is False
        assert info["features_enabled"] == {"gateway": False, "scheduled_issue_detection": False}
        assert info["tracking_auth"] == ""
        assert not any(key.startswith("skill_") for key in info)


@pytest.mark.live
def test_the_client_reads_server_info_as_proxied_artifacts(mlflow_env: str) -> None:
    import mlflow
    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository
    from mlflow.utils.rest_utils import MlflowHostCreds
    from mlflow.utils.server_info import fetch_server_info

    response = fetch_server_info(
        MlflowHostCreds(mlflow_env, token=os.environ["MLFLOW_TRACKING_TOKEN"])
    )
    assert response.status_code == 200
    assert response.data is not None
    assert response.data["artifacts_presigned_only"] is False
    repo = HttpArtifactRepository(f"{mlflow_env}/api/2.0/mlflow-artifacts/artifacts/x")
    if hasattr(repo, "_fetch_server_capabilities"):  # 3.18: the probe before any transfer
        assert repo._fetch_server_capabilities() == {
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
            "artifacts_presigned_only": False,
        }
    with mlflow.start_run():
        mlflow.log_text("hello", "notes/hello.txt")
        assert mlflow.artifacts.load_text(
            mlflow.get_artifact_uri("notes/hello.txt")) == "hello"


# -- search_logged_models with an empty experiment_ids -----------------------------------------


def test_search_logged_models_of_no_experiment_is_an_empty_page(
    app: Flask, client: t.Any, project: Project
) -> None:
    seeded = seed_run(app, project.id)
    root = f"{TRACKING.format(project.id)}/api/2.0/mlflow/logged-models"
    dev = project.headers("developer")
    created = client.post(root, json={"experiment_id": str(seeded.experiment_iid)}, headers=dev)
    assert created.status_code == 200
    # an empty list scopes the search to no experiment, as on MLflow's server ...
    empty = client.post(f"{root}/search", json={"experiment_ids": []}, headers=dev)
    assert empty.status_code == 200
    assert empty.get_json() == {"models": []}
    # ... while leaving the field out is refused: it is required
    missing = client.post(f"{root}/search", json={}, headers=dev)
    assert missing.status_code == 400
    assert missing.get_json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "Missing value for required parameter 'experiment_ids'" in \
        missing.get_json()["message"]


@pytest.mark.live
def test_client_search_logged_models_of_no_experiment(mlflow_env: str) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    experiment_id = client.create_experiment("next-client")
    model = client.create_logged_model(experiment_id, name="kept")
    assert [m.model_id for m in client.search_logged_models([experiment_id])] == \
        [model.model_id]
    if _mlflow_version() >= Version("3.18"):
        # 3.18 sends "experiment_ids": [] and gets no model back
        assert list(client.search_logged_models(experiment_ids=[])) == []
    else:
        # 3.17 leaves the empty list out of the request, which the server refuses
        with pytest.raises(MlflowException, match="experiment_ids") as refused:
            client.search_logged_models(experiment_ids=[])
        assert refused.value.error_code == "INVALID_PARAMETER_VALUE"


# -- the skill registry is not served ------------------------------------------------------------

SKILL_CALLS = [
    ("GET", "skills"),
    ("POST", "skills"),
    ("GET", "skills/reviewer"),
    ("PATCH", "skills/reviewer"),
    ("DELETE", "skills/reviewer"),
    ("GET", "skills/@acme/reviewer/versions"),
    ("POST", "skills/@acme/reviewer/versions"),
    ("PATCH", "skills/reviewer/versions/1"),
    ("POST", "skills/reviewer/aliases"),
    ("GET", "skills/reviewer/aliases/prod"),
    ("DELETE", "skills/reviewer/versions/1/tags/a/b"),
    ("POST", "skills/bulk-register"),
]


@pytest.mark.parametrize(("method", "path"), SKILL_CALLS)
def test_skill_registry_is_endpoint_not_found(
    client: t.Any, project: Project, method: str, path: str
) -> None:
    for prefix in ("api", "ajax-api"):
        url = f"{TRACKING.format(project.id)}/{prefix}/3.0/mlflow/{path}"
        response = client.open(url, method=method, json={"name": "reviewer"},
                               headers=project.headers("developer"))
        assert response.status_code == 404, url
        assert response.is_json
        body = response.get_json()
        assert body["error_code"] == "ENDPOINT_NOT_FOUND"
        assert f"{method} " in body["message"]


@pytest.mark.live
def test_client_skill_calls_report_an_unsupported_endpoint(mlflow_env: str) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client: t.Any = MlflowClient()  # the skill methods exist from 3.18 on
    if not hasattr(client, "search_skills"):
        pytest.skip("this mlflow client has no skill registry")
    with pytest.raises(MlflowException) as refused:
        client.search_skills()
    assert refused.value.error_code == "ENDPOINT_NOT_FOUND"
    with pytest.raises(MlflowException) as missing:
        client.get_skill(name="reviewer")
    assert missing.value.error_code == "ENDPOINT_NOT_FOUND"
