"""The pages with the real mlflow client: what the client logs shows up, and what the pages
tell users to run works."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from flask import Flask

from flask_model_registry.services import registry as registry_service
from tests.conftest import Project
from tests.support.live import LiveServer
from tests.test_registry_helpers import log_constant_model, predict
from tests.test_web_factories import csrf_of, login, project_ctx, web

pytestmark = pytest.mark.live


def test_promoted_version_loads_with_the_snippet_the_page_shows(
    app: Flask, mlflow_env: str, live_server: LiveServer, project: Project
) -> None:
    import mlflow

    mlflow.set_experiment("pricing")
    info = log_constant_model(3.0)
    client = app.test_client()
    login(client, "alpha-developer")

    experiments = client.get(web(project.id, "/experiments")).get_data(as_text=True)
    assert ">pricing</a>" in experiments
    candidate_url = web(project.id, f"/candidates/{info.run_id}")
    candidate = client.get(candidate_url).get_data(as_text=True)
    assert '<th scope="row">value</th><td class="mr-value">3.0</td>' in candidate
    assert 'data-metric="accuracy"' in candidate

    response = client.post(
        f"{candidate_url}/promote",
        data={"mr_csrf_token": csrf_of(candidate), "model_name": "pricing", "semver": "2.1.0"},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    snippet = html_lib.unescape(page.split('<pre class="mr-code"><code>', 1)[1].split("</code>")[0])
    uris = re.findall(r'load_model\("([^"]+)"\)', snippet)
    assert uris == ["models:/pricing@2.1.0", "models:/pricing/1"]
    for uri in uris:
        assert predict(uri) == 3.0

    files = page.split('id="mr-files-heading"', 1)[1].split("</section>", 1)[0]
    assert ">MLmodel</a>" in files
    mlmodel = client.get(f"{response.headers['Location']}/files/MLmodel")
    assert mlmodel.status_code == 200
    assert b"python_function" in mlmodel.data


def test_sklearn_autolog_run_shows_its_model_data_and_requirements(
    app: Flask, mlflow_env: str, project: Project
) -> None:
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    mlflow.set_experiment("iris")
    mlflow.sklearn.autolog(log_input_examples=False, silent=True)
    iris = load_iris(as_frame=True)
    try:
        with mlflow.start_run(run_name="logreg") as run:
            LogisticRegression(max_iter=200).fit(iris.data, iris.target)
            evaluation = from_pandas(iris.frame.tail(50), name="iris-eval", targets="target")
            mlflow.log_input(evaluation, context="evaluation")
    finally:
        mlflow.sklearn.autolog(disable=True)
    logged = mlflow.last_logged_model()
    assert logged is not None
    version = mlflow.register_model(f"models:/{logged.model_id}", "iris-classifier")
    client = app.test_client()
    login(client, "alpha-reporter")

    candidate = client.get(web(project.id, f"/candidates/{run.info.run_id}")).get_data(
        as_text=True
    )
    assert '<tr data-metric="training_score">' in candidate
    assert "<figure" not in candidate  # autolog's metrics are single values: no charts
    models = candidate.split('id="mr-logged-models-heading"', 1)[1].split("</section>", 1)[0]
    assert f'data-model-id="{logged.model_id}"' in models
    assert "iris-classifier 1.0.0</a>" in models
    assert ">requirements.txt</a></th>" in models
    datasets = candidate.split('id="mr-datasets-heading"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'data-dataset="dataset">.*?mr-context">train<', datasets, re.S)
    assert re.search(r'data-dataset="iris-eval">.*?mr-context">evaluation<', datasets, re.S)

    page = client.get(
        web(project.id, f"/models/{_model_pk(app, project)}/versions/1.0.0")
    ).get_data(as_text=True)
    assert version.version == "1"
    requirements = page.split('id="mr-requirements-heading"', 1)[1].split("</section>", 1)[0]
    assert '<th scope="row">scikit-learn</th><td><code>==' in requirements
    provenance = page.split('id="mr-provenance-heading"', 1)[1].split("</section>", 1)[0]
    assert f'/candidates/{run.info.run_id}">logreg</a>' in provenance
    assert 'data-dataset="iris-eval"' in provenance
    assert '<th scope="row">max_iter</th><td class="mr-value">200</td>' in provenance


def _model_pk(app: Flask, project: Project) -> int:
    with project_ctx(app, project.id) as ctx:
        return registry_service.get_model(ctx, "iris-classifier").id
