"""Registered models: create, describe, rename, delete, tag and alias them."""

from __future__ import annotations

import re
import typing as t
from collections.abc import Iterable, Mapping

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from flask_model_registry import rules, versioning
from flask_model_registry.database import now_ms
from flask_model_registry.errors import AlreadyExists, InvalidParameter
from flask_model_registry.models import (
    Experiment,
    ModelVersion,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)
from flask_model_registry.search.compile import IS_PROMPT_TAG_KEY
from flask_model_registry.services import experiments
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.services.tags import delete_tag, put_tag

from .lineage import model_dir
from .lookup import LATEST, get_model, get_version, is_semver

Tags = Mapping[str, str] | Iterable[tuple[str, str]]

_VERSION_ALIAS_RE = re.compile(r"^[vV]\d+$")


def tag_dict(tags: Tags | None) -> dict[str, str]:
    """Validated tags; a repeated key keeps its last value, as in MLflow."""
    items = tags.items() if isinstance(tags, Mapping) else (tags or ())
    result: dict[str, str] = {}
    for key, value in items:
        key, value = rules.check_tag(key, value)
        result[key] = value
    return result


def _check_alias_not_reserved(alias: str) -> None:
    if alias.lower() == LATEST:
        raise InvalidParameter("'latest' alias name (case insensitive) is reserved.")
    if _VERSION_ALIAS_RE.match(alias):
        raise InvalidParameter(f"Version alias name '{alias}' is reserved.")
    if alias.isdigit() or is_semver(alias) or versioning.looks_like_range(alias):
        raise InvalidParameter(
            f"Alias name '{alias}' is reserved: it reads as a version number, a semantic version"
            " or a version range, which lookups resolve by themselves."
        )


def is_prompt(tags: Mapping[str, str]) -> bool:
    """Whether the tags mark a prompt (a prompt has no files and no default experiment)."""
    return tags.get(IS_PROMPT_TAG_KEY, "false").lower() == "true"


def model_is_prompt(model: RegisteredModel) -> bool:
    """Whether the model's tags mark it as a prompt."""
    return is_prompt({tag.key: tag.value for tag in model.tags})


def _name_taken(ctx: ProjectContext, name: str) -> bool:
    found = ctx.session.scalar(
        select(RegisteredModel.id).where(
            RegisteredModel.project_id == ctx.project_id, RegisteredModel.name == name
        )
    )
    return found is not None


def _attach_default_experiment(ctx: ProjectContext, model: RegisteredModel) -> None:
    """Adopt the project's unowned experiment of the model's name, or create one."""
    experiment = experiments.find_experiment_by_name(ctx, model.name)
    if experiment is None:
        experiments.create_experiment(ctx, model.name, model_id=model.id)
    elif experiment.model_id is None:
        experiment.model_id = model.id
        experiment.last_update_time = now_ms()
    # Else the experiment already belongs to another model (renamed through the experiments
    # API): it stays with that model, and this one starts without a default experiment.


def create_model(
    ctx: ProjectContext, name: str, *, tags: Tags | None = None, description: str | None = None
) -> RegisteredModel:
    """Create a registered model and its default experiment of the same name."""
    rules.check_model_name(name)
    tag_values = tag_dict(tags)
    if _name_taken(ctx, name):
        raise AlreadyExists(f"Registered Model (name={name}) already exists.")
    now = now_ms()
    model = RegisteredModel(
        project_id=ctx.project_id,
        name=name,
        description=description,
        user_id=ctx.user_name,
        version_counter=0,
        creation_timestamp=now,
        last_updated_timestamp=now,
        tags=[RegisteredModelTag(key=k, value=v) for k, v in tag_values.items()],
    )
    try:
        with ctx.session.begin_nested():
            ctx.session.add(model)
            ctx.session.flush()
    except IntegrityError:
        raise AlreadyExists(f"Registered Model (name={name}) already exists.") from None
    if not is_prompt(tag_values):
        _attach_default_experiment(ctx, model)
    ctx.session.flush()
    return model


def update_model(
    ctx: ProjectContext, model: RegisteredModel, *, description: str | None
) -> RegisteredModel:
    """Replace the description."""
    model.description = description
    model.last_updated_timestamp = now_ms()
    ctx.session.flush()
    return model


def _rename_default_experiment(ctx: ProjectContext, model: RegisteredModel, new_name: str) -> None:
    experiment = ctx.session.scalars(
        select(Experiment).where(
            Experiment.project_id == ctx.project_id, Experiment.model_id == model.id
        )
    ).first()
    if experiment is None or experiment.name == new_name:
        return
    if experiments.find_experiment_by_name(ctx, new_name) is not None:
        raise AlreadyExists(
            f"Cannot rename model '{model.name}' to '{new_name}': its default experiment would"
            f" be renamed too, and an experiment named '{new_name}' already exists in this"
            " project. Rename or delete that experiment first."
        )
    experiment.name = new_name
    experiment.last_update_time = now_ms()


def _relink_packages(ctx: ProjectContext, model: RegisteredModel, old_name: str) -> None:
    """Packages are named after the model: move each version's link to the new name."""
    versions = ctx.session.scalars(
        select(ModelVersion).where(
            ModelVersion.model_id == model.id, ModelVersion.package_id.is_not(None)
        )
    ).all()
    for version in versions:
        ctx.packages.forget_package(ctx.project_id, old_name, version.semver)
        version.package_id = package_link(ctx, model.name, version.semver)


def rename_model(ctx: ProjectContext, name: str, new_name: str) -> RegisteredModel:
    """Rename a model, its default experiment and its versions' host packages."""
    rules.check_model_name(new_name, "new_name")
    model = get_model(ctx, name)
    if new_name == name:
        return model
    if _name_taken(ctx, new_name):
        raise AlreadyExists(f"Registered Model (name={new_name}) already exists.")
    _rename_default_experiment(ctx, model, new_name)
    model.name = new_name
    now = now_ms()
    model.last_updated_timestamp = now
    ctx.session.execute(
        update(ModelVersion)
        .where(ModelVersion.model_id == model.id)
        .values(last_updated_timestamp=now)
    )
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError:
        raise AlreadyExists(f"Registered Model (name={new_name}) already exists.") from None
    _relink_packages(ctx, model, name)
    ctx.session.flush()
    ctx.session.expire(model)
    return get_model(ctx, new_name)


def delete_model(ctx: ProjectContext, model: RegisteredModel) -> None:
    """Delete a model with its versions (package links and files); its experiment stays."""
    versions = ctx.session.scalars(
        select(ModelVersion).where(ModelVersion.model_id == model.id)
    ).all()
    for version in versions:
        forget_package_link(ctx, model, version)
    ctx.session.delete(model)
    ctx.session.flush()
    ctx.artifacts.delete(model_dir(ctx, model))


def set_model_tag(ctx: ProjectContext, name: str, key: str, value: str) -> None:
    """Set (or overwrite) a tag of the model."""
    key, value = rules.check_tag(key, value)
    model = get_model(ctx, name)
    put_tag(model.tags, RegisteredModelTag, key, value)
    ctx.session.flush()


def delete_model_tag(ctx: ProjectContext, name: str, key: str) -> None:
    """Delete a tag of the model; a missing tag is not an error (MLflow)."""
    rules.check_tag_key(key)
    model = get_model(ctx, name)
    delete_tag(ctx, model, RegisteredModelTag.model_id, key)
    ctx.session.flush()


def set_alias(ctx: ProjectContext, name: str, alias: str, version: t.Any) -> None:
    """Point ``alias`` at version number ``version``."""
    rules.check_model_name(name)
    rules.check_alias(alias)
    _check_alias_not_reserved(alias)
    target = get_version(ctx, name, version)
    existing = ctx.session.get(RegisteredModelAlias, (target.model_id, alias))
    if existing is None:
        ctx.session.add(
            RegisteredModelAlias(model_id=target.model_id, alias=alias, version_id=target.id)
        )
    else:
        existing.version_id = target.id
    ctx.session.flush()
    ctx.session.expire(target.model, ["aliases"])


def delete_alias(ctx: ProjectContext, name: str, alias: str) -> None:
    """Remove ``alias``; a missing alias is not an error (MLflow)."""
    rules.check_alias(alias)
    model = get_model(ctx, name)
    ctx.session.execute(
        delete(RegisteredModelAlias).where(
            RegisteredModelAlias.model_id == model.id, RegisteredModelAlias.alias == alias
        )
    )
    ctx.session.expire(model, ["aliases"])
    ctx.session.flush()


def package_link(ctx: ProjectContext, name: str, semver: str) -> str | None:
    """The host package of version ``semver`` of model ``name``, if the host has one."""
    package = ctx.packages.resolve_package(ctx.project_id, name, semver)
    return None if package is None else str(package)


def forget_package_link(ctx: ProjectContext, model: RegisteredModel, version: ModelVersion) -> None:
    """Tell the host that the version's package link goes away."""
    if version.package_id is not None:
        ctx.packages.forget_package(ctx.project_id, model.name, version.semver)
