"""Raw HTTP edge cases of the tracking API: validation messages, limits, whole-batch refusal,
truncation, pagination of metric history, sampling, and MLflow's JSON shapes."""

from __future__ import annotations

import dataclasses
import typing as t

import pytest
from flask import Flask

MISSING = "Missing value for required parameter '{}'. See the API docs for more information " \
    "about request parameters."
BAD_CHARS = (
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.),"
    " spaces ( ), colon(:) and slashes (/)."
)


class Api:
    """The tracking API of one project through the Flask test client."""

    def __init__(self, client: t.Any, project: t.Any, role: str = "developer") -> None:
        self.client = client
        self.headers = project.headers(role)
        self.root = f"/api/v4/projects/{project.id}/ml/mlflow/api"

    def post(self, path: str, body: dict[str, t.Any], status: int = 200) -> dict[str, t.Any]:
        response = self.client.post(f"{self.root}/2.0/mlflow/{path}", json=body,
                                    headers=self.headers)
        assert response.status_code == status, response.get_json()
        return t.cast(dict[str, t.Any], response.get_json())

    def get(self, path: str, status: int = 200, **params: t.Any) -> dict[str, t.Any]:
        response = self.client.get(f"{self.root}/2.0/mlflow/{path}", query_string=params,
                                   headers=self.headers)
        assert response.status_code == status, response.get_json()
        return t.cast(dict[str, t.Any], response.get_json())

    def error(self, method: str, path: str, body: dict[str, t.Any], status: int = 400) -> str:
        result = (self.post(path, body, status) if method == "POST"
                  else self.get(path, status, **body))
        assert set(result) >= {"error_code", "message"}
        expected = {400: "INVALID_PARAMETER_VALUE", 404: "RESOURCE_DOES_NOT_EXIST"}[status]
        if result["error_code"] != "RESOURCE_ALREADY_EXISTS":
            assert result["error_code"] == expected, result
        return t.cast(str, result["message"])

    def new_run(self, **body: t.Any) -> str:
        return t.cast(str, self.post("runs/create", body)["run"]["info"]["run_id"])

    def run(self, run_id: str) -> dict[str, t.Any]:
        return t.cast(dict[str, t.Any], self.get("runs/get", run_id=run_id)["run"])


@pytest.fixture
def api(client: t.Any, project: t.Any) -> Api:
    return Api(client, project)


def test_wire_shapes(api: Api) -> None:
    created = api.post("runs/create", {"experiment_id": "0", "run_name": "shape",
                                       "start_time": 5, "user_id": "ignored"})
    info = created["run"]["info"]
    assert set(info) == {"run_id", "run_uuid", "run_name", "experiment_id", "user_id", "status",
                         "start_time", "artifact_uri", "lifecycle_stage"}  # no end_time yet
    assert info["run_id"] == info["run_uuid"]
    assert (info["experiment_id"], info["user_id"], info["status"], info["start_time"]) == \
        ("0", "alpha-developer", "RUNNING", 5)
    assert created["run"]["data"] == {"tags": [{"key": "mlflow.runName", "value": "shape"}]}
    assert created["run"]["inputs"] == {}
    assert created["run"]["outputs"] == {}
    run_id = info["run_id"]
    api.post("runs/log-metric", {"run_uuid": run_id, "key": "m", "value": "-Infinity",
                                 "timestamp": "7"})
    api.post("runs/log-metric", {"run_id": run_id, "key": "n", "value": "NaN", "timestamp": 7,
                                 "step": -3})
    updated = api.post("runs/update", {"run_uuid": run_id, "status": 3, "end_time": 9})
    assert updated["run_info"]["status"] == "FINISHED"
    assert updated["run_info"]["end_time"] == 9
    data = api.run(run_id)["data"]
    assert data["metrics"] == [
        {"key": "m", "value": -1.7976931348623157e308, "timestamp": 7, "step": 0},
        {"key": "n", "value": "NaN", "timestamp": 7, "step": -3},
    ]
    experiment = api.get("experiments/get", experiment_id="0")["experiment"]
    assert set(experiment) == {"experiment_id", "name", "artifact_location", "lifecycle_stage",
                               "last_update_time", "creation_time"}
    assert api.get("experiments/get-by-name", experiment_name="Default")["experiment"] == \
        experiment
    info_body = api.client.get(f"{api.root}/3.0/mlflow/server-info", headers=api.headers)
    assert info_body.get_json() == {
        "store_type": "SqlStore", "workspaces_enabled": False, "trace_archival_enabled": False,
        "multipart_uploads_enabled": False, "multipart_downloads_enabled": False,
        "artifact_serving_enabled": True, "artifacts_presigned_only": False,
        "presigned_upload_run_id_supported": False, "presigned_upload_model_id_supported": False,
        "model_artifact_presigned_downloads_supported": False,
        "features_enabled": {"gateway": False, "scheduled_issue_detection": False},
        "tracking_auth": "",
    }


def test_request_validation(api: Api, project: t.Any) -> None:
    run_id = api.new_run()
    assert api.error("POST", "runs/log-metric", {"key": "m", "value": 1, "timestamp": 1}) == \
        MISSING.format("run_id")
    assert api.error("POST", "runs/log-metric", {"run_id": run_id, "key": "m", "value": 1}) == \
        MISSING.format("timestamp")
    assert "'value'" in api.error("POST", "runs/log-metric",
                                  {"run_id": run_id, "key": "m", "value": True, "timestamp": 1})
    assert "'value'" in api.error("POST", "runs/log-metric",
                                  {"run_id": run_id, "key": "m", "value": 10**400, "timestamp": 1})
    assert "Timestamp must be a nonnegative long" in api.error(
        "POST", "runs/log-metric", {"run_id": run_id, "key": "m", "value": 1, "timestamp": -1})
    assert api.error("POST", "runs/log-parameter", {"run_id": run_id, "key": "bad key!"}) == \
        f'Invalid value "bad key!" for parameter \'key\' supplied: {BAD_CHARS}'
    assert "would resolve to 'x'" in api.error(
        "POST", "runs/set-tag", {"run_id": run_id, "key": "a/../x", "value": "v"})
    assert api.error("POST", "runs/log-parameter", {"run_id": run_id, "key": "k" * 251}) == \
        "'Param key' exceeds the maximum length of 250 characters"
    assert api.error("POST", "runs/log-batch", {"run_id": run_id, "tags": [
        {"key": "ok", "value": "1"}, {"key": "../up", "value": "1"}]}).startswith(
        "Invalid value \"../up\" for parameter 'tags[1].key' supplied")
    assert api.error("POST", "runs/log-batch", {"run_id": run_id, "metrics": [{"key": "m"}]}) \
        == MISSING.format("metrics[0].value")
    assert "status" in api.error("POST", "runs/update", {"run_id": run_id, "status": "DONE"})
    assert "Duplicate parameter keys have been submitted: ['p']" in api.error(
        "POST", "runs/log-batch", {"run_id": run_id, "params": [
            {"key": "p", "value": "1"}, {"key": "p", "value": "2"}]})
    assert api.error("GET", "runs/get", {"run_id": "nope"}, 404) == "Run with id=nope not found"
    assert api.error("GET", "runs/get", {}) == MISSING.format("run_id")
    assert api.error("GET", "experiments/get", {"experiment_id": "abc"}, 404) == \
        "No Experiment with id=abc exists"
    assert "max_results" in api.error("POST", "experiments/search", {})
    assert "It must be at most 50000" in api.error(
        "POST", "runs/search", {"experiment_ids": ["0"], "max_results": 50001})
    assert "Invalid page token" in api.error(
        "POST", "runs/search", {"experiment_ids": ["0"], "page_token": "!!!"})
    assert "Invalid experiment ID 'x'" in api.error(
        "POST", "runs/search", {"experiment_ids": ["x"]})
    assert api.error("POST", "runs/search", {"experiment_ids": ["0"], "run_view_type": "SOME"})
    assert api.error("POST", "runs/search", {"experiment_ids": ["0"], "filter": "metrics.m >"})
    assert api.post("runs/search", {"experiment_ids": []}) == {}
    assert api.error("POST", "runs/delete-tag", {"run_id": run_id, "key": "none"}, 404) == \
        f"No tag with name: none in run with id {run_id}"
    assert "Both 'run_name' argument and 'mlflow.runName' tag are specified" in api.error(
        "POST", "runs/create", {"run_name": "a", "tags": [{"key": "mlflow.runName",
                                                         "value": "b"}]})
    assert api.error("POST", "runs/create", {"experiment_id": "77"}, 404) == \
        "No Experiment with id=77 exists"
    # Nothing above wrote anything.
    assert api.run(run_id)["data"] == {"tags": [{"key": "mlflow.runName",
                                                "value": api.run(run_id)["info"]["run_name"]}]}
    # Readers may read but not write.
    reader = Api(api.client, project, "reporter")
    assert reader.run(run_id)["info"]["run_id"] == run_id
    assert reader.post("runs/log-parameter", {"run_id": run_id, "key": "k", "value": "v"},
                       403)["error_code"] == "PERMISSION_DENIED"


def test_batch_limits_refuse_the_whole_batch(api: Api) -> None:
    run_id = api.new_run()

    def metrics(n: int) -> list[dict[str, t.Any]]:
        return [{"key": f"m{i}", "value": i, "timestamp": 1} for i in range(n)]

    def pairs(n: int) -> list[dict[str, str]]:
        return [{"key": f"k{i}", "value": "v"} for i in range(n)]

    cases = [
        ({"metrics": metrics(1001)}, "at most 1000 metrics. Got 1001 metrics."),
        ({"params": pairs(101)}, "at most 100 params. Got 101 params."),
        ({"tags": pairs(101)}, "at most 100 tags. Got 101 tags."),
        ({"metrics": metrics(900), "params": pairs(100), "tags": pairs(1)},
         "at most 1000 metrics, params, and tags. Got 1001 metrics, params, and tags."),
    ]
    for body, expected in cases:
        message = api.error("POST", "runs/log-batch", {"run_id": run_id, **body})
        assert message.startswith("A batch logging request can contain " + expected), message
        assert message.endswith("Please split up "
                                + expected.split(". Got ")[0].split("at most ")[1].split(" ", 1)[1]
                                + " across multiple requests and try again.")
    # A valid batch with one bad item writes nothing at all.
    api.error("POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics(10),
                                         "params": [{"key": "ok", "value": "1"}, {"key": "bad!"}]})
    api.post("runs/log-batch", {"run_id": run_id, "params": [{"key": "fixed", "value": "1"}]})
    api.error("POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics(10),
                                         "params": [{"key": "fixed", "value": "2"}],
                                         "tags": [{"key": "t", "value": "v"}]})
    data = api.run(run_id)["data"]
    assert "metrics" not in data
    assert data["params"] == [{"key": "fixed", "value": "1"}]
    assert [tag["key"] for tag in data["tags"]] == ["mlflow.runName"]
    # Exactly at the limits is fine.
    api.post("runs/log-batch", {"run_id": run_id, "metrics": metrics(800), "params": pairs(100),
                                "tags": pairs(100)})
    assert len(api.run(run_id)["data"]["metrics"]) == 800


def test_long_values_truncated_or_refused(api: Api, app: Flask) -> None:
    run_id = api.new_run()
    api.post("runs/log-parameter", {"run_id": run_id, "key": "p", "value": "x" * 6001})
    api.post("runs/set-tag", {"run_id": run_id, "key": "t", "value": "y" * 8001})
    data = api.run(run_id)["data"]
    assert data["params"] == [{"key": "p", "value": "x" * 6000}]
    assert {"key": "t", "value": "y" * 8000} in data["tags"]

    state = app.extensions["model_registry"]
    state.settings = dataclasses.replace(state.settings, truncate_long_values=False)
    assert api.error("POST", "runs/log-parameter",
                     {"run_id": run_id, "key": "q", "value": "x" * 6001}) == \
        "'Param value' exceeds the maximum length of 6000 characters"
    assert api.error("POST", "runs/log-batch", {"run_id": run_id, "tags": [
        {"key": "u", "value": "y" * 8001}]}) == \
        "'tags[0].value' exceeds the maximum length of 8000 characters"
    assert "run_name" in api.error("POST", "runs/update", {"run_id": run_id, "run_name": "n" * 251})

    # Experiment limits are never truncated.
    assert api.error("POST", "experiments/create", {"name": "e" * 501}) == \
        "'name' exceeds the maximum length of 500 characters"
    exp_id = api.post("experiments/create", {"name": "e"})["experiment_id"]
    assert api.error("POST", "experiments/set-experiment-tag",
                     {"experiment_id": exp_id, "key": "k", "value": "v" * 20001}) == \
        "'value' exceeds the maximum length of 20000 characters"
    assert api.error("POST", "experiments/set-experiment-tag",
                     {"experiment_id": exp_id, "key": "k" * 251, "value": "v"}) == \
        "'key' exceeds the maximum length of 250 characters"
    assert api.error("POST", "experiments/delete-experiment-tag",
                     {"experiment_id": exp_id, "key": "k"}, 404) == \
        f"No tag with name: k in experiment with id {exp_id}"
    assert api.error("POST", "experiments/create", {"name": "e"}) == \
        "Experiment 'e' already exists."


def test_experiment_search_pages_and_lifecycle_errors(api: Api) -> None:
    ids = [api.post("experiments/create", {"name": f"x{i}", "tags": None})["experiment_id"]
           for i in range(5)]
    names, token, pages = [], None, 0
    while True:
        body = {"max_results": 2, "order_by": ["name ASC"], "filter": "name LIKE 'x%'",
                **({"page_token": token} if token else {})}
        page = api.post("experiments/search", body)
        names += [e["name"] for e in page["experiments"]]
        pages += 1
        token = page.get("next_page_token")
        if not token:
            break
    assert names == [f"x{i}" for i in range(5)]
    assert pages == 3
    by_get = api.get("experiments/search", max_results=10, order_by=["name DESC"],
                     view_type="ALL")["experiments"]
    assert [e["name"] for e in by_get] == ["x4", "x3", "x2", "x1", "x0", "Default"]
    assert "Invalid entity type" in api.error(
        "POST", "experiments/search", {"max_results": 1, "filter": "params.a = 'b'"})

    api.post("experiments/delete", {"experiment_id": ids[0]})
    assert api.error("POST", "experiments/update",
                     {"experiment_id": ids[0], "new_name": "y"}) == \
        "Cannot rename a non-active experiment."
    assert api.error("POST", "experiments/delete", {"experiment_id": ids[0]}, 404) == \
        f"No Experiment with id={ids[0]} exists"
    assert api.error("POST", "experiments/restore", {"experiment_id": ids[1]}, 404) == \
        f"No Experiment with id={ids[1]} exists"
    assert "must be in the 'active' state" in api.error(
        "POST", "experiments/set-experiment-tag", {"experiment_id": ids[0], "key": "k"})
    assert api.error("POST", "experiments/update", {"experiment_id": ids[1], "new_name": "x2"}) \
        == "Experiment 'x2' already exists."
    assert api.error("POST", "experiments/update", {"experiment_id": ids[1]}) == \
        MISSING.format("new_name")
    # JSON nulls for repeated fields read as empty lists, as protobuf JSON does.
    run_id = api.post("runs/create", {"experiment_id": ids[1], "tags": None})["run"]["info"][
        "run_id"]
    api.post("runs/log-batch", {"run_id": run_id, "metrics": None, "params": None, "tags": None})
    assert api.post("runs/search", {"experiment_ids": None}) == {}


def test_artifact_locations(api: Api, project: t.Any) -> None:
    own = f"mlflow-artifacts:/{project.id}/custom/place"
    exp_id = api.post("experiments/create", {"name": "own", "artifact_location": own})[
        "experiment_id"]
    assert api.get("experiments/get", experiment_id=exp_id)["experiment"]["artifact_location"] \
        == own
    run = api.post("runs/create", {"experiment_id": exp_id})["run"]["info"]
    assert run["artifact_uri"] == f"{own}/{run['run_id']}/artifacts"
    for foreign in ("s3://bucket/x", f"mlflow-artifacts:/{project.other_id}/1",
                    f"mlflow-artifacts:/{project.id}/../{project.other_id}", "/tmp/x"):
        assert "Invalid artifact location" in api.error(
            "POST", "experiments/create", {"name": "foreign", "artifact_location": foreign})


def test_metric_history_pages_and_samples(api: Api) -> None:
    run_a, run_b = api.new_run(), api.new_run()
    points = [{"key": "m", "value": float(i), "timestamp": 100 + i, "step": i} for i in range(30)]
    api.post("runs/log-batch", {"run_id": run_a, "metrics": points[::-1]})
    api.post("runs/log-batch", {"run_id": run_b, "metrics": points[:3]})

    everything = api.get("metrics/get-history", run_id=run_a, metric_key="m")
    assert [m["step"] for m in everything["metrics"]] == list(range(30))
    assert "next_page_token" not in everything
    steps, token, pages = [], None, 0
    while True:
        params: dict[str, t.Any] = {"run_id": run_a, "metric_key": "m", "max_results": 7}
        page = api.get("metrics/get-history", **params, **({"page_token": token} if token else {}))
        steps += [m["step"] for m in page["metrics"]]
        pages += 1
        token = page.get("next_page_token")
        if not token:
            break
    assert steps == list(range(30))
    assert pages == 5
    assert api.get("metrics/get-history", run_id=run_a, metric_key="missing") == {}
    assert api.error("GET", "metrics/get-history",
                     {"run_id": run_a, "metric_key": "m", "max_results": 0})

    sampled = api.get("metrics/get-history-bulk-interval", run_ids=[run_a, run_b],
                      metric_key="m", max_results=5)["metrics"]
    by_run: dict[str, list[int]] = {}
    for metric in sampled:
        by_run.setdefault(metric["run_id"], []).append(metric["step"])
    assert by_run[run_b] == [0, 1, 2]
    assert len(by_run[run_a]) == 5
    assert by_run[run_a][0] == 0
    assert by_run[run_a][-1] == 29
    assert by_run[run_a] == sorted(by_run[run_a])
    last = api.get("metrics/get-history-bulk-interval", run_ids=[run_a], metric_key="m",
                   max_results=1)["metrics"]
    assert [m["step"] for m in last] == [29]
    window = api.get("metrics/get-history-bulk-interval", run_ids=[run_a], metric_key="m",
                     start_step=10, end_step=12)["metrics"]
    assert [m["step"] for m in window] == [10, 11, 12]
    assert "both must be specified" in api.error(
        "GET", "metrics/get-history-bulk-interval",
        {"run_ids": [run_a], "metric_key": "m", "start_step": 1})
    assert "at most 100 run_ids" in api.error(
        "GET", "metrics/get-history-bulk-interval",
        {"run_ids": [run_a] * 101, "metric_key": "m"})
    assert api.error("GET", "metrics/get-history-bulk-interval",
                     {"run_ids": ["nope"], "metric_key": "m"}, 404) == "Run with id=nope not found"
