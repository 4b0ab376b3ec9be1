"""The links the mlflow client prints lead a browser to the pages.

The client prints ``<tracking URI>/#/experiments/<id>/runs/<run_id>``: the tracking URI's root
answers a browser with a small page whose script reads the fragment (the browser test follows
real printed links); API clients keep MLflow's ``ENDPOINT_NOT_FOUND``. Models are linked by name
and MLflow version number, which ``/models/by-name`` resolves.
"""

from __future__ import annotations

import pathlib
import re
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Project
from tests.rel_support import build_app, dispose
from tests.support.live import tracking_path

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def root(project_id: int) -> str:
    return tracking_path(project_id) + "/"


def web(project_id: int, path: str) -> str:
    return f"/projects/{project_id}/-/ml{path}"


def assert_endpoint_not_found(response: t.Any) -> None:
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_a_browser_at_the_tracking_root_gets_the_link_page(
    client: FlaskClient, project: Project
) -> None:
    response = client.get(root(project.id), headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert f'data-experiments="{web(project.id, "/experiments")}"' in html
    assert f'data-candidate="{web(project.id, "/candidates/RUN_ID")}"' in html
    assert f'data-model="{web(project.id, "/models/by-name")}"' in html
    # No inline script: the page works under a Content-Security-Policy without 'unsafe-inline'.
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts == [f'<script src="{web(project.id, "/-/static/links.js")}" defer>']
    assert "//" not in html  # no external assets
    # Without JavaScript the page still leads somewhere.
    assert f'<a href="{web(project.id, "/experiments")}">' in html

    script = client.get(web(project.id, "/-/static/links.js"))
    assert script.status_code == 200
    assert "window.location.replace" in script.get_data(as_text=True)
    script.close()


def test_the_link_page_needs_no_token_and_reads_nothing(
    client: FlaskClient, project: Project
) -> None:
    """The target pages check access themselves; the root page is the same for everybody."""
    anonymous = client.get(root(project.id), headers={"Accept": BROWSER_ACCEPT})
    outsider = client.get(
        root(project.id), headers={"Accept": BROWSER_ACCEPT, **project.headers("outsider")}
    )
    assert anonymous.status_code == outsider.status_code == 200
    assert anonymous.get_data() == outsider.get_data()


@pytest.mark.parametrize(
    "accept", [None, "application/json", "*/*", "text/html;q=0.5, application/json"]
)
def test_api_clients_at_the_tracking_root_keep_endpoint_not_found(
    client: FlaskClient, project: Project, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    assert_endpoint_not_found(client.get(root(project.id), headers=headers))


def test_only_a_browser_get_of_the_root_is_a_page(client: FlaskClient, project: Project) -> None:
    headers = {"Accept": BROWSER_ACCEPT}
    assert_endpoint_not_found(client.post(root(project.id), headers=headers))
    assert_endpoint_not_found(client.get(root(project.id) + "no-such-page", headers=headers))


def test_without_the_pages_the_root_keeps_endpoint_not_found(
    database_url: str, tmp_path: pathlib.Path
) -> None:
    app = build_app(database_url, tmp_path, MODEL_REGISTRY_ENABLE_WEB=False)
    try:
        response = app.test_client().get(root(1), headers={"Accept": BROWSER_ACCEPT})
        assert_endpoint_not_found(response)
    finally:
        dispose(app)


# -- models by name and MLflow version number --------------------------------------------------


def mlflow_call(client: FlaskClient, project: Project, path: str, body: dict[str, t.Any]
                ) -> dict[str, t.Any]:
    response = client.post(
        f"{tracking_path(project.id)}/api/2.0/mlflow{path}",
        json=body, headers=project.headers("developer"),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return t.cast("dict[str, t.Any]", response.get_json())


@pytest.fixture
def model(app: Flask, client: FlaskClient, project: Project) -> dict[str, t.Any]:
    """Model ``fraud`` with versions 1 (semver 1.0.0) and 2 (semver 2.0.0-rc.1)."""
    created = mlflow_call(client, project, "/registered-models/create", {"name": "fraud"})
    versions = []
    for semver in ("1.0.0", "2.0.0-rc.1"):
        versions.append(mlflow_call(client, project, "/model-versions/create", {
            "name": "fraud", "source": "s3://bucket/model",
            "tags": [{"key": "model_registry.version", "value": semver}],
        })["model_version"]["version"])
    assert versions == ["1", "2"]
    native = client.get(f"/api/v4/projects/{project.id}/ml/models",
                        headers=project.headers("developer")).get_json()
    pk = next(m["id"] for m in native["models"] if m["name"] == "fraud")
    return {"name": created["registered_model"]["name"], "id": pk}


def test_a_model_link_leads_to_the_model_page(
    client: FlaskClient, project: Project, model: dict[str, t.Any]
) -> None:
    headers = project.headers("reporter")
    response = client.get(web(project.id, "/models/by-name"), query_string={"name": "fraud"},
                          headers=headers)
    assert response.status_code == 303
    assert response.headers["Location"] == web(project.id, f"/models/{model['id']}")
    assert client.get(response.headers["Location"], headers=headers).status_code == 200


def test_a_model_version_link_leads_to_the_version_page(
    client: FlaskClient, project: Project, model: dict[str, t.Any]
) -> None:
    headers = project.headers("reporter")
    response = client.get(web(project.id, "/models/by-name"),
                          query_string={"name": "fraud", "version": "2"}, headers=headers)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location == web(project.id, f"/models/{model['id']}/versions/2.0.0-rc.1")
    page = client.get(location, headers=headers)
    assert page.status_code == 200
    assert "2.0.0-rc.1" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"name": "no-such-model"}, 404),
        ({"name": "fraud", "version": "3"}, 404),
        ({"name": "fraud", "version": "0"}, 404),
        ({"name": "no-such-model", "version": "1"}, 404),
        ({"name": "fraud", "version": "one"}, 400),
        ({}, 400),
    ],
)
def test_a_model_link_to_nothing_is_an_error_page(
    client: FlaskClient, project: Project, model: dict[str, t.Any],
    query: dict[str, str], status: int,
) -> None:
    response = client.get(web(project.id, "/models/by-name"), query_string=query,
                          headers=project.headers("reporter"))
    assert response.status_code == status
    assert response.mimetype == "text/html"

