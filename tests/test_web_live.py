"""The pages with the real mlflow client: what the client logs shows up, and what the pages
tell users to run works."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from flask import Flask

from tests.conftest import Project
from tests.support.live import LiveServer
from tests.test_registry_helpers import log_constant_model, predict
from tests.test_web_factories import csrf_of, login, web

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
