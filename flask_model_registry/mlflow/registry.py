"""MLflow model registry endpoints: registered models, versions, tags, aliases and stages.

Each view receives its request parsed with its route's schema, calls
:mod:`flask_model_registry.services.registry` and shapes the result as MLflow's protobuf JSON
(``version`` as a string, unset fields and empty lists omitted). A version's semantic version
travels as its tag ``model_registry.version``.
"""

from __future__ import annotations

import typing as t

from flask_model_registry.services import registry
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.services.registry import ModelRecord, VersionRecord
from flask_model_registry.wire import compact, paging

Json = dict[str, t.Any]


# ---------------------------------------------------------------------------------------------
# wire shapes


def _tag_list(tags: list[tuple[str, str]]) -> list[Json]:
    return [{"key": key, "value": value} for key, value in tags]


def version_json(version: VersionRecord) -> Json:
    """A ``ModelVersion`` message."""
    return compact(
        {
            "name": version.name,
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
            "tags": _tag_list(version.tags),
            "aliases": version.aliases,
            "model_id": version.logged_model_id,
        }
    )


def model_json(model: ModelRecord) -> Json:
    """A ``RegisteredModel`` message with its latest version per stage and its aliases."""
    return compact(
        {
            "name": model.name,
            "creation_timestamp": model.creation_timestamp,
            "last_updated_timestamp": model.last_updated_timestamp,
            "user_id": model.user_id,
            "description": model.description or None,
            "latest_versions": [version_json(v) for v in model.latest_versions],
            "tags": _tag_list(model.tags),
            "aliases": [
                {"alias": alias, "version": str(sequence)} for alias, sequence in model.aliases
            ],
        }
    )


def _model_response(model: ModelRecord) -> Json:
    return {"registered_model": model_json(model)}


def _version_response(version: VersionRecord) -> Json:
    return {"model_version": version_json(version)}


def _tags(items: list[Json] | None) -> list[tuple[t.Any, t.Any]]:
    # protobuf turns an unset value into "", so a null value arrives as "" in MLflow too
    return [(item.get("key"), item.get("value") or "") for item in items or []]


# ---------------------------------------------------------------------------------------------
# registered models


def create_registered_model(ctx: ProjectContext, data: Json) -> Json:
    model = registry.create_model(
        ctx, data["name"], tags=_tags(data["tags"]), description=data["description"]
    )
    return _model_response(registry.model_record_of(ctx, model))


def get_registered_model(ctx: ProjectContext, data: Json) -> Json:
    return _model_response(registry.model_record(ctx, data["name"]))


def rename_registered_model(ctx: ProjectContext, data: Json) -> Json:
    model = registry.rename_model(ctx, data["name"], data["new_name"])
    return _model_response(registry.model_record_of(ctx, model))


def update_registered_model(ctx: ProjectContext, data: Json) -> Json:
    model = registry.get_model(ctx, data["name"])
    model = registry.update_model(ctx, model, description=data["description"])
    return _model_response(registry.model_record_of(ctx, model))


def delete_registered_model(ctx: ProjectContext, data: Json) -> Json:
    registry.delete_model(ctx, registry.get_model(ctx, data["name"]))
    return {}


def search_registered_models(ctx: ProjectContext, data: Json) -> Json:
    page = registry.search_model_records(ctx, data["filter"], **paging(data))
    models = [model_json(m) for m in page.models]
    return compact({"registered_models": models, "next_page_token": page.next_page_token})


def get_latest_versions(ctx: ProjectContext, data: Json) -> Json:
    versions = registry.latest_version_records(ctx, data["name"], data["stages"])
    return compact({"model_versions": [version_json(v) for v in versions]})


def set_registered_model_tag(ctx: ProjectContext, data: Json) -> Json:
    registry.set_model_tag(ctx, data["name"], data["key"], data["value"] or "")
    return {}


def delete_registered_model_tag(ctx: ProjectContext, data: Json) -> Json:
    registry.delete_model_tag(ctx, data["name"], data["key"])
    return {}


def set_alias(ctx: ProjectContext, data: Json) -> Json:
    registry.set_alias(ctx, data["name"], data["alias"], data["version"])
    return {}


def delete_alias(ctx: ProjectContext, data: Json) -> Json:
    registry.delete_alias(ctx, data["name"], data["alias"])
    return {}


def get_model_version_by_alias(ctx: ProjectContext, data: Json) -> Json:
    return _version_response(registry.version_record_by_alias(ctx, data["name"], data["alias"]))


# ---------------------------------------------------------------------------------------------
# model versions


def create_model_version(ctx: ProjectContext, data: Json) -> Json:
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
    return _version_response(registry.version_record_of(ctx, version))


def get_model_version(ctx: ProjectContext, data: Json) -> Json:
    return _version_response(registry.version_record(ctx, data["name"], data["version"]))


def update_model_version(ctx: ProjectContext, data: Json) -> Json:
    version = registry.update_version(
        ctx, data["name"], data["version"], description=data["description"]
    )
    return _version_response(registry.version_record_of(ctx, version))


def delete_model_version(ctx: ProjectContext, data: Json) -> Json:
    registry.delete_version(ctx, data["name"], data["version"])
    return {}


def search_model_versions(ctx: ProjectContext, data: Json) -> Json:
    page = registry.search_version_records(ctx, data["filter"], **paging(data))
    versions = [version_json(v) for v in page.versions]
    return compact({"model_versions": versions, "next_page_token": page.next_page_token})


def get_model_version_download_uri(ctx: ProjectContext, data: Json) -> Json:
    return {"artifact_uri": registry.download_uri(ctx, data["name"], data["version"])}


def transition_stage(ctx: ProjectContext, data: Json) -> Json:
    version = registry.transition_stage(
        ctx,
        data["name"],
        data["version"],
        data["stage"],
        bool(data["archive_existing_versions"]),
    )
    return _version_response(registry.version_record_of(ctx, version))


def set_model_version_tag(ctx: ProjectContext, data: Json) -> Json:
    registry.set_version_tag(ctx, data["name"], data["version"], data["key"], data["value"] or "")
    return {}


def delete_model_version_tag(ctx: ProjectContext, data: Json) -> Json:
    registry.delete_version_tag(ctx, data["name"], data["version"], data["key"])
    return {}
