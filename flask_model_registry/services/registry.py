"""Registered models and their versions: semantic versions, aliases, stages and packages.

Every version has two identities: ``sequence``, an integer handed out per model (MLflow's
``version``, so ``models:/fraud/3`` round-trips), and ``semver``, a semantic version unique per
model by precedence (the registry's version and the host package's version). The semver is
chosen with the version tag :data:`SEMVER_TAG` on create, or bumped from the highest release.

A version snapshots its files: on create, the files of its source (a logged model's artifacts, a
run's artifact sub-directory, another version's files) are copied under
``<project_id>/model-registry/<model pk>/`` and the version's ``storage_location`` points there.
Those files belong to the version (and to its host package) and are deleted with it; the run's
and the logged model's own files are never touched.
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
import typing as t
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    and_,
    bindparam,
    delete,
    func,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql import Select

from flask_model_registry import versioning
from flask_model_registry.artifacts import FileInfo
from flask_model_registry.database import now_ms
from flask_model_registry.errors import AlreadyExists, InvalidParameter, NotFound
from flask_model_registry.models import (
    ACTIVE,
    Candidate,
    CandidateModelIO,
    Experiment,
    LoggedModel,
    LoggedModelTag,
    Model,
    ModelAlias,
    ModelTag,
    ModelVersion,
    ModelVersionTag,
)
from flask_model_registry.pagination import check_max_results, decode_page_token, encode_page_token
from flask_model_registry.search.compile import (
    IS_PROMPT_TAG_KEY,
    model_version_filter_clauses,
    model_version_order_by,
    registered_model_filter_clauses,
    registered_model_order_by,
)
from flask_model_registry.services import experiments, runs
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.versioning import SemVer

__all__ = [
    "ACTIVE_STAGES",
    "SEMVER_TAG",
    "STAGES",
    "ModelRecord",
    "ModelRecordPage",
    "VersionRecord",
    "VersionRecordPage",
    "aliases_by_version",
    "create_model",
    "create_version",
    "delete_alias",
    "delete_model",
    "delete_model_tag",
    "delete_version",
    "delete_version_tag",
    "download_uri",
    "get_latest_versions",
    "get_model",
    "get_model_by_id",
    "get_version",
    "get_version_by_alias",
    "get_version_by_semver",
    "latest_version",
    "latest_version_records",
    "list_models",
    "model_record",
    "model_record_of",
    "package_files",
    "promote_candidate",
    "rename_model",
    "search_model_records",
    "search_version_records",
    "set_alias",
    "set_model_tag",
    "set_version_tag",
    "transition_stage",
    "update_model",
    "update_version",
    "version_files",
    "version_record",
    "version_record_by_alias",
    "version_record_of",
    "version_records",
    "version_summary",
    "versions_by_precedence",
]

#: Version tag that chooses (on create) and reports the version's semantic version.
SEMVER_TAG = "model_registry.version"
STAGES = ("None", "Staging", "Production", "Archived")
ACTIVE_STAGES = ("Staging", "Production")
LATEST = "latest"
#: Directory (under the project) holding the files each version owns.
REGISTRY_DIR = "model-registry"
ARTIFACTS_SCHEME = "mlflow-artifacts"
#: Logged model tag listing the versions registered from it (as MLflow keeps it).
LOGGED_MODEL_VERSIONS_TAG = "mlflow.modelVersions"
PROMPT_SOURCES = frozenset({"dummy-source", "prompt-template"})

MAX_NAME_LENGTH = 255
#: Largest version number (the column is a 32-bit integer) and largest row id / semver number.
MAX_SEQUENCE = 2**31 - 1
MAX_ID = 2**63 - 1
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 100_000
MAX_ALIAS_LENGTH = 255
SEARCH_MODELS_DEFAULT = 100
SEARCH_MODELS_MAX = 1000
SEARCH_VERSIONS_DEFAULT = 200_000
SEARCH_VERSIONS_MAX = 200_000

_TAG_KEY_RE = re.compile(r"^[/\w.\- :]*$")
_ALIAS_RE = re.compile(r"^[\w\-]*$")
_VERSION_ALIAS_RE = re.compile(r"^[vV]\d+$")
_BAD_CHARACTERS = (
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ),"
    " colon(:) and slashes (/)."
)

Tags = Mapping[str, str] | Iterable[tuple[str, str]]


class VersionRecord(t.NamedTuple):
    """A version as MLflow's API shows it, read as a plain row."""

    id: int
    registered_model_id: int
    name: str
    sequence: int
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str | None
    current_stage: str
    description: str | None
    source: str
    run_id: str | None
    run_link: str | None
    status: str
    status_message: str | None
    #: The public id (``m-<hex>``) of the logged model the version was registered from.
    logged_model_id: str | None
    tags: list[tuple[str, str]]
    #: The version's aliases where the endpoint shows them, else empty.
    aliases: list[str]


class ModelRecord(t.NamedTuple):
    """A registered model as MLflow's API shows it, read as plain rows."""

    id: int
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str | None
    description: str | None
    #: The highest-numbered version in each stage, by version number.
    latest_versions: list[VersionRecord]
    tags: list[tuple[str, str]]
    #: ``(alias, version number)`` by alias.
    aliases: list[tuple[str, int]]


class ModelRecordPage(t.NamedTuple):
    """One page of registered models and the token of the next page, if any."""

    models: list[ModelRecord]
    next_page_token: str | None


class VersionRecordPage(t.NamedTuple):
    """One page of model versions and the token of the next page, if any."""

    versions: list[VersionRecord]
    next_page_token: str | None


# ---------------------------------------------------------------------------------------------
# validation


def _json(value: t.Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _missing(name: str) -> InvalidParameter:
    return InvalidParameter(
        f"Missing value for required parameter '{name}'."
        " See the API docs for more information about request parameters."
    )


def _path_not_unique(name: str) -> bool:
    norm = posixpath.normpath(name)
    return norm != name or norm == "." or norm.startswith("..") or norm.startswith("/")


def _bad_path(path: str, name: str) -> InvalidParameter:
    return InvalidParameter(
        f"Invalid value {_json(name)} for parameter '{path}' supplied: Names may be treated as"
        " files in certain cases, and must not resolve to other names when treated as such."
        f" This name would resolve to {posixpath.normpath(name)!r}"
    )


def validate_model_name(name: t.Any, param: str = "name") -> str:
    """MLflow's registered model name rules, plus the column's length limit."""
    if not isinstance(name, str) or not name.strip():
        raise _missing(param)
    if "/" in name or ":" in name:
        raise InvalidParameter(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.")
    if _path_not_unique(name):
        raise _bad_path(param, name)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidParameter(
            f"'{param}' exceeds the maximum length of {MAX_NAME_LENGTH} characters"
        )
    return name


def _check_tag_key(key: t.Any) -> str:
    if not isinstance(key, str) or key == "":
        raise _missing("key")
    if not _TAG_KEY_RE.match(key):
        raise InvalidParameter(
            f"Invalid value {_json(key)} for parameter 'key' supplied: {_BAD_CHARACTERS}"
        )
    if _path_not_unique(key):
        raise _bad_path("key", key)
    if len(key) > MAX_TAG_KEY_LENGTH:
        raise InvalidParameter(
            f"'key' exceeds the maximum length of {MAX_TAG_KEY_LENGTH} characters"
        )
    return key


def _check_tag(key: t.Any, value: t.Any) -> tuple[str, str]:
    key = _check_tag_key(key)
    if value is None:
        raise InvalidParameter("Tag value cannot be None")
    if not isinstance(value, str):
        raise InvalidParameter(f"Invalid value {_json(value)} for parameter 'value' supplied.")
    if len(value) > MAX_TAG_VALUE_LENGTH:
        raise InvalidParameter(
            f"'value' exceeds the maximum length of {MAX_TAG_VALUE_LENGTH} characters"
        )
    return key, value


def _tag_dict(tags: Tags | None) -> dict[str, str]:
    """Validated tags; a repeated key keeps its last value, as in MLflow."""
    items = tags.items() if isinstance(tags, Mapping) else (tags or ())
    result: dict[str, str] = {}
    for key, value in items:
        key, value = _check_tag(key, value)
        result[key] = value
    return result


def validate_alias(alias: t.Any) -> str:
    """MLflow's alias rules; aliases that read as a version or range are refused too."""
    if not isinstance(alias, str) or alias == "":
        raise InvalidParameter("Registered model alias name cannot be empty.")
    if not _ALIAS_RE.match(alias):
        raise InvalidParameter(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_),"
            " and dashes (-)."
        )
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidParameter(
            "'Registered model alias name' exceeds the maximum length of"
            f" {MAX_ALIAS_LENGTH} characters"
        )
    return alias


def _check_alias_not_reserved(alias: str) -> None:
    if alias.lower() == LATEST:
        raise InvalidParameter("'latest' alias name (case insensitive) is reserved.")
    if _VERSION_ALIAS_RE.match(alias):
        raise InvalidParameter(f"Version alias name '{alias}' is reserved.")
    if alias.isdigit() or _is_semver(alias) or versioning.looks_like_range(alias):
        raise InvalidParameter(
            f"Alias name '{alias}' is reserved: it reads as a version number, a semantic version"
            " or a version range, which lookups resolve by themselves."
        )


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


def _is_semver(text: str) -> bool:
    try:
        SemVer.parse(text)
    except InvalidParameter:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# loading


def _model_options() -> list[t.Any]:
    return [
        selectinload(Model.tags),
        selectinload(Model.aliases).joinedload(ModelAlias.version),
        selectinload(Model.default_experiment),
    ]


def _version_options() -> list[t.Any]:
    return [
        joinedload(ModelVersion.model),
        joinedload(ModelVersion.logged_model),
        selectinload(ModelVersion.tags),
    ]


def _models(ctx: ProjectContext) -> Select[Model]:
    return select(Model).where(Model.project_id == ctx.project_id).options(*_model_options())


def _versions(ctx: ProjectContext) -> Select[ModelVersion]:
    return (
        select(ModelVersion)
        .where(ModelVersion.project_id == ctx.project_id)
        .options(*_version_options())
    )


def _model_not_found(name: str) -> NotFound:
    return NotFound(f"Registered Model with name={name} not found")


def get_model(ctx: ProjectContext, name: str) -> Model:
    """The registered model ``name`` with its tags and aliases, or 404."""
    validate_model_name(name)
    model = ctx.session.scalars(_models(ctx).where(Model.name == name)).first()
    if model is None:
        raise _model_not_found(name)
    return model


def get_model_by_id(ctx: ProjectContext, model_id: int) -> Model:
    """The registered model with primary key ``model_id`` in this project, or 404."""
    if not 0 < model_id <= MAX_ID:
        raise NotFound(f"Registered Model with id={model_id} not found")
    model = ctx.session.scalars(_models(ctx).where(Model.id == model_id)).first()
    if model is None:
        raise NotFound(f"Registered Model with id={model_id} not found")
    return model


def _version_not_found(name: str, version: t.Any) -> NotFound:
    return NotFound(f"Model Version (name={name}, version={version}) not found")


def _checked_sequence(name: str, version: t.Any) -> int:
    """The version number asked for; 404 if no version can have it."""
    validate_model_name(name)
    sequence = parse_sequence(version)
    if not 0 < sequence <= MAX_SEQUENCE:
        raise _version_not_found(name, sequence)
    return sequence


def get_version(ctx: ProjectContext, name: str, version: t.Any) -> ModelVersion:
    """Version number ``version`` (MLflow's integer) of model ``name``, or 404."""
    sequence = _checked_sequence(name, version)
    found = ctx.session.scalars(
        _versions(ctx)
        .join(Model, ModelVersion.model_id == Model.id)
        .where(Model.name == name, ModelVersion.sequence == sequence)
    ).first()
    if found is None:
        raise _version_not_found(name, sequence)
    return found


def _version_by_id(ctx: ProjectContext, version_id: int) -> ModelVersion:
    found = ctx.session.scalars(_versions(ctx).where(ModelVersion.id == version_id)).first()
    if found is None:  # pragma: no cover - ids come from rows just read
        raise NotFound(f"Model version {version_id} not found")
    return found


def _semvers(ctx: ProjectContext, model_id: int) -> list[tuple[int, SemVer]]:
    rows = ctx.session.execute(
        select(ModelVersion.id, ModelVersion.semver).where(
            ModelVersion.model_id == model_id, ModelVersion.project_id == ctx.project_id
        )
    ).all()
    return [(row.id, SemVer.parse(row.semver)) for row in rows]


def _find_semver(pairs: Iterable[tuple[int, SemVer]], wanted: SemVer) -> int | None:
    key = wanted.sort_key()
    return next((vid for vid, semver in pairs if semver.sort_key() == key), None)


def _semver_id(ctx: ProjectContext, model_id: int, name: str, semver: str) -> int:
    """The id of the version of the model whose semver has the precedence of ``semver``."""
    version_id = _find_semver(_semvers(ctx, model_id), SemVer.parse(semver))
    if version_id is None:
        raise NotFound(f"Model '{name}' has no version {semver}.")
    return version_id


def get_version_by_semver(ctx: ProjectContext, model: Model, semver: str) -> ModelVersion:
    """The version of ``model`` whose semver has the precedence of ``semver`` (build ignored)."""
    return _version_by_id(ctx, _semver_id(ctx, model.id, model.name, semver))


def versions_by_precedence(
    ctx: ProjectContext, model: Model, *, page: int = 1, per_page: int | None = None
) -> tuple[list[ModelVersion], bool]:
    """A page of the versions of ``model``, highest SemVer precedence first; whether more follow.

    Precedence is not an SQL ordering (numeric prerelease identifiers), so the semvers are
    sorted here and only the page's rows are loaded.
    """
    ranked = sorted(_semvers(ctx, model.id), key=lambda pair: pair[1].sort_key(), reverse=True)
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


def _latest_id(pairs: Iterable[tuple[int, SemVer]]) -> int | None:
    pairs = list(pairs)
    best = versioning.latest(semver for _, semver in pairs)
    return None if best is None else _find_semver(pairs, best)


def latest_version(ctx: ProjectContext, model: Model) -> ModelVersion | None:
    """The highest release by SemVer precedence (only prereleases: the highest prerelease)."""
    version_id = _latest_id(_semvers(ctx, model.id))
    return None if version_id is None else _version_by_id(ctx, version_id)


def aliases_by_version(
    ctx: ProjectContext, versions: Sequence[ModelVersion]
) -> dict[int, list[str]]:
    """The alias names pointing at each version."""
    ids = [v.id for v in versions]
    result: dict[int, list[str]] = {vid: [] for vid in ids}
    if ids:
        rows = ctx.session.execute(
            select(ModelAlias.version_id, ModelAlias.alias)
            .where(ModelAlias.version_id.in_(ids))
            .order_by(ModelAlias.alias)
        ).all()
        for row in rows:
            result[row.version_id].append(row.alias)
    return result


# ---------------------------------------------------------------------------------------------
# registered models


def _is_prompt(tags: Mapping[str, str]) -> bool:
    return tags.get(IS_PROMPT_TAG_KEY, "false").lower() == "true"


def _model_is_prompt(model: Model) -> bool:
    return _is_prompt({tag.key: tag.value for tag in model.tags})


def _name_taken(ctx: ProjectContext, name: str) -> bool:
    found = ctx.session.scalar(
        select(Model.id).where(Model.project_id == ctx.project_id, Model.name == name)
    )
    return found is not None


def _attach_default_experiment(ctx: ProjectContext, model: Model) -> None:
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
) -> Model:
    """Create a registered model and its default experiment of the same name."""
    validate_model_name(name)
    tag_values = _tag_dict(tags)
    if _name_taken(ctx, name):
        raise AlreadyExists(f"Registered Model (name={name}) already exists.")
    now = now_ms()
    model = Model(
        project_id=ctx.project_id,
        name=name,
        description=description,
        user_id=ctx.user_name,
        version_counter=0,
        creation_timestamp=now,
        last_updated_timestamp=now,
        tags=[ModelTag(key=k, value=v) for k, v in tag_values.items()],
    )
    try:
        with ctx.session.begin_nested():
            ctx.session.add(model)
            ctx.session.flush()
    except IntegrityError:
        raise AlreadyExists(f"Registered Model (name={name}) already exists.") from None
    if not _is_prompt(tag_values):
        _attach_default_experiment(ctx, model)
    ctx.session.flush()
    return model


def update_model(ctx: ProjectContext, model: Model, *, description: str | None) -> Model:
    """Replace the description."""
    model.description = description
    model.last_updated_timestamp = now_ms()
    ctx.session.flush()
    return model


def _rename_default_experiment(ctx: ProjectContext, model: Model, new_name: str) -> None:
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


def _relink_packages(ctx: ProjectContext, model: Model, old_name: str) -> None:
    """Packages are named after the model: move each version's link to the new name."""
    versions = ctx.session.scalars(
        select(ModelVersion).where(
            ModelVersion.model_id == model.id, ModelVersion.package_id.is_not(None)
        )
    ).all()
    for version in versions:
        ctx.packages.forget_package(ctx.project_id, old_name, version.semver)
        version.package_id = _package_id(ctx, model.name, version.semver)


def rename_model(ctx: ProjectContext, name: str, new_name: str) -> Model:
    """Rename a model, its default experiment and its versions' host packages."""
    validate_model_name(new_name, "new_name")
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


def delete_model(ctx: ProjectContext, model: Model) -> None:
    """Delete a model with its versions (package links and files); its experiment stays."""
    versions = ctx.session.scalars(
        select(ModelVersion).where(ModelVersion.model_id == model.id)
    ).all()
    for version in versions:
        _forget(ctx, model, version)
    ctx.session.delete(model)
    ctx.session.flush()
    ctx.artifacts.delete(_model_dir(ctx, model))


def set_model_tag(ctx: ProjectContext, name: str, key: str, value: str) -> None:
    """Set (or overwrite) a tag of the model."""
    key, value = _check_tag(key, value)
    model = get_model(ctx, name)
    existing = next((tag for tag in model.tags if tag.key == key), None)
    if existing is None:
        model.tags.append(ModelTag(key=key, value=value))
    else:
        existing.value = value
    ctx.session.flush()


def delete_model_tag(ctx: ProjectContext, name: str, key: str) -> None:
    """Delete a tag of the model; a missing tag is not an error (MLflow)."""
    _check_tag_key(key)
    model = get_model(ctx, name)
    ctx.session.execute(delete(ModelTag).where(ModelTag.model_id == model.id, ModelTag.key == key))
    ctx.session.expire(model, ["tags"])
    ctx.session.flush()


def list_models(ctx: ProjectContext, *, page: int, per_page: int) -> tuple[list[Model], bool]:
    """A page of the project's models by name; whether another page follows."""
    rows = ctx.session.scalars(
        _models(ctx)
        .order_by(Model.name, Model.id)
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    return list(rows[:per_page]), len(rows) > per_page


def version_summary(
    ctx: ProjectContext, models: Sequence[Model]
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
        best = versioning.latest(semver for _, semver in items)
        result[model_id] = (len(items), None if best is None else str(best))
    return result


# ---------------------------------------------------------------------------------------------
# aliases and lookups


def set_alias(ctx: ProjectContext, name: str, alias: str, version: t.Any) -> None:
    """Point ``alias`` at version number ``version``."""
    validate_model_name(name)
    validate_alias(alias)
    _check_alias_not_reserved(alias)
    target = get_version(ctx, name, version)
    existing = ctx.session.get(ModelAlias, (target.model_id, alias))
    if existing is None:
        ctx.session.add(ModelAlias(model_id=target.model_id, alias=alias, version_id=target.id))
    else:
        existing.version_id = target.id
    ctx.session.flush()
    ctx.session.expire(target.model, ["aliases"])


def delete_alias(ctx: ProjectContext, name: str, alias: str) -> None:
    """Remove ``alias``; a missing alias is not an error (MLflow)."""
    validate_alias(alias)
    model = get_model(ctx, name)
    ctx.session.execute(
        delete(ModelAlias).where(ModelAlias.model_id == model.id, ModelAlias.alias == alias)
    )
    ctx.session.expire(model, ["aliases"])
    ctx.session.flush()


def _model_id(ctx: ProjectContext, name: str) -> int:
    """The primary key of the registered model ``name``, or 404."""
    validate_model_name(name)
    found = ctx.session.scalar(
        select(Model.id).where(Model.project_id == ctx.project_id, Model.name == name)
    )
    if found is None:
        raise _model_not_found(name)
    return found


def _aliased_id(ctx: ProjectContext, model_id: int, alias: str) -> int | None:
    return ctx.session.scalar(
        select(ModelAlias.version_id).where(
            ModelAlias.model_id == model_id, ModelAlias.alias == alias
        )
    )


def _version_text_id(ctx: ProjectContext, model_id: int, name: str, text: str) -> int | None:
    """Resolve a semantic version or a range; ``None`` if ``text`` is neither, 404 if no match."""
    if _is_semver(text):
        return _semver_id(ctx, model_id, name, text)
    if not versioning.looks_like_range(text):
        return None
    wanted = versioning.parse_range(text)
    pairs = _semvers(ctx, model_id)
    best = wanted.best_match(semver for _, semver in pairs)
    version_id = None if best is None else _find_semver(pairs, best)
    if version_id is None:
        raise NotFound(f"No version of model '{name}' matches the range '{text}' ({wanted}).")
    return version_id


def _latest_id_of(ctx: ProjectContext, name: str) -> int:
    """The id of the latest version (see :func:`latest_version`) of model ``name``, or 404."""
    version_id = _latest_id(_semvers_by_name(ctx, name))
    if version_id is None:
        raise NotFound(f"Latest version not found for model {name}.")
    return version_id


def _unaliased_id(ctx: ProjectContext, model_id: int, name: str, alias: str) -> int:
    """What ``alias`` names when no alias of that name exists: an exact semver, else a range."""
    version_id = _version_text_id(ctx, model_id, name, alias)
    if version_id is None:
        raise InvalidParameter(f"Registered model alias {alias} not found.")
    return version_id


def get_version_by_alias(ctx: ProjectContext, name: str, alias: str) -> ModelVersion:
    """The version :func:`version_record_by_alias` resolves ``alias`` to."""
    return _version_by_id(ctx, version_record_by_alias(ctx, name, alias).id)


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


def _latest_version_ids(ctx: ProjectContext, name: str, stages: Sequence[str] | None) -> list[int]:
    if not stages:
        found = _latest_id(_semvers_by_name(ctx, name))
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
    return [_version_by_id(ctx, vid) for vid in _latest_version_ids(ctx, name, stages)]


# ---------------------------------------------------------------------------------------------
# records: what MLflow's API shows, read as plain rows with few statements
#
# The statements are built once, with bound parameters, so a request only binds values.

_MODELS = Model.__table__
_MODEL_TAGS = ModelTag.__table__
_ALIASES = ModelAlias.__table__
_VERSIONS = ModelVersion.__table__
_VERSION_TAGS = ModelVersionTag.__table__
_LOGGED_MODELS = LoggedModel.__table__

_PROJECT: BindParameter[int] = bindparam("project_id")
_NAME: BindParameter[str] = bindparam("name")

_MODEL_COLUMNS = (
    _MODELS.c.id,
    _MODELS.c.name,
    _MODELS.c.creation_timestamp,
    _MODELS.c.last_updated_timestamp,
    _MODELS.c.user_id,
    _MODELS.c.description,
)
#: The columns of :class:`VersionRecord` before its tags and aliases, in order.
_VERSION_COLUMNS = (
    _VERSIONS.c.id,
    _VERSIONS.c.model_id,
    _MODELS.c.name,
    _VERSIONS.c.sequence,
    _VERSIONS.c.creation_timestamp,
    _VERSIONS.c.last_updated_timestamp,
    _VERSIONS.c.user_id,
    _VERSIONS.c.current_stage,
    _VERSIONS.c.description,
    _VERSIONS.c.source,
    _VERSIONS.c.run_id,
    _VERSIONS.c.run_link,
    _VERSIONS.c.status,
    _VERSIONS.c.status_message,
    _LOGGED_MODELS.c.model_id.label("logged_model_id"),
)
_VERSION_FROM = _VERSIONS.join(_MODELS, _MODELS.c.id == _VERSIONS.c.model_id).outerjoin(
    _LOGGED_MODELS, _LOGGED_MODELS.c.id == _VERSIONS.c.logged_model_id
)


def _versions_where(*criteria: ColumnElement[bool]) -> Select[t.Any]:
    return (
        select(*_VERSION_COLUMNS)
        .select_from(_VERSION_FROM)
        .where(_VERSIONS.c.project_id == _PROJECT, _MODELS.c.project_id == _PROJECT, *criteria)
    )


_VERSION_BY_NUMBER = _versions_where(
    _MODELS.c.name == _NAME, _VERSIONS.c.sequence == bindparam("sequence")
)
_VERSIONS_BY_ID = _versions_where(_VERSIONS.c.id.in_(bindparam("ids", expanding=True)))
#: The model (its id first; no row: no model) and the version its alias points at, if any.
_VERSION_BY_ALIAS = (
    select(_MODELS.c.id, *_VERSION_COLUMNS)
    .select_from(
        _MODELS.outerjoin(
            _ALIASES,
            and_(_ALIASES.c.model_id == _MODELS.c.id, _ALIASES.c.alias == bindparam("alias")),
        )
        .outerjoin(_VERSIONS, _VERSIONS.c.id == _ALIASES.c.version_id)
        .outerjoin(_LOGGED_MODELS, _LOGGED_MODELS.c.id == _VERSIONS.c.logged_model_id)
    )
    .where(_MODELS.c.project_id == _PROJECT, _MODELS.c.name == _NAME)
)
#: The model's id and its versions' ids and semvers (no row: no model).
_MODEL_SEMVERS = (
    select(_MODELS.c.id, _VERSIONS.c.id, _VERSIONS.c.semver)
    .select_from(
        _MODELS.outerjoin(
            _VERSIONS,
            and_(_VERSIONS.c.model_id == _MODELS.c.id, _VERSIONS.c.project_id == _PROJECT),
        )
    )
    .where(_MODELS.c.project_id == _PROJECT, _MODELS.c.name == _NAME)
)


def _models_with_latest(which: ColumnElement[bool]) -> Select[t.Any]:
    """The chosen models, each joined to its latest version per stage (or to ``NULL``s)."""
    chosen = select(_MODELS.c.id).where(_MODELS.c.project_id == _PROJECT, which).correlate(None)
    newest = (
        select(_VERSIONS.c.model_id, func.max(_VERSIONS.c.sequence).label("sequence"))
        .where(_VERSIONS.c.project_id == _PROJECT, _VERSIONS.c.model_id.in_(chosen))
        .group_by(_VERSIONS.c.model_id, _VERSIONS.c.current_stage)
        .subquery("newest")
    )
    latest = (
        select(*_VERSION_COLUMNS)
        .select_from(
            _VERSION_FROM.join(
                newest,
                and_(
                    _VERSIONS.c.model_id == newest.c.model_id,
                    _VERSIONS.c.sequence == newest.c.sequence,
                ),
            )
        )
        .subquery("latest")
    )
    return (
        select(*_MODEL_COLUMNS, *latest.c)
        .select_from(_MODELS.outerjoin(latest, latest.c.model_id == _MODELS.c.id))
        .where(_MODELS.c.project_id == _PROJECT, which)
        .order_by(latest.c.sequence)
    )


_MODEL_BY_NAME = _models_with_latest(_MODELS.c.name == _NAME)
_MODELS_BY_ID = _models_with_latest(_MODELS.c.id.in_(bindparam("model_ids", expanding=True)))


def _children_statement() -> Select[t.Any]:
    """Tags and aliases of models and versions as ``(kind, owner, key, value, number)``."""

    def kind(number: int) -> ColumnElement[int]:
        return literal_column(str(number), Integer).label("kind")

    def ids(name: str) -> t.Any:
        return bindparam(name, expanding=True)

    parts = union_all(
        select(
            kind(0),
            _MODEL_TAGS.c.model_id.label("owner"),
            _MODEL_TAGS.c.key.label("key"),
            _MODEL_TAGS.c.value.label("value"),
            null().label("number"),
        ).where(_MODEL_TAGS.c.model_id.in_(ids("model_ids"))),
        select(kind(1), _ALIASES.c.model_id, _ALIASES.c.alias, null(), _VERSIONS.c.sequence)
        .select_from(_ALIASES.join(_VERSIONS, _VERSIONS.c.id == _ALIASES.c.version_id))
        .where(_ALIASES.c.model_id.in_(ids("model_ids"))),
        select(
            kind(2), _VERSION_TAGS.c.version_id, _VERSION_TAGS.c.key, _VERSION_TAGS.c.value, null()
        ).where(_VERSION_TAGS.c.version_id.in_(ids("version_ids"))),
        select(kind(3), _ALIASES.c.version_id, _ALIASES.c.alias, null(), null()).where(
            _ALIASES.c.version_id.in_(ids("alias_version_ids"))
        ),
    ).subquery("children")
    return select(parts).order_by(parts.c.kind, parts.c.key)


_CHILDREN = _children_statement()


class _Children(t.NamedTuple):
    """Tags and aliases by owner id, each list in key order."""

    model_tags: dict[int, list[tuple[str, str]]]
    model_aliases: dict[int, list[tuple[str, int]]]
    version_tags: dict[int, list[tuple[str, str]]]
    version_aliases: dict[int, list[str]]


def _children(
    ctx: ProjectContext,
    *,
    model_ids: Sequence[int] = (),
    version_ids: Sequence[int] = (),
    alias_version_ids: Sequence[int] = (),
) -> _Children:
    """The tags and aliases of the models, the tags of the versions and the aliases of
    ``alias_version_ids``, in one statement."""
    groups: tuple[dict[int, list[t.Any]], ...] = ({}, {}, {}, {})
    rows = ctx.session.execute(
        _CHILDREN,
        {
            "model_ids": list(model_ids),
            "version_ids": list(version_ids),
            "alias_version_ids": list(alias_version_ids),
        },
    )
    for kind, owner, key, value, number in rows:
        item = key if kind == 3 else (key, number) if kind == 1 else (key, value)
        groups[kind].setdefault(owner, []).append(item)
    return _Children(*groups)


def _version_records(
    ctx: ProjectContext, rows: Sequence[Sequence[t.Any]], *, aliases: bool
) -> list[VersionRecord]:
    """Records of version rows (see :data:`_VERSION_COLUMNS`) with their tags and, if asked,
    their aliases."""
    if not rows:
        return []
    ids = [row[0] for row in rows]
    children = _children(ctx, version_ids=ids, alias_version_ids=ids if aliases else ())
    return [_version_record(row, children) for row in rows]


def _version_record(row: Sequence[t.Any], children: _Children) -> VersionRecord:
    version_id = row[0]
    return VersionRecord._make(
        (
            *row,
            children.version_tags.get(version_id, []),
            children.version_aliases.get(version_id, []),
        )
    )


def version_records(ctx: ProjectContext, version_ids: Sequence[int]) -> list[VersionRecord]:
    """The versions ``version_ids`` (of this project) in that order, with tags and aliases."""
    if not version_ids:
        return []
    rows = ctx.session.execute(
        _VERSIONS_BY_ID, {"project_id": ctx.project_id, "ids": list(version_ids)}
    ).all()
    by_id = {row[0]: row for row in rows}
    missing = next((vid for vid in version_ids if vid not in by_id), None)
    if missing is not None:  # deleted since its id was read
        raise NotFound(f"Model version {missing} not found")
    return _version_records(ctx, [by_id[vid] for vid in version_ids], aliases=True)


def version_record(ctx: ProjectContext, name: str, version: t.Any) -> VersionRecord:
    """:func:`get_version` as a record with its tags and aliases."""
    sequence = _checked_sequence(name, version)
    row = ctx.session.execute(
        _VERSION_BY_NUMBER, {"project_id": ctx.project_id, "name": name, "sequence": sequence}
    ).first()
    if row is None:
        raise _version_not_found(name, sequence)
    return _version_records(ctx, [row], aliases=True)[0]


def version_record_of(ctx: ProjectContext, version: ModelVersion) -> VersionRecord:
    """A version just written, its tags as the session holds them, with its aliases."""
    return VersionRecord(
        version.id,
        version.model_id,
        version.model.name,
        version.sequence,
        version.creation_timestamp,
        version.last_updated_timestamp,
        version.user_id,
        version.current_stage,
        version.description,
        version.source,
        version.run_id,
        version.run_link,
        version.status,
        version.status_message,
        version.logged_model.model_id if version.logged_model is not None else None,
        [(tag.key, tag.value) for tag in version.tags],
        aliases_by_version(ctx, [version])[version.id],
    )


def _semvers_by_name(ctx: ProjectContext, name: str) -> list[tuple[int, SemVer]]:
    """The ids and semvers of the versions of model ``name``, or 404."""
    validate_model_name(name)
    rows = ctx.session.execute(_MODEL_SEMVERS, {"project_id": ctx.project_id, "name": name}).all()
    if not rows:
        raise _model_not_found(name)
    return [(row[1], SemVer.parse(row[2])) for row in rows if row[1] is not None]


def version_record_by_alias(ctx: ProjectContext, name: str, alias: str) -> VersionRecord:
    """Resolve ``alias`` (``latest``, a real alias, an exact semver, then a semver range) to a
    version with its tags and aliases."""
    validate_model_name(name)
    if alias.lower() == LATEST:
        return version_records(ctx, [_latest_id_of(ctx, name)])[0]
    row = ctx.session.execute(
        _VERSION_BY_ALIAS, {"project_id": ctx.project_id, "name": name, "alias": alias}
    ).first()
    if row is None:
        raise _model_not_found(name)
    model_id, version = row[0], row[1:]
    if version[0] is None:
        return version_records(ctx, [_unaliased_id(ctx, model_id, name, alias)])[0]
    return _version_records(ctx, [version], aliases=True)[0]


def latest_version_records(
    ctx: ProjectContext, name: str, stages: Sequence[str] | None
) -> list[VersionRecord]:
    """:func:`get_latest_versions` as records with their tags and aliases."""
    return version_records(ctx, _latest_version_ids(ctx, name, stages))


def _model_records(
    ctx: ProjectContext, statement: Select[t.Any], **params: t.Any
) -> list[ModelRecord]:
    """Records of the models ``statement`` (see :func:`_models_with_latest`) reads."""
    heads: dict[int, tuple[t.Any, ...]] = {}
    latest: dict[int, list[tuple[t.Any, ...]]] = {}
    for row in ctx.session.execute(statement, {"project_id": ctx.project_id, **params}):
        values = tuple(row)
        model_id = values[0]
        heads.setdefault(model_id, values[: len(_MODEL_COLUMNS)])
        if values[len(_MODEL_COLUMNS)] is not None:
            latest.setdefault(model_id, []).append(values[len(_MODEL_COLUMNS) :])
    version_ids = [version[0] for versions in latest.values() for version in versions]
    children = _children(ctx, model_ids=list(heads), version_ids=version_ids)
    return [
        ModelRecord._make(
            (
                *head,
                [_version_record(version, children) for version in latest.get(model_id, [])],
                children.model_tags.get(model_id, []),
                children.model_aliases.get(model_id, []),
            )
        )
        for model_id, head in heads.items()
    ]


def model_record(ctx: ProjectContext, name: str) -> ModelRecord:
    """:func:`get_model` as a record with its latest version per stage (MLflow's
    ``latest_versions``), tags and aliases."""
    validate_model_name(name)
    found = _model_records(ctx, _MODEL_BY_NAME, name=name)
    if not found:
        raise _model_not_found(name)
    return found[0]


def model_record_of(ctx: ProjectContext, model: Model) -> ModelRecord:
    """A model just written, its tags and aliases as the session holds them."""
    stored = _model_records(ctx, _MODELS_BY_ID, model_ids=[model.id])
    return ModelRecord(
        model.id,
        model.name,
        model.creation_timestamp,
        model.last_updated_timestamp,
        model.user_id,
        model.description,
        stored[0].latest_versions if stored else [],
        [(tag.key, tag.value) for tag in model.tags],
        [(alias.alias, alias.version.sequence) for alias in model.aliases],
    )


#: Filters longer than this are compiled per request instead of cached.
_CACHED_FILTER_LENGTH = 1000
_SearchBuilder = t.Callable[[str | None, tuple[str, ...] | None], Select[t.Any]]


def _cached_search(
    build: _SearchBuilder,
) -> t.Callable[[str | None, Sequence[str] | None], Select[t.Any]]:
    """Cache the statements ``build`` compiles from the (short) filters clients repeat."""
    cached = functools.lru_cache(maxsize=256)(build)

    @functools.wraps(build)
    def statement(filter_string: str | None, order_by: Sequence[str] | None) -> Select[t.Any]:
        key = None if order_by is None else tuple(order_by)
        if filter_string is not None and len(filter_string) > _CACHED_FILTER_LENGTH:
            return build(filter_string, key)
        return cached(filter_string, key)

    return statement


@_cached_search
def _model_search(filter_string: str | None, order_by: tuple[str, ...] | None) -> Select[t.Any]:
    """The ids of a page of the models matching ``filter_string``, in ``order_by`` order."""
    clauses = registered_model_filter_clauses(filter_string)
    ordering = registered_model_order_by(order_by)
    return (
        select(_MODELS.c.id)
        .where(_MODELS.c.project_id == _PROJECT, *clauses)
        .order_by(*ordering)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


def search_model_records(
    ctx: ProjectContext,
    filter_string: str | None,
    *,
    max_results: t.Any = None,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> ModelRecordPage:
    """MLflow's ``search_registered_models``: filter, order, offset page tokens."""
    limit = check_max_results(max_results, default=SEARCH_MODELS_DEFAULT, maximum=SEARCH_MODELS_MAX)
    statement = _model_search(filter_string, order_by)
    offset = decode_page_token(page_token)
    ids = ctx.session.scalars(
        statement, {"project_id": ctx.project_id, "offset": offset, "limit": limit + 1}
    ).all()
    token = encode_page_token(offset + limit) if len(ids) > limit else None
    ids = ids[:limit]
    if not ids:
        return ModelRecordPage([], token)
    by_id = {m.id: m for m in _model_records(ctx, _MODELS_BY_ID, model_ids=list(ids))}
    return ModelRecordPage([by_id[model_id] for model_id in ids if model_id in by_id], token)


@_cached_search
def _version_search(filter_string: str | None, order_by: tuple[str, ...] | None) -> Select[t.Any]:
    """A page of the versions matching ``filter_string``, in ``order_by`` order."""
    clauses = model_version_filter_clauses(filter_string)
    ordering = model_version_order_by(order_by)
    return (
        _versions_where(*clauses)
        .order_by(*ordering)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


def search_version_records(
    ctx: ProjectContext,
    filter_string: str | None,
    *,
    max_results: t.Any = None,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> VersionRecordPage:
    """MLflow's ``search_model_versions``: filter, order, offset page tokens (no aliases)."""
    limit = check_max_results(
        max_results, default=SEARCH_VERSIONS_DEFAULT, maximum=SEARCH_VERSIONS_MAX
    )
    statement = _version_search(filter_string, order_by)
    offset = decode_page_token(page_token)
    rows = ctx.session.execute(
        statement, {"project_id": ctx.project_id, "offset": offset, "limit": limit + 1}
    ).all()
    token = encode_page_token(offset + limit) if len(rows) > limit else None
    return VersionRecordPage(_version_records(ctx, rows[:limit], aliases=False), token)


# ---------------------------------------------------------------------------------------------
# creating versions: sources, lineage, snapshots


@dataclass
class _Lineage:
    """Where a new version comes from."""

    source: str
    run_id: str | None
    run: Candidate | None
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


def _uri_parts(uri: str) -> tuple[str, str, tuple[str, ...]]:
    parsed = urllib.parse.urlsplit(uri)
    parts = tuple(urllib.parse.unquote(p) for p in parsed.path.split("/") if p)
    return parsed.scheme.lower(), parsed.netloc.lower(), parts


def _within(source: str, root: str) -> bool:
    s_scheme, s_netloc, s_parts = _uri_parts(source)
    r_scheme, r_netloc, r_parts = _uri_parts(root)
    return (
        (s_scheme, s_netloc) == (r_scheme, r_netloc)
        and bool(r_parts)
        and s_parts[: len(r_parts)] == r_parts
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


def _run_or_none(ctx: ProjectContext, run_id: str | None) -> Candidate | None:
    if not run_id:
        return None
    try:
        return runs.get_run(ctx, run_id)
    except NotFound:
        return None


def _run_output_model(ctx: ProjectContext, run: Candidate, name: str | None) -> LoggedModel | None:
    """The newest logged model the run produced (named ``name`` if given)."""
    stmt = (
        select(LoggedModel)
        .join(CandidateModelIO, CandidateModelIO.logged_model_id == LoggedModel.id)
        .where(
            CandidateModelIO.candidate_id == run.id,
            CandidateModelIO.direction == "output",
            LoggedModel.project_id == ctx.project_id,
            LoggedModel.lifecycle_stage == ACTIVE,
        )
        .order_by(CandidateModelIO.step.desc(), LoggedModel.creation_timestamp_ms.desc())
        .limit(1)
    )
    if name is not None:
        stmt = stmt.where(LoggedModel.name == name)
    return ctx.session.scalars(stmt).first()


def _parse_runs_uri(source: str) -> tuple[str, str]:
    parsed = urllib.parse.urlparse(source)
    if parsed.netloc:
        raise _invalid_source(source, "run_id")
    run_id, _, path = parsed.path.lstrip("/").partition("/")
    if not run_id:
        raise _invalid_source(source, "run_id")
    return run_id, path.strip("/")


def _from_runs_uri(ctx: ProjectContext, source: str, run_id: str | None) -> _Lineage:
    source_run_id, path = _parse_runs_uri(source)
    if not run_id or source_run_id != run_id:
        raise _invalid_source(source, "run_id")
    run = runs.get_run(ctx, run_id)
    location = run.artifact_uri.rstrip("/") + ("/" + path if path else "")
    store_path = _store_path(ctx, location)
    if store_path is None or not ctx.artifacts.exists(store_path):
        # MLflow 3 keeps a run's model as a logged model: follow the client's own fallback.
        output = _run_output_model(ctx, run, path or None)
        location = output.artifact_uri if output is not None else location
        return _Lineage(source, run_id, run, output, location)
    return _Lineage(source, run_id, run, None, location)


def _from_registered_version(
    ctx: ProjectContext, source: str, run_id: str | None, model_id: str | None
) -> _Lineage:
    parsed = urllib.parse.urlparse(source)
    name, sep, suffix = parsed.path.lstrip("/").partition("/")
    if sep:
        target = get_model(ctx, name)
        if suffix.isdigit():
            referenced = get_version(ctx, name, suffix)
        else:
            found = get_latest_versions(ctx, name, [suffix])
            if not found:
                raise NotFound(f"No version of model '{name}' matches '{suffix}'.")
            referenced = found[0]
    else:
        name, _, alias = name.rpartition("@")
        target = get_model(ctx, name)
        referenced = get_version_by_alias(ctx, name, alias)
    if (run_id and run_id != (referenced.run_id or "")) or (
        model_id and model_id != _public_model_id(referenced)
    ):
        raise InvalidParameter(
            f"Invalid model version source: '{source}'. The run_id and model_id request"
            " parameters must match the referenced model version."
        )
    return _Lineage(
        f"models:/{target.name}/{referenced.sequence}",
        referenced.run_id,
        referenced.candidate,
        referenced.logged_model,
        referenced.storage_location,
    )


def _from_logged_model(
    ctx: ProjectContext, source: str, run_id: str | None, model_id: str
) -> _Lineage:
    scheme, _, parts = _uri_parts(source)
    logged = _logged_model(ctx, model_id)
    if scheme == "models":
        if len(parts) != 1 or "@" in parts[0] or parts[0] != model_id:
            raise _invalid_source(source, "model_id")
        location = logged.artifact_uri
    elif scheme == ARTIFACTS_SCHEME and _within(source, logged.artifact_uri):
        location = source
    else:
        raise _invalid_source(source, "model_id")
    run_id = run_id or logged.source_run_id
    return _Lineage(source, run_id, _run_or_none(ctx, run_id), logged, location)


def _from_run(ctx: ProjectContext, source: str, run_id: str | None) -> _Lineage:
    scheme, _, parts = _uri_parts(source)
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
    if scheme == ARTIFACTS_SCHEME:
        if run is None or not _within(source, run.artifact_uri):
            raise _invalid_source(source, "run_id")
        return _Lineage(source, run_id, run, None, source)
    return _Lineage(source, run_id, run, None, None)


def _lineage(
    ctx: ProjectContext, source: str, run_id: str | None, model_id: str | None, prompt: bool
) -> _Lineage:
    if prompt:
        if source not in PROMPT_SOURCES:
            raise InvalidParameter(
                f"Invalid prompt source: '{source}'. Prompt sources must use an MLflow placeholder."
            )
        return _Lineage(source, run_id, _run_or_none(ctx, run_id), None, None)
    _check_no_relative_parts(source)
    scheme, netloc, parts = _uri_parts(source)
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


def _store_path(ctx: ProjectContext, location: str | None) -> str | None:
    """The artifact store path of ``mlflow-artifacts:/<project_id>/...``, else ``None``."""
    if not location:
        return None
    parsed = urllib.parse.urlsplit(location)
    if parsed.scheme != ARTIFACTS_SCHEME or parsed.netloc:
        return None
    path = parsed.path.strip("/")
    head, _, _ = path.partition("/")
    return path if head == str(ctx.project_id) else None


def _model_dir(ctx: ProjectContext, model: Model) -> str:
    return f"{ctx.project_id}/{REGISTRY_DIR}/{model.id}"


def _owned_path(ctx: ProjectContext, version: ModelVersion) -> str | None:
    """The store path of the files ``version`` owns, if it owns any."""
    path = _store_path(ctx, version.storage_location)
    prefix = f"{ctx.project_id}/{REGISTRY_DIR}/{version.model_id}/"
    return path if path is not None and path.startswith(prefix) else None


def _snapshot(ctx: ProjectContext, model: Model, location: str | None) -> str | None:
    """Copy the source's files into a directory the version will own; its store path."""
    source_path = _store_path(ctx, location)
    if source_path is None or not ctx.artifacts.exists(source_path):
        return None
    target = f"{_model_dir(ctx, model)}/{uuid.uuid4().hex}"
    try:
        ctx.artifacts.copy_tree(source_path, target)
    except BaseException:
        ctx.artifacts.delete(target)  # a copy cut short must not stay behind
        raise
    return target


def _choose_semver(ctx: ProjectContext, model: Model, requested: SemVer | None) -> SemVer:
    """The requested semver if its precedence is free, else the bump of the highest release."""
    existing = _semvers(ctx, model.id)
    if requested is None:
        return versioning.bump_patch_of_highest(semver for _, semver in existing)
    clash = next((s for _, s in existing if s.sort_key() == requested.sort_key()), None)
    if clash is not None:
        raise AlreadyExists(
            f"Model '{model.name}' already has version {clash}; semantic versions are unique per"
            " model (build metadata is ignored)."
        )
    return requested


def _next_sequence(ctx: ProjectContext, model: Model, now: int) -> int:
    """Take the model's next version number; the row lock serialises concurrent creators."""
    sequence = ctx.session.execute(
        update(Model)
        .where(Model.id == model.id, Model.project_id == ctx.project_id)
        .values(version_counter=Model.version_counter + 1, last_updated_timestamp=now)
        .returning(Model.version_counter)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    ctx.session.expire(model, ["version_counter", "last_updated_timestamp"])
    return int(sequence)


def _package_id(ctx: ProjectContext, name: str, semver: str) -> str | None:
    package = ctx.packages.resolve_package(ctx.project_id, name, semver)
    return None if package is None else str(package)


def _record_on_logged_model(
    ctx: ProjectContext, logged: LoggedModel, model: Model, sequence: int
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
    validate_model_name(name)
    if not isinstance(source, str) or not source:
        raise _missing("source")
    tag_values = _tag_dict(tags)
    requested = _requested_semver(tag_values)
    model = get_model(ctx, name)
    prompt = _is_prompt(tag_values) or _model_is_prompt(model)
    lineage = _lineage(ctx, source, run_id or None, model_id or None, prompt)
    if requested is not None:
        _choose_semver(ctx, model, requested)  # fail before copying any file
    owned = None if prompt else _snapshot(ctx, model, lineage.location)
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
    model: Model,
    lineage: _Lineage,
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
    location = f"{ARTIFACTS_SCHEME}:/{owned}" if owned is not None else lineage.location
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
        version.package_id = _package_id(ctx, model.name, version.semver)
    if lineage.logged_model is not None:
        _record_on_logged_model(ctx, lineage.logged_model, model, sequence)
    ctx.session.flush()
    return _version_by_id(ctx, version.id)


def promote_candidate(
    ctx: ProjectContext,
    model: Model | str,
    candidate_run_id: str,
    semver: str | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Turn a candidate (run) into a version of ``model`` (a model or its name).

    The version's source is the candidate's newest logged model output if it has one, else
    ``runs:/<run_id>/model``; ``semver`` chooses the semantic version (else the patch bump).
    """
    if not isinstance(candidate_run_id, str) or not candidate_run_id:
        raise _missing("candidate_id")
    if isinstance(model, str):
        model = get_model(ctx, model)
    if semver is not None:
        _storable(SemVer.parse(semver))
    run = runs.get_run(ctx, candidate_run_id)
    tags = {SEMVER_TAG: semver} if semver is not None else {}
    output = _run_output_model(ctx, run, None)
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


# ---------------------------------------------------------------------------------------------
# reading and changing versions


def _public_model_id(version: ModelVersion) -> str:
    return version.logged_model.model_id if version.logged_model is not None else ""


def update_version(
    ctx: ProjectContext, name: str, version: t.Any, *, description: str | None
) -> ModelVersion:
    """Replace the description of a version."""
    found = get_version(ctx, name, version)
    found.description = description
    found.last_updated_timestamp = now_ms()
    ctx.session.flush()
    return found


def _forget(ctx: ProjectContext, model: Model, version: ModelVersion) -> None:
    if version.package_id is not None:
        ctx.packages.forget_package(ctx.project_id, model.name, version.semver)


def delete_version(ctx: ProjectContext, name: str, version: t.Any) -> None:
    """Delete a version: its aliases, its package link (host hook) and the files it owns."""
    found = get_version(ctx, name, version)
    model = found.model
    owned = _owned_path(ctx, found)
    _forget(ctx, model, found)
    ctx.session.execute(delete(ModelAlias).where(ModelAlias.version_id == found.id))
    model.last_updated_timestamp = now_ms()
    ctx.session.delete(found)
    ctx.session.flush()
    ctx.session.expire(model, ["aliases", "versions"])
    if owned is not None:
        ctx.artifacts.delete(owned)


def set_version_tag(ctx: ProjectContext, name: str, version: t.Any, key: str, value: str) -> None:
    """Set a version tag; :data:`SEMVER_TAG` is read-only (it is the version's identity)."""
    validate_model_name(name)
    parse_sequence(version)
    key, value = _check_tag(key, value)
    found = get_version(ctx, name, version)
    if key == SEMVER_TAG:
        if value != found.semver:
            raise InvalidParameter(
                f"Tag '{SEMVER_TAG}' is the semantic version of this version ({found.semver})"
                " and cannot be changed; register a new version instead."
            )
        return
    existing = next((tag for tag in found.tags if tag.key == key), None)
    if existing is None:
        found.tags.append(ModelVersionTag(key=key, value=value))
    else:
        existing.value = value
    ctx.session.flush()


def delete_version_tag(ctx: ProjectContext, name: str, version: t.Any, key: str) -> None:
    """Delete a version tag (missing is fine); :data:`SEMVER_TAG` cannot be deleted."""
    validate_model_name(name)
    parse_sequence(version)
    _check_tag_key(key)
    found = get_version(ctx, name, version)
    if key == SEMVER_TAG:
        raise InvalidParameter(
            f"Tag '{SEMVER_TAG}' is the semantic version of this version ({found.semver})"
            " and cannot be deleted."
        )
    ctx.session.execute(
        delete(ModelVersionTag).where(
            ModelVersionTag.version_id == found.id, ModelVersionTag.key == key
        )
    )
    ctx.session.expire(found, ["tags"])
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
            select(Candidate)
            .where(Candidate.id.in_(ids), Candidate.project_id == ctx.project_id)
            .options(
                joinedload(Candidate.experiment),
                selectinload(Candidate.params),
                selectinload(Candidate.latest_metrics),
            )
        ).all()


# ---------------------------------------------------------------------------------------------
# files


def _files_root(ctx: ProjectContext, version: ModelVersion) -> str | None:
    location = version.storage_location or version.source
    if location.startswith("runs:/"):
        run_id, path = _parse_runs_uri(location)
        run = _run_or_none(ctx, run_id)
        if run is None:
            return None
        location = run.artifact_uri.rstrip("/") + ("/" + path if path else "")
    return _store_path(ctx, location)


def version_files(ctx: ProjectContext, version: ModelVersion) -> list[FileInfo]:
    """Every file of the version, with paths relative to its storage root."""
    root = _files_root(ctx, version)
    if root is None:
        return []
    files = []
    for info in ctx.artifacts.walk(root):
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
