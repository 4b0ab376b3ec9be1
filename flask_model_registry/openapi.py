"""An OpenAPI 3.1 description of the MLflow-compatible API and the native JSON API.

Paths, methods, permissions and request schemas come from the route tables (:mod:`.mlflow.routes`,
:mod:`.api.routes`); apispec's marshmallow plugin turns the request schemas into query
parameters and JSON bodies. The response shapes of MLflow's protobuf JSON are written out here.
The document is served, without authentication, at ``GET /-/model-registry/openapi.json``.
"""

from __future__ import annotations

import copy
import re
import typing as t
from importlib import metadata

from flask import Blueprint, Flask, Response
from marshmallow import fields

from .api import views as api
from .api.routes import ROUTES as API_ROUTES
from .mlflow import artifacts, logged_models, registry, tracking
from .mlflow.routes import ROUTES as MLFLOW_ROUTES
from .routing import Route, View
from .schemas import base, mlflow_logged_models, mlflow_tracking
from .state import RegistryState
from .wire import json_response

if t.TYPE_CHECKING:
    from apispec import APISpec
    from apispec.ext.marshmallow.openapi import OpenAPIConverter
    from marshmallow import Schema

__all__ = ["BLUEPRINT_NAME", "OPENAPI_PATH", "RESPONSES", "build_openapi", "field_schema",
           "openapi_path", "register_openapi"]

BLUEPRINT_NAME = "model_registry_openapi"
OPENAPI_PATH = "/-/model-registry/openapi.json"

Json = dict[str, t.Any]

# ---------------------------------------------------------------------------------------------
# response shapes


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: Json) -> Json:
    return {"type": "array", "items": items}


def _obj(properties: Json, required: t.Sequence[str] = ()) -> Json:
    schema: Json = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _nullable(schema: Json) -> Json:
    return {"anyOf": [schema, {"type": "null"}]}


STRING: Json = {"type": "string"}
INT64: Json = {"type": "integer", "format": "int64"}
DOUBLE: Json = {"anyOf": [{"type": "number"},
                          {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]}
_KV = _ref("KeyValue")
_PAGE = {"next_page_token": STRING}

COMPONENTS: dict[str, Json] = {
    "Error": _obj({"error_code": STRING, "message": STRING}, ["error_code", "message"]),
    "Empty": {"type": "object"},
    "KeyValue": _obj({"key": STRING, "value": STRING}, ["key"]),
    "Experiment": _obj({
        "experiment_id": STRING, "name": STRING, "artifact_location": STRING,
        "lifecycle_stage": {"type": "string", "enum": ["active", "deleted"]},
        "last_update_time": INT64, "creation_time": INT64, "tags": _array(_KV),
    }, ["experiment_id", "name", "lifecycle_stage"]),
    "RunInfo": _obj({
        "run_id": STRING, "run_uuid": STRING, "run_name": STRING, "experiment_id": STRING,
        "user_id": STRING,
        "status": {"type": "string",
                   "enum": ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]},
        "start_time": INT64, "end_time": INT64, "artifact_uri": STRING,
        "lifecycle_stage": {"type": "string", "enum": ["active", "deleted"]},
    }, ["run_id", "experiment_id", "status", "lifecycle_stage"]),
    "Metric": _obj({
        "key": STRING, "value": DOUBLE, "timestamp": INT64, "step": INT64,
        "dataset_name": STRING, "dataset_digest": STRING, "model_id": STRING, "run_id": STRING,
    }, ["key", "value", "timestamp"]),
    "Run": _obj({
        "info": _ref("RunInfo"),
        "data": _obj({"metrics": _array(_ref("Metric")), "params": _array(_KV),
                      "tags": _array(_KV)}),
        "inputs": _obj({
            "dataset_inputs": _array(_obj({"tags": _array(_KV), "dataset": _obj({
                "name": STRING, "digest": STRING, "source_type": STRING, "source": STRING,
                "schema": STRING, "profile": STRING,
            }, ["name", "digest"])})),
            "model_inputs": _array(_obj({"model_id": STRING}, ["model_id"])),
        }),
        "outputs": _obj({
            "model_outputs": _array(_obj({"model_id": STRING, "step": INT64}, ["model_id"])),
        }),
    }, ["info", "data"]),
    "FileInfo": _obj({"path": STRING, "is_dir": {"type": "boolean"}, "file_size": INT64},
                     ["path", "is_dir"]),
    "LoggedModel": _obj({
        "info": _obj({
            "model_id": STRING, "experiment_id": STRING, "name": STRING,
            "creation_timestamp_ms": INT64, "last_updated_timestamp_ms": INT64,
            "artifact_uri": STRING, "status": STRING, "status_message": STRING,
            "creator_id": STRING, "model_type": STRING, "source_run_id": STRING,
            "tags": _array(_KV),
            "registrations": _array(_obj({"name": STRING, "version": STRING})),
        }, ["model_id", "experiment_id", "name", "status"]),
        "data": _obj({"params": _array(_KV), "metrics": _array(_ref("Metric"))}),
    }, ["info"]),
    "ModelVersion": _obj({
        "name": STRING, "version": STRING, "creation_timestamp": INT64,
        "last_updated_timestamp": INT64, "user_id": STRING, "current_stage": STRING,
        "description": STRING, "source": STRING, "run_id": STRING, "run_link": STRING,
        "status": {"type": "string",
                   "enum": ["PENDING_REGISTRATION", "FAILED_REGISTRATION", "READY"]},
        "status_message": STRING, "tags": _array(_KV), "aliases": _array(STRING),
        "model_id": STRING,
    }, ["name", "version"]),
    "RegisteredModel": _obj({
        "name": STRING, "creation_timestamp": INT64, "last_updated_timestamp": INT64,
        "user_id": STRING, "description": STRING,
        "latest_versions": _array(_ref("ModelVersion")), "tags": _array(_KV),
        "aliases": _array(_obj({"alias": STRING, "version": STRING}, ["alias", "version"])),
    }, ["name"]),
    "NativeModel": _obj({
        "id": INT64, "name": STRING, "description": _nullable(STRING),
        "user_id": _nullable(STRING), "creation_timestamp": INT64,
        "last_updated_timestamp": INT64, "experiment_id": _nullable(INT64),
        "tags": {"type": "object", "additionalProperties": STRING},
        "aliases": {"type": "object", "additionalProperties": STRING},
        "latest_version": _nullable(STRING), "version_count": INT64,
    }, ["id", "name", "version_count"]),
    "NativeCandidate": _obj({
        "run_id": STRING, "name": STRING, "status": STRING, "experiment_id": INT64,
        "experiment_name": STRING, "user_id": _nullable(STRING), "start_time": INT64,
        "end_time": _nullable(INT64), "artifact_uri": STRING,
        "params": {"type": "object", "additionalProperties": STRING},
        "metrics": {"type": "object", "additionalProperties": DOUBLE},
    }, ["run_id"]),
    "NativeVersion": _obj({
        "id": INT64, "model_id": INT64, "model_name": STRING, "version": INT64,
        "semver": STRING, "description": _nullable(STRING), "status": STRING,
        "stage": STRING, "source": STRING, "storage_location": _nullable(STRING),
        "run_id": _nullable(STRING), "logged_model_id": _nullable(STRING),
        "package_id": _nullable(STRING), "package_url": _nullable(STRING),
        "user_id": _nullable(STRING), "creation_timestamp": INT64,
        "last_updated_timestamp": INT64,
        "tags": {"type": "object", "additionalProperties": STRING},
        "aliases": _array(STRING), "candidate": _nullable(_ref("NativeCandidate")),
    }, ["id", "model_id", "semver"]),
}

_FILES = {"files": _array(_ref("FileInfo"))}
_EMPTY = _ref("Empty")
_MODEL_VERSION = _obj({"model_version": _ref("ModelVersion")}, ["model_version"])
_REGISTERED_MODEL = _obj({"registered_model": _ref("RegisteredModel")}, ["registered_model"])
_LOGGED_MODEL = _obj({"model": _ref("LoggedModel")}, ["model"])
_RUN = _obj({"run": _ref("Run")}, ["run"])
_EXPERIMENT = _obj({"experiment": _ref("Experiment")}, ["experiment"])

#: Success body of each view; ``None`` for a binary download, ``"no content"`` for 204, and
#: ``Empty`` for a view not listed.
RESPONSES: dict[View, Json | str | None] = {
    tracking.create_experiment: _obj({"experiment_id": STRING}, ["experiment_id"]),
    tracking.get_experiment: _EXPERIMENT,
    tracking.get_experiment_by_name: _EXPERIMENT,
    tracking.search_experiments: _obj({"experiments": _array(_ref("Experiment")), **_PAGE}),
    tracking.create_run: _RUN,
    tracking.get_run: _RUN,
    tracking.update_run: _obj({"run_info": _ref("RunInfo")}, ["run_info"]),
    tracking.search_runs: _obj({"runs": _array(_ref("Run")), **_PAGE}),
    tracking.get_metric_history: _obj({"metrics": _array(_ref("Metric")), **_PAGE}),
    tracking.get_metric_history_bulk_interval: _obj({"metrics": _array(_ref("Metric"))}),
    tracking.server_info: {"type": "object"},
    artifacts.list_run_artifacts: _obj({"root_uri": STRING, **_FILES, **_PAGE}),
    artifacts.list_artifacts: _obj(_FILES),
    artifacts.download_artifact: None,
    logged_models.create_logged_model: _LOGGED_MODEL,
    logged_models.get_logged_model: _LOGGED_MODEL,
    logged_models.finalize_logged_model: _LOGGED_MODEL,
    logged_models.search_logged_models: _obj({"models": _array(_ref("LoggedModel")), **_PAGE}),
    logged_models.list_logged_model_artifacts: _obj({"root_uri": STRING, **_FILES, **_PAGE}),
    registry.create_registered_model: _REGISTERED_MODEL,
    registry.get_registered_model: _REGISTERED_MODEL,
    registry.rename_registered_model: _REGISTERED_MODEL,
    registry.update_registered_model: _REGISTERED_MODEL,
    registry.search_registered_models: _obj({
        "registered_models": _array(_ref("RegisteredModel")), **_PAGE}),
    registry.get_latest_versions: _obj({"model_versions": _array(_ref("ModelVersion"))}),
    registry.get_model_version_by_alias: _MODEL_VERSION,
    registry.create_model_version: _MODEL_VERSION,
    registry.get_model_version: _MODEL_VERSION,
    registry.update_model_version: _MODEL_VERSION,
    registry.search_model_versions: _obj({"model_versions": _array(_ref("ModelVersion")),
                                          **_PAGE}),
    registry.get_model_version_download_uri: _obj({"artifact_uri": STRING}, ["artifact_uri"]),
    registry.transition_stage: _MODEL_VERSION,
    api.list_models: _obj({"models": _array(_ref("NativeModel")),
                           "next_page": _nullable(INT64)}, ["models"]),
    api.create_model: _ref("NativeModel"),
    api.get_model: _ref("NativeModel"),
    api.update_model: _ref("NativeModel"),
    api.delete_model: "no content",
    api.list_versions: _obj({"versions": _array(_ref("NativeVersion")),
                             "next_page": _nullable(INT64)}, ["versions"]),
    api.create_version: _ref("NativeVersion"),
    api.get_version: _ref("NativeVersion"),
    api.delete_version: "no content",
}

#: Views answering 201 Created.
_CREATED = frozenset({api.create_model, api.create_version})
#: Views reading the raw request body as the file to store.
_RAW_BODY = frozenset({artifacts.upload_artifact})

#: Error statuses every protected operation may answer (MLflow's error JSON).
ERROR_STATUSES = {
    "400": "Invalid parameter, or a resource that already exists (MLflow's convention).",
    "401": "No or invalid credentials.",
    "403": "The caller may read the project but not change it.",
    "404": "No such project (or not visible to the caller) or no such resource.",
    "409": "A conflicting change.",
    "413": "The request body is larger than the server accepts.",
    "503": "The database is temporarily unavailable; retry.",
}


# ---------------------------------------------------------------------------------------------
# request schemas, through apispec's marshmallow plugin

_PAIR = _obj({"key": {"type": "string", "minLength": 1}, "value": STRING}, ["key"])
_LOGGED_MODEL_STATUSES = ["LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY",
                          "LOGGED_MODEL_UPLOAD_FAILED"]


def _enum(values: list[str], nullable: bool) -> Json:
    if nullable:
        return {"type": ["string", "null"], "enum": [*values, None]}
    return {"type": "string", "enum": values}


def _wire_field(converter: OpenAPIConverter, field: fields.Field, ret: Json,  # type: ignore[type-arg]
                **kwargs: t.Any) -> Json:
    """JSON Schema of the wire format's own fields, which apispec cannot know."""
    if isinstance(field, base.RequiredString):
        return {"minLength": 1}
    if isinstance(field, base.Int64):
        return {"minimum": base.INT64_MIN, "maximum": base.INT64_MAX}
    if isinstance(field, base.WireFloat):
        return copy.deepcopy(DOUBLE)
    if isinstance(field, mlflow_tracking.ProtoEnum):
        return _enum(list(field.values.values()), field.allow_none)
    if isinstance(field, mlflow_logged_models.StatusField):
        return _enum(_LOGGED_MODEL_STATUSES, field.allow_none)
    if isinstance(field, mlflow_tracking._MetricList):
        metric = converter.schema2jsonschema(mlflow_tracking._Metric())  # type: ignore[no-untyped-call]
        return _array(metric)
    if isinstance(field, mlflow_tracking._PairList):
        return _array(copy.deepcopy(_PAIR))
    return {}  # fields.Raw and the like: any JSON value, checked by the service


def _inline(schema: type[Schema]) -> t.Any:
    """No component name for any schema: apispec writes each one out where it is used."""
    return None


def _new_spec() -> tuple[APISpec, OpenAPIConverter]:
    """An empty OpenAPI 3.1 document whose marshmallow plugin knows the wire format's fields."""
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin

    plugin = MarshmallowPlugin(schema_name_resolver=_inline)
    spec = APISpec(
        title="Model registry: MLflow-compatible API and native API",
        version=_version(),
        openapi_version="3.1.0",
        plugins=[plugin],
        info={"description": (
            "The MLflow 2.0/3.0 REST API as the mlflow client uses it, under the tracking"
            " URI of a project, and the registry's own JSON API. Every MLflow route is also"
            " served under ajax-api/ instead of api/. Errors are MLflow's"
            " {\"error_code\", \"message\"} JSON."
        )},
    )
    assert plugin.converter is not None
    plugin.map_to_openapi_type(base.Int64, "integer", "int64")  # type: ignore[no-untyped-call]
    plugin.converter.add_attribute_function(_wire_field)  # type: ignore[no-untyped-call]
    return spec, plugin.converter


def field_schema(field: fields.Field) -> Json:  # type: ignore[type-arg]
    """JSON Schema of one request field, as its marshmallow field accepts it."""
    return t.cast(Json, _new_spec()[1].field2property(field))


# ---------------------------------------------------------------------------------------------
# operations

_CONVERTER = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_PATH_TYPES: dict[str, Json] = {"int": {"type": "integer", "minimum": 0}}
_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"privateToken": []},
                                          {"basicAuth": []}]
_BINARY: Json = {"type": "string", "format": "binary"}


def openapi_path(rule: str) -> tuple[str, list[Json]]:
    """A Flask URL rule as an OpenAPI path template and its path parameters."""
    parameters = [
        {"name": m["name"], "in": "path", "required": True,
         "schema": dict(_PATH_TYPES.get(m["converter"] or "", STRING))}
        for m in _CONVERTER.finditer(rule)
    ]
    return _CONVERTER.sub(lambda m: "{" + m["name"] + "}", rule), parameters


def _success(view: View) -> Json:
    body = RESPONSES.get(view, _EMPTY)
    if body == "no content":
        return {"204": {"description": "Done; no body."}}
    if body is None:
        return {"200": {"description": "The file.", "content": {"*/*": {"schema": _BINARY}}}}
    status = "201" if view in _CREATED else "200"
    return {status: {"description": "Success.",
                     "content": {"application/json": {"schema": copy.deepcopy(body)}}}}


def _request(route: Route, method: str, op: Json) -> None:
    """Add the query parameters or the request body ``route`` reads to the operation ``op``."""
    if route.view in _RAW_BODY:
        op["requestBody"] = {"required": True,
                             "content": {"application/octet-stream": {"schema": _BINARY}}}
    elif route.schema is None:
        return
    elif method == "GET":
        op["parameters"].append({"in": "query", "schema": route.schema})
    else:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": route.schema}}}


def _add_operation(spec: APISpec, prefix: str, route: Route, tag: str, operation_id: str
                   ) -> None:
    """Document the API ``route`` (one method, served under ``prefix``) in ``spec``."""
    (method,) = route.methods
    template, path_parameters = openapi_path(prefix + route.rules[0])
    op: Json = {
        "operationId": operation_id,
        "tags": [tag],
        "parameters": path_parameters,
        "responses": {**_success(route.view), **{s: f"Error{s}" for s in ERROR_STATUSES}},
        "x-permission": route.permission.value if route.permission else None,
        "security": _SECURITY if route.permission is not None else [],
    }
    _request(route, method, op)
    if not op["parameters"]:
        del op["parameters"]
    spec.path(template, operations={method.lower(): op})


def _add_components(spec: APISpec) -> None:
    for name, schema in COMPONENTS.items():
        spec.components.schema(name, schema)
    for status, text in ERROR_STATUSES.items():
        spec.components.response(f"Error{status}", {
            "description": text, "content": {"application/json": {"schema": _ref("Error")}}})
    spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "A personal access token (MLFLOW_TRACKING_TOKEN)."})
    spec.components.security_scheme("privateToken",
                                     {"type": "apiKey", "in": "header", "name": "PRIVATE-TOKEN"})
    spec.components.security_scheme("basicAuth", {"type": "http", "scheme": "basic"})


def _version() -> str:
    try:
        return metadata.version("flask-model-registry")
    except metadata.PackageNotFoundError:
        return "0"


def build_openapi(state: RegistryState) -> Json:
    """The OpenAPI 3.1 document of the app's MLflow-compatible and native APIs."""
    settings = state.settings
    spec, _ = _new_spec()
    _add_components(spec)
    for route in MLFLOW_ROUTES:
        tag = "MLflow artifacts" if "/mlflow-artifacts/" in route.rules[0] else "MLflow"
        _add_operation(spec, settings.mlflow_prefix, route, tag, route.endpoint)
    for route in API_ROUTES:
        operation_id = f"api_{route.endpoint}_{route.methods[0].lower()}"
        _add_operation(spec, settings.api_prefix, route, "Native API", operation_id)
    return spec.to_dict()


def make_blueprint(state: RegistryState) -> Blueprint:
    """The blueprint serving the document; it is the same for every project."""
    bp = Blueprint(BLUEPRINT_NAME, __name__)
    cached: list[Json] = []

    def openapi() -> Response:
        if not cached:
            cached.append(build_openapi(state))
        return json_response(cached[0])

    bp.add_url_rule(OPENAPI_PATH, "openapi", openapi, methods=["GET"])
    return bp


def register_openapi(app_or_bp: Flask | Blueprint, state: RegistryState) -> None:
    """Serve the document at ``GET /-/model-registry/openapi.json`` (public)."""
    app_or_bp.register_blueprint(make_blueprint(state))
    state.endpoint_permissions[f"{BLUEPRINT_NAME}.openapi"] = None
