"""A valid request for every registry endpoint, built on a small data set of one project.

``SAMPLES`` maps an endpoint's short name (see :func:`short_name`) to a function that takes a
:class:`Factory` and returns a :class:`Sample`. Requests that consume data (deletes, renames,
restores) ask the factory for fresh objects, so every call of a sample succeeds on its own.
The authorization matrix, the cross-project test and the hostile-input test share the table.
"""

from __future__ import annotations

import itertools
import re
import typing as t
from dataclasses import dataclass, field

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from flask_model_registry.web.csrf import FIELD as CSRF_FIELD
from flask_model_registry.web.csrf import SESSION_KEY as CSRF_SESSION_KEY

Json = dict[str, t.Any]
CSRF_VALUE = "matrix-csrf-token"


@dataclass
class Sample:
    """One request: method, URL values (besides ``project_id``) and payload."""

    method: str
    values: dict[str, t.Any] = field(default_factory=dict)
    json: Json | None = None
    query: dict[str, t.Any] | None = None
    data: bytes | None = None
    form: dict[str, str] | None = None
    ok: int = 200
    #: Whether the request names an object of the project (a cross-project probe refuses it).
    names_object: bool = True


def short_name(endpoint: str) -> str:
    """``model_registry_mlflow.tracking_get_run_get_1`` -> ``mlflow.tracking_get_run_get``."""
    blueprint, _, name = endpoint.partition(".")
    if blueprint == "model_registry_mlflow":
        name = re.sub(r"_\d+$", "", name)
    return f"{blueprint.removeprefix('model_registry_')}.{name}"


class Factory:
    """Creates objects in one project through the API, as a developer of that project."""

    _counter = itertools.count(1)

    def __init__(self, client: FlaskClient, project_id: int, headers: dict[str, str],
                 tag: str) -> None:
        self.client = client
        self.project_id = project_id
        self.headers = headers
        self.tag = tag
        self.mlflow_base = f"/api/v4/projects/{project_id}/ml/mlflow/api/2.0/mlflow"
        self.artifacts_base = (
            f"/api/v4/projects/{project_id}/ml/mlflow/api/2.0/mlflow-artifacts/artifacts"
        )
        self.native_base = f"/api/v4/projects/{project_id}/ml"
        self._build()

    # -- plumbing ------------------------------------------------------------------------------

    def name(self, kind: str) -> str:
        return f"{self.tag}-{kind}-{next(self._counter)}"

    def call(self, method: str, path: str, body: Json | None = None,
             query: dict[str, t.Any] | None = None, expected: int = 200) -> Json:
        if method == "GET":
            response = self.client.get(self.mlflow_base + path, query_string=query or {},
                                       headers=self.headers)
        else:
            response = self.client.open(self.mlflow_base + path, method=method, json=body or {},
                                        headers=self.headers)
        assert response.status_code == expected, (path, response.get_data(as_text=True)[:500])
        return t.cast(Json, response.get_json() or {})

    def native(self, method: str, path: str, body: Json | None = None,
               expected: int = 200) -> Json:
        response = self.client.open(self.native_base + path, method=method, json=body,
                                    headers=self.headers)
        assert response.status_code == expected, (path, response.get_data(as_text=True)[:500])
        return t.cast(Json, response.get_json() or {})

    def upload(self, store_path: str, content: bytes = b"hello\n") -> None:
        response = self.client.put(f"{self.artifacts_base}/{store_path}", data=content,
                                   headers=self.headers)
        assert response.status_code == 200, response.get_data(as_text=True)

    # -- fresh objects -------------------------------------------------------------------------

    def experiment(self) -> str:
        return str(self.call("POST", "/experiments/create",
                             {"name": self.name("exp")})["experiment_id"])

    def deleted_experiment(self) -> str:
        experiment_id = self.experiment()
        self.call("POST", "/experiments/delete", {"experiment_id": experiment_id})
        return experiment_id

    def run(self, experiment_id: str | None = None) -> Json:
        body = {"experiment_id": experiment_id or self.experiment_id, "start_time": 1}
        return t.cast(Json, self.call("POST", "/runs/create", body)["run"]["info"])

    def deleted_run(self) -> str:
        run_id = str(self.run()["run_id"])
        self.call("POST", "/runs/delete", {"run_id": run_id})
        return run_id

    def run_tag(self) -> str:
        key = self.name("tag")
        self.call("POST", "/runs/set-tag", {"run_id": self.run_id, "key": key, "value": "v"})
        return key

    def experiment_tag(self) -> str:
        key = self.name("etag")
        self.call("POST", "/experiments/set-experiment-tag",
                  {"experiment_id": self.experiment_id, "key": key, "value": "v"})
        return key

    def model(self) -> tuple[str, int]:
        """A registered model: its name and its id in the native API."""
        created = self.native("POST", "/models", {"name": self.name("model")}, expected=201)
        return str(created["name"]), int(created["id"])

    def version(self, model_name: str | None = None) -> tuple[str, str]:
        """A new version of ``model_name`` (default: the shared model): number and semver."""
        created = self.call("POST", "/model-versions/create", {
            "name": model_name or self.model_name,
            "source": self.run_root_uri + "/model",
            "run_id": self.run_id,
        })["model_version"]
        tags = {tag["key"]: tag["value"] for tag in created.get("tags", [])}
        return str(created["version"]), tags["model_registry.version"]

    def model_tag(self) -> str:
        key = self.name("mtag")
        self.call("POST", "/registered-models/set-tag",
                  {"name": self.model_name, "key": key, "value": "v"})
        return key

    def version_tag(self) -> str:
        key = self.name("vtag")
        self.call("POST", "/model-versions/set-tag", {
            "name": self.model_name, "version": self.version_number, "key": key, "value": "v",
        })
        return key

    def alias(self) -> str:
        alias = self.name("alias").replace("-", "_")
        self.call("POST", "/registered-models/alias", {
            "name": self.model_name, "alias": alias, "version": self.version_number,
        })
        return alias

    def logged_model_info(self) -> Json:
        """A new logged model of the shared run: its ``info``."""
        return t.cast(Json, self.call("POST", "/logged-models", {
            "experiment_id": self.experiment_id, "name": self.name("lm"),
            "source_run_id": self.run_id,
        })["model"]["info"])

    def logged_model(self) -> str:
        return str(self.logged_model_info()["model_id"])

    def logged_model_tag(self) -> str:
        key = self.name("lmtag")
        response = self.client.patch(
            f"{self.mlflow_base}/logged-models/{self.logged_model_id}/tags",
            json={"tags": [{"key": key, "value": "v"}]}, headers=self.headers,
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return key

    def artifact(self) -> str:
        """A fresh file in the shared run; its store path."""
        path = f"{self.run_root}/fresh/{self.name('file')}.txt"
        self.upload(path)
        return path

    # -- the shared data set -------------------------------------------------------------------

    def _build(self) -> None:
        self.experiment_name = self.name("experiment")
        self.experiment_id = str(self.call("POST", "/experiments/create", {
            "name": self.experiment_name, "tags": [{"key": "kind", "value": "shared"}],
        })["experiment_id"])
        info = self.run(self.experiment_id)
        self.run_id = str(info["run_id"])
        self.run_root_uri = str(info["artifact_uri"])
        self.run_root = self.run_root_uri.removeprefix("mlflow-artifacts:/")
        self.call("POST", "/runs/log-batch", {
            "run_id": self.run_id,
            "metrics": [{"key": "loss", "value": 0.5, "timestamp": 1, "step": s}
                        for s in range(3)],
            "params": [{"key": "lr", "value": "0.1"}],
            "tags": [{"key": "team", "value": "a"}],
        })
        self.upload(f"{self.run_root}/data/sample.txt")
        self.upload(f"{self.run_root}/model/MLmodel", b"flavors: {}\n")
        self.second_run_id = str(self.run(self.experiment_id)["run_id"])
        logged = self.logged_model_info()
        self.logged_model_id = str(logged["model_id"])
        self.upload(f"{logged['artifact_uri'].removeprefix('mlflow-artifacts:/')}/MLmodel",
                    b"flavors: {}\n")
        self.model_name, self.model_pk = self.model()
        self.version_number, self.semver = self.version()
        self.alias_name = self.alias()


def _csrf_form(form: dict[str, str]) -> dict[str, str]:
    return {**form, CSRF_FIELD: CSRF_VALUE}


def prepare_csrf(client: FlaskClient) -> None:
    """Put the known CSRF token into ``client``'s session, as a rendered form would."""
    with client.session_transaction() as session:
        session[CSRF_SESSION_KEY] = CSRF_VALUE


# ---------------------------------------------------------------------------------------------
# the table


def _q(**query: t.Any) -> t.Callable[[Factory], Sample]:
    return lambda f: Sample("GET", query=query)


SampleFn = t.Callable[[Factory], Sample]


def _mlflow_samples() -> dict[str, SampleFn]:
    return {
        # experiments
        "tracking_create_experiment_post": lambda f: Sample(
            "POST", json={"name": f.name("new-exp")}, names_object=False),
        "tracking_get_experiment_get": lambda f: Sample(
            "GET", query={"experiment_id": f.experiment_id}),
        "tracking_get_experiment_by_name_get": lambda f: Sample(
            "GET", query={"experiment_name": f.experiment_name}),
        "tracking_search_experiments_post": lambda f: Sample(
            "POST", json={"max_results": 10}, names_object=False),
        "tracking_search_experiments_get": lambda f: Sample(
            "GET", query={"max_results": 10}, names_object=False),
        "tracking_update_experiment_post": lambda f: Sample(
            "POST", json={"experiment_id": f.experiment(), "new_name": f.name("renamed")}),
        "tracking_delete_experiment_post": lambda f: Sample(
            "POST", json={"experiment_id": f.experiment()}),
        "tracking_restore_experiment_post": lambda f: Sample(
            "POST", json={"experiment_id": f.deleted_experiment()}),
        "tracking_set_experiment_tag_post": lambda f: Sample("POST", json={
            "experiment_id": f.experiment_id, "key": "k", "value": "v"}),
        "tracking_delete_experiment_tag_post": lambda f: Sample("POST", json={
            "experiment_id": f.experiment_id, "key": f.experiment_tag()}),
        # runs
        "tracking_create_run_post": lambda f: Sample(
            "POST", json={"experiment_id": f.experiment_id, "start_time": 1}),
        "tracking_get_run_get": lambda f: Sample("GET", query={"run_id": f.run_id}),
        "tracking_update_run_post": lambda f: Sample(
            "POST", json={"run_id": f.run_id, "status": "RUNNING"}),
        "tracking_delete_run_post": lambda f: Sample(
            "POST", json={"run_id": str(f.run()["run_id"])}),
        "tracking_restore_run_post": lambda f: Sample("POST", json={"run_id": f.deleted_run()}),
        "tracking_log_metric_post": lambda f: Sample("POST", json={
            "run_id": f.run_id, "key": "loss", "value": 0.1, "timestamp": 2, "step": 9}),
        "tracking_log_param_post": lambda f: Sample(
            "POST", json={"run_id": f.run_id, "key": f.name("param"), "value": "1"}),
        "tracking_set_tag_post": lambda f: Sample(
            "POST", json={"run_id": f.run_id, "key": "note", "value": "x"}),
        "tracking_delete_tag_post": lambda f: Sample(
            "POST", json={"run_id": f.run_id, "key": f.run_tag()}),
        "tracking_log_batch_post": lambda f: Sample("POST", json={
            "run_id": f.run_id,
            "metrics": [{"key": "acc", "value": 1, "timestamp": 1, "step": 1}],
            "params": [{"key": f.name("bp"), "value": "2"}],
            "tags": [{"key": "batch", "value": "yes"}],
        }),
        "tracking_log_inputs_post": lambda f: Sample("POST", json={
            "run_id": f.run_id,
            "datasets": [{"dataset": {"name": "ds", "digest": "abc", "source_type": "local",
                                      "source": "{}"},
                          "tags": [{"key": "mlflow.data.context", "value": "train"}]}],
        }),
        "tracking_log_outputs_post": lambda f: Sample("POST", json={
            "run_id": f.run_id, "models": [{"model_id": f.logged_model_id, "step": 1}]}),
        "tracking_search_runs_post": lambda f: Sample(
            "POST", json={"experiment_ids": [f.experiment_id], "max_results": 10}),
        "tracking_get_metric_history_get": lambda f: Sample(
            "GET", query={"run_id": f.run_id, "metric_key": "loss"}),
        "tracking_get_metric_history_bulk_interval_get": lambda f: Sample(
            "GET", query={"run_ids": f.run_id, "metric_key": "loss"}),
        "artifacts_list_run_artifacts_get": lambda f: Sample(
            "GET", query={"run_id": f.run_id, "path": "data"}),
        "tracking_server_info_get": lambda f: Sample("GET", names_object=False),
        # logged models
        "logged_models_create_logged_model_post": lambda f: Sample(
            "POST", json={"experiment_id": f.experiment_id, "name": "lm"}),
        "logged_models_search_logged_models_post": lambda f: Sample(
            "POST", json={"experiment_ids": [f.experiment_id], "max_results": 10}),
        "logged_models_get_logged_model_get": lambda f: Sample(
            "GET", values={"model_id": f.logged_model_id}),
        "logged_models_finalize_logged_model_patch": lambda f: Sample(
            "PATCH", values={"model_id": f.logged_model()},
            json={"status": "LOGGED_MODEL_READY"}),
        "logged_models_delete_logged_model_delete": lambda f: Sample(
            "DELETE", values={"model_id": f.logged_model()}),
        "logged_models_set_logged_model_tags_patch": lambda f: Sample(
            "PATCH", values={"model_id": f.logged_model_id},
            json={"tags": [{"key": "t", "value": "v"}]}),
        "logged_models_delete_logged_model_tag_delete": lambda f: Sample(
            "DELETE", values={"model_id": f.logged_model_id, "tag_key": f.logged_model_tag()}),
        "logged_models_log_logged_model_params_post": lambda f: Sample(
            "POST", values={"model_id": f.logged_model_id},
            json={"params": [{"key": f.name("lmp"), "value": "1"}]}),
        "logged_models_list_logged_model_artifacts_get": lambda f: Sample(
            "GET", values={"model_id": f.logged_model_id}),
        # registered models
        "registry_create_registered_model_post": lambda f: Sample(
            "POST", json={"name": f.name("rm")}, names_object=False),
        "registry_get_registered_model_get": lambda f: Sample(
            "GET", query={"name": f.model_name}),
        "registry_rename_registered_model_post": lambda f: Sample(
            "POST", json={"name": f.model()[0], "new_name": f.name("rm-renamed")}),
        "registry_update_registered_model_patch": lambda f: Sample(
            "PATCH", json={"name": f.model_name, "description": "updated"}),
        "registry_delete_registered_model_delete": lambda f: Sample(
            "DELETE", json={"name": f.model()[0]}),
        "registry_search_registered_models_get": lambda f: Sample(
            "GET", query={"max_results": 10}, names_object=False),
        "registry_get_latest_versions_post": lambda f: Sample(
            "POST", json={"name": f.model_name}),
        "registry_get_latest_versions_get": lambda f: Sample(
            "GET", query={"name": f.model_name}),
        "registry_set_registered_model_tag_post": lambda f: Sample(
            "POST", json={"name": f.model_name, "key": "k", "value": "v"}),
        "registry_delete_registered_model_tag_delete": lambda f: Sample(
            "DELETE", json={"name": f.model_name, "key": f.model_tag()}),
        "registry_set_alias_post": lambda f: Sample("POST", json={
            "name": f.model_name, "alias": "staging", "version": f.version_number}),
        "registry_delete_alias_delete": lambda f: Sample(
            "DELETE", json={"name": f.model_name, "alias": f.alias()}),
        "registry_get_model_version_by_alias_get": lambda f: Sample(
            "GET", query={"name": f.model_name, "alias": f.alias_name}),
        # model versions
        "registry_create_model_version_post": lambda f: Sample("POST", json={
            "name": f.model_name, "source": "s3://bucket/model", "description": "new"}),
        "registry_get_model_version_get": lambda f: Sample(
            "GET", query={"name": f.model_name, "version": f.version_number}),
        "registry_update_model_version_patch": lambda f: Sample("PATCH", json={
            "name": f.model_name, "version": f.version_number, "description": "d"}),
        "registry_delete_model_version_delete": lambda f: Sample(
            "DELETE", json={"name": f.model_name, "version": f.version()[0]}),
        "registry_search_model_versions_get": lambda f: Sample(
            "GET", query={"filter": f"name = '{f.model_name}'", "max_results": 10}),
        "registry_get_model_version_download_uri_get": lambda f: Sample(
            "GET", query={"name": f.model_name, "version": f.version_number}),
        "registry_transition_stage_post": lambda f: Sample("POST", json={
            "name": f.model_name, "version": f.version_number, "stage": "Staging",
            "archive_existing_versions": False}),
        "registry_set_model_version_tag_post": lambda f: Sample("POST", json={
            "name": f.model_name, "version": f.version_number, "key": "k", "value": "v"}),
        "registry_delete_model_version_tag_delete": lambda f: Sample("DELETE", json={
            "name": f.model_name, "version": f.version_number, "key": f.version_tag()}),
        # proxied artifacts
        "artifacts_list_artifacts_get": lambda f: Sample(
            "GET", query={"path": f"{f.run_root}/data"}),
        "artifacts_download_artifact_get": lambda f: Sample(
            "GET", values={"artifact_path": f"{f.run_root}/data/sample.txt"}),
        "artifacts_upload_artifact_put": lambda f: Sample(
            "PUT", values={"artifact_path": f"{f.run_root}/uploads/{f.name('up')}.bin"},
            data=b"\x00\x01payload"),
        "artifacts_delete_artifact_delete": lambda f: Sample(
            "DELETE", values={"artifact_path": f.artifact()}),
        # unknown paths under the tracking URI
        "endpoint_not_found": lambda f: Sample(
            "GET", values={"path": "api/2.0/mlflow/no-such-endpoint"}, ok=404,
            names_object=False),
        "endpoint_not_found_root": lambda f: Sample("GET", ok=404, names_object=False),
    }


def _native_samples() -> dict[str, SampleFn]:
    return {
        "list_models": lambda f: Sample("GET", names_object=False),
        "create_model": lambda f: Sample(
            "POST", json={"name": f.name("native")}, ok=201, names_object=False),
        "get_model": lambda f: Sample("GET", values={"model_id": f.model_pk}),
        "update_model": lambda f: Sample(
            "PATCH", values={"model_id": f.model_pk}, json={"description": "native update"}),
        "delete_model": lambda f: Sample(
            "DELETE", values={"model_id": f.model()[1]}, ok=204),
        "list_versions": lambda f: Sample("GET", values={"model_id": f.model_pk}),
        "create_version": lambda f: Sample(
            "POST", values={"model_id": f.model_pk}, json={"candidate_id": f.run_id}, ok=201),
        "get_version": lambda f: Sample(
            "GET", values={"model_id": f.model_pk, "semver": f.semver}),
        "delete_version": lambda f: Sample(
            "DELETE", values={"model_id": f.model_pk, "semver": f.version()[1]}, ok=204),
    }


def _web_samples() -> dict[str, SampleFn]:
    return {
        "experiments": lambda f: Sample("GET", names_object=False),
        "experiment": lambda f: Sample("GET", values={"iid": int(f.experiment_id)}),
        "delete_experiment": lambda f: Sample(
            "POST", values={"iid": int(f.experiment())}, form=_csrf_form({}), ok=303),
        "candidate": lambda f: Sample("GET", values={"run_id": f.run_id}),
        "download_artifact": lambda f: Sample(
            "GET", values={"run_id": f.run_id, "path": "data/sample.txt"}),
        "download_logged_model_file": lambda f: Sample("GET", values={
            "run_id": f.run_id, "model_id": f.logged_model_id, "path": "MLmodel"}),
        "promote": lambda f: Sample(
            "POST", values={"run_id": f.run_id},
            form=_csrf_form({"model_name": f.model_name}), ok=303),
        "compare": lambda f: Sample(
            "GET", query={"ids": f"{f.run_id},{f.second_run_id}"}),
        "models": lambda f: Sample("GET", names_object=False),
        "model_by_name": lambda f: Sample(
            "GET", query={"name": f.model_name, "version": f.version_number}, ok=303),
        "model": lambda f: Sample("GET", values={"model_id": f.model_pk}),
        "model_version": lambda f: Sample(
            "GET", values={"model_id": f.model_pk, "semver": f.semver}),
        "download_version_file": lambda f: Sample(
            "GET", values={"model_id": f.model_pk, "semver": f.semver, "path": "MLmodel"}),
        "static": lambda f: Sample(
            "GET", values={"filename": "pages.js"}, names_object=False),
    }


def _openapi_samples() -> dict[str, SampleFn]:
    return {"openapi": lambda f: Sample("GET", names_object=False)}


SAMPLES: dict[str, SampleFn] = {
    **{f"mlflow.{k}": v for k, v in _mlflow_samples().items()},
    **{f"api.{k}": v for k, v in _native_samples().items()},
    **{f"web.{k}": v for k, v in _web_samples().items()},
    **{f"openapi.{k}": v for k, v in _openapi_samples().items()},
}


def registry_rules(app: Flask) -> list[Rule]:
    """Every URL rule of the registry's blueprints, in a stable order."""
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("model_registry_")]
    return sorted(rules, key=lambda r: (r.endpoint, r.rule))


def rule_method(rule: Rule) -> str:
    methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    return "GET" if "GET" in methods else methods[0]


def build_url(app: Flask, rule: Rule, project_id: int, sample: Sample) -> str:
    values = dict(sample.values)
    if "project_id" in rule.arguments:
        values["project_id"] = project_id
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        return adapter.build(rule.endpoint, values, method=sample.method,
                             append_unknown=False)


def send(client: FlaskClient, url: str, sample: Sample, headers: dict[str, str]) -> t.Any:
    """Issue ``sample`` against ``url`` with ``headers``."""
    kwargs: dict[str, t.Any] = {"headers": headers}
    if sample.query is not None:
        kwargs["query_string"] = sample.query
    if sample.json is not None:
        kwargs["json"] = sample.json
    elif sample.data is not None:
        kwargs["data"] = sample.data
    elif sample.form is not None:
        kwargs["data"] = sample.form
    elif sample.method in ("POST", "PATCH", "DELETE"):
        kwargs["json"] = {}
    return client.open(url, method=sample.method, **kwargs)
