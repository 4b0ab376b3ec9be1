"""What MLflow accepts of a run's logged data: limits, and the checks that word its errors."""

from __future__ import annotations

import typing as t
from collections.abc import Sequence

from flask_model_registry import rules
from flask_model_registry.errors import InvalidParameter
from flask_model_registry.models import ACTIVE
from flask_model_registry.rules import check_entity_name, invalid_value, missing, too_long
from flask_model_registry.services.context import ProjectContext

from .records import AnyRun

RUN_NAME_TAG = "mlflow.runName"
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_KEY_LENGTH = rules.MAX_KEY_LENGTH
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_RUN_NAME_LENGTH = 250
MAX_USER_ID_LENGTH = 255
MAX_MODEL_ID_LENGTH = 64
MAX_DATASET_NAME = 500
MAX_DATASET_DIGEST = 36
MAX_DATASET_SOURCE_TYPE = 36
MAX_DATASET_SOURCE = 65535
MAX_DATASET_SCHEMA = 1048575
MAX_DATASET_PROFILE = 16777215
MAX_INPUT_TAG_KEY = 255
MAX_INPUT_TAG_VALUE = 500


class MetricPoint(t.NamedTuple):
    """One metric value as logged."""

    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


class DatasetInputData(t.NamedTuple):
    """A dataset a run used, with its input tags (``mlflow.data.context`` ...)."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None
    tags: Sequence[tuple[str, str]] = ()


def _check_run_name(name: str) -> str:
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise too_long("run_name", MAX_RUN_NAME_LENGTH)
    return name


def _check_active(run: AnyRun) -> None:
    if run.lifecycle_stage != ACTIVE:
        raise InvalidParameter(
            f"The run {run.run_id} must be in the 'active' state."
            f" Current state is {run.lifecycle_stage}."
        )


def _path(single: bool, collection: str, index: int, name: str) -> str:
    return name if single else f"{collection}[{index}].{name}"


def _check_key(key: str, path: str, length_name: str) -> None:
    if not key:
        raise missing(path)
    check_entity_name(key, path)
    if len(key) > MAX_KEY_LENGTH:
        raise too_long(length_name, MAX_KEY_LENGTH)


def _limit_value(ctx: ProjectContext, value: str, limit: int, name: str) -> str:
    if len(value) <= limit:
        return value
    if ctx.settings.truncate_long_values:
        return value[:limit]
    raise too_long(name, limit)


def _check_optional(value: str | None, limit: int, name: str) -> None:
    if value is not None and len(value) > limit:
        raise too_long(name, limit)


def _validated_metrics(points: Sequence[MetricPoint], single: bool) -> list[MetricPoint]:
    checked_keys: set[str] = set()  # a batch repeats few keys over many steps
    for i, point in enumerate(points):
        if point.key not in checked_keys:
            _check_key(point.key, _path(single, "metrics", i, "name"), "Metric name")
            checked_keys.add(point.key)
        value = point.value
        if type(value) is not float and (
            isinstance(value, bool) or not isinstance(value, (int, float))
        ):
            raise invalid_value(
                _path(single, "metrics", i, "value"),
                point.value,
                f"(timestamp={point.timestamp}). "
                "Please specify value as a valid double (64-bit floating point)",
            )
        if point.timestamp < 0:
            raise invalid_value(
                _path(single, "metrics", i, "timestamp"),
                point.timestamp,
                f"metric '{point.key}' (value={point.value}). "
                "Timestamp must be a nonnegative long (64-bit integer) ",
            )
        if point.model_id or point.dataset_name or point.dataset_digest:
            _check_optional(point.model_id, MAX_MODEL_ID_LENGTH, "model_id")
            _check_optional(point.dataset_name, MAX_DATASET_NAME, "dataset_name")
            _check_optional(point.dataset_digest, MAX_DATASET_DIGEST, "dataset_digest")
    return list(points)


def _validated_params(
    ctx: ProjectContext, params: Sequence[tuple[str, str]], single: bool
) -> dict[str, str]:
    values: dict[str, str] = {}
    duplicates: list[str] = []
    for i, (key, value) in enumerate(params):
        _check_key(key, _path(single, "params", i, "key"), "Param key")
        if key in values:
            duplicates.append(key)
        values[key] = _limit_value(ctx, value, MAX_PARAM_VALUE_LENGTH, "Param value")
    if duplicates:
        raise InvalidParameter(
            f"Duplicate parameter keys have been submitted: {duplicates}. Please ensure "
            "the request contains only one param value per param key."
        )
    return values


def _validated_tags(
    ctx: ProjectContext, tags: Sequence[tuple[str, str]], single: bool
) -> dict[str, str]:
    """Tag values by key; a key repeated in one request keeps its last value, as in MLflow."""
    values: dict[str, str] = {}
    for i, (key, value) in enumerate(tags):
        key_path = _path(single, "tags", i, "key")
        _check_key(key, key_path, key_path)
        values[key] = _limit_value(
            ctx, value, MAX_TAG_VALUE_LENGTH, _path(single, "tags", i, "value")
        )
    if RUN_NAME_TAG in values:
        _check_run_name(values[RUN_NAME_TAG])
    return values


def _check_batch_limits(metrics: int, params: int, tags: int) -> None:
    for name, limit, count in (
        ("metrics", MAX_METRICS_PER_BATCH, metrics),
        ("params", MAX_PARAMS_TAGS_PER_BATCH, params),
        ("tags", MAX_PARAMS_TAGS_PER_BATCH, tags),
        ("metrics, params, and tags", MAX_ENTITIES_PER_BATCH, metrics + params + tags),
    ):
        if count > limit:
            raise InvalidParameter(
                f"A batch logging request can contain at most {limit} {name}. "
                f"Got {count} {name}. Please split up {name} across multiple"
                " requests and try again."
            )


def _check_dataset(data: DatasetInputData) -> None:
    for value, limit, name in (
        (data.name, MAX_DATASET_NAME, "name"),
        (data.digest, MAX_DATASET_DIGEST, "digest"),
        (data.source_type, MAX_DATASET_SOURCE_TYPE, "source_type"),
        (data.source, MAX_DATASET_SOURCE, "source"),
        (data.schema, MAX_DATASET_SCHEMA, "schema"),
        (data.profile, MAX_DATASET_PROFILE, "profile"),
    ):
        _check_optional(value, limit, name)
    for key, value in data.tags:
        _check_optional(key, MAX_INPUT_TAG_KEY, "key")
        _check_optional(value, MAX_INPUT_TAG_VALUE, "value")
