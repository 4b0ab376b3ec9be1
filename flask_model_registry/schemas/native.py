"""Schemas of the native JSON API: request validation and the shape of models and versions.

Requests are strict (an unknown field is an error, so a misspelt field never goes unnoticed).
Responses are dumped from small view objects that pair an ORM row with what was computed for it
(latest semver, aliases, the candidate's params and metrics).
"""

from __future__ import annotations

import math
import typing as t
from dataclasses import dataclass, field

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from flask_model_registry.models import ModelVersion, RegisteredModel, Run

__all__ = [
    "MAX_PER_PAGE",
    "CandidateOut",
    "ModelCreateSchema",
    "ModelOut",
    "ModelOutSchema",
    "ModelUpdateSchema",
    "PageSchema",
    "VersionCreateSchema",
    "VersionOut",
    "VersionOutSchema",
]

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
#: Keeps ``(page - 1) * per_page`` a valid SQL offset.
MAX_PAGE = 10**9


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class PageSchema(Schema):
    """``?page=&per_page=`` of a list; other query parameters are ignored."""

    class Meta:
        unknown = "exclude"

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(
        load_default=DEFAULT_PER_PAGE, validate=validate.Range(min=1, max=MAX_PER_PAGE)
    )


class ModelCreateSchema(_Strict):
    name = fields.String(required=True)
    description = fields.String(load_default=None, allow_none=True)
    tags = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


class ModelUpdateSchema(_Strict):
    name = fields.String()
    description = fields.String(allow_none=True)

    @validates_schema
    def _not_empty(self, data: dict[str, t.Any], **kwargs: t.Any) -> None:
        if not data:
            raise ValidationError("Give 'name' and/or 'description' to change.", "name")


class VersionCreateSchema(_Strict):
    """Promotion of a candidate (an MLflow run) to a version."""

    candidate_id = fields.String(required=True, validate=validate.Length(min=1))
    version = fields.String(load_default=None, allow_none=True)
    description = fields.String(load_default=None, allow_none=True)


# ---------------------------------------------------------------------------------------------
# responses


@dataclass
class ModelOut:
    """A model with its version count and latest semantic version."""

    model: RegisteredModel
    version_count: int
    latest_version: str | None


@dataclass
class CandidateOut:
    """The candidate (run) a version came from."""

    run: Run


@dataclass
class VersionOut:
    """A version with its aliases and provenance."""

    version: ModelVersion
    aliases: list[str] = field(default_factory=list)
    package_url: str | None = None


def _metric(value: float, is_nan: bool) -> float | str:
    if is_nan or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


class CandidateOutSchema(Schema):
    run_id = fields.String(attribute="run.run_id")
    name = fields.String(attribute="run.name")
    status = fields.String(attribute="run.status")
    experiment_id = fields.Integer(attribute="run.experiment.iid")
    experiment_name = fields.String(attribute="run.experiment.name")
    user_id = fields.String(attribute="run.user_id", allow_none=True)
    start_time = fields.Integer(attribute="run.start_time")
    end_time = fields.Integer(attribute="run.end_time", allow_none=True)
    artifact_uri = fields.String(attribute="run.artifact_uri")
    params = fields.Method("_params")
    metrics = fields.Method("_metrics")

    def _params(self, obj: CandidateOut) -> dict[str, str]:
        return {p.key: p.value for p in obj.run.params}

    def _metrics(self, obj: CandidateOut) -> dict[str, float | str]:
        return {m.key: _metric(m.value, m.is_nan) for m in obj.run.latest_metrics}


class ModelOutSchema(Schema):
    id = fields.Integer(attribute="model.id")
    name = fields.String(attribute="model.name")
    description = fields.String(attribute="model.description", allow_none=True)
    user_id = fields.String(attribute="model.user_id", allow_none=True)
    creation_timestamp = fields.Integer(attribute="model.creation_timestamp")
    last_updated_timestamp = fields.Integer(attribute="model.last_updated_timestamp")
    experiment_id = fields.Method("_experiment_id")
    tags = fields.Method("_tags")
    aliases = fields.Method("_aliases")
    latest_version = fields.String(allow_none=True)
    version_count = fields.Integer()

    def _experiment_id(self, obj: ModelOut) -> int | None:
        experiment = obj.model.default_experiment
        return None if experiment is None else experiment.iid

    def _tags(self, obj: ModelOut) -> dict[str, str]:
        return {tag.key: tag.value for tag in obj.model.tags}

    def _aliases(self, obj: ModelOut) -> dict[str, str]:
        return {a.alias: a.version.semver for a in obj.model.aliases}


class VersionOutSchema(Schema):
    id = fields.Integer(attribute="version.id")
    model_id = fields.Integer(attribute="version.model_id")
    model_name = fields.String(attribute="version.model.name")
    version = fields.Integer(attribute="version.sequence")
    semver = fields.String(attribute="version.semver")
    description = fields.String(attribute="version.description", allow_none=True)
    status = fields.String(attribute="version.status")
    stage = fields.String(attribute="version.current_stage")
    source = fields.String(attribute="version.source")
    storage_location = fields.String(attribute="version.storage_location", allow_none=True)
    run_id = fields.String(attribute="version.run_id", allow_none=True)
    logged_model_id = fields.Method("_logged_model_id")
    package_id = fields.String(attribute="version.package_id", allow_none=True)
    package_url = fields.String(allow_none=True)
    user_id = fields.String(attribute="version.user_id", allow_none=True)
    creation_timestamp = fields.Integer(attribute="version.creation_timestamp")
    last_updated_timestamp = fields.Integer(attribute="version.last_updated_timestamp")
    tags = fields.Method("_tags")
    aliases = fields.List(fields.String())
    candidate = fields.Method("_candidate")

    def _logged_model_id(self, obj: VersionOut) -> str | None:
        logged = obj.version.logged_model
        return None if logged is None else logged.model_id

    def _tags(self, obj: VersionOut) -> dict[str, str]:
        return {tag.key: tag.value for tag in obj.version.tags}

    def _candidate(self, obj: VersionOut) -> dict[str, t.Any] | None:
        run = obj.version.run
        if run is None:
            return None
        return t.cast(dict[str, t.Any], CandidateOutSchema().dump(CandidateOut(run)))
