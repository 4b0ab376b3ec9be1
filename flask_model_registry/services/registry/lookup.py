"""Reading registered models and versions: by name, id, number, semver, alias, range or stage.

A version is found by its ``sequence`` (MLflow's number) or by its semantic version, compared by
SemVer precedence (build metadata ignored). "Latest" is one rule: the highest release, else the
highest prerelease (:func:`latest_id`).
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterable, Sequence

from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql import Select

from flask_model_registry import rules, versioning
from flask_model_registry.errors import InvalidParameter, NotFound
from flask_model_registry.models import ModelVersion, RegisteredModel, RegisteredModelAlias
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.versioning import SemVer

from .tables import MODELS, NAME, PROJECT, VERSIONS

#: Version tag that chooses (on create) and reports the version's semantic version.
SEMVER_TAG = "model_registry.version"
STAGES = ("None", "Staging", "Production", "Archived")
ACTIVE_STAGES = ("Staging", "Production")
LATEST = "latest"

#: Largest version number (the column is a 32-bit integer) and largest row id / semver number.
MAX_SEQUENCE = 2**31 - 1
MAX_ID = 2**63 - 1


def parse_sequence(version: t.Any) -> int:
    """MLflow's integer ``version`` parameter."""
    try:
        return int(str(version))
    except ValueError:
        raise InvalidParameter(
            f"Parameter 'version' must be an integer, got '{version}'."
        ) from None


def canonical_stage(stage: str) -> str | None:
    """``None``/``Staging``/``Production``/``Archived`` for any casing, else ``None``."""
    lowered = stage.lower()
    return next((s for s in STAGES if s.lower() == lowered), None)


def is_semver(text: str) -> bool:
    """Whether ``text`` is a semantic version."""
    try:
        SemVer.parse(text)
    except InvalidParameter:
        return False
    return True


def _model_options() -> list[t.Any]:
    return [
        selectinload(RegisteredModel.tags),
        selectinload(RegisteredModel.aliases).joinedload(RegisteredModelAlias.version),
        selectinload(RegisteredModel.default_experiment),
    ]


def _version_options() -> list[t.Any]:
    return [
        joinedload(ModelVersion.model),
        joinedload(ModelVersion.logged_model),
        selectinload(ModelVersion.tags),
    ]


def _models(ctx: ProjectContext) -> Select[RegisteredModel]:
    return (
        select(RegisteredModel)
        .where(RegisteredModel.project_id == ctx.project_id)
        .options(*_model_options())
    )


def _versions(ctx: ProjectContext) -> Select[ModelVersion]:
    return (
        select(ModelVersion)
        .where(ModelVersion.project_id == ctx.project_id)
        .options(*_version_options())
    )


def model_not_found(name: str) -> NotFound:
    """MLflow's 404 for a registered model name."""
    return NotFound(f"Registered Model with name={name} not found")


def get_model(ctx: ProjectContext, name: str) -> RegisteredModel:
    """The registered model ``name`` with its tags and aliases, or 404."""
    rules.check_model_name(name)
    model = ctx.session.scalars(_models(ctx).where(RegisteredModel.name == name)).first()
    if model is None:
        raise model_not_found(name)
    return model


def get_model_by_id(
    ctx: ProjectContext, model_id: int, *, with_versions: bool = False
) -> RegisteredModel:
    """The registered model with primary key ``model_id`` in this project, or 404.

    ``with_versions`` loads its versions (each with its candidate) in the same round trip.
    """
    statement = _models(ctx).where(RegisteredModel.id == model_id)
    if with_versions:
        statement = statement.options(
            selectinload(RegisteredModel.versions).joinedload(ModelVersion.run)
        )
    model = ctx.session.scalars(statement).first() if 0 < model_id <= MAX_ID else None
    if model is None:
        raise NotFound(f"Registered Model with id={model_id} not found")
    return model


def version_not_found(name: str, version: t.Any) -> NotFound:
    """MLflow's 404 for a version number."""
    return NotFound(f"Model Version (name={name}, version={version}) not found")


def checked_sequence(name: str, version: t.Any) -> int:
    """The version number asked for; 404 if no version can have it."""
    rules.check_model_name(name)
    sequence = parse_sequence(version)
    if not 0 < sequence <= MAX_SEQUENCE:
        raise version_not_found(name, sequence)
    return sequence


def get_version(ctx: ProjectContext, name: str, version: t.Any) -> ModelVersion:
    """Version number ``version`` (MLflow's integer) of model ``name``, or 404."""
    sequence = checked_sequence(name, version)
    found = ctx.session.scalars(
        _versions(ctx)
        .join(RegisteredModel, ModelVersion.model_id == RegisteredModel.id)
        .where(RegisteredModel.name == name, ModelVersion.sequence == sequence)
    ).first()
    if found is None:
        raise version_not_found(name, sequence)
    return found


def version_by_id(ctx: ProjectContext, version_id: int) -> ModelVersion:
    """A version of this project by primary key, with its model, logged model and tags."""
    found = ctx.session.scalars(_versions(ctx).where(ModelVersion.id == version_id)).first()
    if found is None:  # pragma: no cover - ids come from rows just read
        raise NotFound(f"Model version {version_id} not found")
    return found


def semvers(ctx: ProjectContext, model_id: int) -> list[tuple[int, SemVer]]:
    """The ids and semvers of the model's versions."""
    rows = ctx.session.execute(
        select(ModelVersion.id, ModelVersion.semver).where(
            ModelVersion.model_id == model_id, ModelVersion.project_id == ctx.project_id
        )
    ).all()
    return [(row.id, SemVer.parse(row.semver)) for row in rows]


def _find_semver(pairs: Iterable[tuple[int, SemVer]], wanted: SemVer) -> int | None:
    key = wanted.sort_key()
    return next((vid for vid, semver in pairs if semver.sort_key() == key), None)


def find_semver_id(ctx: ProjectContext, model_id: int, semver: str) -> int | None:
    """The id of the version of the model whose semver has the precedence of ``semver``."""
    return _find_semver(semvers(ctx, model_id), SemVer.parse(semver))


def _semver_id(ctx: ProjectContext, model_id: int, name: str, semver: str) -> int:
    version_id = find_semver_id(ctx, model_id, semver)
    if version_id is None:
        raise NotFound(f"Model '{name}' has no version {semver}.")
    return version_id


def get_version_by_semver(ctx: ProjectContext, model: RegisteredModel, semver: str) -> ModelVersion:
    """The version of ``model`` whose semver has the precedence of ``semver`` (build ignored)."""
    return version_by_id(ctx, _semver_id(ctx, model.id, model.name, semver))


def versions_by_precedence(
    ctx: ProjectContext, model: RegisteredModel, *, page: int = 1, per_page: int | None = None
) -> tuple[list[ModelVersion], bool]:
    """A page of the versions of ``model``, highest SemVer precedence first; whether more follow.

    Precedence is not an SQL ordering (numeric prerelease identifiers), so the semvers are
    sorted here and only the page's rows are loaded.
    """
    ranked = sorted(semvers(ctx, model.id), key=lambda pair: pair[1].sort_key(), reverse=True)
    ids = [vid for vid, _ in ranked]
    if per_page is not None:
        start = (page - 1) * per_page
        has_next = len(ids) > start + per_page
        ids = ids[start : start + per_page]
    else:
        has_next = False
    position = {vid: i for i, vid in enumerate(ids)}
    rows = ctx.session.scalars(_versions(ctx).where(ModelVersion.id.in_(ids))).all() if ids else []
    return sorted(rows, key=lambda v: position[v.id]), has_next


def precedence(version: ModelVersion) -> tuple[t.Any, ...]:
    """Sort key of a version by SemVer precedence."""
    return SemVer.parse(version.semver).sort_key()


def latest_id(pairs: Iterable[tuple[int, SemVer]]) -> int | None:
    """The id of the highest release by precedence, else of the highest prerelease."""
    pairs = list(pairs)
    best = versioning.latest(semver for _, semver in pairs)
    return None if best is None else _find_semver(pairs, best)


def latest_version(ctx: ProjectContext, model: RegisteredModel) -> ModelVersion | None:
    """The highest release by SemVer precedence (only prereleases: the highest prerelease)."""
    version_id = latest_id(semvers(ctx, model.id))
    return None if version_id is None else version_by_id(ctx, version_id)


def latest_of(versions: Iterable[ModelVersion]) -> ModelVersion | None:
    """:func:`latest_version` among versions already loaded."""
    by_id = {version.id: version for version in versions}
    version_id = latest_id((vid, SemVer.parse(v.semver)) for vid, v in by_id.items())
    return None if version_id is None else by_id[version_id]


def aliases_by_version(
    ctx: ProjectContext, versions: Sequence[ModelVersion]
) -> dict[int, list[str]]:
    """The alias names pointing at each version."""
    ids = [v.id for v in versions]
    result: dict[int, list[str]] = {vid: [] for vid in ids}
    if ids:
        rows = ctx.session.execute(
            select(RegisteredModelAlias.version_id, RegisteredModelAlias.alias)
            .where(RegisteredModelAlias.version_id.in_(ids))
            .order_by(RegisteredModelAlias.alias)
        ).all()
        for row in rows:
            result[row.version_id].append(row.alias)
    return result


def list_models(
    ctx: ProjectContext, *, page: int, per_page: int
) -> tuple[list[RegisteredModel], bool]:
    """A page of the project's models by name; whether another page follows."""
    rows = ctx.session.scalars(
        _models(ctx)
        .order_by(RegisteredModel.name, RegisteredModel.id)
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    return list(rows[:per_page]), len(rows) > per_page


def version_summary(
    ctx: ProjectContext, models: Sequence[RegisteredModel]
) -> dict[int, tuple[int, str | None]]:
    """For each model: its number of versions and its latest semver (see :func:`latest_version`)."""
    ids = [m.id for m in models]
    pairs: dict[int, list[tuple[int, SemVer]]] = {model_id: [] for model_id in ids}
    if ids:
        rows = ctx.session.execute(
            select(ModelVersion.model_id, ModelVersion.id, ModelVersion.semver).where(
                ModelVersion.model_id.in_(ids), ModelVersion.project_id == ctx.project_id
            )
        ).all()
        for row in rows:
            pairs[row.model_id].append((row.id, SemVer.parse(row.semver)))
    result: dict[int, tuple[int, str | None]] = {}
    for model_id, items in pairs.items():
        best = latest_id(items)
        result[model_id] = (len(items), None if best is None else str(dict(items)[best]))
    return result


def _model_id(ctx: ProjectContext, name: str) -> int:
    """The primary key of the registered model ``name``, or 404."""
    rules.check_model_name(name)
    found = ctx.session.scalar(
        select(RegisteredModel.id).where(
            RegisteredModel.project_id == ctx.project_id, RegisteredModel.name == name
        )
    )
    if found is None:
        raise model_not_found(name)
    return found


def _aliased_id(ctx: ProjectContext, model_id: int, alias: str) -> int | None:
    return ctx.session.scalar(
        select(RegisteredModelAlias.version_id).where(
            RegisteredModelAlias.model_id == model_id, RegisteredModelAlias.alias == alias
        )
    )


def _version_text_id(ctx: ProjectContext, model_id: int, name: str, text: str) -> int | None:
    """Resolve a semantic version or a range; ``None`` if ``text`` is neither, 404 if no match."""
    if is_semver(text):
        return _semver_id(ctx, model_id, name, text)
    if not versioning.looks_like_range(text):
        return None
    wanted = versioning.parse_range(text)
    pairs = semvers(ctx, model_id)
    best = wanted.best_match(semver for _, semver in pairs)
    version_id = None if best is None else _find_semver(pairs, best)
    if version_id is None:
        raise NotFound(f"No version of model '{name}' matches the range '{text}' ({wanted}).")
    return version_id


def latest_id_of(ctx: ProjectContext, name: str) -> int:
    """The id of the latest version (see :func:`latest_version`) of model ``name``, or 404."""
    version_id = latest_id(semvers_by_name(ctx, name))
    if version_id is None:
        raise NotFound(f"Latest version not found for model {name}.")
    return version_id


def unaliased_id(ctx: ProjectContext, model_id: int, name: str, alias: str) -> int:
    """What ``alias`` names when no alias of that name exists: an exact semver, else a range."""
    version_id = _version_text_id(ctx, model_id, name, alias)
    if version_id is None:
        raise InvalidParameter(f"Registered model alias {alias} not found.")
    return version_id


def _latest_in_stage_id(ctx: ProjectContext, model_id: int, stage: str) -> int | None:
    return ctx.session.scalar(
        select(ModelVersion.id)
        .where(
            ModelVersion.project_id == ctx.project_id,
            ModelVersion.model_id == model_id,
            ModelVersion.current_stage == stage,
        )
        .order_by(ModelVersion.sequence.desc())
        .limit(1)
    )


def _stage_entry_id(ctx: ProjectContext, model_id: int, name: str, entry: str) -> int | None:
    """The version a ``stages`` entry names: a stage's latest, an alias, a semver or a range."""
    stage = canonical_stage(entry)
    if stage is not None:
        return _latest_in_stage_id(ctx, model_id, stage)
    found = _aliased_id(ctx, model_id, entry)
    if found is not None:
        return found
    try:
        found = _version_text_id(ctx, model_id, name, entry)
    except NotFound:
        return None  # a valid version or range that matches nothing: no version, like a stage
    if found is None:
        raise InvalidParameter(
            f"Invalid Model Version stage: {entry}. Value must be one of None, Staging,"
            " Production, Archived, an alias, a semantic version or a version range."
        )
    return found


def latest_version_ids(ctx: ProjectContext, name: str, stages: Sequence[str] | None) -> list[int]:
    """The ids :func:`get_latest_versions` answers with."""
    if not stages:
        found = latest_id(semvers_by_name(ctx, name))
        return [] if found is None else [found]
    model_id = _model_id(ctx, name)
    result: list[int] = []
    for entry in stages:
        version_id = _stage_entry_id(ctx, model_id, name, entry)
        if version_id is not None and version_id not in result:
            result.append(version_id)
    return result


def get_latest_versions(
    ctx: ProjectContext, name: str, stages: Sequence[str] | None
) -> list[ModelVersion]:
    """Without stages: the one latest version by SemVer. With stages: one version per entry."""
    return [version_by_id(ctx, vid) for vid in latest_version_ids(ctx, name, stages)]


#: The model's id and its versions' ids and semvers (no row: no model).
_MODEL_SEMVERS = (
    select(MODELS.c.id, VERSIONS.c.id, VERSIONS.c.semver)
    .select_from(
        MODELS.outerjoin(
            VERSIONS,
            and_(VERSIONS.c.model_id == MODELS.c.id, VERSIONS.c.project_id == PROJECT),
        )
    )
    .where(MODELS.c.project_id == PROJECT, MODELS.c.name == NAME)
)


def semvers_by_name(ctx: ProjectContext, name: str) -> list[tuple[int, SemVer]]:
    """The ids and semvers of the versions of model ``name``, or 404."""
    rules.check_model_name(name)
    rows = ctx.session.execute(_MODEL_SEMVERS, {"project_id": ctx.project_id, "name": name}).all()
    if not rows:
        raise model_not_found(name)
    return [(row[1], SemVer.parse(row[2])) for row in rows if row[1] is not None]
