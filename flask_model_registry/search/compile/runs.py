"""Runs: attributes, latest metrics, params, tags and datasets (``search_runs``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select, true
from sqlalchemy.sql.elements import ColumnElement

from flask_model_registry.models import (
    Dataset,
    Run,
    RunDatasetInput,
    RunLatestMetric,
    RunParam,
    RunTag,
)

from .. import sql
from ..parser import ATTRIBUTE, DATASET, METRIC, PARAM, TAG, Comparison, Value, parse_order_by
from .comparisons import ONE, Col, Filter, Ops, compare_number, compare_string, nan_aware
from .ordering import OrderBy, direction, null_last, order_error

#: Dataset input tag holding the context (``training``, ``eval``...).
DATASET_CONTEXT_TAG = "mlflow.data.context"

_RUN_STRING_ATTRIBUTES: dict[str, Col] = {
    "run_id": Run.run_id,
    "run_name": Run.name,
    "status": Run.status,
    "user_id": Run.user_id,
    "artifact_uri": Run.artifact_uri,
}
_RUN_NUMERIC_ATTRIBUTES: dict[str, Col] = {
    "start_time": Run.start_time,
    "end_time": Run.end_time,
}
_RUN_NULLABLE_ATTRIBUTES = frozenset({"end_time", "user_id"})
_RUN_KEY_ALIASES = {
    "created": "start_time",
    "Created": "start_time",
    "run name": "run_name",
    "Run name": "run_name",
    "Run Name": "run_name",
}
_RUN_FILTER_KEYS = sorted({*_RUN_STRING_ATTRIBUTES, *_RUN_NUMERIC_ATTRIBUTES, *_RUN_KEY_ALIASES})
_RUN_ORDER_KEYS = sorted({*_RUN_STRING_ATTRIBUTES, *_RUN_NUMERIC_ATTRIBUTES, "created", "Created"})
_DATASET_KEYS = ("name", "digest", "context")
_DATASET_OPS = (*Ops.STRING, *Ops.LIST)


def _run_child_exists(
    entity: type[RunParam] | type[RunTag] | type[RunLatestMetric],
    key: str,
    *conditions: ColumnElement[bool],
) -> ColumnElement[bool]:
    return (
        select(ONE)
        .where(entity.candidate_id == Run.id, entity.key == key, *conditions)
        .exists()
    )


def _run_dataset_clause(f: Filter, c: Comparison) -> ColumnElement[bool]:
    f.check_op(c, _DATASET_OPS, f"dataset '{c.key}'")
    if c.key not in _DATASET_KEYS:
        raise f.error(
            c, f"Invalid dataset key '{c.key}' specified. Valid keys are {list(_DATASET_KEYS)}"
        )
    value: Value = c.value if isinstance(c.value, tuple) else f.string(c, "dataset attributes")
    target: Col
    if c.key == "context":
        target = sql.json_list_tag_value(RunDatasetInput.tags, DATASET_CONTEXT_TAG)
    elif c.key == "name":
        target = Dataset.name
    else:
        target = Dataset.digest
    return (
        select(ONE)
        .select_from(RunDatasetInput)
        .join(Dataset, Dataset.id == RunDatasetInput.dataset_id)
        .where(
            RunDatasetInput.candidate_id == Run.id,
            compare_string(target, c.comparator, value),
        )
        .exists()
    )


def _run_clause(f: Filter, c: Comparison) -> ColumnElement[bool]:
    if c.entity_type == METRIC:
        if c.comparator in Ops.NULL:
            raise f.error(
                c,
                "IS NULL / IS NOT NULL is only supported for tags and params, "
                f"not for metric '{c.key}'",
                at="op",
            )
        f.check_op(c, Ops.NUMERIC, f"metric '{c.key}'")
        value = float(f.number(c, "metric"))
        return _run_child_exists(
            RunLatestMetric,
            c.key,
            nan_aware(
                RunLatestMetric.value, RunLatestMetric.is_nan, c.comparator, value
            ),
        )
    if c.entity_type in (PARAM, TAG):
        entity = RunParam if c.entity_type == PARAM else RunTag
        what = "parameter" if c.entity_type == PARAM else "tag"
        f.check_op(c, (*Ops.STRING, *Ops.NULL), f"{what} '{c.key}'")
        if c.comparator == "IS NULL":
            return ~_run_child_exists(entity, c.key)
        if c.comparator == "IS NOT NULL":
            return _run_child_exists(entity, c.key)
        value_s = f.string(c, what)
        return _run_child_exists(
            entity, c.key, compare_string(entity.value, c.comparator, value_s)
        )
    if c.entity_type == DATASET:
        return _run_dataset_clause(f, c)
    # attribute
    key = _RUN_KEY_ALIASES.get(c.key, c.key)
    if c.comparator in Ops.NULL:
        raise f.error(
            c,
            "IS NULL / IS NOT NULL is only supported for tags and params, "
            f"not for attribute '{c.key}'",
            at="op",
        )
    if key in _RUN_NUMERIC_ATTRIBUTES:
        f.check_op(c, Ops.NUMERIC, f"numeric attribute '{c.key}'")
        number = f.number(c, f"numeric attribute: {c.key}")
        return compare_number(_RUN_NUMERIC_ATTRIBUTES[key], c.comparator, number)
    if key in _RUN_STRING_ATTRIBUTES:
        f.check_op(c, (*Ops.STRING, *Ops.LIST), f"attribute '{c.key}'")
        value_v = f.strings(c, "attributes", ("run_id",))
        return compare_string(_RUN_STRING_ATTRIBUTES[key], c.comparator, value_v)
    raise f.error(
        c, f"Invalid attribute key '{c.key}' specified. Valid keys are {_RUN_FILTER_KEYS}"
    )


def run_filter_clauses(filter_string: str | None) -> list[ColumnElement[bool]]:
    """WHERE clauses over :class:`Run` for an MLflow ``search_runs`` filter.

    Metrics compare the latest value (NaN satisfies only ``!=``); params, tags and datasets
    are correlated ``EXISTS``; ``IS NULL`` on a param or tag is ``NOT EXISTS``.
    """
    f = Filter(filter_string)
    return [_run_clause(f, c) for c in f.comparisons]


def _run_child_value(
    entity: type[RunParam] | type[RunTag] | type[RunLatestMetric],
    column: Col,
    key: str,
) -> Col:
    return (
        select(column)
        .where(entity.candidate_id == Run.id, entity.key == key)
        .scalar_subquery()
    )


def run_order_by(order_by: Sequence[str] | None) -> list[ColumnElement[Any]]:
    """ORDER BY expressions over :class:`Run` for ``search_runs``.

    Runs missing the key sort last in both directions; for metrics, NaN sorts after every
    number and before missing values. Completed with ``start_time DESC`` (unless ordered by
    start time already) and ``run_id ASC``.
    """
    clauses: OrderBy = []
    seen: set[tuple[str, str]] = set()
    for ok in parse_order_by(order_by):
        entity_type, key = ok.entity_type, ok.key
        if entity_type == ATTRIBUTE:
            if key in ("created", "Created"):
                key = "start_time"
            column = _RUN_STRING_ATTRIBUTES.get(key, _RUN_NUMERIC_ATTRIBUTES.get(key))
            if column is None:
                raise order_error(
                    order_by,
                    ok,
                    f"Invalid attribute key '{ok.key}' specified. Valid keys are {_RUN_ORDER_KEYS}",
                )
            if key in _RUN_NULLABLE_ATTRIBUTES:
                clauses.append(null_last(column))
            clauses.append(direction(column, ok.ascending))
        elif entity_type == METRIC:
            value = _run_child_value(RunLatestMetric, RunLatestMetric.value, key)
            nan_rank = _run_child_value(
                RunLatestMetric,
                case((RunLatestMetric.is_nan == true(), 1), else_=0),
                key,
            )
            clauses.append(func.coalesce(nan_rank, 2))
            clauses.append(direction(value, ok.ascending))
        elif entity_type in (PARAM, TAG):
            entity = RunParam if entity_type == PARAM else RunTag
            value = _run_child_value(entity, entity.value, key)
            clauses.append(null_last(value))
            clauses.append(direction(value, ok.ascending))
        else:
            raise order_error(order_by, ok, f"Invalid order_by entity type '{entity_type}'")
        if (entity_type, key) in seen:
            raise order_error(order_by, None, "`order_by` contains duplicate fields")
        seen.add((entity_type, key))
    if (ATTRIBUTE, "start_time") not in seen:
        clauses.append(Run.start_time.desc())
    clauses.append(Run.run_id.asc())
    return clauses
