"""Where a new version comes from (its source, run and logged model) and the files it owns.

A version snapshots its files: on create, the files of its source are copied under
``<project_id>/model-registry/<model pk>/`` and the version's ``storage_location`` points there.
"""

from __future__ import annotations

import urllib.parse
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from flask_model_registry import uris
from flask_model_registry.errors import InvalidParameter, NotFound
from flask_model_registry.models import (
    ACTIVE,
    LoggedModel,
    ModelVersion,
    RegisteredModel,
    Run,
    RunModelIO,
)
from flask_model_registry.services import artifacts, runs
from flask_model_registry.services.context import ProjectContext

from .lookup import get_latest_versions, get_model, get_version
from .records import get_version_by_alias

#: Directory (under the project) holding the files each version owns.
REGISTRY_DIR = "model-registry"
PROMPT_SOURCES = frozenset({"dummy-source", "prompt-template"})


@dataclass
class Lineage:
    """Where a new version comes from."""

    source: str
    run_id: str | None
    run: Run | None
    logged_model: LoggedModel | None
    #: The location of the source's files (``mlflow-artifacts:/...``), if known.
    location: str | None


def _invalid_source(source: str, id_name: str) -> InvalidParameter:
    return InvalidParameter(
        f"Invalid model version source: '{source}'. The {id_name} request parameter must"
        " identify the resource that contains the source."
    )


def _check_no_relative_parts(source: str) -> None:
    text = source
    while (unquoted := urllib.parse.unquote_plus(text)) != text:
        text = unquoted
    if "\x00" in text or any(part == ".." for part in text.split("/")):
        raise InvalidParameter(
            f"Invalid model version source: '{source}'. If supplying a source as an http, https,"
            " local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must"
            " be provided without relative path references present. Please provide an absolute"
            " path."
        )


def _logged_model(ctx: ProjectContext, model_id: str) -> LoggedModel:
    found = ctx.session.scalars(
        select(LoggedModel)
        .where(
            LoggedModel.model_id == model_id,
            LoggedModel.project_id == ctx.project_id,
            LoggedModel.lifecycle_stage == ACTIVE,
        )
        .options(selectinload(LoggedModel.tags))
    ).first()
    if found is None:
        raise NotFound(f"Logged model with id={model_id} not found")
    return found


def _run_or_none(ctx: ProjectContext, run_id: str | None) -> Run | None:
    if not run_id:
        return None
    try:
        return runs.get_run(ctx, run_id)
    except NotFound:
        return None


def run_output_model(ctx: ProjectContext, run: Run, name: str | None) -> LoggedModel | None:
    """The newest logged model the run produced (named ``name`` if given)."""
    stmt = (
        select(LoggedModel)
        .join(RunModelIO, RunModelIO.logged_model_id == LoggedModel.id)
        .where(
            RunModelIO.candidate_id == run.id,
            RunModelIO.direction == "output",
            LoggedModel.project_id == ctx.project_id,
            LoggedModel.lifecycle_stage == ACTIVE,
        )
        .order_by(RunModelIO.step.desc(), LoggedModel.creation_timestamp_ms.desc())
        .limit(1)
    )
    if name is not None:
        stmt = stmt.where(LoggedModel.name == name)
    return ctx.session.scalars(stmt).first()


def _from_runs_uri(ctx: ProjectContext, source: str, run_id: str | None) -> Lineage:
    parsed = uris.parse_runs_uri(source)
    if parsed is None or not run_id or parsed.run_id != run_id:
        raise _invalid_source(source, "run_id")
    path = parsed.path
    run = runs.get_run(ctx, run_id)
    location = uris.run_location(run.artifact_uri, path)
    if not _exists(ctx, store_path(ctx, location)):
        # MLflow 3 keeps a run's model as a logged model: follow the client's own fallback.
        output = run_output_model(ctx, run, path or None)
        location = output.artifact_uri if output is not None else location
        return Lineage(source, run_id, run, output, location)
    return Lineage(source, run_id, run, None, location)


def _from_registered_version(
    ctx: ProjectContext, source: str, run_id: str | None, model_id: str | None
) -> Lineage:
    name, entry, alias = uris.registered_model_reference(source)
    target = get_model(ctx, name)
    if entry is None:
        referenced = get_version_by_alias(ctx, name, alias or "")
    elif entry.isdigit():
        referenced = get_version(ctx, name, entry)
    else:
        found = get_latest_versions(ctx, name, [entry])
        if not found:
            raise NotFound(f"No version of model '{name}' matches '{entry}'.")
        referenced = found[0]
    if (run_id and run_id != (referenced.run_id or "")) or (
        model_id and model_id != public_model_id(referenced)
    ):
        raise InvalidParameter(
            f"Invalid model version source: '{source}'. The run_id and model_id request"
            " parameters must match the referenced model version."
        )
    return Lineage(
        f"models:/{target.name}/{referenced.sequence}",
        referenced.run_id,
        referenced.run,
        referenced.logged_model,
        referenced.storage_location,
    )


def _from_logged_model(
    ctx: ProjectContext, source: str, run_id: str | None, model_id: str
) -> Lineage:
    scheme, _, parts = uris.uri_parts(source)
    logged = _logged_model(ctx, model_id)
    if scheme == "models":
        if len(parts) != 1 or "@" in parts[0] or parts[0] != model_id:
            raise _invalid_source(source, "model_id")
        location = logged.artifact_uri
    elif scheme == uris.ARTIFACT_SCHEME and uris.within(source, logged.artifact_uri):
        location = source
    else:
        raise _invalid_source(source, "model_id")
    run_id = run_id or logged.source_run_id
    return Lineage(source, run_id, _run_or_none(ctx, run_id), logged, location)


def _from_run(ctx: ProjectContext, source: str, run_id: str | None) -> Lineage:
    scheme, _, parts = uris.uri_parts(source)
    if scheme in ("", "file"):
        raise InvalidParameter(
            f"Invalid model version source: '{source}'. To use a local path as a model version"
            " source, the run_id request parameter has to be specified and the local path has"
            " to be contained within the artifact directory of the run specified by the run_id."
        )
    if scheme == "runs":
        return _from_runs_uri(ctx, source, run_id)
    if scheme == "models":  # models:/<model_id> needs the model_id parameter
        raise _invalid_source(source, "model_id")
    run = runs.get_run(ctx, run_id) if run_id else None
    if scheme == uris.ARTIFACT_SCHEME:
        if run is None or not uris.within(source, run.artifact_uri):
            raise _invalid_source(source, "run_id")
        return Lineage(source, run_id, run, None, source)
    return Lineage(source, run_id, run, None, None)


def lineage_of(
    ctx: ProjectContext, source: str, run_id: str | None, model_id: str | None, prompt: bool
) -> Lineage:
    if prompt:
        if source not in PROMPT_SOURCES:
            raise InvalidParameter(
                f"Invalid prompt source: '{source}'. Prompt sources must use an MLflow placeholder."
            )
        return Lineage(source, run_id, _run_or_none(ctx, run_id), None, None)
    _check_no_relative_parts(source)
    scheme, netloc, parts = uris.uri_parts(source)
    if scheme == "models" and not netloc and len(parts) == 1 and "@" not in parts[0]:
        if not model_id:
            raise _invalid_source(source, "model_id")
        return _from_logged_model(ctx, source, run_id, model_id)
    if scheme == "models":
        if netloc:
            raise InvalidParameter(
                f"Invalid model version source: '{source}'. Registered model sources must use"
                " the active model registry."
            )
        return _from_registered_version(ctx, source, run_id, model_id)
    if model_id:
        return _from_logged_model(ctx, source, run_id, model_id)
    return _from_run(ctx, source, run_id)


def store_path(ctx: ProjectContext, location: str | None) -> str | None:
    """The store path of an artifact location of this project, else ``None``."""
    if not location or not uris.is_artifact_uri(location):
        return None
    try:
        return artifacts.store_path(ctx, location)
    except (InvalidParameter, NotFound):
        return None


def _exists(ctx: ProjectContext, path: str | None) -> bool:
    return path is not None and ctx.artifacts.exists(artifacts.escape(path))


def model_dir(ctx: ProjectContext, model: RegisteredModel) -> str:
    """The store directory of the files the model's versions own."""
    return f"{ctx.project_id}/{REGISTRY_DIR}/{model.id}"


def owned_path(ctx: ProjectContext, version: ModelVersion) -> str | None:
    """The store path (escaped for the store) of the files ``version`` owns, if it owns any."""
    path = store_path(ctx, version.storage_location)
    prefix = f"{ctx.project_id}/{REGISTRY_DIR}/{version.model_id}/"
    return artifacts.escape(path) if path is not None and path.startswith(prefix) else None


def snapshot(ctx: ProjectContext, model: RegisteredModel, location: str | None) -> str | None:
    """Copy the source's files into a directory the version will own; its store path."""
    source_path = store_path(ctx, location)
    if source_path is None or not _exists(ctx, source_path):
        return None
    target = f"{model_dir(ctx, model)}/{uuid.uuid4().hex}"
    try:
        ctx.artifacts.copy_tree(artifacts.escape(source_path), target)
    except BaseException:
        ctx.artifacts.delete(target)  # a copy cut short must not stay behind
        raise
    return target


def public_model_id(version: ModelVersion) -> str:
    """The public id of the logged model the version was registered from, else ``""``."""
    return version.logged_model.model_id if version.logged_model is not None else ""


def files_uri(ctx: ProjectContext, version: ModelVersion) -> str | None:
    """The artifact location of the version's files: its storage location, or the path in its
    source run; ``None`` if they are not in the artifact store."""
    location = version.storage_location or version.source or ""
    reference = uris.parse_runs_uri(location)
    if reference is not None:
        run = _run_or_none(ctx, reference.run_id)
        if run is None:
            return None
        location = uris.run_location(run.artifact_uri, reference.path)
    return location if uris.is_artifact_uri(location) else None
