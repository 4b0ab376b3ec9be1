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

import functools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Double, and_, case, false, func, literal, literal_column, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement, SQLColumnExpression

from flask_model_registry.errors import InvalidParameter
from flask_model_registry.models import (
    Dataset,
    Experiment,
    ExperimentTag,
    LoggedModel,
    LoggedModelMetric,
    LoggedModelParam,
    LoggedModelTag,
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
    Run,
    RunDatasetInput,
    RunLatestMetric,
    RunParam,
    RunTag,
)

from . import sql
from .parser import (
    ATTRIBUTE,
    DATASET,
    METRIC,
    PARAM,
    TAG,
    Comparison,
    OrderKey,
    Value,
    parse_filter,
    parse_order_by,
)

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

#: Tag that marks a registered model (and its versions) as a prompt.
IS_PROMPT_TAG_KEY = "mlflow.prompt.is_prompt"
#: Dataset input tag holding the context (``training``, ``eval``...).
DATASET_CONTEXT_TAG = "mlflow.data.context"

_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
_LIST_OPS = ("IN", "NOT IN")
_NULL_OPS = ("IS NULL", "IS NOT NULL")

_NUMERIC_FUNCS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

Col = SQLColumnExpression[Any]

#: The select list of every ``EXISTS`` subquery.
_ONE: ColumnElement[Any] = literal_column("1")
Clauses = list[ColumnElement[bool]]
OrderBy = list[ColumnElement[Any]]


# ---------------------------------------------------------------------------------------------
# shared helpers


_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

class _Filter:
    """The filter being compiled, for error messages that quote it."""

    def __init__(self, filter_string: str | None) -> None:
        self.source = filter_string or ""
        self.comparisons = parse_filter(filter_string)

    def error(self, c: Comparison, message: str, at: str = "clause") -> InvalidParameter:
        """An error about ``c``; ``at`` picks the position quoted: clause, op or value."""
        pos = {"op": c.op_position, "value": c.value_position}.get(at, c.position)
        return InvalidParameter(f"Invalid filter '{self.source}': {message} at position {pos}")

    def check_prefix(self, c: Comparison, allowed: Sequence[str]) -> None:
        if c.prefix is not None and c.prefix not in allowed:
            raise self.error(
                c, f"Invalid entity type '{c.prefix}'. Valid entity types are {tuple(allowed)}"
            )

    def check_op(self, c: Comparison, allowed: Sequence[str], what: str) -> None:
        if c.comparator not in allowed:
            raise self.error(
                c,
                f"Invalid comparator '{c.comparator}' for {what}, expected one of "
                + ", ".join(allowed),
                at="op",
            )

    def number(self, c: Comparison, what: str) -> int | float:
        if isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
            if isinstance(c.value, int) and not _INT64_MIN <= c.value <= _INT64_MAX:
                return float(c.value)  # beyond a 64-bit integer: compare as a double
            return c.value
        raise self.error(
            c, f"Expected numeric value type for {what}. Found {c.raw_value}", at="value"
        )

    def integer(self, c: Comparison, what: str, *, allow_quoted: bool = False) -> int:
        value = c.value
        if allow_quoted and isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                pass
        if isinstance(value, int) and not isinstance(value, bool):
            if _INT64_MIN <= value <= _INT64_MAX:
                return value
            raise self.error(
                c, f"Value for numeric attribute '{what}' is out of range: {c.raw_value}",
                at="value",
            )
        raise self.error(
            c, f"Invalid value for numeric attribute '{what}': {c.raw_value}", at="value"
        )

    def string(self, c: Comparison, what: str, *, allow_number: bool = False) -> str:
        if isinstance(c.value, str):
            return c.value
        if allow_number and isinstance(c.value, (int, float)):
            return c.raw_value
        raise self.error(
            c,
            f"Expected a quoted string value for {what} (e.g. 'my-value'). Got value {c.raw_value}",
            at="value",
        )

    def strings(self, c: Comparison, what: str, list_keys: Iterable[str]) -> str | tuple[str, ...]:
        """A string, or a list for IN/NOT IN on a key that supports lists."""
        if isinstance(c.value, tuple):
            keys = sorted(list_keys)
            if c.key not in keys:
                raise self.error(
                    c,
                    f"Only {keys} attributes support comparison with a list of quoted "
                    "string values",
                    at="value",
                )
            return c.value
        return self.string(c, what)


def _compare_string(column: Col, comparator: str, value: Value) -> ColumnElement[bool]:
    if comparator in _LIST_OPS:
        assert isinstance(value, tuple)
        return column.in_(value) if comparator == "IN" else column.not_in(value)
    assert isinstance(value, str)
    if comparator == "=":
        return column == value
    if comparator == "!=":
        return column != value
    if comparator == "LIKE":
        return sql.like(column, value)
    if comparator == "ILIKE":
        return sql.ilike(column, value)
    raise AssertionError(comparator)  # pragma: no cover - validated by callers


def _compare_number(column: Col, comparator: str, value: int | float) -> ColumnElement[bool]:
    # A float bound to an integer column would be cast to the column type (PostgreSQL rounds
    # ``start_time > 1.5`` to ``> 2``); binding it as a double keeps the comparison exact.
    operand: Any = literal(value, Double()) if isinstance(value, float) else value
    result: ColumnElement[bool] = _NUMERIC_FUNCS[comparator](column, operand)
    return result


def _nan_aware(
    value_col: Col,
    nan_col: Col,
    comparator: str,
    value: float,
) -> ColumnElement[bool]:
    """A metric comparison: NaN (stored as 0.0 + flag) satisfies only ``!=``."""
    base = _compare_number(value_col, comparator, value)
    if comparator == "!=":
        return or_(base, nan_col == true())
    return and_(base, nan_col == false())


def _null_last(expr: Col) -> ColumnElement[Any]:
    rank: ColumnElement[Any] = case((expr.is_(None), 1), else_=0)
    return rank


def _direction(expr: Col, ascending: bool) -> ColumnElement[Any]:
    return expr.asc() if ascending else expr.desc()


def _order_error(order_by: Any, key: OrderKey | None, message: str) -> InvalidParameter:
    """An error naming the offending clause, or the whole ``order_by`` when ``key`` is None."""
    if key is not None:
        return InvalidParameter(f"Invalid order_by clause '{key.clause}': {message}")
    return InvalidParameter(f"Invalid order_by {list(order_by or [])!r}: {message}")


# ---------------------------------------------------------------------------------------------
# runs

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
_DATASET_OPS = (*_STRING_OPS, *_LIST_OPS)


def _run_child_exists(
    entity: type[RunParam] | type[RunTag] | type[RunLatestMetric],
    key: str,
    *conditions: ColumnElement[bool],
) -> ColumnElement[bool]:
    return (
        select(_ONE)
        .where(entity.candidate_id == Run.id, entity.key == key, *conditions)
        .exists()
    )


def _run_dataset_clause(f: _Filter, c: Comparison) -> ColumnElement[bool]:
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
        select(_ONE)
        .select_from(RunDatasetInput)
        .join(Dataset, Dataset.id == RunDatasetInput.dataset_id)
        .where(
            RunDatasetInput.candidate_id == Run.id,
            _compare_string(target, c.comparator, value),
        )
        .exists()
    )


def _run_clause(f: _Filter, c: Comparison) -> ColumnElement[bool]:
    if c.entity_type == METRIC:
        if c.comparator in _NULL_OPS:
            raise f.error(
                c,
                "IS NULL / IS NOT NULL is only supported for tags and params, "
                f"not for metric '{c.key}'",
                at="op",
            )
        f.check_op(c, _NUMERIC_OPS, f"metric '{c.key}'")
        value = float(f.number(c, "metric"))
        return _run_child_exists(
            RunLatestMetric,
            c.key,
            _nan_aware(
                RunLatestMetric.value, RunLatestMetric.is_nan, c.comparator, value
            ),
        )
    if c.entity_type in (PARAM, TAG):
        entity = RunParam if c.entity_type == PARAM else RunTag
        what = "parameter" if c.entity_type == PARAM else "tag"
        f.check_op(c, (*_STRING_OPS, *_NULL_OPS), f"{what} '{c.key}'")
        if c.comparator == "IS NULL":
            return ~_run_child_exists(entity, c.key)
        if c.comparator == "IS NOT NULL":
            return _run_child_exists(entity, c.key)
        value_s = f.string(c, what)
        return _run_child_exists(
            entity, c.key, _compare_string(entity.value, c.comparator, value_s)
        )
    if c.entity_type == DATASET:
        return _run_dataset_clause(f, c)
    # attribute
    key = _RUN_KEY_ALIASES.get(c.key, c.key)
    if c.comparator in _NULL_OPS:
        raise f.error(
            c,
            "IS NULL / IS NOT NULL is only supported for tags and params, "
            f"not for attribute '{c.key}'",
            at="op",
        )
    if key in _RUN_NUMERIC_ATTRIBUTES:
        f.check_op(c, _NUMERIC_OPS, f"numeric attribute '{c.key}'")
        number = f.number(c, f"numeric attribute: {c.key}")
        return _compare_number(_RUN_NUMERIC_ATTRIBUTES[key], c.comparator, number)
    if key in _RUN_STRING_ATTRIBUTES:
        f.check_op(c, (*_STRING_OPS, *_LIST_OPS), f"attribute '{c.key}'")
        value_v = f.strings(c, "attributes", ("run_id",))
        return _compare_string(_RUN_STRING_ATTRIBUTES[key], c.comparator, value_v)
    raise f.error(
        c, f"Invalid attribute key '{c.key}' specified. Valid keys are {_RUN_FILTER_KEYS}"
    )


def run_filter_clauses(filter_string: str | None) -> list[ColumnElement[bool]]:
    """WHERE clauses over :class:`Run` for an MLflow ``search_runs`` filter.

    Metrics compare the latest value (NaN satisfies only ``!=``); params, tags and datasets
    are correlated ``EXISTS``; ``IS NULL`` on a param or tag is ``NOT EXISTS``.
    """
    f = _Filter(filter_string)
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
                raise _order_error(
                    order_by,
                    ok,
                    f"Invalid attribute key '{ok.key}' specified. Valid keys are {_RUN_ORDER_KEYS}",
                )
            if key in _RUN_NULLABLE_ATTRIBUTES:
                clauses.append(_null_last(column))
            clauses.append(_direction(column, ok.ascending))
        elif entity_type == METRIC:
            value = _run_child_value(RunLatestMetric, RunLatestMetric.value, key)
            nan_rank = _run_child_value(
                RunLatestMetric,
                case((RunLatestMetric.is_nan == true(), 1), else_=0),
                key,
            )
            clauses.append(func.coalesce(nan_rank, 2))
            clauses.append(_direction(value, ok.ascending))
        elif entity_type in (PARAM, TAG):
            entity = RunParam if entity_type == PARAM else RunTag
            value = _run_child_value(entity, entity.value, key)
            clauses.append(_null_last(value))
            clauses.append(_direction(value, ok.ascending))
        else:
            raise _order_error(order_by, ok, f"Invalid order_by entity type '{entity_type}'")
        if (entity_type, key) in seen:
            raise _order_error(order_by, None, "`order_by` contains duplicate fields")
        seen.add((entity_type, key))
    if (ATTRIBUTE, "start_time") not in seen:
        clauses.append(Run.start_time.desc())
    clauses.append(Run.run_id.asc())
    return clauses


# ---------------------------------------------------------------------------------------------
# experiments

_EXPERIMENT_PREFIXES = ("attribute", "tag", "tags")
_EXPERIMENT_NUMERIC: dict[str, Col] = {
    "creation_time": Experiment.creation_time,
    "last_update_time": Experiment.last_update_time,
}
_EXPERIMENT_KEYS = ["creation_time", "experiment_id", "last_update_time", "name"]


def _experiment_id(f: _Filter, c: Comparison, value: str) -> int:
    try:
        number = int(value)
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise ValueError(value)
        return number
    except ValueError:
        raise f.error(
            c,
            f"Invalid experiment ID '{value}'. Experiment ID must be a valid integer.",
            at="value",
        ) from None


def _experiment_clause(f: _Filter, c: Comparison) -> ColumnElement[bool]:
    f.check_prefix(c, _EXPERIMENT_PREFIXES)
    if c.entity_type == TAG:
        f.check_op(c, (*_STRING_OPS, *_NULL_OPS), f"tag '{c.key}'")
        exists = select(_ONE).where(
            ExperimentTag.experiment_id == Experiment.id, ExperimentTag.key == c.key
        )
        if c.comparator == "IS NULL":
            return ~exists.exists()
        if c.comparator == "IS NOT NULL":
            return exists.exists()
        value = f.string(c, "tag")
        return exists.where(_compare_string(ExperimentTag.value, c.comparator, value)).exists()
    if c.comparator in _NULL_OPS:
        raise f.error(
            c,
            f"IS NULL / IS NOT NULL is only supported for tags, not for attribute '{c.key}'",
            at="op",
        )
    if c.key == "experiment_id":
        f.check_op(c, ("=", "!=", *_LIST_OPS), "experiment_id")
        raw = f.strings(c, "attributes", ("experiment_id",))
        if isinstance(raw, tuple):
            ids = tuple(_experiment_id(f, c, v) for v in raw)
            return Experiment.iid.in_(ids) if c.comparator == "IN" else Experiment.iid.not_in(ids)
        return _compare_number(Experiment.iid, c.comparator, _experiment_id(f, c, raw))
    if c.key in _EXPERIMENT_NUMERIC:
        f.check_op(c, _NUMERIC_OPS, f"numeric attribute '{c.key}'")
        return _compare_number(_EXPERIMENT_NUMERIC[c.key], c.comparator, f.integer(c, c.key))
    if c.key == "name":
        f.check_op(c, (*_STRING_OPS, *_LIST_OPS), "string attribute 'name'")
        value_v = f.strings(c, "attributes", ("experiment_id",))
        return _compare_string(Experiment.name, c.comparator, value_v)
    raise f.error(
        c, f"Invalid attribute key '{c.key}' specified. Valid keys are {_EXPERIMENT_KEYS}"
    )


def experiment_filter_clauses(filter_string: str | None) -> list[ColumnElement[bool]]:
    """WHERE clauses over :class:`Experiment` for ``search_experiments``.

    Keys: ``name``, ``experiment_id`` (``Experiment.iid``; ``= != IN NOT IN``),
    ``creation_time``, ``last_update_time`` and ``tags.<key>`` (with ``IS [NOT] NULL``).
    """
    f = _Filter(filter_string)
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
            raise _order_error(
                order_by,
                ok,
                f"Invalid entity type '{ok.prefix}'. Valid entity types are {_EXPERIMENT_PREFIXES}",
            )
        if ok.entity_type != ATTRIBUTE:
            raise _order_error(order_by, ok, f"Invalid order_by entity: {ok.entity_type}")
        if ok.key not in columns:
            raise _order_error(
                order_by,
                ok,
                f"Invalid attribute key '{ok.key}' specified. Valid keys are {_EXPERIMENT_KEYS}",
            )
        has_id = has_id or ok.key == "experiment_id"
        clauses.append(_direction(columns[ok.key], ok.ascending))
    if not has_id:
        clauses.append(Experiment.iid.desc())
    return clauses


# ---------------------------------------------------------------------------------------------
# registered models and model versions

_REGISTRY_PREFIXES = ("attribute", "tag", "tags")


def _is_querying_prompts(comparisons: Sequence[Comparison]) -> bool:
    """MLflow's rule: the first comparison on the prompt tag decides; default is no."""
    for c in comparisons:
        if c.entity_type != TAG or c.key != IS_PROMPT_TAG_KEY or not isinstance(c.value, str):
            continue
        value = c.value.lower()
        return (c.comparator == "=" and value == "true") or (
            c.comparator == "!=" and value == "false"
        )
    return False


def _model_tag_exists(
    model_id: Col, key: str, *conditions: ColumnElement[bool]
) -> ColumnElement[bool]:
    return (
        select(_ONE)
        .where(RegisteredModelTag.model_id == model_id, RegisteredModelTag.key == key, *conditions)
        .exists()
    )


def _registry_tag_check(f: _Filter, c: Comparison) -> str:
    f.check_op(c, _STRING_OPS, f"tag '{c.key}'")
    return f.string(c, "tag")


def registered_model_filter_clauses(filter_string: str | None) -> list[ColumnElement[bool]]:
    """WHERE clauses over :class:`RegisteredModel` for ``search_registered_models``.

    Keys: ``name`` (``= != LIKE ILIKE IN NOT IN``) and ``tags.<key>`` (``= != LIKE ILIKE``).
    Prompts (models tagged ``mlflow.prompt.is_prompt = 'true'``) are excluded unless the filter
    asks for them (``tags.`mlflow.prompt.is_prompt` = 'true'``); when excluded, every clause on
    that tag is replaced by the exclusion, so an untagged model satisfies ``!= 'true'`` and
    ``= 'false'`` as in MLflow.
    """
    f = _Filter(filter_string)
    querying_prompts = _is_querying_prompts(f.comparisons)
    clauses: Clauses = []
    for c in f.comparisons:
        f.check_prefix(c, _REGISTRY_PREFIXES)
        if c.entity_type == TAG:
            value = _registry_tag_check(f, c)
            if c.key == IS_PROMPT_TAG_KEY and not querying_prompts:
                continue
            clauses.append(
                _model_tag_exists(
                    RegisteredModel.id,
                    c.key,
                    _compare_string(RegisteredModelTag.value, c.comparator, value),
                )
            )
            continue
        if c.key != "name":
            raise f.error(c, f"Invalid attribute key '{c.key}' specified. Valid keys are ['name']")
        f.check_op(c, (*_STRING_OPS, *_LIST_OPS), "attribute 'name'")
        clauses.append(
            _compare_string(
                RegisteredModel.name, c.comparator, f.strings(c, "attributes", ("name",))
            )
        )
    if not querying_prompts:
        clauses.append(_model_is_not_prompt())
    return clauses


@functools.cache
def _model_is_not_prompt() -> ColumnElement[bool]:
    """Models without the prompt tag; built once, as :func:`_model_version_is_prompt`."""
    return ~_model_tag_exists(
        RegisteredModel.id, IS_PROMPT_TAG_KEY, RegisteredModelTag.value == "true"
    )


def registered_model_order_by(order_by: Sequence[str] | None) -> list[ColumnElement[Any]]:
    """ORDER BY over :class:`RegisteredModel`: keys ``name``, ``timestamp`` /
    ``last_updated_timestamp`` (both the last update time); completed with ``name ASC``."""
    clauses: OrderBy = []
    seen: set[str] = set()
    for ok in parse_order_by(order_by):
        column: Col
        if ok.prefix is None and ok.key == "name":
            field, column = "name", RegisteredModel.name
        elif ok.prefix is None and ok.key in ("timestamp", "last_updated_timestamp"):
            field, column = "last_updated_timestamp", RegisteredModel.last_updated_timestamp
        else:
            raise _order_error(
                order_by,
                ok,
                f"Invalid order by key '{ok.key}' specified. Valid keys are "
                "['last_updated_timestamp', 'name', 'timestamp']",
            )
        if field in seen:
            raise _order_error(order_by, None, "`order_by` contains duplicate fields")
        seen.add(field)
        clauses.append(_direction(column, ok.ascending))
    if "name" not in seen:
        clauses.append(RegisteredModel.name.asc())
    return clauses


_MV_STRING: dict[str, Col] = {
    "name": RegisteredModel.name,
    "run_id": ModelVersion.run_id,
    "source_path": ModelVersion.source,
}
_MV_KEYS = ["name", "run_id", "source_path", "version_number"]


@functools.cache
def _model_version_is_prompt() -> ColumnElement[bool]:
    """Whether the version's model, or any version of it, carries the prompt tag.

    Built once: it is the same in every version search, and costs more to build than the
    rest of a search statement.
    """
    sibling = aliased(ModelVersion)
    version_tagged = (
        select(_ONE)
        .select_from(ModelVersionTag)
        .join(sibling, sibling.id == ModelVersionTag.version_id)
        .where(
            sibling.model_id == ModelVersion.model_id,
            ModelVersionTag.key == IS_PROMPT_TAG_KEY,
            ModelVersionTag.value == "true",
        )
        .exists()
    )
    model_tagged = _model_tag_exists(
        ModelVersion.model_id, IS_PROMPT_TAG_KEY, RegisteredModelTag.value == "true"
    )
    return or_(model_tagged, version_tagged)


def model_version_filter_clauses(filter_string: str | None) -> list[ColumnElement[bool]]:
    """WHERE clauses over :class:`ModelVersion` joined to :class:`RegisteredModel` (the caller joins
    ``RegisteredModel``: ``name`` compares ``RegisteredModel.name``) for ``search_model_versions``.

    Keys: ``name``, ``run_id`` (both with ``IN``), ``source_path`` (``ModelVersion.source``),
    ``version_number`` (``ModelVersion.sequence``, numeric) and ``tags.<key>``. Prompt versions
    are excluded as in :func:`registered_model_filter_clauses`.
    """
    f = _Filter(filter_string)
    querying_prompts = _is_querying_prompts(f.comparisons)
    clauses: Clauses = []
    for c in f.comparisons:
        f.check_prefix(c, _REGISTRY_PREFIXES)
        if c.entity_type == TAG:
            value = _registry_tag_check(f, c)
            if c.key == IS_PROMPT_TAG_KEY and not querying_prompts:
                continue
            clauses.append(
                select(_ONE)
                .where(
                    ModelVersionTag.version_id == ModelVersion.id,
                    ModelVersionTag.key == c.key,
                    _compare_string(ModelVersionTag.value, c.comparator, value),
                )
                .exists()
            )
            continue
        if c.key == "version_number":
            if isinstance(c.value, tuple):
                f.strings(c, "attributes", ("name", "run_id"))
            f.check_op(c, _NUMERIC_OPS, "attribute version_number")
            number = f.integer(c, "version_number", allow_quoted=True)
            clauses.append(_compare_number(ModelVersion.sequence, c.comparator, number))
            continue
        if c.key not in _MV_STRING:
            raise f.error(
                c, f"Invalid attribute key '{c.key}' specified. Valid keys are {_MV_KEYS}"
            )
        if isinstance(c.value, (int, float)):
            raise f.error(
                c,
                "Only the ['version_number'] attributes support comparison with numeric values",
                at="value",
            )
        f.check_op(c, (*_STRING_OPS, *_LIST_OPS), f"attribute '{c.key}'")
        value_v = f.strings(c, "attributes", ("name", "run_id"))
        clauses.append(_compare_string(_MV_STRING[c.key], c.comparator, value_v))
    if not querying_prompts:
        clauses.append(~_model_version_is_prompt())
    return clauses


def model_version_order_by(order_by: Sequence[str] | None) -> list[ColumnElement[Any]]:
    """ORDER BY over :class:`ModelVersion` joined to :class:`RegisteredModel`.

    Keys ``name``, ``version_number``, ``creation_timestamp``, ``last_updated_timestamp``. The
    default is MLflow's SQL store default ``last_updated_timestamp DESC, name ASC,
    version_number DESC``; any ordering is completed with ``name ASC`` and
    ``version_number DESC``.
    """
    columns: dict[str, Col] = {
        "name": RegisteredModel.name,
        "version_number": ModelVersion.sequence,
        "creation_timestamp": ModelVersion.creation_timestamp,
        "last_updated_timestamp": ModelVersion.last_updated_timestamp,
    }
    items = order_by or ["last_updated_timestamp DESC", "name ASC", "version_number DESC"]
    clauses: OrderBy = []
    seen: set[str] = set()
    for ok in parse_order_by(items):
        if ok.prefix not in (None, "attribute") or ok.key not in columns:
            raise _order_error(
                order_by,
                ok,
                f"Invalid order by key '{ok.key}' specified. Valid keys are {sorted(columns)}",
            )
        if ok.key in seen:
            raise _order_error(order_by, None, "`order_by` contains duplicate fields")
        seen.add(ok.key)
        clauses.append(_direction(columns[ok.key], ok.ascending))
    if "name" not in seen:
        clauses.append(RegisteredModel.name.asc())
    if "version_number" not in seen:
        clauses.append(ModelVersion.sequence.desc())
    return clauses


# ---------------------------------------------------------------------------------------------
# logged models

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
        select(_ONE)
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
    f = _Filter(filter_string)
    ds = _dataset_conditions(datasets)
    clauses: Clauses = []
    has_metric = False
    for c in f.comparisons:
        if c.prefix is not None and c.prefix not in _LM_PREFIXES:
            raise f.error(
                c,
                f"Invalid entity type: '{c.prefix}'. Expected one of {list(_LM_PREFIXES)}",
            )
        if c.comparator in _NULL_OPS:
            raise f.error(c, f"Invalid comparison operator '{c.comparator}'", at="op")
        if c.entity_type == METRIC:
            has_metric = True
            f.check_op(c, _NUMERIC_OPS, f"metrics.{c.key}")
            value = float(f.number(c, "metric"))
            conditions = [
                LoggedModelMetric.logged_model_id == LoggedModel.id,
                LoggedModelMetric.key == c.key,
                _nan_aware(LoggedModelMetric.value, LoggedModelMetric.is_nan, c.comparator, value),
            ]
            if ds:
                conditions.append(or_(*ds))
            clauses.append(select(_ONE).where(*conditions).exists())
        elif c.entity_type in (PARAM, TAG):
            entity = LoggedModelParam if c.entity_type == PARAM else LoggedModelTag
            what = "params" if c.entity_type == PARAM else "tags"
            f.check_op(c, (*_STRING_OPS, *_LIST_OPS), f"{what}.{c.key}")
            value_v: Value = (
                c.value if isinstance(c.value, tuple) else f.string(c, what, allow_number=True)
            )
            clauses.append(
                _lm_child_exists(
                    entity, c.key, _compare_string(entity.value, c.comparator, value_v)
                )
            )
        elif c.entity_type == ATTRIBUTE and c.key in _LM_NUMERIC:
            f.check_op(c, _NUMERIC_OPS, c.key)
            clauses.append(_compare_number(_LM_NUMERIC[c.key], c.comparator, f.number(c, c.key)))
        elif c.entity_type == ATTRIBUTE and c.key in _LM_STRING:
            f.check_op(c, (*_STRING_OPS, *_LIST_OPS), c.key)
            value_v = (
                c.value
                if isinstance(c.value, tuple)
                else f.string(c, "attributes", allow_number=True)
            )
            clauses.append(_compare_string(_LM_STRING[c.key], c.comparator, value_v))
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
            select(_ONE)
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
                _direction(_lm_latest(LoggedModelMetric.value, key, conditions), ascending)
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
            clauses.append(_null_last(column))
        clauses.append(_direction(column, ascending))
    if not has_created:
        clauses.append(LoggedModel.creation_timestamp_ms.desc())
    if not has_id:
        clauses.append(LoggedModel.model_id.asc())
    return clauses
