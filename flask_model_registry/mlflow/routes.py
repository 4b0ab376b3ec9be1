"""The MLflow-compatible API as one declared table: method, path, view and permission.

Paths are relative to ``<tracking URI>/api/<version>/mlflow/`` (or ``mlflow-artifacts/``), and
every route is also served under ``ajax-api/`` as MLflow does. Views are named
``"<module>.<function>"`` within :mod:`flask_model_registry.mlflow`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..hooks import Permission

__all__ = ["ROUTES", "Route"]

READ_EXP = Permission.READ_MODEL_EXPERIMENTS
WRITE_EXP = Permission.WRITE_MODEL_EXPERIMENTS
READ_REG = Permission.READ_MODEL_REGISTRY
WRITE_REG = Permission.WRITE_MODEL_REGISTRY


@dataclass(frozen=True)
class Route:
    """One MLflow endpoint."""

    method: str
    path: str
    view: str
    permission: Permission | None
    service: str = "mlflow"
    version: str = "2.0"

    @property
    def rules(self) -> tuple[str, ...]:
        """The URL rules under the tracking prefix (``api/`` and ``ajax-api/``)."""
        tail = f"{self.version}/{self.service}/{self.path}"
        return (f"/api/{tail}", f"/ajax-api/{tail}")


def _artifacts(method: str, path: str, view: str, permission: Permission) -> Route:
    return Route(method, path, view, permission, service="mlflow-artifacts")


ROUTES: tuple[Route, ...] = (
    # Experiments
    Route("POST", "experiments/create", "tracking.create_experiment", WRITE_EXP),
    Route("GET", "experiments/get", "tracking.get_experiment", READ_EXP),
    Route("GET", "experiments/get-by-name", "tracking.get_experiment_by_name", READ_EXP),
    Route("POST", "experiments/search", "tracking.search_experiments", READ_EXP),
    Route("GET", "experiments/search", "tracking.search_experiments", READ_EXP),
    Route("POST", "experiments/update", "tracking.update_experiment", WRITE_EXP),
    Route("POST", "experiments/delete", "tracking.delete_experiment", WRITE_EXP),
    Route("POST", "experiments/restore", "tracking.restore_experiment", WRITE_EXP),
    Route("POST", "experiments/set-experiment-tag", "tracking.set_experiment_tag", WRITE_EXP),
    Route("POST", "experiments/delete-experiment-tag", "tracking.delete_experiment_tag", WRITE_EXP),
    # Runs
    Route("POST", "runs/create", "tracking.create_run", WRITE_EXP),
    Route("GET", "runs/get", "tracking.get_run", READ_EXP),
    Route("POST", "runs/update", "tracking.update_run", WRITE_EXP),
    Route("POST", "runs/delete", "tracking.delete_run", WRITE_EXP),
    Route("POST", "runs/restore", "tracking.restore_run", WRITE_EXP),
    Route("POST", "runs/log-metric", "tracking.log_metric", WRITE_EXP),
    Route("POST", "runs/log-parameter", "tracking.log_param", WRITE_EXP),
    Route("POST", "runs/set-tag", "tracking.set_tag", WRITE_EXP),
    Route("POST", "runs/delete-tag", "tracking.delete_tag", WRITE_EXP),
    Route("POST", "runs/log-batch", "tracking.log_batch", WRITE_EXP),
    Route("POST", "runs/log-inputs", "tracking.log_inputs", WRITE_EXP),
    Route("POST", "runs/outputs", "tracking.log_outputs", WRITE_EXP),
    Route("POST", "runs/search", "tracking.search_runs", READ_EXP),
    Route("GET", "metrics/get-history", "tracking.get_metric_history", READ_EXP),
    Route(
        "GET",
        "metrics/get-history-bulk-interval",
        "tracking.get_metric_history_bulk_interval",
        READ_EXP,
    ),
    Route("GET", "artifacts/list", "artifacts.list_run_artifacts", READ_EXP),
    # Logged models (MLflow 3)
    Route("POST", "logged-models", "logged_models.create_logged_model", WRITE_EXP),
    Route("POST", "logged-models/search", "logged_models.search_logged_models", READ_EXP),
    Route("GET", "logged-models/<model_id>", "logged_models.get_logged_model", READ_EXP),
    Route("PATCH", "logged-models/<model_id>", "logged_models.finalize_logged_model", WRITE_EXP),
    Route("DELETE", "logged-models/<model_id>", "logged_models.delete_logged_model", WRITE_EXP),
    Route(
        "PATCH", "logged-models/<model_id>/tags", "logged_models.set_logged_model_tags", WRITE_EXP
    ),
    Route(
        "DELETE",
        "logged-models/<model_id>/tags/<path:tag_key>",
        "logged_models.delete_logged_model_tag",
        WRITE_EXP,
    ),
    Route(
        "POST",
        "logged-models/<model_id>/params",
        "logged_models.log_logged_model_params",
        WRITE_EXP,
    ),
    Route(
        "GET",
        "logged-models/<model_id>/artifacts/directories",
        "logged_models.list_logged_model_artifacts",
        READ_EXP,
    ),
    # Registered models
    Route("POST", "registered-models/create", "registry.create_registered_model", WRITE_REG),
    Route("GET", "registered-models/get", "registry.get_registered_model", READ_REG),
    Route("POST", "registered-models/rename", "registry.rename_registered_model", WRITE_REG),
    Route("PATCH", "registered-models/update", "registry.update_registered_model", WRITE_REG),
    Route("DELETE", "registered-models/delete", "registry.delete_registered_model", WRITE_REG),
    Route("GET", "registered-models/search", "registry.search_registered_models", READ_REG),
    Route(
        "POST", "registered-models/get-latest-versions", "registry.get_latest_versions", READ_REG
    ),
    Route("GET", "registered-models/get-latest-versions", "registry.get_latest_versions", READ_REG),
    Route("POST", "registered-models/set-tag", "registry.set_registered_model_tag", WRITE_REG),
    Route(
        "DELETE", "registered-models/delete-tag", "registry.delete_registered_model_tag", WRITE_REG
    ),
    Route("POST", "registered-models/alias", "registry.set_alias", WRITE_REG),
    Route("DELETE", "registered-models/alias", "registry.delete_alias", WRITE_REG),
    Route("GET", "registered-models/alias", "registry.get_model_version_by_alias", READ_REG),
    # Model versions
    Route("POST", "model-versions/create", "registry.create_model_version", WRITE_REG),
    Route("GET", "model-versions/get", "registry.get_model_version", READ_REG),
    Route("PATCH", "model-versions/update", "registry.update_model_version", WRITE_REG),
    Route("DELETE", "model-versions/delete", "registry.delete_model_version", WRITE_REG),
    Route("GET", "model-versions/search", "registry.search_model_versions", READ_REG),
    Route(
        "GET",
        "model-versions/get-download-uri",
        "registry.get_model_version_download_uri",
        READ_REG,
    ),
    Route("POST", "model-versions/transition-stage", "registry.transition_stage", WRITE_REG),
    Route("POST", "model-versions/set-tag", "registry.set_model_version_tag", WRITE_REG),
    Route("DELETE", "model-versions/delete-tag", "registry.delete_model_version_tag", WRITE_REG),
    # Server capabilities
    Route("GET", "server-info", "tracking.server_info", None, version="3.0"),
    # Proxied artifacts
    _artifacts("GET", "artifacts", "artifacts.list_artifacts", READ_EXP),
    _artifacts("GET", "artifacts/<path:artifact_path>", "artifacts.download_artifact", READ_EXP),
    _artifacts("PUT", "artifacts/<path:artifact_path>", "artifacts.upload_artifact", WRITE_EXP),
    _artifacts("DELETE", "artifacts/<path:artifact_path>", "artifacts.delete_artifact", WRITE_EXP),
)
