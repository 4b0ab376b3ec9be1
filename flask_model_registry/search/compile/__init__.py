"""Validation and SQL compilation of MLflow search filters and orderings, per entity.

Each ``*_filter_clauses`` function returns WHERE clauses over one ORM entity; each
``*_order_by`` function returns ORDER BY expressions including MLflow's tie-breakers. Filters on
child rows (metrics, params, tags, datasets) are correlated ``EXISTS`` subqueries, orderings on
them correlated scalar subqueries, so the caller's ``SELECT`` stays one row per entity and
every row filtered out is filtered by the database.

Which keys, comparators and value types are accepted follows MLflow 3.17's SQL stores
(``mlflow/utils/search_utils.py`` and the ``sqlalchemy_store`` modules).
"""

from __future__ import annotations

from .experiments import experiment_filter_clauses, experiment_order_by
from .logged_models import logged_model_filter_clauses, logged_model_order_by
from .registry import (
    IS_PROMPT_TAG_KEY,
    model_version_filter_clauses,
    model_version_order_by,
    registered_model_filter_clauses,
    registered_model_order_by,
)
from .runs import DATASET_CONTEXT_TAG, run_filter_clauses, run_order_by

__all__ = [
    "DATASET_CONTEXT_TAG",
    "IS_PROMPT_TAG_KEY",
    "experiment_filter_clauses",
    "experiment_order_by",
    "logged_model_filter_clauses",
    "logged_model_order_by",
    "model_version_filter_clauses",
    "model_version_order_by",
    "registered_model_filter_clauses",
    "registered_model_order_by",
    "run_filter_clauses",
    "run_order_by",
]
