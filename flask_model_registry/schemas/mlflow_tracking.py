"""Request schemas of MLflow's tracking endpoints (experiments, runs, metrics).

They check presence and wire types as MLflow's handlers do; value rules (key characters,
lengths, batch limits) live in the services so every caller gets them.
"""

from __future__ import annotations

import typing as t

from marshmallow import ValidationError, fields, validates_schema

from flask_model_registry.rules import missing_message
from flask_model_registry.schemas.base import (
    Int64,
    KeyValueSchema,
    MlflowSchema,
    RequiredString,
    WireFloat,
    optional_string,
    parse_wire_float,
)
from flask_model_registry.services.runs import MetricPoint

__all__ = [
    "RUN_STATUS",
    "VIEW_TYPE",
    "CreateExperimentSchema",
    "CreateRunSchema",
    "DeleteExperimentTagSchema",
    "DeleteTagSchema",
    "ExperimentIdSchema",
    "GetExperimentByNameSchema",
    "GetMetricHistoryBulkIntervalSchema",
    "GetMetricHistorySchema",
    "LogBatchSchema",
    "LogInputsSchema",
    "LogMetricSchema",
    "LogOutputsSchema",
    "LogParamSchema",
    "RequiredRunIdSchema",
    "RunIdSchema",
    "SearchExperimentsSchema",
    "SearchRunsSchema",
    "SetExperimentTagSchema",
    "SetTagSchema",
    "UpdateExperimentSchema",
    "UpdateRunSchema",
]

#: Protobuf enum values by number, as MLflow's protos define them.
VIEW_TYPE = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}
RUN_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


class ProtoEnum(fields.Field):  # type: ignore[type-arg]
    """A protobuf enum: its name, or its number as protobuf JSON also allows."""

    def __init__(self, values: dict[int, str], **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.values = values

    def _deserialize(self, value: t.Any, attr: str | None, data: t.Any, **kwargs: t.Any) -> str:
        if isinstance(value, str) and value in self.values.values():
            return value
        number = value
        if isinstance(value, str) and value.strip().isdigit():
            number = int(value)
        if isinstance(number, int) and not isinstance(number, bool) and number in self.values:
            return self.values[number]
        raise ValidationError(f"Must be one of {', '.join(self.values.values())}.")


def _int64(**kwargs: t.Any) -> Int64:
    kwargs.setdefault("load_default", None)
    return Int64(allow_none=True, **kwargs)


class _Repeated(fields.List):  # type: ignore[type-arg]
    """A repeated field: JSON ``null`` reads as an empty list, as protobuf JSON parsing does."""

    def deserialize(
        self, value: t.Any, attr: str | None = None, data: t.Any = None, **kwargs: t.Any
    ) -> t.Any:
        if value is None:
            return []
        return super().deserialize(value, attr, data, **kwargs)


def _list(inner: fields.Field, **kwargs: t.Any) -> fields.List:  # type: ignore[type-arg]
    kwargs.setdefault("load_default", list)
    return _Repeated(inner, **kwargs)


class CreateExperimentSchema(MlflowSchema):
    name = RequiredString()
    artifact_location = optional_string()
    tags = _list(fields.Nested(KeyValueSchema))


class ExperimentIdSchema(MlflowSchema):
    experiment_id = RequiredString()


class GetExperimentByNameSchema(MlflowSchema):
    experiment_name = RequiredString()


class UpdateExperimentSchema(MlflowSchema):
    experiment_id = RequiredString()
    new_name = RequiredString()


class SetExperimentTagSchema(KeyValueSchema, ExperimentIdSchema):
    pass


class DeleteExperimentTagSchema(MlflowSchema):
    experiment_id = RequiredString()
    key = RequiredString()


class SearchExperimentsSchema(MlflowSchema):
    max_results = _int64()
    page_token = optional_string()
    filter = optional_string()
    order_by = _list(fields.String())
    view_type = ProtoEnum(VIEW_TYPE, load_default="ACTIVE_ONLY")


class RunIdSchema(MlflowSchema):
    """``run_id``, or the deprecated ``run_uuid``; one of them is required."""

    run_id = optional_string()
    run_uuid = optional_string()

    @validates_schema
    def _one_id(self, data: dict[str, t.Any], **kwargs: t.Any) -> None:
        if not (data.get("run_id") or data.get("run_uuid")):
            raise ValidationError(missing_message("run_id"), "run_id")


class RequiredRunIdSchema(MlflowSchema):
    run_id = RequiredString()


class CreateRunSchema(MlflowSchema):
    experiment_id = optional_string()
    user_id = optional_string()
    run_name = optional_string()
    start_time = _int64()
    tags = _list(fields.Nested(KeyValueSchema))


class UpdateRunSchema(RunIdSchema):
    status = ProtoEnum(RUN_STATUS, load_default=None, allow_none=True)
    end_time = _int64()
    run_name = optional_string()


class _Double(WireFloat):
    """A wire double; integers too large for a float are invalid rather than a crash."""

    def _deserialize(self, value: t.Any, attr: str | None, data: t.Any, **kwargs: t.Any) -> float:
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except OverflowError:
            raise ValidationError("Not a valid number.") from None


class _Metric(MlflowSchema):
    key = RequiredString()
    value = _Double(required=True)
    timestamp = Int64(required=True)
    step = Int64(load_default=0, allow_none=True)
    model_id = optional_string()
    dataset_name = optional_string()
    dataset_digest = optional_string()


class LogMetricSchema(RunIdSchema, _Metric):
    pass


class LogParamSchema(KeyValueSchema, RunIdSchema):
    pass


class SetTagSchema(KeyValueSchema, RunIdSchema):
    pass


class DeleteTagSchema(MlflowSchema):
    run_id = RequiredString()
    key = RequiredString()


_INT64 = Int64()
_NOT_A_LIST = "Not a valid list."
_PLAIN_METRIC_KEYS = frozenset({"key", "value", "timestamp", "step"})
_NOT_A_STRING = "Not a valid string."


def _missing(path: str) -> str:
    return missing_message(path)


class _PlainList(fields.Field):  # type: ignore[type-arg]
    """A repeated message read in one plain loop rather than a nested schema per item: JSON
    ``null`` reads as an empty list, anything else but a list is invalid."""

    #: The field's name in error messages when marshmallow gives none.
    default_name = "items"

    def deserialize(
        self, value: t.Any, attr: str | None = None, data: t.Any = None, **kwargs: t.Any
    ) -> t.Any:
        return [] if value is None else super().deserialize(value, attr, data, **kwargs)

    def _deserialize(
        self, value: t.Any, attr: str | None, data: t.Any, **kwargs: t.Any
    ) -> list[t.Any]:
        if not isinstance(value, list):
            raise ValidationError(_NOT_A_LIST)
        return self._items(value, attr or self.default_name)

    def _items(self, value: list[t.Any], name: str) -> list[t.Any]:
        raise NotImplementedError


class _MetricList(_PlainList):
    """A list of ``Metric`` messages, checked in one plain loop (batches hold 1000 of them).

    Accepts and rejects exactly what ``_Metric`` does; errors name ``metrics[i].field``.
    """

    default_name = "metrics"

    def _items(self, value: list[t.Any], name: str) -> list[MetricPoint]:
        return [
            self._plain_item(item) or self._item(i, item, name) for i, item in enumerate(value)
        ]

    @staticmethod
    def _plain_item(item: t.Any) -> MetricPoint | None:
        """The usual point (``key``, a double, integer ``timestamp`` and ``step``, nothing
        else) without further checks; ``None`` for anything else, which :meth:`_item` reads."""
        if type(item) is not dict or not item.keys() <= _PLAIN_METRIC_KEYS:
            return None
        key, value, timestamp = item.get("key"), item.get("value"), item.get("timestamp")
        step = item.get("step", 0)
        if (
            type(key) is str
            and key
            and type(value) is float
            and type(timestamp) is int
            and type(step) is int
            and -(2**63) <= timestamp < 2**63
            and -(2**63) <= step < 2**63
        ):
            return MetricPoint(key, value, timestamp, step)
        return None

    @classmethod
    def _item(cls, i: int, item: t.Any, name: str) -> MetricPoint:
        data = cls._item_fields(i, item, name)
        return MetricPoint(
            data["key"],
            data["value"],
            data["timestamp"],
            data["step"] or 0,
            data["model_id"] or None,
            data["dataset_name"] or None,
            data["dataset_digest"] or None,
        )

    @staticmethod
    def _item_fields(i: int, item: t.Any, name: str) -> dict[str, t.Any]:
        def fail(field_name: str, message: str) -> ValidationError:
            return ValidationError({i: {field_name: [message]}})

        if not isinstance(item, dict):
            raise ValidationError({i: {"_schema": ["Invalid input type."]}})
        key = item.get("key")
        if key is None or key == "":
            raise fail("key", _missing(f"{name}[{i}].key"))
        if not isinstance(key, str):
            raise fail("key", _NOT_A_STRING)
        out: dict[str, t.Any] = {"key": key}
        for field_name in ("value", "timestamp"):
            if item.get(field_name) is None:
                raise fail(field_name, _missing(f"{name}[{i}].{field_name}"))
        try:
            out["value"] = parse_wire_float(item["value"])
        except (ValidationError, OverflowError):
            raise fail("value", "Not a valid number.") from None
        for field_name, default in (("timestamp", None), ("step", 0)):
            raw = item.get(field_name)
            if type(raw) is int and -(2**63) <= raw < 2**63:  # the common case, without a Field
                out[field_name] = raw
                continue
            try:
                out[field_name] = default if raw is None else _INT64.deserialize(raw)
            except ValidationError as exc:
                raise fail(field_name, str(exc.messages[0])) from None
        for field_name in ("model_id", "dataset_name", "dataset_digest"):
            text = item.get(field_name)
            if text is not None and not isinstance(text, str):
                raise fail(field_name, _NOT_A_STRING)
            out[field_name] = text
        return out


class _PairList(_PlainList):
    """A list of ``{key, value}`` messages (params, tags): ``key`` required, ``value``
    a string defaulting to ``""``."""

    def _items(self, value: list[t.Any], name: str) -> list[dict[str, str]]:
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise ValidationError({i: {"_schema": ["Invalid input type."]}})
            key, text = item.get("key"), item.get("value")
            if key is None or key == "":
                raise ValidationError({i: {"key": [_missing(f"{name}[{i}].key")]}})
            if not isinstance(key, str):
                raise ValidationError({i: {"key": [_NOT_A_STRING]}})
            if text is not None and not isinstance(text, str):
                raise ValidationError({i: {"value": [_NOT_A_STRING]}})
            out.append({"key": key, "value": text or ""})
        return out


class LogBatchSchema(MlflowSchema):
    run_id = RequiredString()
    metrics = _MetricList(load_default=list)
    params = _PairList(load_default=list)
    tags = _PairList(load_default=list)


class _InputTag(MlflowSchema):
    key = RequiredString()
    value = fields.String(required=True)


class _Dataset(MlflowSchema):
    name = RequiredString()
    digest = RequiredString()
    source_type = RequiredString()
    source = RequiredString()
    schema = optional_string()
    profile = optional_string()


class _DatasetInput(MlflowSchema):
    tags = _list(fields.Nested(_InputTag))
    dataset = fields.Nested(_Dataset, required=True)


class _ModelInput(MlflowSchema):
    model_id = RequiredString()


class LogInputsSchema(MlflowSchema):
    run_id = RequiredString()
    datasets = _list(fields.Nested(_DatasetInput))
    models = _list(fields.Nested(_ModelInput))


class _ModelOutput(MlflowSchema):
    model_id = RequiredString()
    step = Int64(load_default=0, allow_none=True)


class LogOutputsSchema(MlflowSchema):
    run_id = RequiredString()
    models = _Repeated(fields.Nested(_ModelOutput), required=True)


class SearchRunsSchema(MlflowSchema):
    experiment_ids = _list(fields.String())
    filter = optional_string()
    run_view_type = ProtoEnum(VIEW_TYPE, load_default="ACTIVE_ONLY")
    max_results = _int64()
    order_by = _list(fields.String())
    page_token = optional_string()


class GetMetricHistorySchema(RunIdSchema):
    metric_key = RequiredString()
    page_token = optional_string()
    max_results = _int64()


class GetMetricHistoryBulkIntervalSchema(MlflowSchema):
    run_ids = _Repeated(fields.String(), required=True)
    metric_key = RequiredString()
    start_step = _int64()
    end_step = _int64()
    max_results = _int64()
