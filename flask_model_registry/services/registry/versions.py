"""Model versions: create (or promote a candidate to) one, change its stage, tags and
description, delete it, and list its files.

Every version has two identities: ``sequence``, an integer handed out per model (MLflow's
``version``, so ``models:/fraud/3`` round-trips), and ``semver``, a semantic version unique per
model by precedence. The semver is chosen with the version tag :data:`SEMVER_TAG` on create, or
bumped from the highest release.
"""

from __future__ import annotations

import json
import posixpath
import typing as t
from collections.abc import Mapping, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import joinedload, selectinload

from flask_model_registry import rules, uris, versioning
from flask_model_registry.artifacts import FileInfo
from flask_model_registry.database import now_ms
from flask_model_registry.errors import AlreadyExists, InvalidParameter
from flask_model_registry.models import (
    LoggedModel,
    LoggedModelTag,
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    Run,
)
from flask_model_registry.services import artifacts, runs
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.services.tags import delete_tag, put_tag
from flask_model_registry.versioning import SemVer

from .lineage import (
    Lineage,
    files_uri,
    lineage_of,
    owned_path,
    run_output_model,
    snapshot,
    store_path,
)
from .lookup import (
    ACTIVE_STAGES,
    MAX_ID,
    SEMVER_TAG,
    STAGES,
    canonical_stage,
    get_model,
    get_version,
    parse_sequence,
    semvers,
    version_by_id,
)
from .models import (
    Tags,
    forget_package_link,
    is_prompt,
    model_is_prompt,
    package_link,
    tag_dict,
)

#: Logged model tag listing the versions registered from it (as MLflow keeps it).
LOGGED_MODEL_VERSIONS_TAG = "mlflow.modelVersions"


def _choose_semver(ctx: ProjectContext, model: RegisteredModel, requested: SemVer | None) -> SemVer:
    """The requested semver if its precedence is free, else the bump of the highest release."""
    existing = semvers(ctx, model.id)
    if requested is None:
        return versioning.bump_patch_of_highest(semver for _, semver in existing)
    clash = next((s for _, s in existing if s.sort_key() == requested.sort_key()), None)
    if clash is not None:
        raise AlreadyExists(
            f"Model '{model.name}' already has version {clash}; semantic versions are unique per"
            " model (build metadata is ignored)."
        )
    return requested


def _next_sequence(ctx: ProjectContext, model: RegisteredModel, now: int) -> int:
    """Take the model's next version number; the row lock serialises concurrent creators."""
    sequence = ctx.session.execute(
        update(RegisteredModel)
        .where(RegisteredModel.id == model.id, RegisteredModel.project_id == ctx.project_id)
        .values(version_counter=RegisteredModel.version_counter + 1, last_updated_timestamp=now)
        .returning(RegisteredModel.version_counter)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    ctx.session.expire(model, ["version_counter", "last_updated_timestamp"])
    return int(sequence)


def _record_on_logged_model(
    ctx: ProjectContext, logged: LoggedModel, model: RegisteredModel, sequence: int
) -> None:
    """Add the new version to the logged model's ``mlflow.modelVersions`` tag, as MLflow does."""
    entry = {"name": model.name, "version": sequence}
    tag = next((tg for tg in logged.tags if tg.key == LOGGED_MODEL_VERSIONS_TAG), None)
    try:
        current = json.loads(tag.value) if tag is not None else []
    except ValueError:
        current = []
    if not isinstance(current, list):
        current = []
    if entry in current:
        return
    value = json.dumps([*current, entry])
    if tag is None:
        logged.tags.append(LoggedModelTag(key=LOGGED_MODEL_VERSIONS_TAG, value=value))
    else:
        tag.value = value


def _storable(semver: SemVer) -> SemVer:
    """Refuse numbers the semver columns (64-bit integers) cannot hold."""
    if max(semver.core) > MAX_ID:
        raise InvalidParameter(
            f"Invalid semantic version '{semver}': MAJOR, MINOR and PATCH may be at most {MAX_ID}."
        )
    return semver


def _requested_semver(tags: Mapping[str, str]) -> SemVer | None:
    text = tags.get(SEMVER_TAG)
    return None if text is None else _storable(SemVer.parse(text))


def create_version(
    ctx: ProjectContext,
    name: str,
    source: str,
    *,
    run_id: str | None = None,
    model_id: str | None = None,
    tags: Tags | None = None,
    description: str | None = None,
    run_link: str | None = None,
) -> ModelVersion:
    """Register a new version of ``name`` from ``source`` (see MLflow's source rules)."""
    rules.check_model_name(name)
    if not isinstance(source, str) or not source:
        raise rules.missing("source")
    tag_values = tag_dict(tags)
    requested = _requested_semver(tag_values)
    model = get_model(ctx, name)
    prompt = is_prompt(tag_values) or model_is_prompt(model)
    lineage = lineage_of(ctx, source, run_id or None, model_id or None, prompt)
    if requested is not None:
        _choose_semver(ctx, model, requested)  # fail before copying any file
    owned = None if prompt else snapshot(ctx, model, lineage.location)
    try:
        return _insert_version(
            ctx, model, lineage, requested, tag_values, description, run_link, owned, prompt
        )
    except BaseException:
        if owned is not None:
            ctx.artifacts.delete(owned)
        raise


def _insert_version(
    ctx: ProjectContext,
    model: RegisteredModel,
    lineage: Lineage,
    requested: SemVer | None,
    tag_values: dict[str, str],
    description: str | None,
    run_link: str | None,
    owned: str | None,
    prompt: bool,
) -> ModelVersion:
    now = now_ms()
    sequence = _next_sequence(ctx, model, now)
    semver = _storable(_choose_semver(ctx, model, requested))
    tag_values = {**tag_values, SEMVER_TAG: str(semver)}
    location = f"{uris.ARTIFACT_SCHEME}:/{owned}" if owned is not None else lineage.location
    version = ModelVersion(
        model_id=model.id,
        project_id=ctx.project_id,
        sequence=sequence,
        semver=str(semver),
        semver_major=semver.major,
        semver_minor=semver.minor,
        semver_patch=semver.patch,
        semver_prerelease=".".join(str(i) for i in semver.prerelease),
        description=description,
        status="READY",
        current_stage="None",
        source=lineage.source,
        storage_location=location or lineage.source,
        run_id=lineage.run_id,
        run_link=run_link or None,
        candidate_id=lineage.run.id if lineage.run is not None else None,
        logged_model_id=lineage.logged_model.id if lineage.logged_model is not None else None,
        user_id=ctx.user_name,
        creation_timestamp=now,
        last_updated_timestamp=now,
        tags=[ModelVersionTag(key=k, value=v) for k, v in tag_values.items()],
    )
    ctx.session.add(version)
    ctx.session.flush()
    if not prompt:
        version.package_id = package_link(ctx, model.name, version.semver)
    if lineage.logged_model is not None:
        _record_on_logged_model(ctx, lineage.logged_model, model, sequence)
    ctx.session.flush()
    return version_by_id(ctx, version.id)


def promote_candidate(
    ctx: ProjectContext,
    model: RegisteredModel | str,
    candidate_run_id: str,
    semver: str | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Turn a candidate (run) into a version of ``model`` (a model or its name).

    The version's source is the candidate's newest logged model output if it has one, else
    ``runs:/<run_id>/model``; ``semver`` chooses the semantic version (else the patch bump).
    """
    if not isinstance(candidate_run_id, str) or not candidate_run_id:
        raise rules.missing("candidate_id")
    if isinstance(model, str):
        model = get_model(ctx, model)
    if semver is not None:
        _storable(SemVer.parse(semver))
    run = runs.get_run(ctx, candidate_run_id)
    tags = {SEMVER_TAG: semver} if semver is not None else {}
    output = run_output_model(ctx, run, None)
    if output is not None:
        return create_version(
            ctx,
            model.name,
            f"models:/{output.model_id}",
            run_id=run.run_id,
            model_id=output.model_id,
            tags=tags,
            description=description,
        )
    return create_version(
        ctx,
        model.name,
        f"runs:/{run.run_id}/model",
        run_id=run.run_id,
        tags=tags,
        description=description,
    )


def update_version(
    ctx: ProjectContext, name: str, version: t.Any, *, description: str | None
) -> ModelVersion:
    """Replace the description of a version."""
    found = get_version(ctx, name, version)
    found.description = description
    found.last_updated_timestamp = now_ms()
    ctx.session.flush()
    return found


def delete_version(ctx: ProjectContext, name: str, version: t.Any) -> None:
    """Delete a version: its aliases, its package link (host hook) and the files it owns."""
    found = get_version(ctx, name, version)
    model = found.model
    owned = owned_path(ctx, found)
    forget_package_link(ctx, model, found)
    ctx.session.execute(
        delete(RegisteredModelAlias).where(RegisteredModelAlias.version_id == found.id)
    )
    model.last_updated_timestamp = now_ms()
    ctx.session.delete(found)
    ctx.session.flush()
    ctx.session.expire(model, ["aliases", "versions"])
    if owned is not None:
        ctx.artifacts.delete(owned)


def set_version_tag(ctx: ProjectContext, name: str, version: t.Any, key: str, value: str) -> None:
    """Set a version tag; :data:`SEMVER_TAG` is read-only (it is the version's identity)."""
    rules.check_model_name(name)
    parse_sequence(version)
    key, value = rules.check_tag(key, value)
    found = get_version(ctx, name, version)
    if key == SEMVER_TAG:
        if value != found.semver:
            raise InvalidParameter(
                f"Tag '{SEMVER_TAG}' is the semantic version of this version ({found.semver})"
                " and cannot be changed; register a new version instead."
            )
        return
    put_tag(found.tags, ModelVersionTag, key, value)
    ctx.session.flush()


def delete_version_tag(ctx: ProjectContext, name: str, version: t.Any, key: str) -> None:
    """Delete a version tag (missing is fine); :data:`SEMVER_TAG` cannot be deleted."""
    rules.check_model_name(name)
    parse_sequence(version)
    rules.check_tag_key(key)
    found = get_version(ctx, name, version)
    if key == SEMVER_TAG:
        raise InvalidParameter(
            f"Tag '{SEMVER_TAG}' is the semantic version of this version ({found.semver})"
            " and cannot be deleted."
        )
    delete_tag(ctx, found, ModelVersionTag.version_id, key)
    ctx.session.flush()


def transition_stage(
    ctx: ProjectContext, name: str, version: t.Any, stage: str, archive_existing: bool
) -> ModelVersion:
    """MLflow's deprecated stages; ``archive_existing`` only for Staging and Production."""
    canonical = canonical_stage(stage)
    if canonical is None:
        raise InvalidParameter(
            f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(STAGES)}."
        )
    if archive_existing and canonical not in ACTIVE_STAGES:
        raise InvalidParameter(
            "Model version transition cannot archive existing model versions because"
            f" '{stage}' is not an Active stage. Valid stages are {list(ACTIVE_STAGES)}"
        )
    found = get_version(ctx, name, version)
    now = now_ms()
    if archive_existing:
        ctx.session.execute(
            update(ModelVersion)
            .where(
                ModelVersion.model_id == found.model_id,
                ModelVersion.id != found.id,
                ModelVersion.current_stage == canonical,
            )
            .values(current_stage="Archived", last_updated_timestamp=now)
        )
    found.current_stage = canonical
    found.last_updated_timestamp = now
    found.model.last_updated_timestamp = now
    ctx.session.flush()
    return found


def download_uri(ctx: ProjectContext, name: str, version: t.Any) -> str:
    """Where the version's files are (``storage_location``, else its source)."""
    found = get_version(ctx, name, version)
    return found.storage_location or found.source


def load_provenance(ctx: ProjectContext, versions: Sequence[ModelVersion]) -> None:
    """Load each version's candidate with its experiment, params and latest metrics."""
    ids = [v.candidate_id for v in versions if v.candidate_id is not None]
    if ids:
        ctx.session.scalars(
            select(Run)
            .where(Run.id.in_(ids), Run.project_id == ctx.project_id)
            .options(
                joinedload(Run.experiment),
                selectinload(Run.params),
                selectinload(Run.latest_metrics),
            )
        ).all()


def version_files(ctx: ProjectContext, version: ModelVersion) -> list[FileInfo]:
    """Every file of the version, with paths relative to its storage root."""
    uri = files_uri(ctx, version)
    root = None if uri is None else store_path(ctx, uri)
    if root is None:
        return []
    files = []
    for info in ctx.artifacts.walk(artifacts.escape(root)):
        relative = info.path[len(root) :].lstrip("/") or posixpath.basename(info.path)
        files.append(FileInfo(relative, False, info.file_size))
    return files


def package_files(ctx: ProjectContext, package_id: t.Any) -> list[FileInfo]:
    """Files of the version linked to the host package ``package_id`` (``[]`` if none)."""
    if package_id is None:
        return []
    version = ctx.session.scalars(
        select(ModelVersion).where(
            ModelVersion.project_id == ctx.project_id,
            ModelVersion.package_id == str(package_id),
        )
    ).first()
    return [] if version is None else version_files(ctx, version)
