"""The MLflow-compatible API as one declared table: method, path, view, permission, schema.

Paths are relative to ``<tracking URI>/api/<version>/mlflow/`` (or ``mlflow-artifacts/``), and
every route is also served under ``ajax-api/`` as MLflow does. Endpoints are named
``<module>_<view>_<method>`` and numbered by rule (``_0`` for ``api/``, ``_1`` for ``ajax-api/``).
"""

from __future__ import annotations

from marshmallow import Schema

from ..hooks import Permission
from ..routing import Route, View
from ..schemas import mlflow_logged_models as lm
from ..schemas import mlflow_registry as reg
from ..schemas import mlflow_tracking as tr
from . import artifacts, logged_models, registry, tracking

__all__ = ["ROUTES"]

READ_EXP = Permission.READ_MODEL_EXPERIMENTS
WRITE_EXP = Permission.WRITE_MODEL_EXPERIMENTS
READ_REG = Permission.READ_MODEL_REGISTRY
WRITE_REG = Permission.WRITE_MODEL_REGISTRY


def _route(
    method: str,
    path: str,
    permission: Permission | None,
    view: View,
    schema: Schema | None = None,
    *,
    service: str = "mlflow",
    version: str = "2.0",
) -> Route:
    tail = f"{version}/{service}/{path}"
    module = view.__module__.rpartition(".")[2]
    return Route(
        (method,),
        (f"/api/{tail}", f"/ajax-api/{tail}"),
        view,
        permission,
        schema,
        endpoint=f"{module}_{view.__name__}_{method.lower()}",
    )


def _artifacts(method: str, path: str, permission: Permission, view: View,
               schema: Schema | None = None) -> Route:
    return _route(method, path, permission, view, schema, service="mlflow-artifacts")


_EXPERIMENT_ID = tr.ExperimentIdSchema()
_RUN_ID = tr.RequiredRunIdSchema()
_NAME = reg.NameSchema()
_ALIAS = reg.AliasSchema()
_VERSION = reg.ModelVersionSchema()
_SEARCH = reg.SearchSchema()
_LATEST = reg.GetLatestVersionsSchema()
_SEARCH_EXPERIMENTS = tr.SearchExperimentsSchema()

ROUTES: tuple[Route, ...] = (
    # Experiments
    _route("POST", "experiments/create", WRITE_EXP,
           tracking.create_experiment, tr.CreateExperimentSchema()),
    _route("GET", "experiments/get", READ_EXP, tracking.get_experiment, _EXPERIMENT_ID),
    _route("GET", "experiments/get-by-name", READ_EXP,
           tracking.get_experiment_by_name, tr.GetExperimentByNameSchema()),
    _route("POST", "experiments/search", READ_EXP,
           tracking.search_experiments, _SEARCH_EXPERIMENTS),
    _route("GET", "experiments/search", READ_EXP, tracking.search_experiments, _SEARCH_EXPERIMENTS),
    _route("POST", "experiments/update", WRITE_EXP,
           tracking.update_experiment, tr.UpdateExperimentSchema()),
    _route("POST", "experiments/delete", WRITE_EXP, tracking.delete_experiment, _EXPERIMENT_ID),
    _route("POST", "experiments/restore", WRITE_EXP, tracking.restore_experiment, _EXPERIMENT_ID),
    _route("POST", "experiments/set-experiment-tag", WRITE_EXP,
           tracking.set_experiment_tag, tr.SetExperimentTagSchema()),
    _route("POST", "experiments/delete-experiment-tag", WRITE_EXP,
           tracking.delete_experiment_tag, tr.DeleteExperimentTagSchema()),
    # Runs
    _route("POST", "runs/create", WRITE_EXP, tracking.create_run, tr.CreateRunSchema()),
    _route("GET", "runs/get", READ_EXP, tracking.get_run, tr.RunIdSchema()),
    _route("POST", "runs/update", WRITE_EXP, tracking.update_run, tr.UpdateRunSchema()),
    _route("POST", "runs/delete", WRITE_EXP, tracking.delete_run, _RUN_ID),
    _route("POST", "runs/restore", WRITE_EXP, tracking.restore_run, _RUN_ID),
    _route("POST", "runs/log-metric", WRITE_EXP, tracking.log_metric, tr.LogMetricSchema()),
    _route("POST", "runs/log-parameter", WRITE_EXP, tracking.log_param, tr.LogParamSchema()),
    _route("POST", "runs/set-tag", WRITE_EXP, tracking.set_tag, tr.SetTagSchema()),
    _route("POST", "runs/delete-tag", WRITE_EXP, tracking.delete_tag, tr.DeleteTagSchema()),
    _route("POST", "runs/log-batch", WRITE_EXP, tracking.log_batch, tr.LogBatchSchema()),
    _route("POST", "runs/log-inputs", WRITE_EXP, tracking.log_inputs, tr.LogInputsSchema()),
    _route("POST", "runs/outputs", WRITE_EXP, tracking.log_outputs, tr.LogOutputsSchema()),
    _route("POST", "runs/search", READ_EXP, tracking.search_runs, tr.SearchRunsSchema()),
    _route("GET", "metrics/get-history", READ_EXP,
           tracking.get_metric_history, tr.GetMetricHistorySchema()),
    _route("GET", "metrics/get-history-bulk-interval", READ_EXP,
           tracking.get_metric_history_bulk_interval, tr.GetMetricHistoryBulkIntervalSchema()),
    _route("GET", "artifacts/list", READ_EXP,
           artifacts.list_run_artifacts, lm.RunArtifactListSchema()),
    # Logged models (MLflow 3)
    _route("POST", "logged-models", WRITE_EXP,
           logged_models.create_logged_model, lm.CreateLoggedModelSchema()),
    _route("POST", "logged-models/search", READ_EXP,
           logged_models.search_logged_models, lm.SearchLoggedModelsSchema()),
    _route("GET", "logged-models/<model_id>", READ_EXP,
           logged_models.get_logged_model, lm.GetLoggedModelSchema()),
    _route("PATCH", "logged-models/<model_id>", WRITE_EXP,
           logged_models.finalize_logged_model, lm.FinalizeLoggedModelSchema()),
    _route("DELETE", "logged-models/<model_id>", WRITE_EXP, logged_models.delete_logged_model),
    _route("PATCH", "logged-models/<model_id>/tags", WRITE_EXP,
           logged_models.set_logged_model_tags, lm.SetLoggedModelTagsSchema()),
    _route("DELETE", "logged-models/<model_id>/tags/<path:tag_key>", WRITE_EXP,
           logged_models.delete_logged_model_tag),
    _route("POST", "logged-models/<model_id>/params", WRITE_EXP,
           logged_models.log_logged_model_params, lm.LogLoggedModelParamsSchema()),
    _route("GET", "logged-models/<model_id>/artifacts/directories", READ_EXP,
           logged_models.list_logged_model_artifacts, lm.ListLoggedModelArtifactsSchema()),
    # Registered models
    _route("POST", "registered-models/create", WRITE_REG,
           registry.create_registered_model, reg.CreateRegisteredModelSchema()),
    _route("GET", "registered-models/get", READ_REG, registry.get_registered_model, _NAME),
    _route("POST", "registered-models/rename", WRITE_REG,
           registry.rename_registered_model, reg.RenameRegisteredModelSchema()),
    _route("PATCH", "registered-models/update", WRITE_REG,
           registry.update_registered_model, reg.UpdateRegisteredModelSchema()),
    _route("DELETE", "registered-models/delete", WRITE_REG,
           registry.delete_registered_model, _NAME),
    _route("GET", "registered-models/search", READ_REG, registry.search_registered_models, _SEARCH),
    _route("POST", "registered-models/get-latest-versions", READ_REG,
           registry.get_latest_versions, _LATEST),
    _route("GET", "registered-models/get-latest-versions", READ_REG,
           registry.get_latest_versions, _LATEST),
    _route("POST", "registered-models/set-tag", WRITE_REG,
           registry.set_registered_model_tag, reg.SetRegisteredModelTagSchema()),
    _route("DELETE", "registered-models/delete-tag", WRITE_REG,
           registry.delete_registered_model_tag, reg.DeleteRegisteredModelTagSchema()),
    _route("POST", "registered-models/alias", WRITE_REG, registry.set_alias, reg.SetAliasSchema()),
    _route("DELETE", "registered-models/alias", WRITE_REG, registry.delete_alias, _ALIAS),
    _route("GET", "registered-models/alias", READ_REG, registry.get_model_version_by_alias, _ALIAS),
    # Model versions
    _route("POST", "model-versions/create", WRITE_REG,
           registry.create_model_version, reg.CreateModelVersionSchema()),
    _route("GET", "model-versions/get", READ_REG, registry.get_model_version, _VERSION),
    _route("PATCH", "model-versions/update", WRITE_REG,
           registry.update_model_version, reg.UpdateModelVersionSchema()),
    _route("DELETE", "model-versions/delete", WRITE_REG, registry.delete_model_version, _VERSION),
    _route("GET", "model-versions/search", READ_REG, registry.search_model_versions, _SEARCH),
    _route("GET", "model-versions/get-download-uri", READ_REG,
           registry.get_model_version_download_uri, _VERSION),
    _route("POST", "model-versions/transition-stage", WRITE_REG,
           registry.transition_stage, reg.TransitionStageSchema()),
    _route("POST", "model-versions/set-tag", WRITE_REG,
           registry.set_model_version_tag, reg.SetModelVersionTagSchema()),
    _route("DELETE", "model-versions/delete-tag", WRITE_REG,
           registry.delete_model_version_tag, reg.DeleteModelVersionTagSchema()),
    # Server capabilities
    _route("GET", "server-info", None, tracking.server_info, version="3.0"),
    # Proxied artifacts
    _artifacts("GET", "artifacts", READ_EXP, artifacts.list_artifacts, lm.ArtifactListSchema()),
    _artifacts("GET", "artifacts/<path:artifact_path>", READ_EXP, artifacts.download_artifact),
    _artifacts("PUT", "artifacts/<path:artifact_path>", WRITE_EXP, artifacts.upload_artifact),
    _artifacts("DELETE", "artifacts/<path:artifact_path>", WRITE_EXP, artifacts.delete_artifact),
)
