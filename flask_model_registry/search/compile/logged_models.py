"""Logged models: attributes, metrics, params and tags (``search_logged_models``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from flask_model_registry.errors import InvalidParameter
from flask_model_registry.models import (
    LoggedModel,
    LoggedModelMetric,
    LoggedModelParam,
    LoggedModelTag,
)

from ..parser import ATTRIBUTE, METRIC, PARAM, TAG, Value
from .comparisons import ONE, Clauses, Col, Filter, Ops, compare_number, compare_string, nan_aware
from .ordering import OrderBy, direction, null_last

_LM_PREFIXES = ("attributes", "metrics", "params", "tags")
_LM_STRING: dict[str, Col] = {
    "name": LoggedModel.name,
    "model_id": LoggedModel.model_id,
    "model_type": LoggedModel.model_type,
    "status": LoggedModel.status,
    "source_run_id": LoggedModel.source_run_id,
}
_LM_NUMERIC: dict[str, Col] = {
    "creation_timestamp": LoggedModel.creation_timestamp_ms,
    "creation_time": LoggedModel.creation_timestamp_ms,
    "last_updated_timestamp": LoggedModel.last_updated_timestamp_ms,
    "last_updated_time": LoggedModel.last_updated_timestamp_ms,
}
_LM_NULLABLE = frozenset({"model_type", "source_run_id"})
_LM_KEYS = sorted({*_LM_STRING, *_LM_NUMERIC})


def _dataset_conditions(datasets: Sequence[Mapping[str, Any]] | None) -> list[ColumnElement[bool]]:
    conditions: Clauses = []
    for dataset in datasets or []:
        if not isinstance(dataset, Mapping) or not dataset.get("dataset_name"):
            raise InvalidParameter("`dataset_name` in the `datasets` clause must be specified.")
        condition = LoggedModelMetric.dataset_name == str(dataset["dataset_name"])
        digest = dataset.get("dataset_digest")
        if digest:
            condition = and_(condition, LoggedModelMetric.dataset_digest == str(digest))
        conditions.append(condition)
    return conditions


def _lm_child_exists(
    entity: type[LoggedModelParam] | type[LoggedModelTag],
    key: str,
    condition: ColumnElement[bool],
) -> ColumnElement[bool]:
    return (
        select(ONE)
        .where(entity.logged_model_id == LoggedModel.id, entity.key == key, condition)
        .exists()
    )


def logged_model_filter_clauses(
    filter_string: str | None,
    datasets: Sequence[Mapping[str, Any]] | None = None,
) -> list[ColumnElement[bool]]:
    """WHERE clauses over :class:`LoggedModel` for ``search_logged_models``.

    Prefixes ``attributes.``, ``metrics.``, ``params.``, ``tags.``. A metric clause matches
    when any logged point of that key satisfies it; ``datasets`` (``[{dataset_name,
    dataset_digest?}]``) restricts those points to the datasets and, without a metric clause,
    keeps only models having some metric on them.
    """
    f = Filter(filter_string)
    ds = _dataset_conditions(datasets)
    clauses: Clauses = []
    has_metric = False
    for c in f.comparisons:
        if c.prefix is not None and c.prefix not in _LM_PREFIXES:
            raise f.error(
                c,
                f"Invalid entity type: '{c.prefix}'. Expected one of {list(_LM_PREFIXES)}",
            )
        if c.comparator in Ops.NULL:
            raise f.error(c, f"Invalid comparison operator '{c.comparator}'", at="op")
        if c.entity_type == METRIC:
            has_metric = True
            f.check_op(c, Ops.NUMERIC, f"metrics.{c.key}")
            value = float(f.number(c, "metric"))
            conditions = [
                LoggedModelMetric.logged_model_id == LoggedModel.id,
                LoggedModelMetric.key == c.key,
                nan_aware(LoggedModelMetric.value, LoggedModelMetric.is_nan, c.comparator, value),
            ]
            if ds:
                conditions.append(or_(*ds))
            clauses.append(select(ONE).where(*conditions).exists())
        elif c.entity_type in (PARAM, TAG):
            entity = LoggedModelParam if c.entity_type == PARAM else LoggedModelTag
            what = "params" if c.entity_type == PARAM else "tags"
            f.check_op(c, (*Ops.STRING, *Ops.LIST), f"{what}.{c.key}")
            value_v: Value = (
                c.value if isinstance(c.value, tuple) else f.string(c, what, allow_number=True)
            )
            clauses.append(
                _lm_child_exists(
                    entity, c.key, compare_string(entity.value, c.comparator, value_v)
                )
            )
        elif c.entity_type == ATTRIBUTE and c.key in _LM_NUMERIC:
            f.check_op(c, Ops.NUMERIC, c.key)
            clauses.append(compare_number(_LM_NUMERIC[c.key], c.comparator, f.number(c, c.key)))
        elif c.entity_type == ATTRIBUTE and c.key in _LM_STRING:
            f.check_op(c, (*Ops.STRING, *Ops.LIST), c.key)
            value_v = (
                c.value
                if isinstance(c.value, tuple)
                else f.string(c, "attributes", allow_number=True)
            )
            clauses.append(compare_string(_LM_STRING[c.key], c.comparator, value_v))
        elif c.entity_type == ATTRIBUTE:
            raise f.error(
                c, f"Invalid attribute key '{c.key}' specified. Valid keys are {_LM_KEYS}"
            )
        else:
            raise f.error(
                c,
                f"Invalid entity type: '{c.prefix}'. Expected one of {list(_LM_PREFIXES)}",
            )
    if ds and not has_metric:
        clauses.append(
            select(ONE)
            .where(LoggedModelMetric.logged_model_id == LoggedModel.id, or_(*ds))
            .exists()
        )
    return clauses


def _lm_latest(column: Col, key: str, conditions: Clauses) -> Col:
    return (
        select(column)
        .where(
            LoggedModelMetric.logged_model_id == LoggedModel.id,
            LoggedModelMetric.key == key,
            *conditions,
        )
        .order_by(
            LoggedModelMetric.timestamp.desc(),
            LoggedModelMetric.step.desc(),
            LoggedModelMetric.run_id.asc(),
            LoggedModelMetric.id.desc(),
        )
        .limit(1)
        .scalar_subquery()
    )


def logged_model_order_by(
    order_by: Sequence[Mapping[str, Any]] | None,
) -> list[ColumnElement[Any]]:
    """ORDER BY over :class:`LoggedModel` from ``[{field_name, ascending, dataset_name?,
    dataset_digest?}]``.

    ``field_name`` is an attribute (``name``, ``model_id``, ``creation_timestamp``...) or
    ``metrics.<key>``, ordered by the latest point (optionally on the dataset); missing values
    sort last, NaN after numbers. Completed with ``creation_timestamp DESC`` and
    ``model_id ASC`` unless present.
    """
    clauses: OrderBy = []
    has_created = has_id = False
    if order_by is not None and (
        isinstance(order_by, (str, Mapping)) or not isinstance(order_by, Sequence)
    ):
        raise InvalidParameter("`order_by` must be a list of dictionaries.")
    for item in order_by or []:
        if not isinstance(item, Mapping):
            raise InvalidParameter("`order_by` must be a list of dictionaries.")
        field_name = item.get("field_name")
        if not isinstance(field_name, str) or not field_name.strip():
            raise InvalidParameter("`field_name` in the `order_by` clause must be specified.")
        ascending = item.get("ascending", True)
        if ascending is None:
            ascending = True
        if not isinstance(ascending, bool):
            raise InvalidParameter(
                "Value of `ascending` in the `order_by` clause must be a boolean, got "
                f"{ascending!r} for field {field_name}."
            )
        dataset_name = item.get("dataset_name")
        dataset_digest = item.get("dataset_digest")
        if dataset_digest and not dataset_name:
            raise InvalidParameter(
                "`dataset_digest` can only be specified if `dataset_name` is also specified."
            )
        if "." in field_name:
            entity, key = field_name.split(".", 1)
            if entity != "metrics" or not key:
                raise InvalidParameter(
                    f"Invalid order by field name: {field_name}. Only `metrics.<name>` and "
                    f"attributes ({', '.join(_LM_KEYS)}) are supported."
                )
            key = key.strip("`")
            conditions: Clauses = []
            if dataset_name:
                conditions.append(LoggedModelMetric.dataset_name == str(dataset_name))
            if dataset_digest:
                conditions.append(LoggedModelMetric.dataset_digest == str(dataset_digest))
            rank = _lm_latest(
                case((LoggedModelMetric.is_nan == true(), 1), else_=0), key, conditions
            )
            clauses.append(func.coalesce(rank, 2))
            clauses.append(
                direction(_lm_latest(LoggedModelMetric.value, key, conditions), ascending)
            )
            continue
        name = field_name.strip()
        column = _LM_STRING.get(name, _LM_NUMERIC.get(name))
        if column is None:
            raise InvalidParameter(
                f"Invalid order by field name: {field_name}. Valid attributes are "
                f"{', '.join(_LM_KEYS)} or `metrics.<name>`."
            )
        has_created = has_created or name in ("creation_timestamp", "creation_time")
        has_id = has_id or name == "model_id"
        if name in _LM_NULLABLE:
            clauses.append(null_last(column))
        clauses.append(direction(column, ascending))
    if not has_created:
        clauses.append(LoggedModel.creation_timestamp_ms.desc())
    if not has_id:
        clauses.append(LoggedModel.model_id.asc())
    return clauses
