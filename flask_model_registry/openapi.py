"""An OpenAPI 3.1 description of the MLflow-compatible API and the native JSON API.

Paths, methods and permissions come from the route tables (:mod:`.mlflow.routes`,
:mod:`.api.routes`), request parameters and bodies from the marshmallow request schemas; the
response shapes of MLflow's protobuf JSON are written out here. The document is served,
without authentication, at ``GET /-/model-registry/openapi.json``.
"""

from __future__ import annotations

import re
import typing as t
from importlib import metadata

from flask import Blueprint, Flask, Response
from marshmallow import RAISE, Schema, fields, validate

from .api.routes import ROUTES as API_ROUTES
from .hooks import Permission
from .mlflow._wire import json_response
from .mlflow.routes import ROUTES as MLFLOW_ROUTES
from .mlflow.routes import Route
from .schemas import base, mlflow_logged_models, mlflow_registry, mlflow_tracking, native
from .state import RegistryState

__all__ = ["BLUEPRINT_NAME", "OPENAPI_PATH", "REQUEST_SCHEMAS", "build_openapi",
           "register_openapi"]

BLUEPRINT_NAME = "model_registry_openapi"
OPENAPI_PATH = "/-/model-registry/openapi.json"

Json = dict[str, t.Any]
SchemaClass = type[Schema]
_tr, _reg, _lm, _nat = mlflow_tracking, mlflow_registry, mlflow_logged_models, native

#: The request schema each view parses (``None``: the view reads no parameters).
REQUEST_SCHEMAS: dict[str, SchemaClass | None] = {
    "tracking.create_experiment": _tr.CreateExperimentSchema,
    "tracking.get_experiment": _tr.ExperimentIdSchema,
    "tracking.get_experiment_by_name": _tr.GetExperimentByNameSchema,
    "tracking.search_experiments": _tr.SearchExperimentsSchema,
    "tracking.update_experiment": _tr.UpdateExperimentSchema,
    "tracking.delete_experiment": _tr.ExperimentIdSchema,
    "tracking.restore_experiment": _tr.ExperimentIdSchema,
    "tracking.set_experiment_tag": _tr.SetExperimentTagSchema,
    "tracking.delete_experiment_tag": _tr.DeleteExperimentTagSchema,
    "tracking.create_run": _tr.CreateRunSchema,
    "tracking.get_run": _tr.RunIdSchema,
    "tracking.update_run": _tr.UpdateRunSchema,
    "tracking.delete_run": _tr.RequiredRunIdSchema,
    "tracking.restore_run": _tr.RequiredRunIdSchema,
    "tracking.log_metric": _tr.LogMetricSchema,
    "tracking.log_param": _tr.LogParamSchema,
    "tracking.set_tag": _tr.SetTagSchema,
    "tracking.delete_tag": _tr.DeleteTagSchema,
    "tracking.log_batch": _tr.LogBatchSchema,
    "tracking.log_inputs": _tr.LogInputsSchema,
    "tracking.log_outputs": _tr.LogOutputsSchema,
    "tracking.search_runs": _tr.SearchRunsSchema,
    "tracking.get_metric_history": _tr.GetMetricHistorySchema,
    "tracking.get_metric_history_bulk_interval": _tr.GetMetricHistoryBulkIntervalSchema,
    "tracking.server_info": None,
    "artifacts.list_run_artifacts": _lm.RunArtifactListSchema,
    "artifacts.list_artifacts": _lm.ArtifactListSchema,
    "artifacts.download_artifact": None,
    "artifacts.upload_artifact": None,
    "artifacts.delete_artifact": None,
    "logged_models.create_logged_model": _lm.CreateLoggedModelSchema,
    "logged_models.search_logged_models": _lm.SearchLoggedModelsSchema,
    "logged_models.get_logged_model": _lm.GetLoggedModelSchema,
    "logged_models.finalize_logged_model": _lm.FinalizeLoggedModelSchema,
    "logged_models.delete_logged_model": None,
    "logged_models.set_logged_model_tags": _lm.SetLoggedModelTagsSchema,
    "logged_models.delete_logged_model_tag": None,
    "logged_models.log_logged_model_params": _lm.LogLoggedModelParamsSchema,
    "logged_models.list_logged_model_artifacts": _lm.ListLoggedModelArtifactsSchema,
    "registry.create_registered_model": _reg.CreateRegisteredModelSchema,
    "registry.get_registered_model": _reg.NameSchema,
    "registry.rename_registered_model": _reg.RenameRegisteredModelSchema,
    "registry.update_registered_model": _reg.UpdateRegisteredModelSchema,
    "registry.delete_registered_model": _reg.NameSchema,
    "registry.search_registered_models": _reg.SearchSchema,
    "registry.get_latest_versions": _reg.GetLatestVersionsSchema,
    "registry.set_registered_model_tag": _reg.SetRegisteredModelTagSchema,
    "registry.delete_registered_model_tag": _reg.DeleteRegisteredModelTagSchema,
    "registry.set_alias": _reg.SetAliasSchema,
    "registry.delete_alias": _reg.AliasSchema,
    "registry.get_model_version_by_alias": _reg.AliasSchema,
    "registry.create_model_version": _reg.CreateModelVersionSchema,
    "registry.get_model_version": _reg.ModelVersionSchema,
    "registry.update_model_version": _reg.UpdateModelVersionSchema,
    "registry.delete_model_version": _reg.ModelVersionSchema,
    "registry.search_model_versions": _reg.SearchSchema,
    "registry.get_model_version_download_uri": _reg.ModelVersionSchema,
    "registry.transition_stage": _reg.TransitionStageSchema,
    "registry.set_model_version_tag": _reg.SetModelVersionTagSchema,
    "registry.delete_model_version_tag": _reg.DeleteModelVersionTagSchema,
    "api.list_models": _nat.PageSchema,
    "api.create_model": _nat.ModelCreateSchema,
    "api.get_model": None,
    "api.update_model": _nat.ModelUpdateSchema,
    "api.delete_model": None,
    "api.list_versions": _nat.PageSchema,
    "api.create_version": _nat.VersionCreateSchema,
    "api.get_version": None,
    "api.delete_version": None,
}

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

#: Success body of each view; ``None`` for a binary download, ``"no content"`` for 204.
RESPONSES: dict[str, Json | str | None] = {
    "tracking.create_experiment": _obj({"experiment_id": STRING}, ["experiment_id"]),
    "tracking.get_experiment": _obj({"experiment": _ref("Experiment")}, ["experiment"]),
    "tracking.get_experiment_by_name": _obj({"experiment": _ref("Experiment")},
                                            ["experiment"]),
    "tracking.search_experiments": _obj({"experiments": _array(_ref("Experiment")), **_PAGE}),
    "tracking.create_run": _obj({"run": _ref("Run")}, ["run"]),
    "tracking.get_run": _obj({"run": _ref("Run")}, ["run"]),
    "tracking.update_run": _obj({"run_info": _ref("RunInfo")}, ["run_info"]),
    "tracking.search_runs": _obj({"runs": _array(_ref("Run")), **_PAGE}),
    "tracking.get_metric_history": _obj({"metrics": _array(_ref("Metric")), **_PAGE}),
    "tracking.get_metric_history_bulk_interval": _obj({"metrics": _array(_ref("Metric"))}),
    "tracking.server_info": {"type": "object"},
    "artifacts.list_run_artifacts": _obj({"root_uri": STRING, **_FILES, **_PAGE}),
    "artifacts.list_artifacts": _obj(_FILES),
    "artifacts.download_artifact": None,
    "logged_models.create_logged_model": _obj({"model": _ref("LoggedModel")}, ["model"]),
    "logged_models.get_logged_model": _obj({"model": _ref("LoggedModel")}, ["model"]),
    "logged_models.finalize_logged_model": _obj({"model": _ref("LoggedModel")}, ["model"]),
    "logged_models.search_logged_models": _obj({"models": _array(_ref("LoggedModel")),
                                                **_PAGE}),
    "logged_models.list_logged_model_artifacts": _obj({"root_uri": STRING, **_FILES,
                                                       **_PAGE}),
    "registry.create_registered_model": _obj({"registered_model": _ref("RegisteredModel")},
                                             ["registered_model"]),
    "registry.get_registered_model": _obj({"registered_model": _ref("RegisteredModel")},
                                          ["registered_model"]),
    "registry.rename_registered_model": _obj({"registered_model": _ref("RegisteredModel")},
                                             ["registered_model"]),
    "registry.update_registered_model": _obj({"registered_model": _ref("RegisteredModel")},
                                             ["registered_model"]),
    "registry.search_registered_models": _obj({
        "registered_models": _array(_ref("RegisteredModel")), **_PAGE}),
    "registry.get_latest_versions": _obj({"model_versions": _array(_ref("ModelVersion"))}),
    "registry.get_model_version_by_alias": _obj({"model_version": _ref("ModelVersion")},
                                                ["model_version"]),
    "registry.create_model_version": _obj({"model_version": _ref("ModelVersion")},
                                           ["model_version"]),
    "registry.get_model_version": _obj({"model_version": _ref("ModelVersion")},
                                       ["model_version"]),
    "registry.update_model_version": _obj({"model_version": _ref("ModelVersion")},
                                          ["model_version"]),
    "registry.search_model_versions": _obj({"model_versions": _array(_ref("ModelVersion")),
                                            **_PAGE}),
    "registry.get_model_version_download_uri": _obj({"artifact_uri": STRING},
                                                    ["artifact_uri"]),
    "registry.transition_stage": _obj({"model_version": _ref("ModelVersion")},
                                      ["model_version"]),
    "api.list_models": _obj({"models": _array(_ref("NativeModel")),
                             "next_page": _nullable(INT64)}, ["models"]),
    "api.create_model": _ref("NativeModel"),
    "api.get_model": _ref("NativeModel"),
    "api.update_model": _ref("NativeModel"),
    "api.delete_model": "no content",
    "api.list_versions": _obj({"versions": _array(_ref("NativeVersion")),
                               "next_page": _nullable(INT64)}, ["versions"]),
    "api.create_version": _ref("NativeVersion"),
    "api.get_version": _ref("NativeVersion"),
    "api.delete_version": "no content",
}

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
# request schemas to JSON Schema

def _validators(field: fields.Field) -> Json:  # type: ignore[type-arg]
    extra: Json = {}
    for validator in getattr(field, "validators", []):
        if isinstance(validator, validate.Range):
            if validator.min is not None:
                extra["minimum"] = validator.min
            if validator.max is not None:
                extra["maximum"] = validator.max
        elif isinstance(validator, validate.Length) and validator.min:
            extra["minLength"] = validator.min
    return extra


def field_schema(field: fields.Field) -> Json:  # type: ignore[type-arg]
    """JSON Schema of one request field, as its marshmallow field accepts it."""
    schema = _field_schema(field)
    schema.update(_validators(field))
    if getattr(field, "allow_none", False) and not isinstance(field, fields.List):
        schema = _nullable(schema)
    return schema


def _field_schema(field: fields.Field) -> Json:  # type: ignore[type-arg]
    if isinstance(field, base.RequiredString):
        return {"type": "string", "minLength": 1}
    if isinstance(field, fields.String):
        return {"type": "string"}
    if isinstance(field, base.Int64):
        return {"type": "integer", "format": "int64", "minimum": base.INT64_MIN,
                "maximum": base.INT64_MAX}
    if isinstance(field, base.WireFloat):
        return dict(DOUBLE)
    if isinstance(field, fields.Boolean):
        return {"type": "boolean"}
    if isinstance(field, fields.Integer):
        return {"type": "integer"}
    if isinstance(field, mlflow_tracking.ProtoEnum):
        return {"type": "string", "enum": list(field.values.values())}
    if isinstance(field, mlflow_logged_models.StatusField):
        return {"type": "string", "enum": ["LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY",
                                           "LOGGED_MODEL_UPLOAD_FAILED"]}
    if isinstance(field, fields.List):
        return _array(field_schema(field.inner))
    if isinstance(field, fields.Nested):
        return object_schema(_schema_class(field.nested))
    if isinstance(field, fields.Dict):
        return {"type": "object", "additionalProperties": {"type": "string"}}
    return _custom_field_schema(field)


def _custom_field_schema(field: fields.Field) -> Json:  # type: ignore[type-arg]
    if isinstance(field, mlflow_tracking._MetricList):
        return _array(object_schema(mlflow_tracking._Metric))
    if isinstance(field, mlflow_tracking._PairList):
        return _array(_obj({"key": {"type": "string", "minLength": 1}, "value": STRING},
                           ["key"]))
    return {}  # fields.Raw and the like: any JSON value, checked by the service


def _schema_class(nested: t.Any) -> SchemaClass:
    """The schema class of a ``Nested`` field (given as a class, an instance or a callable)."""
    if not isinstance(nested, (type, Schema)) and callable(nested):
        nested = nested()
    return t.cast(SchemaClass, nested if isinstance(nested, type) else type(nested))


def _fields(schema_class: SchemaClass) -> list[tuple[str, fields.Field]]:  # type: ignore[type-arg]
    schema = schema_class()
    return [(f.data_key or name, f) for name, f in schema.fields.items() if not f.dump_only]


def object_schema(schema_class: SchemaClass) -> Json:
    """JSON Schema of a request body read with ``schema_class``."""
    properties = {name: field_schema(f) for name, f in _fields(schema_class)}
    required = [name for name, f in _fields(schema_class) if f.required]
    schema = _obj(properties, required)
    if schema_class().unknown == RAISE:
        schema["additionalProperties"] = False
    return schema


def query_parameters(schema_class: SchemaClass) -> list[Json]:
    """Query parameters of a GET request read with ``schema_class``."""
    parameters = []
    for name, f in _fields(schema_class):
        parameter: Json = {"name": name, "in": "query", "required": bool(f.required),
                           "schema": field_schema(f)}
        if isinstance(f, fields.List):
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters


# ---------------------------------------------------------------------------------------------
# operations

_CONVERTER = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_PATH_TYPES: dict[str, Json] = {"int": {"type": "integer", "minimum": 0}}
_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"privateToken": []},
                                          {"basicAuth": []}]


def openapi_path(rule: str) -> tuple[str, list[Json]]:
    """A Flask URL rule as an OpenAPI path template and its path parameters."""
    parameters = [
        {"name": m["name"], "in": "path", "required": True,
         "schema": dict(_PATH_TYPES.get(m["converter"] or "", STRING))}
        for m in _CONVERTER.finditer(rule)
    ]
    return _CONVERTER.sub(lambda m: "{" + m["name"] + "}", rule), parameters


def _success(view: str) -> Json:
    body = RESPONSES.get(view, _EMPTY)
    if body == "no content":
        return {"204": {"description": "Done; no body."}}
    if body is None:
        return {"200": {"description": "The file.",
                        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}}
    status = "201" if view in ("api.create_model", "api.create_version") else "200"
    return {status: {"description": "Success.",
                     "content": {"application/json": {"schema": body}}}}


def _error_responses() -> Json:
    return {
        f"Error{status}": {"description": text,
                           "content": {"application/json": {"schema": _ref("Error")}}}
        for status, text in ERROR_STATUSES.items()
    }


def _errors() -> Json:
    return {status: {"$ref": f"#/components/responses/Error{status}"} for status in ERROR_STATUSES}


def _request(view: str, method: str, op: Json) -> None:
    """Add the query parameters or the request body ``view`` reads to the operation ``op``."""
    schema_class = REQUEST_SCHEMAS.get(view)
    if view == "artifacts.upload_artifact":
        op["requestBody"] = {"required": True, "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    elif schema_class is None:
        return
    elif method == "GET":
        op["parameters"].extend(query_parameters(schema_class))
    else:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": object_schema(schema_class)}}}


def operation(view: str, method: str, permission: Permission | None, path_parameters: list[Json],
              tag: str) -> Json:
    """One OpenAPI operation of ``view``."""
    op: Json = {
        "operationId": f"{view.replace('.', '_')}_{method.lower()}",
        "tags": [tag],
        "parameters": list(path_parameters),
        "responses": {**_success(view), **_errors()},
        "x-permission": permission.value if permission else None,
    }
    if view not in REQUEST_SCHEMAS:
        op["description"] = "Request parameters are not described yet."
    op["security"] = _SECURITY if permission is not None else []
    _request(view, method, op)
    if not op["parameters"]:
        del op["parameters"]
    return op


def _mlflow_paths(prefix: str, routes: t.Iterable[Route]) -> Json:
    paths: Json = {}
    for route in routes:
        template, parameters = openapi_path(prefix + route.rules[0])
        tag = "MLflow artifacts" if route.service == "mlflow-artifacts" else "MLflow"
        op = operation(route.view, route.method, route.permission, parameters, tag)
        paths.setdefault(template, {})[route.method.lower()] = op
    return paths


def _native_paths(prefix: str) -> Json:
    paths: Json = {}
    for route in API_ROUTES:
        template, parameters = openapi_path(prefix + route.rule)
        op = operation(f"api.{route.endpoint}", route.method, route.permission, parameters,
                       "Native API")
        paths.setdefault(template, {})[route.method.lower()] = op
    return paths


def _version() -> str:
    try:
        return metadata.version("flask-model-registry")
    except metadata.PackageNotFoundError:
        return "0"


def build_openapi(state: RegistryState) -> Json:
    """The OpenAPI 3.1 document of the app's MLflow-compatible and native APIs."""
    settings = state.settings
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Model registry: MLflow-compatible API and native API",
            "version": _version(),
            "description": (
                "The MLflow 2.0/3.0 REST API as the mlflow client uses it, under the tracking"
                " URI of a project, and the registry's own JSON API. Every MLflow route is also"
                " served under ajax-api/ instead of api/. Errors are MLflow's"
                " {\"error_code\", \"message\"} JSON."
            ),
        },
        "paths": {**_mlflow_paths(settings.mlflow_prefix, MLFLOW_ROUTES),
                  **_native_paths(settings.api_prefix)},
        "components": {
            "schemas": COMPONENTS,
            "responses": _error_responses(),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "A personal access token (MLFLOW_TRACKING_TOKEN)."},
                "privateToken": {"type": "apiKey", "in": "header", "name": "PRIVATE-TOKEN"},
                "basicAuth": {"type": "http", "scheme": "basic"},
            },
        },
    }


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
