"""The real ``mlflow`` client logging and loading MLflow 3 models through the live app."""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import Project
from tests.test_mlflow_artifacts import artifact_root

pytestmark = pytest.mark.live


@pytest.fixture(autouse=True)
def _forget_active_experiment() -> t.Iterator[None]:
    """``mlflow.set_experiment`` exports MLFLOW_EXPERIMENT_ID; keep it out of other tests."""
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    yield
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


def _doubler() -> t.Any:
    from mlflow.pyfunc.model import PythonModel

    class Doubler(PythonModel):
        # unannotated on purpose: MLflow validates the input of an annotated ``predict``
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return model_input * 2

    return Doubler()


def test_pyfunc_log_model_and_load_by_run_and_model_uri(
    mlflow_env: str, project: Project, app: Flask
) -> None:
    import mlflow
    import pandas as pd

    mlflow.set_experiment("pyfunc-live")
    frame = pd.DataFrame({"x": [1.0, 2.5, -3.0]})
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", "0.5")
        # explicit requirements skip the client's slow requirement inference subprocess
        info = mlflow.pyfunc.log_model(name="model", python_model=_doubler(),
                                       input_example=frame, pip_requirements=["pandas"])
    model_id = info.model_id
    assert model_id.startswith("m-")
    assert info.model_uri == f"models:/{model_id}"

    logged = mlflow.get_logged_model(model_id)
    assert logged.status.to_proto() == 2  # LOGGED_MODEL_READY
    assert logged.name == "model"
    assert logged.source_run_id == run.info.run_id
    assert logged.params == {"alpha": "0.5"}
    experiment_id = run.info.experiment_id
    assert logged.artifact_location == (
        f"mlflow-artifacts:/{project.id}/{experiment_id}/models/{model_id}/artifacts"
    )
    stored = artifact_root(app) / logged.artifact_location.removeprefix("mlflow-artifacts:/")
    assert (stored / "MLmodel").is_file()
    assert (stored / "python_model.pkl").is_file()

    by_run = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    by_model = mlflow.pyfunc.load_model(info.model_uri)
    expected = [2.0, 5.0, -6.0]
    assert list(by_run.predict(frame)["x"]) == expected
    assert list(by_model.predict(frame)["x"]) == expected
    assert by_run.metadata.model_id == model_id


def test_sklearn_log_model_round_trip(mlflow_env: str, tmp_path: Path) -> None:
    import mlflow
    import mlflow.sklearn
    import numpy as np
    from sklearn.linear_model import LinearRegression

    features = np.array([[0.0], [1.0], [2.0], [3.0]])
    target = 3.0 * features[:, 0] + 1.0
    regression = LinearRegression().fit(features, target)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(regression, name="linear", input_example=features[:2],
                                        pip_requirements=["scikit-learn"])
    probe = np.array([[10.0], [-1.0]])
    expected = regression.predict(probe)

    loaded = mlflow.sklearn.load_model(info.model_uri)
    assert np.allclose(loaded.predict(probe), expected)
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/linear")
    assert np.allclose(np.asarray(pyfunc.predict(probe)), expected)
    files = {f.path for f in mlflow.MlflowClient().list_logged_model_artifacts(info.model_id)}
    assert {"MLmodel", "requirements.txt", "python_env.yaml", "conda.yaml"} <= files
    downloaded = mlflow.artifacts.download_artifacts(artifact_uri=info.model_uri,
                                                     dst_path=str(tmp_path / "dl"))
    assert (Path(downloaded) / "MLmodel").read_text().count(info.model_id) >= 1


def test_client_logged_model_api(mlflow_env: str) -> None:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModelStatus
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    experiment_id = client.create_experiment("logged-models-api")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        pass
    first = client.create_logged_model(experiment_id, name="first", model_type="agent",
                                       source_run_id=run.info.run_id,
                                       params={"lr": "0.1"}, tags={"team": "ml"})
    second = client.create_logged_model(experiment_id, name="second")
    assert first.status == LoggedModelStatus.PENDING
    assert first.tags == {"team": "ml"}
    assert first.params == {"lr": "0.1"}
    assert first.model_type == "agent"

    ready = client.finalize_logged_model(first.model_id, LoggedModelStatus.READY)
    assert ready.status == LoggedModelStatus.READY
    failed = client.finalize_logged_model(second.model_id, LoggedModelStatus.FAILED)
    assert failed.status == LoggedModelStatus.FAILED

    client.set_logged_model_tags(first.model_id, {"team": "platform", "stage": "dev"})
    client.delete_logged_model_tag(first.model_id, "stage")
    client.log_model_params(first.model_id, {"depth": "4"})
    fetched = client.get_logged_model(first.model_id)
    assert fetched.tags == {"team": "platform"}
    assert fetched.params == {"lr": "0.1", "depth": "4"}

    names = [m.name for m in client.search_logged_models([experiment_id])]
    assert names == ["second", "first"]
    ready_only = client.search_logged_models(
        [experiment_id], filter_string="status = 'LOGGED_MODEL_READY'"
    )
    assert [m.model_id for m in ready_only] == [first.model_id]
    by_tag = client.search_logged_models([experiment_id], filter_string="tags.team = 'platform'")
    assert [m.name for m in by_tag] == ["first"]
    ordered = client.search_logged_models(
        [experiment_id], order_by=[{"field_name": "name", "ascending": True}], max_results=1
    )
    assert [m.name for m in ordered] == ["first"]
    assert ordered.token
    rest = client.search_logged_models(
        [experiment_id], order_by=[{"field_name": "name", "ascending": True}], max_results=1,
        page_token=ordered.token,
    )
    assert [m.name for m in rest] == ["second"]
    fluent = mlflow.search_logged_models(experiment_ids=[experiment_id],
                                         filter_string="name = 'first'", output_format="list")
    assert [m.model_id for m in fluent] == [first.model_id]

    client.delete_logged_model(second.model_id)
    assert [m.name for m in client.search_logged_models([experiment_id])] == ["first"]
    with pytest.raises(MlflowException, match="not found"):
        client.get_logged_model(second.model_id)
    with pytest.raises(MlflowException, match="No tag with key"):
        client.delete_logged_model_tag(first.model_id, "missing")


def test_registration_shows_on_the_logged_model(mlflow_env: str, project: Project) -> None:
    import mlflow
    import pandas as pd
    import requests

    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="model", python_model=_doubler(),
                                       pip_requirements=["pandas"],
                                       registered_model_name="wf-model")
    mlflow.register_model(info.model_uri, "wf-model")
    response = requests.get(f"{mlflow_env}/api/2.0/mlflow/logged-models/{info.model_id}",
                            headers=project.headers("reporter"), timeout=30)
    assert response.status_code == 200
    assert response.json()["model"]["info"]["registrations"] == [
        {"name": "wf-model", "version": "1"}, {"name": "wf-model", "version": "2"}
    ]
    loaded = mlflow.pyfunc.load_model("models:/wf-model/2")
    assert list(loaded.predict(pd.DataFrame({"x": [1.5]}))["x"]) == [3.0]
