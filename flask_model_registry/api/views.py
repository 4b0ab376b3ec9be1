"""Views of the native JSON API: models and their versions under ``<api prefix>/models``.

Lists are paged with ``page`` and ``per_page`` (at most 100) and answer
``{"<items>": [...], "next_page": <n> | null}``; versions are listed by SemVer precedence,
highest first. Errors use MLflow's ``{"error_code", "message"}`` shape.
"""

from __future__ import annotations

import typing as t

from flask import Response

from flask_model_registry.models import ModelVersion, RegisteredModel
from flask_model_registry.schemas import native as s
from flask_model_registry.services import registry
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.state import get_state

__all__ = [
    "create_model",
    "create_version",
    "delete_model",
    "delete_version",
    "get_model",
    "get_version",
    "list_models",
    "list_versions",
    "update_model",
]

Json = dict[str, t.Any]
Created = tuple[Json, int]


def _no_content() -> Response:
    return Response(status=204)


def _models_json(ctx: ProjectContext, models: list[RegisteredModel]) -> list[Json]:
    summary = registry.version_summary(ctx, models)
    items = [s.ModelOut(m, *summary[m.id]) for m in models]
    return t.cast(list[Json], s.ModelOutSchema(many=True).dump(items))


def _model_json(ctx: ProjectContext, model: RegisteredModel) -> Json:
    return _models_json(ctx, [model])[0]


def _versions_json(ctx: ProjectContext, versions: list[ModelVersion]) -> list[Json]:
    registry.load_provenance(ctx, versions)
    aliases = registry.aliases_by_version(ctx, versions)
    package_link = get_state().registry.hooks.package_url
    items = [
        s.VersionOut(v, aliases[v.id], package_link(ctx.project_id, v.package_id)) for v in versions
    ]
    return t.cast(list[Json], s.VersionOutSchema(many=True).dump(items))


def _version_json(ctx: ProjectContext, version: ModelVersion) -> Json:
    return _versions_json(ctx, [version])[0]


def _next_page(page: int, has_next: bool) -> int | None:
    return page + 1 if has_next else None


def list_models(ctx: ProjectContext, paging: Json) -> Json:
    """``GET /models``: the project's models by name."""
    models, has_next = registry.list_models(ctx, page=paging["page"], per_page=paging["per_page"])
    return {
        "models": _models_json(ctx, models),
        "next_page": _next_page(paging["page"], has_next),
    }


def create_model(ctx: ProjectContext, data: Json) -> Created:
    """``POST /models`` with ``{"name", "description"?, "tags"?}``."""
    model = registry.create_model(
        ctx, data["name"], tags=data["tags"], description=data["description"]
    )
    return _model_json(ctx, registry.get_model_by_id(ctx, model.id)), 201


def get_model(ctx: ProjectContext, model_id: int) -> Json:
    """``GET /models/<id>``."""
    return _model_json(ctx, registry.get_model_by_id(ctx, model_id))


def update_model(ctx: ProjectContext, data: Json, model_id: int) -> Json:
    """``PATCH /models/<id>`` with ``{"name"?, "description"?}`` (a new name renames)."""
    model = registry.get_model_by_id(ctx, model_id)
    if "name" in data:
        model = registry.rename_model(ctx, model.name, data["name"])
    if "description" in data:
        model = registry.update_model(ctx, model, description=data["description"])
    return _model_json(ctx, model)


def delete_model(ctx: ProjectContext, model_id: int) -> Response:
    """``DELETE /models/<id>``: the model, its versions, their packages and files."""
    registry.delete_model(ctx, registry.get_model_by_id(ctx, model_id))
    return _no_content()


def list_versions(ctx: ProjectContext, paging: Json, model_id: int) -> Json:
    """``GET /models/<id>/versions``: highest SemVer precedence first."""
    model = registry.get_model_by_id(ctx, model_id)
    versions, has_next = registry.versions_by_precedence(
        ctx, model, page=paging["page"], per_page=paging["per_page"]
    )
    return {
        "versions": _versions_json(ctx, versions),
        "next_page": _next_page(paging["page"], has_next),
    }


def create_version(ctx: ProjectContext, data: Json, model_id: int) -> Created:
    """``POST /models/<id>/versions`` with ``{"candidate_id", "version"?, "description"?}``."""
    model = registry.get_model_by_id(ctx, model_id)
    version = registry.promote_candidate(
        ctx,
        model,
        data["candidate_id"],
        semver=data["version"],
        description=data["description"],
    )
    return _version_json(ctx, version), 201


def get_version(ctx: ProjectContext, model_id: int, semver: str) -> Json:
    """``GET /models/<id>/versions/<semver>`` with the candidate it came from."""
    model = registry.get_model_by_id(ctx, model_id)
    return _version_json(ctx, registry.get_version_by_semver(ctx, model, semver))


def delete_version(ctx: ProjectContext, model_id: int, semver: str) -> Response:
    """``DELETE /models/<id>/versions/<semver>``: the version, its package link and files."""
    model = registry.get_model_by_id(ctx, model_id)
    version = registry.get_version_by_semver(ctx, model, semver)
    registry.delete_version(ctx, model.name, version.sequence)
    return _no_content()
