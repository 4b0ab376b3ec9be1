"""Wire schemas of the logged-model endpoints and of the artifact listings."""

from __future__ import annotations

import typing as t

from marshmallow import ValidationError, fields, post_load, pre_load

from ..rules import missing_message
from .base import Int64, KeyValueSchema, MlflowSchema, RequiredString, optional_string

__all__ = [
    "ArtifactListSchema",
    "CreateLoggedModelSchema",
    "FinalizeLoggedModelSchema",
    "GetLoggedModelSchema",
    "ListLoggedModelArtifactsSchema",
    "LogLoggedModelParamsSchema",
    "NulFreeSchema",
    "RunArtifactListSchema",
    "SearchLoggedModelsSchema",
    "SetLoggedModelTagsSchema",
    "StatusField",
]

_STATUS_NUMBERS = {
    "LOGGED_MODEL_STATUS_UNSPECIFIED": 0,
    "LOGGED_MODEL_PENDING": 1,
    "LOGGED_MODEL_READY": 2,
    "LOGGED_MODEL_UPLOAD_FAILED": 3,
}


def _reject_nul(value: t.Any, path: str) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationError("It contains a NUL byte.", field_name=path or "request")
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_nul(item, f"{path}[{index}]")


class NulFreeSchema(MlflowSchema):
    """Refuses NUL bytes anywhere in the request: PostgreSQL cannot store or compare them."""

    @pre_load
    def _no_nul(self, data: t.Any, **kwargs: t.Any) -> t.Any:
        _reject_nul(data, "")
        return data


class _PairSchema(KeyValueSchema):
    """A ``{key, value}`` message read as a ``(key, value)`` pair."""

    @post_load
    def _pair(self, data: dict[str, t.Any], **kwargs: t.Any) -> tuple[str, str]:
        return data["key"], data["value"] or ""


def _pairs(**kwargs: t.Any) -> fields.Field:  # type: ignore[type-arg]
    return fields.List(fields.Nested(_PairSchema), load_default=list, **kwargs)


class StatusField(fields.Field):  # type: ignore[type-arg]
    """A ``LoggedModelStatus``: its enum name, or its number (JSON number or numeric string)."""

    default_error_messages = {"invalid": "Not a valid logged model status."}

    def _deserialize(
        self, value: t.Any, attr: str | None, data: t.Any, **kwargs: t.Any
    ) -> str | int:
        if isinstance(value, str):
            text = value.strip()
            if text in _STATUS_NUMBERS:
                return text
            if text.isdigit():
                return int(text)
        elif isinstance(value, int) and not isinstance(value, bool):
            return value
        raise self.make_error("invalid")


class CreateLoggedModelSchema(NulFreeSchema):
    experiment_id = RequiredString()
    name = optional_string()
    model_type = optional_string()
    source_run_id = optional_string()
    params = _pairs()
    tags = _pairs()


class GetLoggedModelSchema(NulFreeSchema):
    allow_deleted = fields.String(load_default="false")


class FinalizeLoggedModelSchema(NulFreeSchema):
    status = StatusField(required=True)


class SetLoggedModelTagsSchema(NulFreeSchema):
    tags = _pairs()


class LogLoggedModelParamsSchema(NulFreeSchema):
    params = _pairs()


class DatasetFilterSchema(MlflowSchema):
    dataset_name = optional_string()
    dataset_digest = optional_string()


class OrderBySchema(MlflowSchema):
    field_name = optional_string()
    ascending = fields.Boolean(load_default=True, allow_none=True)
    dataset_name = optional_string()
    dataset_digest = optional_string()


class SearchLoggedModelsSchema(NulFreeSchema):
    experiment_ids = fields.List(fields.String(), required=True)
    filter = optional_string()
    datasets = fields.List(fields.Nested(DatasetFilterSchema), load_default=list)
    max_results = Int64(load_default=None, allow_none=True)
    order_by = fields.List(fields.Nested(OrderBySchema), load_default=list)
    page_token = optional_string()


class ListLoggedModelArtifactsSchema(NulFreeSchema):
    artifact_directory_path = fields.String(load_default="")
    page_token = fields.String(load_default=None)


class ArtifactListSchema(NulFreeSchema):
    """``GET mlflow-artifacts/artifacts?path=``."""

    path = fields.String(load_default="")


class RunArtifactListSchema(NulFreeSchema):
    """``GET mlflow/artifacts/list?run_id=&path=`` (``run_uuid`` is the old name of run_id)."""

    run_id = fields.String(load_default=None)
    run_uuid = fields.String(load_default=None)
    path = fields.String(load_default="")
    page_token = fields.String(load_default=None)

    @post_load
    def _run_id(self, data: dict[str, t.Any], **kwargs: t.Any) -> dict[str, t.Any]:
        data["run_id"] = data.get("run_id") or data.get("run_uuid")
        if not data["run_id"]:
            raise ValidationError(missing_message("run_id"), field_name="run_id")
        return data
