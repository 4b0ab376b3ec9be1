"""The web page of ``/models/<id>/versions/<semver>`` finds the version the native API finds:
by SemVer precedence, so build metadata is ignored and the stored text need not match."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_model_registry.services import registry as registry_service
from tests.conftest import Project
from tests.test_native_api import Native
from tests.test_web_factories import login, make_candidate, make_experiment, project_ctx, web


@pytest.fixture
def model_id(app: Flask, project: Project) -> int:
    """Model ``fraud`` whose one version is ``2.0.0+build.7``."""
    iid = make_experiment(app, project.id, "fraud")
    run_id = make_candidate(app, project.id, iid, "run")
    with project_ctx(app, project.id) as ctx:
        model = registry_service.create_model(ctx, "fraud")
        registry_service.promote_candidate(ctx, model, run_id, semver="2.0.0+build.7")
        return model.id


@pytest.mark.parametrize("asked", ["2.0.0", "2.0.0+build.7", "2.0.0+other"])
def test_page_and_api_find_the_same_version(
    client: FlaskClient, project: Project, model_id: int, asked: str
) -> None:
    api = Native(client, project, "reporter").ok("GET", f"/models/{model_id}/versions/{asked}")
    assert api["semver"] == "2.0.0+build.7"
    login(client, "alpha-reporter")
    page = client.get(web(project.id, f"/models/{model_id}/versions/{asked}"))
    assert page.status_code == 200
    assert re.search(r"2\.0\.0\+build\.7", page.get_data(as_text=True))


def test_page_and_api_agree_on_a_missing_version(
    client: FlaskClient, project: Project, model_id: int
) -> None:
    status, _, _ = Native(client, project, "reporter").error(
        "GET", f"/models/{model_id}/versions/2.0.1"
    )
    login(client, "alpha-reporter")
    assert client.get(web(project.id, f"/models/{model_id}/versions/2.0.1")).status_code == status


@pytest.mark.parametrize("asked", ["not-a-semver", "1.0", "v2.0.0"])
def test_a_page_url_naming_no_semver_is_a_missing_page(
    client: FlaskClient, project: Project, model_id: int, asked: str
) -> None:
    login(client, "alpha-reporter")
    assert client.get(web(project.id, f"/models/{model_id}/versions/{asked}")).status_code == 404
    files = web(project.id, f"/models/{model_id}/versions/{asked}/files/MLmodel")
    assert client.get(files).status_code == 404
