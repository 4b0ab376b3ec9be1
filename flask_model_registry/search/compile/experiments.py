"""Experiments: attributes and tags (``search_experiments``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from flask_model_registry.models import Experiment, ExperimentTag

from ..parser import ATTRIBUTE, TAG, Comparison, parse_order_by
from .comparisons import INT64_MAX, INT64_MIN, ONE, Col, Filter, Ops, compare_number, compare_string
from .ordering import OrderBy, direction, order_error

_EXPERIMENT_PREFIXES = ("attribute", "tag", "tags")
_EXPERIMENT_NUMERIC: dict[str, Col] = {
    "creation_time": Experiment.creation_time,
    "last_update_time": Experiment.last_update_time,
}
_EXPERIMENT_KEYS = ["creation_time", "experiment_id", "last_update_time", "name"]


def _experiment_id(f: Filter, c: Comparison, value: str) -> int:
    try:
        number = int(value)
        if not INT64_MIN <= number <= INT64_MAX:
            raise ValueError(value)
        return number
    except ValueError:
        raise f.error(
            c,
            f"Invalid experiment ID '{value}'. Experiment ID must be a valid integer.",
            at="value",
        ) from None


def _experiment_clause(f: Filter, c: Comparison) -> ColumnElement[bool]:
    f.check_prefix(c, _EXPERIMENT_PREFIXES)
    if c.entity_type == TAG:
        f.check_op(c, (*Ops.STRING, *Ops.NULL), f"tag '{c.key}'")
        exists = select(ONE).where(
            ExperimentTag.experiment_id == Experiment.id, ExperimentTag.key == c.key
        )
        if c.comparator == "IS NULL":
            return ~exists.exists()
        if c.comparator == "IS NOT NULL":
            return exists.exists()
        value = f.string(c, "tag")
        return exists.where(compare_string(ExperimentTag.value, c.comparator, value)).exists()
    if c.comparator in Ops.NULL:
        raise f.error(
            c,
            f"IS NULL / IS NOT NULL is only supported for tags, not for attribute '{c.key}'",
            at="op",
        )
    if c.key == "experiment_id":
        f.check_op(c, ("=", "!=", *Ops.LIST), "experiment_id")
        raw = f.strings(c, "attributes", ("experiment_id",))
        if isinstance(raw, tuple):
            ids = tuple(_experiment_id(f, c, v) for v in raw)
            return Experiment.iid.in_(ids) if c.comparator == "IN" else Experiment.iid.not_in(ids)
        return compare_number(Experiment.iid, c.comparator, _experiment_id(f, c, raw))
    if c.key in _EXPERIMENT_NUMERIC:
        f.check_op(c, Ops.NUMERIC, f"numeric attribute '{c.key}'")
        return compare_number(_EXPERIMENT_NUMERIC[c.key], c.comparator, f.integer(c, c.key))
    if c.key == "name":
        f.check_op(c, (*Ops.STRING, *Ops.LIST), "string attribute 'name'")
        value_v = f.strings(c, "attributes", ("experiment_id",))
        return compare_string(Experiment.name, c.comparator, value_v)
    raise f.error(
        c, f"Invalid attribute key '{c.key}' specified. Valid keys are {_EXPERIMENT_KEYS}"
    )


def experiment_filter_clauses(filter_string: str | None) -> list[ColumnElement[bool]]:
    """WHERE clauses over :class:`Experiment` for ``search_experiments``.

    Keys: ``name``, ``experiment_id`` (``Experiment.iid``; ``= != IN NOT IN``),
    ``creation_time``, ``last_update_time`` and ``tags.<key>`` (with ``IS [NOT] NULL``).
    """
    f = Filter(filter_string)
    return [_experiment_clause(f, c) for c in f.comparisons]


def experiment_order_by(order_by: Sequence[str] | None) -> list[ColumnElement[Any]]:
    """ORDER BY over :class:`Experiment`; default ``creation_time DESC, experiment_id ASC``,
    otherwise completed with ``experiment_id DESC`` as MLflow does."""
    columns: dict[str, Col] = {
        "name": Experiment.name,
        "experiment_id": Experiment.iid,
        "creation_time": Experiment.creation_time,
        "last_update_time": Experiment.last_update_time,
    }
    keys = parse_order_by(order_by or ["creation_time DESC", "experiment_id ASC"])
    clauses: OrderBy = []
    has_id = False
    for ok in keys:
        if ok.prefix is not None and ok.prefix not in _EXPERIMENT_PREFIXES:
            raise order_error(
                order_by,
                ok,
                f"Invalid entity type '{ok.prefix}'. Valid entity types are {_EXPERIMENT_PREFIXES}",
            )
        if ok.entity_type != ATTRIBUTE:
            raise order_error(order_by, ok, f"Invalid order_by entity: {ok.entity_type}")
        if ok.key not in columns:
            raise order_error(
                order_by,
                ok,
                f"Invalid attribute key '{ok.key}' specified. Valid keys are {_EXPERIMENT_KEYS}",
            )
        has_id = has_id or ok.key == "experiment_id"
        clauses.append(direction(columns[ok.key], ok.ascending))
    if not has_id:
        clauses.append(Experiment.iid.desc())
    return clauses
