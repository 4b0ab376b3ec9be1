"""MLflow search filters and orderings: lexer, parser and SQL compilation per entity."""

from __future__ import annotations

from .compile import (
    experiment_filter_clauses,
    experiment_order_by,
    logged_model_filter_clauses,
    logged_model_order_by,
    model_version_filter_clauses,
    model_version_order_by,
    registered_model_filter_clauses,
    registered_model_order_by,
    run_filter_clauses,
    run_order_by,
)
from .parser import Comparison, OrderKey, parse_filter, parse_order_by

__all__ = [
    "Comparison",
    "OrderKey",
    "experiment_filter_clauses",
    "experiment_order_by",
    "logged_model_filter_clauses",
    "logged_model_order_by",
    "model_version_filter_clauses",
    "model_version_order_by",
    "parse_filter",
    "parse_order_by",
    "registered_model_filter_clauses",
    "registered_model_order_by",
    "run_filter_clauses",
    "run_order_by",
]
