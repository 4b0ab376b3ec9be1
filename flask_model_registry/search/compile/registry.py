"""Registered models and their versions: names, tags and version attributes, prompts excluded."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from flask_model_registry.models import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)

from ..parser import TAG, Comparison, parse_order_by
from .comparisons import ONE, Clauses, Col, Filter, Ops, compare_number, compare_string
from .ordering import OrderBy, direction, order_error

#: Tag that marks a registered model (and its versions) as a prompt.
IS_PROMPT_TAG_KEY = "mlflow.prompt.is_prompt"

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
        select(ONE)
        .where(RegisteredModelTag.model_id == model_id, RegisteredModelTag.key == key, *conditions)
        .exists()
    )


def _registry_clauses(
    filter_string: str | None,
    tag_clause: Callable[[Comparison, str], ColumnElement[bool]],
    attribute_clause: Callable[[Filter, Comparison], ColumnElement[bool]],
    not_prompt: ColumnElement[bool],
) -> Clauses:
    """A registry filter's clauses: tags through ``tag_clause``, attributes through
    ``attribute_clause``, and ``not_prompt`` unless the filter asks for prompts (then clauses
    on the prompt tag are kept; otherwise they give way to ``not_prompt``)."""
    f = Filter(filter_string)
    querying_prompts = _is_querying_prompts(f.comparisons)
    clauses: Clauses = []
    for c in f.comparisons:
        f.check_prefix(c, _REGISTRY_PREFIXES)
        if c.entity_type != TAG:
            clauses.append(attribute_clause(f, c))
            continue
        f.check_op(c, Ops.STRING, f"tag '{c.key}'")
        value = f.string(c, "tag")
        if querying_prompts or c.key != IS_PROMPT_TAG_KEY:
            clauses.append(tag_clause(c, value))
    if not querying_prompts:
        clauses.append(not_prompt)
    return clauses


def registered_model_filter_clauses(filter_string: str | None) -> list[ColumnElement[bool]]:
    """WHERE clauses over :class:`RegisteredModel` for ``search_registered_models``.

    Keys: ``name`` (``= != LIKE ILIKE IN NOT IN``) and ``tags.<key>`` (``= != LIKE ILIKE``).
    Prompts (models tagged ``mlflow.prompt.is_prompt = 'true'``) are excluded unless the filter
    asks for them (``tags.`mlflow.prompt.is_prompt` = 'true'``); when excluded, every clause on
    that tag is replaced by the exclusion, so an untagged model satisfies ``!= 'true'`` and
    ``= 'false'`` as in MLflow.
    """
    return _registry_clauses(
        filter_string, _model_tag_clause, _model_attribute_clause, _model_is_not_prompt()
    )


def _model_tag_clause(c: Comparison, value: str) -> ColumnElement[bool]:
    return _model_tag_exists(
        RegisteredModel.id, c.key, compare_string(RegisteredModelTag.value, c.comparator, value)
    )


def _model_attribute_clause(f: Filter, c: Comparison) -> ColumnElement[bool]:
    if c.key != "name":
        raise f.error(c, f"Invalid attribute key '{c.key}' specified. Valid keys are ['name']")
    f.check_op(c, (*Ops.STRING, *Ops.LIST), "attribute 'name'")
    return compare_string(RegisteredModel.name, c.comparator, f.strings(c, "attributes", ("name",)))


@functools.cache
def _model_is_not_prompt() -> ColumnElement[bool]:
    """Models without the prompt tag; built once, as :func:`_version_is_not_prompt`."""
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
            raise order_error(
                order_by,
                ok,
                f"Invalid order by key '{ok.key}' specified. Valid keys are "
                "['last_updated_timestamp', 'name', 'timestamp']",
            )
        if field in seen:
            raise order_error(order_by, None, "`order_by` contains duplicate fields")
        seen.add(field)
        clauses.append(direction(column, ok.ascending))
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
def _version_is_not_prompt() -> ColumnElement[bool]:
    """Whether neither the version's model nor any version of it carries the prompt tag.

    Built once: it is the same in every version search, and costs more to build than the
    rest of a search statement.
    """
    sibling = aliased(ModelVersion)
    version_tagged = (
        select(ONE)
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
    return ~or_(model_tagged, version_tagged)


def model_version_filter_clauses(filter_string: str | None) -> list[ColumnElement[bool]]:
    """WHERE clauses over :class:`ModelVersion` joined to :class:`RegisteredModel` (the caller joins
    ``RegisteredModel``: ``name`` compares ``RegisteredModel.name``) for ``search_model_versions``.

    Keys: ``name``, ``run_id`` (both with ``IN``), ``source_path`` (``ModelVersion.source``),
    ``version_number`` (``ModelVersion.sequence``, numeric) and ``tags.<key>``. Prompt versions
    are excluded as in :func:`registered_model_filter_clauses`.
    """
    return _registry_clauses(
        filter_string, _version_tag_clause, _version_attribute_clause, _version_is_not_prompt()
    )


def _version_tag_clause(c: Comparison, value: str) -> ColumnElement[bool]:
    return (
        select(ONE)
        .where(
            ModelVersionTag.version_id == ModelVersion.id,
            ModelVersionTag.key == c.key,
            compare_string(ModelVersionTag.value, c.comparator, value),
        )
        .exists()
    )


def _version_attribute_clause(f: Filter, c: Comparison) -> ColumnElement[bool]:
    if c.key == "version_number":
        if isinstance(c.value, tuple):
            f.strings(c, "attributes", ("name", "run_id"))
        f.check_op(c, Ops.NUMERIC, "attribute version_number")
        number = f.integer(c, "version_number", allow_quoted=True)
        return compare_number(ModelVersion.sequence, c.comparator, number)
    if c.key not in _MV_STRING:
        raise f.error(c, f"Invalid attribute key '{c.key}' specified. Valid keys are {_MV_KEYS}")
    if isinstance(c.value, (int, float)):
        raise f.error(
            c,
            "Only the ['version_number'] attributes support comparison with numeric values",
            at="value",
        )
    f.check_op(c, (*Ops.STRING, *Ops.LIST), f"attribute '{c.key}'")
    value = f.strings(c, "attributes", ("name", "run_id"))
    return compare_string(_MV_STRING[c.key], c.comparator, value)


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
            raise order_error(
                order_by,
                ok,
                f"Invalid order by key '{ok.key}' specified. Valid keys are {sorted(columns)}",
            )
        if ok.key in seen:
            raise order_error(order_by, None, "`order_by` contains duplicate fields")
        seen.add(ok.key)
        clauses.append(direction(columns[ok.key], ok.ascending))
    if "name" not in seen:
        clauses.append(RegisteredModel.name.asc())
    if "version_number" not in seen:
        clauses.append(ModelVersion.sequence.desc())
    return clauses
