"""Runs: lifecycle, params, metrics, tags, inputs, outputs and search.

``records`` reads runs as plain rows with statements built once, ``validation`` holds MLflow's
limits, ``lifecycle`` creates and changes runs, ``logging`` writes params, metrics and tags
in bulk, ``inputs`` records datasets and logged models, and ``search`` pages through runs and
metric histories.
"""

from __future__ import annotations

from .inputs import log_inputs, log_outputs
from .lifecycle import create_run, delete_run, generate_run_name, restore_run, update_run
from .logging import delete_tag, log_batch, log_metric, log_param, set_tag
from .records import RunBundle, RunInfo, RunPage, get_run, get_run_bundle
from .search import (
    MetricHistoryPage,
    get_metric_history,
    get_metric_history_bulk_interval,
    search_runs,
)
from .validation import RUN_NAME_TAG, RUN_STATUSES, DatasetInputData, MetricPoint

__all__ = [
    "RUN_NAME_TAG",
    "RUN_STATUSES",
    "DatasetInputData",
    "MetricHistoryPage",
    "MetricPoint",
    "RunBundle",
    "RunInfo",
    "RunPage",
    "create_run",
    "delete_run",
    "delete_tag",
    "generate_run_name",
    "get_metric_history",
    "get_metric_history_bulk_interval",
    "get_run",
    "get_run_bundle",
    "log_batch",
    "log_inputs",
    "log_metric",
    "log_outputs",
    "log_param",
    "restore_run",
    "search_runs",
    "set_tag",
    "update_run",
]
