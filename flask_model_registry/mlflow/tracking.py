"""MLflow tracking endpoints: experiments, runs, params, metrics, tags, inputs and search.

Each view receives its request parsed with its route's schema, calls a service and shapes the
result as MLflow's protobuf JSON (``experiment_id`` as a string, unset fields and empty lists
omitted).
"""

from __future__ import annotations

import typing as t

from flask_model_registry.errors import InvalidParameter
from flask_model_registry.models import Dataset, Experiment, RunMetric
from flask_model_registry.pagination import check_max_results
from flask_model_registry.services import experiments, runs
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.wire import compact, wire_float

Json = dict[str, t.Any]

SEARCH_MAX_RESULTS = 50000
SEARCH_RUNS_DEFAULT = 1000
METRIC_HISTORY_MAX = 25000
BULK_INTERVAL_MAX = 2500

# What ``GET api/3.0/mlflow/server-info`` tells the client about this server; a key it leaves
# out reads as false. Artifacts always travel through the server (never presigned URLs, never
# multipart), and no auth provider plugin is named: the client authenticates with a bearer
# token (``MLFLOW_TRACKING_TOKEN``), so ``tracking_auth`` is empty as on MLflow's own server
# when none is configured. The skill limits are left out: the skill registry is not served.
SERVER_INFO: Json = {
    "store_type": "SqlStore",
    "workspaces_enabled": False,
    "trace_archival_enabled": False,
    "multipart_uploads_enabled": False,
    "multipart_downloads_enabled": False,
    "artifact_serving_enabled": True,
    "artifacts_presigned_only": False,
    "presigned_upload_run_id_supported": False,
    "presigned_upload_model_id_supported": False,
    "model_artifact_presigned_downloads_supported": False,
    "features_enabled": {"gateway": False, "scheduled_issue_detection": False},
    "tracking_auth": "",
}


# ---------------------------------------------------------------------------------------------
# wire shapes


def _pairs(items: t.Iterable[t.Any]) -> list[Json]:
    return [{"key": item.key, "value": item.value} for item in items]


def experiment_json(experiment: Experiment) -> Json:
    """An ``Experiment`` message."""
    return compact({
        "experiment_id": str(experiment.iid),
        "name": experiment.name,
        "artifact_location": experiment.artifact_location,
        "lifecycle_stage": experiment.lifecycle_stage,
        "last_update_time": experiment.last_update_time,
        "creation_time": experiment.creation_time,
        "tags": _pairs(experiment.tags),
    })


def metric_json(metric: t.Any) -> Json:
    """A ``Metric`` message from a stored point or latest value."""
    value = float("nan") if metric.is_nan else metric.value
    return compact({
        "key": metric.key,
        "value": wire_float(value),
        "timestamp": metric.timestamp,
        "step": metric.step,
        "dataset_name": metric.dataset_name,
        "dataset_digest": metric.dataset_digest,
        "model_id": metric.model_id,
    })


def run_info_json(run: t.Any) -> Json:
    """A ``RunInfo`` message from a run row or ``Run`` with ``experiment_iid``."""
    return compact({
        "run_id": run.run_id,
        "run_uuid": run.run_id,
        "run_name": run.name,
        "experiment_id": str(run.experiment_iid),
        "user_id": run.user_id,
        "status": run.status,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "artifact_uri": run.artifact_uri,
        "lifecycle_stage": run.lifecycle_stage,
    })


def _dataset_json(dataset: Dataset) -> Json:
    return compact({
        "name": dataset.name,
        "digest": dataset.digest,
        "source_type": dataset.source_type,
        "source": dataset.source,
        "schema": dataset.schema,
        "profile": dataset.profile,
    })


def run_json(bundle: runs.RunBundle) -> Json:
    """A ``Run`` message: info, data (latest metrics, params, tags), inputs and outputs."""
    return {
        "info": run_info_json(bundle.run),
        "data": compact({
            "metrics": [metric_json(m) for m in bundle.metrics],
            "params": [{"key": key, "value": value} for key, value in bundle.params],
            "tags": [{"key": key, "value": value} for key, value in bundle.tags],
        }),
        "inputs": compact({
            "dataset_inputs": [
                compact({"tags": tags, "dataset": _dataset_json(dataset)})
                for dataset, tags in bundle.dataset_inputs
            ],
            "model_inputs": [{"model_id": model_id} for model_id in bundle.model_inputs],
        }),
        "outputs": compact({
            "model_outputs": [
                {"model_id": model_id, "step": step} for model_id, step in bundle.model_outputs
            ],
        }),
    }


def _run_id(data: Json) -> str:
    return t.cast(str, data.get("run_id") or data["run_uuid"])


def _tag_pairs(items: t.Iterable[Json]) -> list[tuple[str, str]]:
    return [(item["key"], item.get("value") or "") for item in items]


# ---------------------------------------------------------------------------------------------
# experiments


def create_experiment(ctx: ProjectContext, data: Json) -> Json:
    experiment = experiments.create_experiment(
        ctx,
        data["name"],
        artifact_location=data["artifact_location"],
        tags=dict(_tag_pairs(data["tags"])),
    )
    return {"experiment_id": str(experiment.iid)}


def get_experiment(ctx: ProjectContext, data: Json) -> Json:
    return {"experiment": experiment_json(experiments.get_experiment(ctx, data["experiment_id"]))}


def get_experiment_by_name(ctx: ProjectContext, data: Json) -> Json:
    experiment = experiments.get_experiment_by_name(ctx, data["experiment_name"])
    return {"experiment": experiment_json(experiment)}


def search_experiments(ctx: ProjectContext, data: Json) -> Json:
    page = experiments.search_experiments(
        ctx,
        max_results=check_max_results(
            data["max_results"], default=None, maximum=SEARCH_MAX_RESULTS
        ),
        filter_string=data["filter"],
        order_by=data["order_by"],
        page_token=data["page_token"],
        view_type=data["view_type"],
    )
    return compact({
        "experiments": [experiment_json(e) for e in page.experiments],
        "next_page_token": page.next_page_token,
    })


def update_experiment(ctx: ProjectContext, data: Json) -> Json:
    experiments.rename_experiment(ctx, data["experiment_id"], data["new_name"])
    return {}


def delete_experiment(ctx: ProjectContext, data: Json) -> Json:
    experiments.delete_experiment(ctx, data["experiment_id"])
    return {}


def restore_experiment(ctx: ProjectContext, data: Json) -> Json:
    experiments.restore_experiment(ctx, data["experiment_id"])
    return {}


def set_experiment_tag(ctx: ProjectContext, data: Json) -> Json:
    experiments.set_experiment_tag(
        ctx, data["experiment_id"], data["key"], data["value"] or ""
    )
    return {}


def delete_experiment_tag(ctx: ProjectContext, data: Json) -> Json:
    experiments.delete_experiment_tag(ctx, data["experiment_id"], data["key"])
    return {}


# ---------------------------------------------------------------------------------------------
# runs


def create_run(ctx: ProjectContext, data: Json) -> Json:
    bundle = runs.create_run(
        ctx,
        experiment_id=data["experiment_id"],
        user_id=data["user_id"],
        run_name=data["run_name"],
        start_time=data["start_time"],
        tags=_tag_pairs(data["tags"]),
    )
    return {"run": run_json(bundle)}


def get_run(ctx: ProjectContext, data: Json) -> Json:
    return {"run": run_json(runs.get_run_bundle(ctx, _run_id(data)))}


def update_run(ctx: ProjectContext, data: Json) -> Json:
    run = runs.update_run(
        ctx,
        _run_id(data),
        status=data["status"],
        end_time=data["end_time"],
        run_name=data["run_name"],
    )
    return {"run_info": run_info_json(run)}


def delete_run(ctx: ProjectContext, data: Json) -> Json:
    runs.delete_run(ctx, data["run_id"])
    return {}


def restore_run(ctx: ProjectContext, data: Json) -> Json:
    runs.restore_run(ctx, data["run_id"])
    return {}


def _metric_point(data: Json) -> runs.MetricPoint:
    get = data.get
    return runs.MetricPoint(  # positional: a batch builds a thousand of these
        data["key"],
        data["value"],
        data["timestamp"],
        data["step"] or 0,
        get("model_id") or None,
        get("dataset_name") or None,
        get("dataset_digest") or None,
    )


def log_metric(ctx: ProjectContext, data: Json) -> Json:
    runs.log_metric(ctx, _run_id(data), _metric_point(data))
    return {}


def log_param(ctx: ProjectContext, data: Json) -> Json:
    runs.log_param(ctx, _run_id(data), data["key"], data["value"] or "")
    return {}


def set_tag(ctx: ProjectContext, data: Json) -> Json:
    runs.set_tag(ctx, _run_id(data), data["key"], data["value"] or "")
    return {}


def delete_tag(ctx: ProjectContext, data: Json) -> Json:
    runs.delete_tag(ctx, data["run_id"], data["key"])
    return {}


def log_batch(ctx: ProjectContext, data: Json) -> Json:
    runs.log_batch(
        ctx,
        data["run_id"],
        metrics=data["metrics"],
        params=_tag_pairs(data["params"]),
        tags=_tag_pairs(data["tags"]),
    )
    return {}


def log_inputs(ctx: ProjectContext, data: Json) -> Json:
    datasets = [
        runs.DatasetInputData(
            name=item["dataset"]["name"],
            digest=item["dataset"]["digest"],
            source_type=item["dataset"]["source_type"],
            source=item["dataset"]["source"],
            schema=item["dataset"]["schema"],
            profile=item["dataset"]["profile"],
            tags=[(tag["key"], tag["value"]) for tag in item["tags"]],
        )
        for item in data["datasets"]
    ]
    runs.log_inputs(
        ctx,
        data["run_id"],
        datasets=datasets,
        model_ids=[model["model_id"] for model in data["models"]],
    )
    return {}


def log_outputs(ctx: ProjectContext, data: Json) -> Json:
    models = [(model["model_id"], model["step"] or 0) for model in data["models"]]
    runs.log_outputs(ctx, data["run_id"], models)
    return {}


def search_runs(ctx: ProjectContext, data: Json) -> Json:
    page = runs.search_runs(
        ctx,
        experiment_ids=data["experiment_ids"],
        filter_string=data["filter"],
        view_type=data["run_view_type"],
        max_results=check_max_results(
            data["max_results"], default=SEARCH_RUNS_DEFAULT, maximum=SEARCH_MAX_RESULTS
        ),
        order_by=data["order_by"],
        page_token=data["page_token"],
    )
    return compact({
        "runs": [run_json(bundle) for bundle in page.runs],
        "next_page_token": page.next_page_token,
    })


# ---------------------------------------------------------------------------------------------
# metric history and server info


def get_metric_history(ctx: ProjectContext, data: Json) -> Json:
    max_results = data["max_results"]
    if max_results is not None:
        max_results = check_max_results(max_results, default=None, maximum=METRIC_HISTORY_MAX)
    page = runs.get_metric_history(
        ctx,
        _run_id(data),
        data["metric_key"],
        max_results=max_results,
        page_token=data["page_token"],
    )
    return compact({
        "metrics": [metric_json(m) for m in page.metrics],
        "next_page_token": page.next_page_token,
    })


def _bulk_metric_json(run_id: str, metric: RunMetric) -> Json:
    return {**metric_json(metric), "run_id": run_id}


def get_metric_history_bulk_interval(ctx: ProjectContext, data: Json) -> Json:
    start, end = data["start_step"], data["end_step"]
    if (start is None) != (end is None):
        raise InvalidParameter(
            "If either start step or end step are specified, both must be specified."
        )
    if start is not None and end is not None and start > end:
        raise InvalidParameter(
            "end_step must be greater than start_step. "
            f"Found start_step={start} and end_step={end}."
        )
    max_results = data["max_results"]
    if max_results is not None and not 1 <= max_results <= BULK_INTERVAL_MAX:
        raise InvalidParameter(
            f"max_results must be between 1 and {BULK_INTERVAL_MAX}."
        )
    points = runs.get_metric_history_bulk_interval(
        ctx,
        data["run_ids"],
        data["metric_key"],
        max_results=max_results or BULK_INTERVAL_MAX,
        start_step=start,
        end_step=end,
    )
    return compact({"metrics": [_bulk_metric_json(run_id, m) for run_id, m in points]})


def server_info(ctx: ProjectContext) -> Json:
    return dict(SERVER_INFO)
