"""Project scoping: a developer of two projects asks project A's routes about project B's
objects (experiments, runs, models, versions, aliases, logged models, artifacts). Every such
request is refused with 404, reveals nothing of B, and changes nothing."""

from __future__ import annotations

import pathlib
import typing as t
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Project, _backends, make_project
from tests.rel_samples import (
    SAMPLES,
    Factory,
    Sample,
    build_url,
    prepare_csrf,
    registry_rules,
    rule_method,
    send,
    short_name,
)
from tests.rel_support import add_member, app_on, engine_of, snapshot

#: Searches and listings answer a foreign id with an empty result, as MLflow does for unknown
#: ids; they must still not show anything of the other project.
EMPTY_RESULT_ALLOWED = {
    "mlflow.tracking_search_runs_post",
    "mlflow.logged_models_search_logged_models_post",
    "mlflow.registry_search_model_versions_get",
    "mlflow.tracking_get_metric_history_bulk_interval_get",
    "web.compare",
}


@dataclass
class Projects:
    app: Flask
    a: Factory
    b: Factory
    project: Project
    client: FlaskClient

    def b_secrets(self) -> list[str]:
        """Identifiers of B's objects that must never appear in an answer from A."""
        return [self.b.run_id, self.b.second_run_id, self.b.logged_model_id, self.b.model_name,
                self.b.experiment_name]


@pytest.fixture(scope="module", params=_backends())
def projects(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> t.Iterator[Projects]:
    directory = pathlib.Path(tmp_path_factory.mktemp("cross"))
    with app_on(request.param, directory) as app:
        project = make_project(app)
        add_member(app, project.other_id, "alpha-developer", "developer")
        headers = project.headers("developer")
        client = app.test_client()
        a = Factory(client, project.id, headers, "a")
        for i in range(5):  # B's experiment numbers then do not exist in A
            response = client.post(
                f"/api/v4/projects/{project.other_id}/ml/mlflow/api/2.0/mlflow"
                "/experiments/create", json={"name": f"b-pad-{i}"}, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
        b = Factory(client, project.other_id, headers, "b")
        assert int(b.experiment_id) > int(a.experiment_id)
        prepare_csrf(client)
        yield Projects(app, a, b, project, client)


def _request_text(url: str, sample: Sample) -> str:
    return " ".join(str(part) for part in (url, sample.json, sample.query, sample.form))


def _probe(projects: Projects, url: str, sample: Sample, key: str) -> list[str]:
    """Send one cross-project request; what is wrong with the outcome.

    An answer may repeat what the request said (``Run with id=... not found``) but nothing
    else of B.
    """
    engine = engine_of(projects.app)
    before = snapshot(engine)
    response = send(projects.client, url, sample, projects.project.headers("developer"))
    problems = []
    body = response.get_data(as_text=True)
    allowed = {404} | ({200} if key in EMPTY_RESULT_ALLOWED else set())
    if response.status_code not in allowed:
        problems.append(f"answered {response.status_code}: {body[:200]}")
    sent = _request_text(url, sample)
    leaked = [s for s in projects.b_secrets() if s in body and s not in sent]
    if leaked:
        problems.append(f"the answer shows B's {leaked}")
    if snapshot(engine) != before:
        problems.append("the request changed the database")
    return problems


def test_ids_of_another_project_are_not_found(projects: Projects) -> None:
    problems: list[str] = []
    probed = 0
    for rule in registry_rules(projects.app):
        key = short_name(rule.endpoint)
        sample = SAMPLES[key](projects.b)
        if not sample.names_object:
            continue
        assert sample.method == rule_method(rule)
        url = build_url(projects.app, rule, projects.project.id, sample)
        problems += [f"{sample.method} {url}: {p}" for p in _probe(projects, url, sample, key)]
        probed += 1
    assert probed > 50
    assert problems == [], "\n".join(problems)


def _mixed_samples(a: Factory, b: Factory) -> list[tuple[str, Sample]]:
    """Requests about A's objects that refer to an object of B inside the body."""
    return [
        ("log-outputs", Sample("POST", json={
            "run_id": a.run_id, "models": [{"model_id": b.logged_model_id, "step": 0}]})),
        ("log-inputs of a foreign model", Sample("POST", json={
            "run_id": a.run_id, "models": [{"model_id": b.logged_model_id}]})),
        ("version from a foreign run", Sample("POST", json={
            "name": a.model_name, "source": f"runs:/{b.run_id}/model", "run_id": b.run_id})),
        ("version from a foreign logged model", Sample("POST", json={
            "name": a.model_name, "source": f"models:/{b.logged_model_id}",
            "model_id": b.logged_model_id})),
        ("version from another project's registered model", Sample("POST", json={
            "name": a.model_name, "source": f"models:/{b.model_name}/{b.version_number}"})),
        ("run in a foreign experiment", Sample("POST", json={"experiment_id": b.experiment_id})),
        ("logged model in a foreign experiment", Sample("POST", json={
            "experiment_id": b.experiment_id, "name": "x"})),
    ]


_MIXED_PATHS = {
    "log-outputs": "/runs/outputs",
    "log-inputs of a foreign model": "/runs/log-inputs",
    "version from a foreign run": "/model-versions/create",
    "version from a foreign logged model": "/model-versions/create",
    "version from another project's registered model": "/model-versions/create",
    "run in a foreign experiment": "/runs/create",
    "logged model in a foreign experiment": "/logged-models",
}


def test_references_to_another_project_inside_a_request_are_refused(
    projects: Projects,
) -> None:
    problems: list[str] = []
    for label, sample in _mixed_samples(projects.a, projects.b):
        url = projects.a.mlflow_base + _MIXED_PATHS[label]
        outcome = _probe(projects, url, sample, "")
        problems += [f"{label}: {p}" for p in outcome]
    native = Sample("POST", json={"candidate_id": projects.b.run_id}, ok=201)
    url = f"{projects.a.native_base}/models/{projects.a.model_pk}/versions"
    problems += [f"native promotion of a foreign run: {p}"
                 for p in _probe(projects, url, native, "")]
    assert problems == [], "\n".join(problems)


def test_b_is_intact_and_still_works(projects: Projects) -> None:
    """After all the probing, B's objects are still there for B's own routes."""
    b = projects.b
    run = b.call("GET", "/runs/get", query={"run_id": b.run_id})["run"]
    assert run["info"]["lifecycle_stage"] == "active"
    model = b.call("GET", "/registered-models/get", query={"name": b.model_name})
    assert {a["alias"] for a in model["registered_model"].get("aliases", [])} >= {b.alias_name}
    logged = b.call("GET", f"/logged-models/{b.logged_model_id}")
    assert logged["model"]["info"]["model_id"] == b.logged_model_id
    listed = b.call("GET", "/experiments/search", query={"max_results": 100})
    assert b.experiment_name in [e["name"] for e in listed["experiments"]]


def test_routes_without_object_ids_are_few_and_known(projects: Projects) -> None:
    """Guard against a sample wrongly marked as not naming an object."""
    unnamed = sorted(
        short_name(rule.endpoint) for rule in registry_rules(projects.app)
        if not SAMPLES[short_name(rule.endpoint)](projects.a).names_object
    )
    assert set(unnamed) == {
        "api.create_model", "api.list_models", "mlflow.endpoint_not_found",
        "mlflow.endpoint_not_found_root", "mlflow.registry_create_registered_model_post",
        "mlflow.registry_search_registered_models_get",
        "mlflow.tracking_create_experiment_post", "mlflow.tracking_search_experiments_get",
        "mlflow.tracking_search_experiments_post", "mlflow.tracking_server_info_get",
        "openapi.openapi", "web.experiments", "web.models", "web.static",
    }
