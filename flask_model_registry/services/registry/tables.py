"""The registry's tables and the bound parameters its prebuilt statements share."""

from __future__ import annotations

from sqlalchemy import BindParameter, bindparam

from flask_model_registry.models import (
    LoggedModel,
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)

__all__ = [
    "ALIASES",
    "LOGGED_MODELS",
    "MODELS",
    "MODEL_TAGS",
    "NAME",
    "PROJECT",
    "VERSIONS",
    "VERSION_TAGS",
]

MODELS = RegisteredModel.__table__
MODEL_TAGS = RegisteredModelTag.__table__
ALIASES = RegisteredModelAlias.__table__
VERSIONS = ModelVersion.__table__
VERSION_TAGS = ModelVersionTag.__table__
LOGGED_MODELS = LoggedModel.__table__

PROJECT: BindParameter[int] = bindparam("project_id")
NAME: BindParameter[str] = bindparam("name")
