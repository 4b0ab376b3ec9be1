"""MLflow model registry endpoints: registered models, versions, tags, aliases and stages.

Each view parses its request with a schema, calls :mod:`flask_model_registry.services.registry`
and shapes the result as MLflow's protobuf JSON (``version`` as a string, unset fields and
empty lists omitted). A version's semantic version travels as its tag ``model_registry.version``.
"""

from __future__ import annotations

import typing as t

from flask_model_registry.mlflow._wire import parse
from flask_model_registry.models import Model, ModelVersion
from flask_model_registry.schemas import mlflow_registry as s
from flask_model_registry.services import registry
from flask_model_registry.services.context import ProjectContext

Json = dict[str, t.Any]


# ---------------------------------------------------------------------------------------------
# wire shapes


def _compact(data: Json) -> Json:
    """Drop ``None`` values and empty lists, as protobuf JSON omits unset fields."""
    return {k: v for k, v in data.items() if v is not None and v != []}


def version_json(version: ModelVersion, aliases: list[str] | None = None) -> Json:
    """A ``ModelVersion`` message."""
    return _compact(
        {
            "name": version.model.name,
            "version": str(version.sequence),
            "creation_timestamp": version.creation_timestamp,
            "last_updated_timestamp": version.last_updated_timestamp,
            "user_id": version.user_id,
            "current_stage": version.current_stage,
            "description": version.description,
            "source": version.source,
            "run_id": version.run_id,
            "run_link": version.run_link,
            "status": version.status,
            "status_message": version.status_message or None,
            "tags": [{"key": tag.key, "value": tag.value} for tag in version.tags],
            "aliases": aliases or [],
            "model_id": version.logged_model.model_id if version.logged_model else None,
        }
    )


def model_json(model: Model, latest: list[ModelVersion]) -> Json:
    """A ``RegisteredModel`` message with its latest version per stage and its aliases."""
    return _compact(
        {
            "name": model.name,
            "creation_timestamp": model.creation_timestamp,
            "last_updated_timestamp": model.last_updated_timestamp,
            "user_id": model.user_id,
            "description": model.description or None,
            "latest_versions": [version_json(v) for v in latest],
            "tags": [{"key": tag.key, "value": tag.value} for tag in model.tags],
            "aliases": [
                {"alias": a.alias, "version": str(a.version.sequence)} for a in model.aliases
            ],
        }
    )


def _model_response(ctx: ProjectContext, model: Model) -> Json:
    latest = registry.latest_per_stage(ctx, [model])[model.id]
    return {"registered_model": model_json(model, latest)}


def _version_response(ctx: ProjectContext, version: ModelVersion) -> Json:
    aliases = registry.aliases_by_version(ctx, [version])[version.id]
    return {"model_version": version_json(version, aliases)}


def _tags(items: list[Json] | None) -> list[tuple[t.Any, t.Any]]:
    # protobuf turns an unset value into "", so a null value arrives as "" in MLflow too
    return [(item.get("key"), item.get("value") or "") for item in items or []]


# ---------------------------------------------------------------------------------------------
# registered models


def create_registered_model(ctx: ProjectContext) -> Json:
    data = parse(s.CreateRegisteredModelSchema())
    model = registry.create_model(
        ctx, data["name"], tags=_tags(data["tags"]), description=data["description"]
    )
    return _model_response(ctx, model)


def get_registered_model(ctx: ProjectContext) -> Json:
    data = parse(s.NameSchema())
    return _model_response(ctx, registry.get_model(ctx, data["name"]))


def rename_registered_model(ctx: ProjectContext) -> Json:
    data = parse(s.RenameRegisteredModelSchema())
    return _model_response(ctx, registry.rename_model(ctx, data["name"], data["new_name"]))


def update_registered_model(ctx: ProjectContext) -> Json:
    data = parse(s.UpdateRegisteredModelSchema())
    model = registry.get_model(ctx, data["name"])
    return _model_response(ctx, registry.update_model(ctx, model, description=data["description"]))


def delete_registered_model(ctx: ProjectContext) -> Json:
    data = parse(s.NameSchema())
    registry.delete_model(ctx, registry.get_model(ctx, data["name"]))
    return {}


def search_registered_models(ctx: ProjectContext) -> Json:
    data = parse(s.SearchSchema())
    page = registry.search_models(
        ctx,
        data["filter"],
        max_results=data["max_results"],
        order_by=data["order_by"],
        page_token=data["page_token"],
    )
    latest = registry.latest_per_stage(ctx, page.models)
    return _compact(
        {
            "registered_models": [model_json(m, latest[m.id]) for m in page.models],
            "next_page_token": page.next_page_token,
        }
    )


def get_latest_versions(ctx: ProjectContext) -> Json:
    data = parse(s.GetLatestVersionsSchema())
    versions = registry.get_latest_versions(ctx, data["name"], data["stages"])
    aliases = registry.aliases_by_version(ctx, versions)
    return _compact({"model_versions": [version_json(v, aliases[v.id]) for v in versions]})


def set_registered_model_tag(ctx: ProjectContext) -> Json:
    data = parse(s.SetRegisteredModelTagSchema())
    registry.set_model_tag(ctx, data["name"], data["key"], data["value"] or "")
    return {}


def delete_registered_model_tag(ctx: ProjectContext) -> Json:
    data = parse(s.DeleteRegisteredModelTagSchema())
    registry.delete_model_tag(ctx, data["name"], data["key"])
    return {}


def set_alias(ctx: ProjectContext) -> Json:
    data = parse(s.SetAliasSchema())
    registry.set_alias(ctx, data["name"], data["alias"], data["version"])
    return {}


def delete_alias(ctx: ProjectContext) -> Json:
    data = parse(s.AliasSchema())
    registry.delete_alias(ctx, data["name"], data["alias"])
    return {}


def get_model_version_by_alias(ctx: ProjectContext) -> Json:
    data = parse(s.AliasSchema())
    return _version_response(ctx, registry.get_version_by_alias(ctx, data["name"], data["alias"]))


# ---------------------------------------------------------------------------------------------
# model versions


def create_model_version(ctx: ProjectContext) -> Json:
    data = parse(s.CreateModelVersionSchema())
    version = registry.create_version(
        ctx,
        data["name"],
        data["source"],
        run_id=data["run_id"],
        model_id=data["model_id"],
        tags=_tags(data["tags"]),
        description=data["description"],
        run_link=data["run_link"],
    )
    return _version_response(ctx, version)


def get_model_version(ctx: ProjectContext) -> Json:
    data = parse(s.ModelVersionSchema())
    return _version_response(ctx, registry.get_version(ctx, data["name"], data["version"]))


def update_model_version(ctx: ProjectContext) -> Json:
    data = parse(s.UpdateModelVersionSchema())
    version = registry.update_version(
        ctx, data["name"], data["version"], description=data["description"]
    )
    return _version_response(ctx, version)


def delete_model_version(ctx: ProjectContext) -> Json:
    data = parse(s.ModelVersionSchema())
    registry.delete_version(ctx, data["name"], data["version"])
    return {}


def search_model_versions(ctx: ProjectContext) -> Json:
    data = parse(s.SearchSchema())
    page = registry.search_versions(
        ctx,
        data["filter"],
        max_results=data["max_results"],
        order_by=data["order_by"],
        page_token=data["page_token"],
    )
    return _compact(
        {
            "model_versions": [version_json(v) for v in page.versions],
            "next_page_token": page.next_page_token,
        }
    )


def get_model_version_download_uri(ctx: ProjectContext) -> Json:
    data = parse(s.ModelVersionSchema())
    return {"artifact_uri": registry.download_uri(ctx, data["name"], data["version"])}


def transition_stage(ctx: ProjectContext) -> Json:
    data = parse(s.TransitionStageSchema())
    version = registry.transition_stage(
        ctx,
        data["name"],
        data["version"],
        data["stage"],
        bool(data["archive_existing_versions"]),
    )
    return _version_response(ctx, version)


def set_model_version_tag(ctx: ProjectContext) -> Json:
    data = parse(s.SetModelVersionTagSchema())
    registry.set_version_tag(ctx, data["name"], data["version"], data["key"], data["value"] or "")
    return {}


def delete_model_version_tag(ctx: ProjectContext) -> Json:
    data = parse(s.DeleteModelVersionTagSchema())
    registry.delete_version_tag(ctx, data["name"], data["version"], data["key"])
    return {}
