"""MLflow 3 logged-model endpoints (``/api/2.0/mlflow/logged-models...``).

``creator_id`` is an int64 in MLflow's protocol, so the creator's user name is kept on the row
but not sent: a string there would make the client fail to parse the whole response.
"""

from __future__ import annotations

import typing as t

from flask_model_registry.mlflow.artifacts import file_info_json
from flask_model_registry.models import LoggedModel, LoggedModelMetric
from flask_model_registry.services import logged_models as service
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.wire import paging, wire_float

__all__ = [
    "create_logged_model",
    "delete_logged_model",
    "delete_logged_model_tag",
    "finalize_logged_model",
    "get_logged_model",
    "list_logged_model_artifacts",
    "log_logged_model_params",
    "logged_model_json",
    "search_logged_models",
    "set_logged_model_tags",
]

Json = dict[str, t.Any]


def _metric_json(metric: LoggedModelMetric, model_id: str) -> Json:
    return {
        "key": metric.key,
        "value": "NaN" if metric.is_nan else wire_float(metric.value),
        "timestamp": metric.timestamp,
        "step": metric.step,
        "model_id": model_id,
        **_set_fields(metric, ("dataset_name", "dataset_digest", "run_id")),
    }


def _set_fields(row: t.Any, names: t.Iterable[str]) -> Json:
    """The fields ``names`` of ``row`` that are set (neither empty nor ``None``)."""
    return {name: value for name in names if (value := getattr(row, name))}


def logged_model_json(
    model: LoggedModel, registrations: t.Sequence[tuple[str, int]] = ()
) -> Json:
    """A ``LoggedModel`` message: ``{"info": {...}, "data": {"params", "metrics"}}``."""
    info: Json = {
        "model_id": model.model_id,
        "experiment_id": str(model.experiment.iid),
        "name": model.name,
        "creation_timestamp_ms": model.creation_timestamp_ms,
        "last_updated_timestamp_ms": model.last_updated_timestamp_ms,
        "artifact_uri": model.artifact_uri,
        "status": model.status,
        "tags": [{"key": tag.key, "value": tag.value} for tag in model.tags],
        "registrations": [{"name": name, "version": str(v)} for name, v in registrations],
        **_set_fields(model, ("model_type", "source_run_id", "status_message")),
    }
    metrics = sorted(model.metrics, key=lambda m: (m.key, m.step, m.timestamp, m.id))
    data: Json = {
        "params": [{"key": p.key, "value": p.value} for p in model.params],
        "metrics": [_metric_json(metric, model.model_id) for metric in metrics],
    }
    return {"info": info, "data": data}


def _one(ctx: ProjectContext, model: LoggedModel) -> Json:
    registrations = service.registrations(ctx, [model])[model.id]
    return {"model": logged_model_json(model, registrations)}


def create_logged_model(ctx: ProjectContext, args: Json) -> Json:
    """``POST logged-models``: a new ``LOGGED_MODEL_PENDING`` model."""
    model = service.create_logged_model(
        ctx,
        args["experiment_id"],
        name=args["name"],
        model_type=args["model_type"],
        source_run_id=args["source_run_id"],
        params=args["params"],
        tags=args["tags"],
    )
    return _one(ctx, model)


def get_logged_model(ctx: ProjectContext, args: Json, model_id: str) -> Json:
    """``GET logged-models/<id>`` (``?allow_deleted=true`` also finds deleted ones)."""
    allow_deleted = args["allow_deleted"].strip().lower() == "true"
    return _one(ctx, service.get_logged_model(ctx, model_id, allow_deleted=allow_deleted))


def finalize_logged_model(ctx: ProjectContext, args: Json, model_id: str) -> Json:
    """``PATCH logged-models/<id>``: set ``LOGGED_MODEL_READY`` or ``..._UPLOAD_FAILED``."""
    return _one(ctx, service.finalize_logged_model(ctx, model_id, args["status"]))


def delete_logged_model(ctx: ProjectContext, model_id: str) -> Json:
    """``DELETE logged-models/<id>``."""
    service.delete_logged_model(ctx, model_id)
    return {}


def set_logged_model_tags(ctx: ProjectContext, args: Json, model_id: str) -> Json:
    """``PATCH logged-models/<id>/tags``: upsert tags."""
    service.set_logged_model_tags(ctx, model_id, args["tags"])
    return {}


def delete_logged_model_tag(ctx: ProjectContext, model_id: str, tag_key: str) -> Json:
    """``DELETE logged-models/<id>/tags/<key>``."""
    service.delete_logged_model_tag(ctx, model_id, tag_key)
    return {}


def log_logged_model_params(ctx: ProjectContext, args: Json, model_id: str) -> Json:
    """``POST logged-models/<id>/params``."""
    service.log_logged_model_params(ctx, model_id, args["params"])
    return {}


def search_logged_models(ctx: ProjectContext, args: Json) -> Json:
    """``POST logged-models/search``: one page, ``next_page_token`` when more exist."""
    page = service.search_logged_models(
        ctx,
        args["experiment_ids"],
        filter_string=args["filter"],
        datasets=args["datasets"],
        **paging(args),
    )
    registrations = service.registrations(ctx, page.models)
    payload: Json = {
        "models": [logged_model_json(m, registrations[m.id]) for m in page.models]
    }
    if page.next_page_token:
        payload["next_page_token"] = page.next_page_token
    return payload


def list_logged_model_artifacts(ctx: ProjectContext, args: Json, model_id: str) -> Json:
    """``GET logged-models/<id>/artifacts/directories?artifact_directory_path=``."""
    listing = service.list_logged_model_artifacts(ctx, model_id, args["artifact_directory_path"])
    payload: Json = {"root_uri": listing.root_uri}
    if listing.files:
        payload["files"] = [file_info_json(info) for info in listing.files]
    return payload
