"""Acceptance of the registry with the real mlflow client: semantic versions, host packages and
``models:/`` lookups by version number, semver, range, alias and ``latest``."""

from __future__ import annotations

import os
import re

import pytest
import requests
from flask import Flask

from tests.conftest import Project
from tests.support.live import LiveServer
from tests.test_registry_helpers import (
    SEMVER_TAG,
    artifact_dir,
    files_under,
    log_constant_model,
    packages,
    predict,
)

pytestmark = pytest.mark.live


def test_log_model_three_times_gives_patch_versions_linked_to_packages(
    app: Flask, project: Project, mlflow_env: str
) -> None:
    from mlflow import MlflowClient

    infos = [log_constant_model(value, registered_model_name="fraud") for value in (1.0, 2.0, 3.0)]

    client = MlflowClient()
    versions = sorted(client.search_model_versions("name='fraud'"), key=lambda v: int(v.version))
    assert [v.version for v in versions] == ["1", "2", "3"]
    assert [v.tags[SEMVER_TAG] for v in versions] == ["1.0.0", "1.0.1", "1.0.2"]
    assert [v.status for v in versions] == ["READY"] * 3
    assert [v.run_id for v in versions] == [info.run_id for info in infos]
    assert packages(app, project.id) == {("fraud", "1.0.0"), ("fraud", "1.0.1"), ("fraud", "1.0.2")}
    assert packages(app, project.other_id) == set()
    assert [predict(f"models:/fraud/{n}") for n in (1, 2, 3)] == [1.0, 2.0, 3.0]


def test_the_host_package_page_lists_the_version_files(
    project: Project, live_server: LiveServer, mlflow_env: str
) -> None:
    log_constant_model(1.0, registered_model_name="fraud")
    api = f"{live_server.url}/api/v4/projects/{project.id}/ml"
    token = project.headers("developer")
    model = requests.get(f"{api}/models", headers=token, timeout=30).json()["models"][0]
    version = requests.get(f"{api}/models/{model['id']}/versions/1.0.0", headers=token, timeout=30)
    package_id = version.json()["package_id"]

    session = requests.Session()
    form = session.get(f"{live_server.url}/login", timeout=30)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    session.post(
        f"{live_server.url}/login",
        data={"username": "alpha-developer", "password": "pw", "csrf_token": csrf.group(1)},
        timeout=30,
    )
    page = session.get(f"{live_server.url}/projects/{project.id}/packages/{package_id}", timeout=30)

    assert page.status_code == 200
    assert "<h1>fraud</h1>" in page.text
    assert "<dd>1.0.0</dd>" in page.text
    assert "<code>MLmodel</code>" in page.text
    assert "<code>python_model.pkl</code>" in page.text


def test_a_version_owns_a_copy_of_the_logged_model_files(
    app: Flask, project: Project, mlflow_env: str
) -> None:
    from mlflow import MlflowClient

    info = log_constant_model(5.0, registered_model_name="fraud")
    client = MlflowClient()

    uri = client.get_model_version_download_uri("fraud", "1")

    assert uri.startswith(f"mlflow-artifacts:/{project.id}/model-registry/")
    logged_files = files_under(
        artifact_dir(app, client.get_logged_model(info.model_id).artifact_location)
    )
    assert "MLmodel" in logged_files
    assert files_under(artifact_dir(app, uri)) == logged_files


@pytest.fixture
def fraud(mlflow_env: str) -> dict[str, float]:
    """Model ``fraud``: 1.0.0, 1.0.1, 1.0.2 by log_model, then 2.0.0-rc.1 and 2.0.0 by semver tag;
    alias ``champion`` on 1.0.1. Maps each semver to the value its model predicts."""
    from mlflow import MlflowClient

    values = {"1.0.0": 1.0, "1.0.1": 2.0, "1.0.2": 3.0, "2.0.0-rc.1": 19.0, "2.0.0": 20.0}
    for value in (1.0, 2.0, 3.0):
        log_constant_model(value, registered_model_name="fraud")
    client = MlflowClient()
    for semver in ("2.0.0-rc.1", "2.0.0"):
        info = log_constant_model(values[semver])
        version = client.create_model_version(
            "fraud", f"models:/{info.model_id}", model_id=info.model_id, tags={SEMVER_TAG: semver}
        )
        assert version.tags[SEMVER_TAG] == semver
    client.set_registered_model_alias("fraud", "champion", "2")
    return values


def test_semver_tags_create_the_named_versions(fraud: dict[str, float]) -> None:
    from mlflow import MlflowClient

    client = MlflowClient()
    versions = {v.version: v.tags[SEMVER_TAG] for v in client.search_model_versions("name='fraud'")}
    assert versions == {"1": "1.0.0", "2": "1.0.1", "3": "1.0.2", "4": "2.0.0-rc.1", "5": "2.0.0"}


URI_EXPECTATIONS = [
    ("models:/fraud@^1.0", "1.0.2"),
    ("models:/fraud@^2.0.0-rc.1", "2.0.0"),
    ("models:/fraud/1.0.1", "1.0.1"),
    ("models:/fraud@1.0.1", "1.0.1"),
    ("models:/fraud@2.0.0-rc.1", "2.0.0-rc.1"),
    ("models:/fraud@champion", "1.0.1"),
    ("models:/fraud/latest", "2.0.0"),
    ("models:/fraud@latest", "2.0.0"),
    ("models:/fraud/~1.0.0", "1.0.2"),
    ("models:/fraud@>=1.0.0,<1.0.2", "1.0.1"),
    ("models:/fraud@1.x", "1.0.2"),
    ("models:/fraud/4", "2.0.0-rc.1"),
]


def test_models_uris_load_the_right_version(fraud: dict[str, float]) -> None:
    loaded = {uri: predict(uri) for uri, _ in URI_EXPECTATIONS}
    assert loaded == {uri: fraud[semver] for uri, semver in URI_EXPECTATIONS}


def test_lookups_through_the_client_api(app: Flask, fraud: dict[str, float]) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    latest = client.get_latest_versions("fraud")
    assert [(v.version, v.tags[SEMVER_TAG]) for v in latest] == [("5", "2.0.0")]
    by_range = client.get_model_version_by_alias("fraud", "^1")
    assert (by_range.version, by_range.tags[SEMVER_TAG]) == ("3", "1.0.2")
    by_semver = client.get_latest_versions("fraud", stages=["2.0.0-rc.1"])
    assert [v.version for v in by_semver] == ["4"]
    champion = client.get_model_version_by_alias("fraud", "champion")
    assert (champion.version, champion.aliases) == ("2", ["champion"])
    uri = client.get_model_version_download_uri("fraud", "5")
    assert os.path.isfile(os.path.join(artifact_dir(app, uri), "MLmodel"))

    with pytest.raises(MlflowException) as raised:
        client.get_model_version_by_alias("fraud", "^3.0")
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "^3.0" in raised.value.message
    assert client.get_latest_versions("fraud", stages=["^3.0"]) == []
    with pytest.raises(MlflowException, match="No versions of model with name 'fraud'"):
        predict("models:/fraud/^3.0")


def test_invalid_and_duplicate_semver_tags_are_refused_without_a_trace(
    app: Flask, project: Project, fraud: dict[str, float]
) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    info = log_constant_model(7.0)
    before = files_under(artifact_dir(app, f"mlflow-artifacts:/{project.id}/model-registry"))
    for semver, code in [
        ("1.0", "INVALID_PARAMETER_VALUE"),
        ("v1.0.0", "INVALID_PARAMETER_VALUE"),
        ("1.0.0-", "INVALID_PARAMETER_VALUE"),
        ("1.0.1", "RESOURCE_ALREADY_EXISTS"),
        ("2.0.0+build.7", "RESOURCE_ALREADY_EXISTS"),
    ]:
        with pytest.raises(MlflowException) as raised:
            client.create_model_version(
                "fraud",
                f"models:/{info.model_id}",
                model_id=info.model_id,
                tags={SEMVER_TAG: semver},
            )
        assert raised.value.error_code == code, semver
        if code == "INVALID_PARAMETER_VALUE":
            assert f"Invalid semantic version '{semver}'" in raised.value.message
        else:
            assert f"already has version {semver.split('+')[0]}" in raised.value.message

    assert len(client.search_model_versions("name='fraud'")) == 5
    assert len(packages(app, project.id)) == 5
    after = files_under(artifact_dir(app, f"mlflow-artifacts:/{project.id}/model-registry"))
    assert after == before


def test_without_a_tag_the_patch_of_the_highest_release_is_bumped(fraud: dict[str, float]) -> None:
    from mlflow import MlflowClient

    info = log_constant_model(21.0, registered_model_name="fraud")
    version = MlflowClient().get_model_version("fraud", "6")
    assert version.tags[SEMVER_TAG] == "2.0.1"
    assert version.run_id == info.run_id
    assert predict("models:/fraud/latest") == 21.0


def test_latest_of_prereleases_only_is_the_highest_prerelease(mlflow_env: str) -> None:
    from mlflow import MlflowClient

    client = MlflowClient()
    client.create_registered_model("beta")
    for value, semver in ((1.0, "1.0.0-beta.2"), (2.0, "1.0.0-beta.11"), (3.0, "1.0.0-alpha")):
        info = log_constant_model(value)
        client.create_model_version(
            "beta", f"models:/{info.model_id}", model_id=info.model_id, tags={SEMVER_TAG: semver}
        )
    assert [v.tags[SEMVER_TAG] for v in client.get_latest_versions("beta")] == ["1.0.0-beta.11"]
    assert predict("models:/beta/latest") == 2.0
    # a range without a prerelease never selects one, as in npm
    with pytest.raises(Exception, match="No versions|matches"):
        predict("models:/beta@^1.0")


def test_a_run_source_without_files_follows_the_runs_logged_model(
    app: Flask, project: Project, mlflow_env: str
) -> None:
    from mlflow import MlflowClient

    info = log_constant_model(6.0)
    client = MlflowClient()
    client.create_registered_model("fraud")

    version = client.create_model_version("fraud", f"runs:/{info.run_id}/model", run_id=info.run_id)

    assert version.source == f"runs:/{info.run_id}/model"
    uri = client.get_model_version_download_uri("fraud", version.version)
    assert uri.startswith(f"mlflow-artifacts:/{project.id}/model-registry/")
    assert "MLmodel" in files_under(artifact_dir(app, uri))
    assert predict("models:/fraud/1.0.0") == 6.0
    logged = client.get_logged_model(info.model_id)
    assert '"name": "fraud", "version": 1' in logged.tags["mlflow.modelVersions"]
