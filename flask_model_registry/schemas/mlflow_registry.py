"""Request schemas of MLflow's model registry endpoints (registered models, versions, aliases).

They check presence and wire types as MLflow's handlers do; the registry's value rules (names,
tag keys and lengths, aliases, version numbers, stages) live in the service.
"""

from __future__ import annotations

from marshmallow import fields

from flask_model_registry.schemas.base import (
    KeyValueSchema,
    MlflowSchema,
    RequiredString,
    optional_string,
    value_string,
)

__all__ = [
    "AliasSchema",
    "CreateModelVersionSchema",
    "CreateRegisteredModelSchema",
    "DeleteModelVersionTagSchema",
    "DeleteRegisteredModelTagSchema",
    "GetLatestVersionsSchema",
    "ModelVersionSchema",
    "NameSchema",
    "RenameRegisteredModelSchema",
    "SearchSchema",
    "SetAliasSchema",
    "SetModelVersionTagSchema",
    "SetRegisteredModelTagSchema",
    "TransitionStageSchema",
    "UpdateModelVersionSchema",
    "UpdateRegisteredModelSchema",
]


def _strings() -> fields.List:  # type: ignore[type-arg]
    return fields.List(fields.String(), load_default=list, allow_none=True)


class TagSchema(MlflowSchema):
    """``{key, value}``; key and value rules are the service's."""

    key = optional_string()
    value = value_string()


def _tags() -> fields.List:  # type: ignore[type-arg]
    return fields.List(fields.Nested(TagSchema), load_default=list, allow_none=True)


class NameSchema(MlflowSchema):
    """``registered-models/get`` and ``delete``."""

    name = RequiredString()


class CreateRegisteredModelSchema(NameSchema):
    tags = _tags()
    description = optional_string()


class RenameRegisteredModelSchema(NameSchema):
    new_name = RequiredString()


class UpdateRegisteredModelSchema(NameSchema):
    description = optional_string()


class SearchSchema(MlflowSchema):
    """``registered-models/search`` and ``model-versions/search``; ``max_results`` is checked
    against each search's own limit by the service."""

    filter = optional_string()
    max_results = fields.Raw(load_default=None, allow_none=True)
    order_by = _strings()
    page_token = optional_string()


class GetLatestVersionsSchema(NameSchema):
    stages = _strings()


class SetRegisteredModelTagSchema(KeyValueSchema, NameSchema):
    pass


class DeleteRegisteredModelTagSchema(NameSchema):
    key = RequiredString()


class AliasSchema(NameSchema):
    """``DELETE`` and ``GET registered-models/alias``."""

    alias = RequiredString()


class SetAliasSchema(AliasSchema):
    version = RequiredString()


class CreateModelVersionSchema(NameSchema):
    source = RequiredString()
    run_id = optional_string()
    tags = _tags()
    run_link = optional_string()
    description = optional_string()
    model_id = optional_string()


class ModelVersionSchema(NameSchema):
    """Endpoints naming one version: ``get``, ``delete``, ``get-download-uri``."""

    version = RequiredString()


class UpdateModelVersionSchema(ModelVersionSchema):
    description = optional_string()


class TransitionStageSchema(ModelVersionSchema):
    stage = RequiredString()
    archive_existing_versions = fields.Boolean(load_default=False, allow_none=True)


class SetModelVersionTagSchema(KeyValueSchema, ModelVersionSchema):
    pass


class DeleteModelVersionTagSchema(ModelVersionSchema):
    key = RequiredString()
