"""Models and versions as MLflow's API shows them, read as plain rows with few statements.

The statements are built once, with bound parameters, so a request only binds values.
"""

from __future__ import annotations

import typing as t
from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.sql import Select

from flask_model_registry import rules
from flask_model_registry.errors import NotFound
from flask_model_registry.models import ModelVersion, RegisteredModel
from flask_model_registry.services.context import ProjectContext

from .lookup import (
    LATEST,
    aliases_by_version,
    checked_sequence,
    latest_id_of,
    latest_version_ids,
    model_not_found,
    unaliased_id,
    version_by_id,
    version_not_found,
)
from .tables import (
    ALIASES,
    LOGGED_MODELS,
    MODEL_TAGS,
    MODELS,
    NAME,
    PROJECT,
    VERSION_TAGS,
    VERSIONS,
)


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


_MODEL_COLUMNS = (
    MODELS.c.id,
    MODELS.c.name,
    MODELS.c.creation_timestamp,
    MODELS.c.last_updated_timestamp,
    MODELS.c.user_id,
    MODELS.c.description,
)
#: The columns of :class:`VersionRecord` before its tags and aliases, in order.
_VERSION_COLUMNS = (
    VERSIONS.c.id,
    VERSIONS.c.model_id,
    MODELS.c.name,
    VERSIONS.c.sequence,
    VERSIONS.c.creation_timestamp,
    VERSIONS.c.last_updated_timestamp,
    VERSIONS.c.user_id,
    VERSIONS.c.current_stage,
    VERSIONS.c.description,
    VERSIONS.c.source,
    VERSIONS.c.run_id,
    VERSIONS.c.run_link,
    VERSIONS.c.status,
    VERSIONS.c.status_message,
    LOGGED_MODELS.c.model_id.label("logged_model_id"),
)
_VERSION_FROM = VERSIONS.join(MODELS, MODELS.c.id == VERSIONS.c.model_id).outerjoin(
    LOGGED_MODELS, LOGGED_MODELS.c.id == VERSIONS.c.logged_model_id
)


def versions_where(*criteria: ColumnElement[bool]) -> Select[t.Any]:
    return (
        select(*_VERSION_COLUMNS)
        .select_from(_VERSION_FROM)
        .where(VERSIONS.c.project_id == PROJECT, MODELS.c.project_id == PROJECT, *criteria)
    )


_VERSION_BY_NUMBER = versions_where(
    MODELS.c.name == NAME, VERSIONS.c.sequence == bindparam("sequence")
)
_VERSIONS_BY_ID = versions_where(VERSIONS.c.id.in_(bindparam("ids", expanding=True)))
#: The model (its id first; no row: no model) and the version its alias points at, if any.
_VERSION_BY_ALIAS = (
    select(MODELS.c.id, *_VERSION_COLUMNS)
    .select_from(
        MODELS.outerjoin(
            ALIASES,
            and_(ALIASES.c.model_id == MODELS.c.id, ALIASES.c.alias == bindparam("alias")),
        )
        .outerjoin(VERSIONS, VERSIONS.c.id == ALIASES.c.version_id)
        .outerjoin(LOGGED_MODELS, LOGGED_MODELS.c.id == VERSIONS.c.logged_model_id)
    )
    .where(MODELS.c.project_id == PROJECT, MODELS.c.name == NAME)
)


def _models_with_latest(which: ColumnElement[bool]) -> Select[t.Any]:
    """The chosen models, each joined to its latest version per stage (or to ``NULL``s)."""
    chosen = select(MODELS.c.id).where(MODELS.c.project_id == PROJECT, which).correlate(None)
    newest = (
        select(VERSIONS.c.model_id, func.max(VERSIONS.c.sequence).label("sequence"))
        .where(VERSIONS.c.project_id == PROJECT, VERSIONS.c.model_id.in_(chosen))
        .group_by(VERSIONS.c.model_id, VERSIONS.c.current_stage)
        .subquery("newest")
    )
    latest = (
        select(*_VERSION_COLUMNS)
        .select_from(
            _VERSION_FROM.join(
                newest,
                and_(
                    VERSIONS.c.model_id == newest.c.model_id,
                    VERSIONS.c.sequence == newest.c.sequence,
                ),
            )
        )
        .subquery("latest")
    )
    return (
        select(*_MODEL_COLUMNS, *latest.c)
        .select_from(MODELS.outerjoin(latest, latest.c.model_id == MODELS.c.id))
        .where(MODELS.c.project_id == PROJECT, which)
        .order_by(latest.c.sequence)
    )


_MODEL_BY_NAME = _models_with_latest(MODELS.c.name == NAME)
MODELS_BY_ID = _models_with_latest(MODELS.c.id.in_(bindparam("model_ids", expanding=True)))


def _children_statement() -> Select[t.Any]:
    """Tags and aliases of models and versions as ``(kind, owner, key, value, number)``."""

    def kind(number: int) -> ColumnElement[int]:
        return literal_column(str(number), Integer).label("kind")

    def ids(name: str) -> t.Any:
        return bindparam(name, expanding=True)

    parts = union_all(
        select(
            kind(0),
            MODEL_TAGS.c.model_id.label("owner"),
            MODEL_TAGS.c.key.label("key"),
            MODEL_TAGS.c.value.label("value"),
            null().label("number"),
        ).where(MODEL_TAGS.c.model_id.in_(ids("model_ids"))),
        select(kind(1), ALIASES.c.model_id, ALIASES.c.alias, null(), VERSIONS.c.sequence)
        .select_from(ALIASES.join(VERSIONS, VERSIONS.c.id == ALIASES.c.version_id))
        .where(ALIASES.c.model_id.in_(ids("model_ids"))),
        select(
            kind(2), VERSION_TAGS.c.version_id, VERSION_TAGS.c.key, VERSION_TAGS.c.value, null()
        ).where(VERSION_TAGS.c.version_id.in_(ids("version_ids"))),
        select(kind(3), ALIASES.c.version_id, ALIASES.c.alias, null(), null()).where(
            ALIASES.c.version_id.in_(ids("alias_version_ids"))
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


def records_of_versions(
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
    return records_of_versions(ctx, [by_id[vid] for vid in version_ids], aliases=True)


def version_record(ctx: ProjectContext, name: str, version: t.Any) -> VersionRecord:
    """:func:`get_version` as a record with its tags and aliases."""
    sequence = checked_sequence(name, version)
    row = ctx.session.execute(
        _VERSION_BY_NUMBER, {"project_id": ctx.project_id, "name": name, "sequence": sequence}
    ).first()
    if row is None:
        raise version_not_found(name, sequence)
    return records_of_versions(ctx, [row], aliases=True)[0]


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


def version_record_by_alias(ctx: ProjectContext, name: str, alias: str) -> VersionRecord:
    """Resolve ``alias`` (``latest``, a real alias, an exact semver, then a semver range) to a
    version with its tags and aliases."""
    rules.check_model_name(name)
    if alias.lower() == LATEST:
        return version_records(ctx, [latest_id_of(ctx, name)])[0]
    row = ctx.session.execute(
        _VERSION_BY_ALIAS, {"project_id": ctx.project_id, "name": name, "alias": alias}
    ).first()
    if row is None:
        raise model_not_found(name)
    model_id, version = row[0], row[1:]
    if version[0] is None:
        return version_records(ctx, [unaliased_id(ctx, model_id, name, alias)])[0]
    return records_of_versions(ctx, [version], aliases=True)[0]


def latest_version_records(
    ctx: ProjectContext, name: str, stages: Sequence[str] | None
) -> list[VersionRecord]:
    """:func:`get_latest_versions` as records with their tags and aliases."""
    return version_records(ctx, latest_version_ids(ctx, name, stages))


def records_of_models(
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
    rules.check_model_name(name)
    found = records_of_models(ctx, _MODEL_BY_NAME, name=name)
    if not found:
        raise model_not_found(name)
    return found[0]


def model_record_of(ctx: ProjectContext, model: RegisteredModel) -> ModelRecord:
    """A model just written, its tags and aliases as the session holds them."""
    stored = records_of_models(ctx, MODELS_BY_ID, model_ids=[model.id])
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


def get_version_by_alias(ctx: ProjectContext, name: str, alias: str) -> ModelVersion:
    """The version :func:`version_record_by_alias` resolves ``alias`` to."""
    return version_by_id(ctx, version_record_by_alias(ctx, name, alias).id)
