"""The files of a candidate's logged models download from the candidate page: only for a model
the candidate produced, in this project, with the path checked as every download checks it."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_model_registry.services import logged_models as logged_model_service
from flask_model_registry.services import runs as run_service
from tests.conftest import Project
from tests.support.live import LiveServer
from tests.test_registry_helpers import log_constant_model
from tests.test_web_factories import login, make_candidate, make_experiment, project_ctx, web
from tests.test_web_lineage import MODEL_FILES, log_model, section, text


@dataclass
class Logged:
    """A candidate with a logged model and its files, and a second candidate of the project."""

    project: Project
    iid: int
    run_id: str
    model_id: str
    other_run_id: str

    def url(self, path: str, *, run_id: str | None = None, model_id: str | None = None) -> str:
        run = run_id or self.run_id
        return web(self.project.id,
                   f"/candidates/{run}/models/{model_id or self.model_id}/files/{path}")


@pytest.fixture
def logged(app: Flask, project: Project) -> Logged:
    iid = make_experiment(app, project.id, "iris")
    run_id = make_candidate(app, project.id, iid, "fit")
    model_id = log_model(app, project.id, iid, run_id, "model", MODEL_FILES)
    other_run_id = make_candidate(app, project.id, iid, "other")
    return Logged(project, iid, run_id, model_id, other_run_id)


def _reader(client: FlaskClient) -> FlaskClient:
    login(client, "alpha-reporter")
    return client


def test_every_file_downloads_byte_identical(client: FlaskClient, logged: Logged) -> None:
    _reader(client)
    for path, data in MODEL_FILES.items():
        response = client.get(logged.url(path))
        assert response.status_code == 200, (path, text(response))
        assert response.data == data
        name = path.rsplit("/", 1)[-1]
        assert response.headers["Content-Disposition"] == f"attachment; filename={name}"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Length"] == str(len(data))


def test_the_candidate_page_links_each_file(client: FlaskClient, logged: Logged) -> None:
    html = text(_reader(client).get(web(logged.project.id, f"/candidates/{logged.run_id}")))
    card = section(html, "mr-logged-models-heading").split(
        f'data-model-id="{logged.model_id}"', 1)[1]
    for path in MODEL_FILES:
        assert f'href="{logged.url(path)}" download>{path}</a>' in card


def test_a_model_the_run_logged_as_an_output_is_served(
    app: Flask, client: FlaskClient, logged: Logged
) -> None:
    with project_ctx(app, logged.project.id) as ctx:
        run_service.log_outputs(ctx, logged.other_run_id, [(logged.model_id, 0)])
    response = _reader(client).get(logged.url("MLmodel", run_id=logged.other_run_id))
    assert response.status_code == 200
    assert response.data == MODEL_FILES["MLmodel"]


def test_a_model_of_another_run_is_not_found(
    app: Flask, client: FlaskClient, logged: Logged
) -> None:
    _reader(client)
    assert client.get(logged.url("MLmodel", run_id=logged.other_run_id)).status_code == 404
    assert client.get(logged.url("MLmodel", run_id="0" * 32)).status_code == 404
    assert client.get(logged.url("MLmodel", model_id="m-" + "0" * 32)).status_code == 404


def test_a_deleted_model_is_not_found(app: Flask, client: FlaskClient, logged: Logged) -> None:
    with project_ctx(app, logged.project.id) as ctx:
        logged_model_service.delete_logged_model(ctx, logged.model_id)
    assert _reader(client).get(logged.url("MLmodel")).status_code == 404


def test_a_model_of_another_project_is_not_found(
    app: Flask, client: FlaskClient, logged: Logged
) -> None:
    other = logged.project.other_id
    iid = make_experiment(app, other, "foreign")
    run_id = make_candidate(app, other, iid, "foreign-run")
    with project_ctx(app, other, "alpha-outsider") as ctx:
        model_id = logged_model_service.create_logged_model(
            ctx, str(iid), name="foreign", source_run_id=run_id).model_id
    _reader(client)
    assert client.get(logged.url("MLmodel", model_id=model_id)).status_code == 404
    assert client.get(logged.url("MLmodel", run_id=run_id, model_id=model_id)).status_code == 404
    owner = app.test_client()
    login(owner, "alpha-outsider")  # a member of the other project only
    assert owner.get(logged.url("MLmodel", run_id=run_id, model_id=model_id)).status_code == 404


@pytest.mark.parametrize(
    ("path", "status"),
    [("..%2F..%2Fsecret", 400), ("%2e%2e/x", 400), ("metadata%2F%2Fconda.yaml", 400),
     ("%252e%252e%252fx", 400), ("missing.txt", 404), ("metadata", 404)],
)
def test_bad_or_missing_paths(client: FlaskClient, logged: Logged, path: str,
                              status: int) -> None:
    assert _reader(client).get(logged.url(path)).status_code == status


def test_a_reader_downloads_and_an_outsider_does_not(app: Flask, logged: Logged) -> None:
    assert _reader(app.test_client()).get(logged.url("model.pkl")).status_code == 200
    anonymous = app.test_client().get(logged.url("model.pkl"))
    assert anonymous.status_code == 302
    assert "/login" in anonymous.headers["Location"]
    outsider = app.test_client()
    login(outsider, "alpha-outsider")
    response = outsider.get(logged.url("model.pkl"))
    assert response.status_code == 404
    assert logged.model_id not in text(response)


@pytest.mark.live
def test_files_of_a_model_the_client_logged_download_as_stored(
    app: Flask, mlflow_env: str, live_server: LiveServer, project: Project,
    tmp_path: pathlib.Path,
) -> None:
    import mlflow

    mlflow.set_experiment("constant")
    info = log_constant_model(2.0)
    location = mlflow.get_logged_model(info.model_id).artifact_location
    local = pathlib.Path(mlflow.artifacts.download_artifacts(
        artifact_uri=location, dst_path=str(tmp_path / "downloaded")))
    stored = {p.relative_to(local).as_posix(): p.read_bytes()
              for p in local.rglob("*") if p.is_file()}
    assert "MLmodel" in stored
    client = _reader(app.test_client())
    html = text(client.get(web(project.id, f"/candidates/{info.run_id}")))
    card = section(html, "mr-logged-models-heading")
    base = web(project.id, f"/candidates/{info.run_id}/models/{info.model_id}/files/")
    for path, data in stored.items():
        assert f'href="{base}{path}" download>' in card
        response = client.get(base + path)
        assert response.status_code == 200, path
        assert response.data == data, path
