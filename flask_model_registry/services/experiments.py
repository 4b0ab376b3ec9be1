"""Experiments: MLflow's ``experiment_id`` is the per-project number ``iid``.

Experiment ``0`` named ``Default`` exists in every project; it is created on first need.
Artifact locations are assigned by the server as ``mlflow-artifacts:/<project_id>/<iid>``; a
client may only pass a location of that scheme inside its own project (anything else is refused),
so every artifact path of a project starts with the project id.
"""

from __future__ import annotations

import posixpath
import typing as t
from collections.abc import Mapping

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from flask_model_registry import rules
from flask_model_registry.database import now_ms
from flask_model_registry.errors import AlreadyExists, InvalidParameter, NotFound
from flask_model_registry.models import ACTIVE, DELETED, Experiment, ExperimentTag, Run
from flask_model_registry.pagination import decode_page_token, encode_page_token
from flask_model_registry.rules import check_entity_name, too_long
from flask_model_registry.search.compile import experiment_filter_clauses, experiment_order_by
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.services.tags import delete_tag, put_tag
from flask_model_registry.uris import ARTIFACT_SCHEME

__all__ = [
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "SearchPage",
    "artifact_location_for",
    "create_experiment",
    "delete_experiment",
    "delete_experiment_tag",
    "ensure_default_experiment",
    "find_experiment_by_name",
    "get_experiment",
    "get_experiment_by_name",
    "parse_experiment_id",
    "rename_experiment",
    "restore_experiment",
    "search_experiments",
    "set_experiment_tag",
]

DEFAULT_EXPERIMENT_ID = 0
DEFAULT_EXPERIMENT_NAME = "Default"
MAX_NAME_LENGTH = rules.MAX_EXPERIMENT_NAME_LENGTH
MAX_TAG_KEY_LENGTH = rules.MAX_KEY_LENGTH
MAX_TAG_VALUE_LENGTH = rules.MAX_EXPERIMENT_TAG_VALUE_LENGTH
_IID_RETRIES = 5
_LOCK_NAMESPACE = 0x4D4C  # first key of the advisory lock that guards experiment numbering


class SearchPage(t.NamedTuple):
    """One page of experiments and the token of the next page, if any."""

    experiments: list[Experiment]
    next_page_token: str | None


def artifact_location_for(ctx: ProjectContext, iid: int) -> str:
    """The server-assigned artifact location of experiment ``iid``."""
    return f"{ARTIFACT_SCHEME}:/{ctx.project_id}/{iid}"


def parse_experiment_id(experiment_id: str | int) -> int | None:
    """The integer ``iid`` of a wire experiment id, or ``None`` if it cannot name one."""
    if isinstance(experiment_id, bool):
        return None
    if isinstance(experiment_id, int):
        return experiment_id
    text = experiment_id.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def _not_found(experiment_id: str | int) -> NotFound:
    return NotFound(f"No Experiment with id={experiment_id} exists")


def _query(ctx: ProjectContext) -> t.Any:
    return (
        select(Experiment)
        .where(Experiment.project_id == ctx.project_id)
        .options(selectinload(Experiment.tags))
    )


def _by_iid(ctx: ProjectContext, iid: int) -> Experiment | None:
    return t.cast(
        "Experiment | None",
        ctx.session.scalars(_query(ctx).where(Experiment.iid == iid)).first(),
    )


def _new_experiment(ctx: ProjectContext, iid: int, name: str, location: str | None) -> Experiment:
    now = now_ms()
    return Experiment(
        project_id=ctx.project_id,
        iid=iid,
        name=name,
        artifact_location=location or artifact_location_for(ctx, iid),
        lifecycle_stage=ACTIVE,
        user_id=ctx.user_name,
        creation_time=now,
        last_update_time=now,
    )


def _insert(ctx: ProjectContext, experiment: Experiment) -> bool:
    """Insert in a savepoint; ``False`` when a unique constraint refused the row."""
    try:
        with ctx.session.begin_nested():
            ctx.session.add(experiment)
            ctx.session.flush()
    except IntegrityError:
        if experiment in ctx.session:
            ctx.session.expunge(experiment)
        return False
    return True


def ensure_default_experiment(ctx: ProjectContext) -> Experiment:
    """Return experiment ``0`` ("Default") of the project, creating it on first need."""
    existing = _by_iid(ctx, DEFAULT_EXPERIMENT_ID)
    if existing is not None:
        return existing
    experiment = _new_experiment(ctx, DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, None)
    experiment.user_id = None
    if _insert(ctx, experiment):
        return experiment
    # Another request created it first (or the name is taken): use what is there.
    existing = _by_iid(ctx, DEFAULT_EXPERIMENT_ID)
    if existing is None:
        raise AlreadyExists(f"Experiment '{DEFAULT_EXPERIMENT_NAME}' already exists.")
    return existing


def get_experiment(ctx: ProjectContext, experiment_id: str | int) -> Experiment:
    """The experiment numbered ``experiment_id`` in this project, or 404."""
    iid = parse_experiment_id(experiment_id)
    if iid is None:
        raise _not_found(experiment_id)
    if iid == DEFAULT_EXPERIMENT_ID:
        return ensure_default_experiment(ctx)
    experiment = _by_iid(ctx, iid)
    if experiment is None:
        raise _not_found(experiment_id)
    return experiment


def find_experiment_by_name(ctx: ProjectContext, name: str) -> Experiment | None:
    """The experiment called ``name`` (active or deleted), or ``None``."""
    if name == DEFAULT_EXPERIMENT_NAME:
        ensure_default_experiment(ctx)
    return t.cast(
        "Experiment | None",
        ctx.session.scalars(_query(ctx).where(Experiment.name == name)).first(),
    )


def get_experiment_by_name(ctx: ProjectContext, name: str) -> Experiment:
    """The experiment called ``name``, or 404 as MLflow words it."""
    experiment = find_experiment_by_name(ctx, name)
    if experiment is None:
        raise NotFound(f"Could not find experiment with name '{name}'")
    return experiment


def _check_name(name: t.Any) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidParameter(f"Invalid experiment name: '{name}'")
    if len(name) > MAX_NAME_LENGTH:
        raise too_long("name", MAX_NAME_LENGTH)
    return name


def _check_artifact_location(ctx: ProjectContext, location: str | None) -> str | None:
    """Accept only ``mlflow-artifacts:/<this project>/<relative path>``."""
    if not location:
        return None
    prefix = f"{ARTIFACT_SCHEME}:/{ctx.project_id}/"
    rest = location[len(prefix):].rstrip("/") if location.startswith(prefix) else ""
    if (
        not rest
        or "\\" in rest
        or "\x00" in rest
        or posixpath.normpath(rest) != rest
        or rest.startswith((".", "/"))
        or any(part in ("", ".", "..") for part in rest.split("/"))
    ):
        raise InvalidParameter(
            f"Invalid artifact location '{location}': artifact locations are assigned by the"
            f" server; only a location under '{prefix}' may be given."
        )
    return prefix + rest


def _check_tag(key: str, value: str) -> None:
    check_entity_name(key, "key")
    if len(key) > MAX_TAG_KEY_LENGTH:
        raise too_long("key", MAX_TAG_KEY_LENGTH)
    if len(value) > MAX_TAG_VALUE_LENGTH:
        raise too_long("value", MAX_TAG_VALUE_LENGTH)


def _lock_numbering(ctx: ProjectContext) -> None:
    """Serialise experiment numbering per project on PostgreSQL (SQLite writers already queue
    behind ``BEGIN IMMEDIATE``); the lock ends with the transaction."""
    if ctx.session.get_bind().dialect.name == "postgresql":
        ctx.session.execute(
            select(func.pg_advisory_xact_lock(_LOCK_NAMESPACE, ctx.project_id % 2**31))
        )


def _next_iid(ctx: ProjectContext) -> int:
    current = ctx.session.scalar(
        select(func.max(Experiment.iid)).where(Experiment.project_id == ctx.project_id)
    )
    return max(int(current or 0), DEFAULT_EXPERIMENT_ID) + 1


def _name_taken(ctx: ProjectContext, name: str) -> bool:
    return ctx.session.scalar(
        select(Experiment.id).where(
            Experiment.project_id == ctx.project_id, Experiment.name == name
        )
    ) is not None


def create_experiment(
    ctx: ProjectContext,
    name: str,
    *,
    artifact_location: str | None = None,
    tags: Mapping[str, str] | None = None,
    model_id: int | None = None,
) -> Experiment:
    """Create an experiment with the next free number; names are unique per project."""
    name = _check_name(name)
    location = _check_artifact_location(ctx, artifact_location)
    for key, value in (tags or {}).items():
        _check_tag(key, value)
    ensure_default_experiment(ctx)
    _lock_numbering(ctx)
    for _ in range(_IID_RETRIES):
        if _name_taken(ctx, name):
            raise AlreadyExists(f"Experiment '{name}' already exists.")
        experiment = _new_experiment(ctx, _next_iid(ctx), name, location)
        experiment.model_id = model_id
        experiment.tags = [ExperimentTag(key=k, value=v) for k, v in (tags or {}).items()]
        if _insert(ctx, experiment):
            return experiment
    raise AlreadyExists(f"Experiment '{name}' could not be numbered; retry the request.")


def rename_experiment(ctx: ProjectContext, experiment_id: str | int, new_name: str) -> Experiment:
    """Give an active experiment a new, unused name."""
    new_name = _check_name(new_name)
    ensure_default_experiment(ctx)
    experiment = get_experiment(ctx, experiment_id)
    if experiment.lifecycle_stage != ACTIVE:
        raise InvalidParameter("Cannot rename a non-active experiment.")
    if experiment.name == new_name:
        return experiment
    if _name_taken(ctx, new_name):
        raise AlreadyExists(f"Experiment '{new_name}' already exists.")
    experiment.name = new_name
    experiment.last_update_time = now_ms()
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError:
        raise AlreadyExists(f"Experiment '{new_name}' already exists.") from None
    return experiment


def _set_runs_lifecycle(ctx: ProjectContext, experiment: Experiment, stage: str) -> None:
    now = now_ms()
    ctx.session.execute(
        update(Run)
        .where(Run.experiment_id == experiment.id, Run.project_id == ctx.project_id)
        .values(lifecycle_stage=stage, deleted_time=now if stage == DELETED else None)
        .execution_options(synchronize_session=False)
    )


def _change_lifecycle(
    ctx: ProjectContext, experiment_id: str | int, stage: str
) -> Experiment:
    """Move the experiment and its runs to ``stage``; 404 if it is not in the other stage."""
    experiment = get_experiment(ctx, experiment_id)
    if (experiment.lifecycle_stage == DELETED) == (stage == DELETED):
        raise _not_found(experiment.iid)
    experiment.lifecycle_stage = stage
    experiment.last_update_time = now_ms()
    _set_runs_lifecycle(ctx, experiment, stage)
    ctx.session.flush()
    return experiment


def delete_experiment(ctx: ProjectContext, experiment_id: str | int) -> Experiment:
    """Mark the experiment and all its runs deleted; the name stays taken."""
    return _change_lifecycle(ctx, experiment_id, DELETED)


def restore_experiment(ctx: ProjectContext, experiment_id: str | int) -> Experiment:
    """Bring a deleted experiment and its runs back."""
    return _change_lifecycle(ctx, experiment_id, ACTIVE)


def _active(ctx: ProjectContext, experiment_id: str | int) -> Experiment:
    experiment = get_experiment(ctx, experiment_id)
    if experiment.lifecycle_stage != ACTIVE:
        raise InvalidParameter(
            f"The experiment {experiment.iid} must be in the 'active' state."
            f" Current state is {experiment.lifecycle_stage}."
        )
    return experiment


def set_experiment_tag(
    ctx: ProjectContext, experiment_id: str | int, key: str, value: str
) -> None:
    """Set (insert or overwrite) a tag of an active experiment."""
    _check_tag(key, value)
    experiment = _active(ctx, experiment_id)
    put_tag(experiment.tags, ExperimentTag, key, value)
    experiment.last_update_time = now_ms()
    ctx.session.flush()


def delete_experiment_tag(ctx: ProjectContext, experiment_id: str | int, key: str) -> None:
    """Remove a tag of an active experiment; a missing tag is 404."""
    experiment = _active(ctx, experiment_id)
    if not delete_tag(ctx, experiment, ExperimentTag.experiment_id, key):
        raise NotFound(f"No tag with name: {key} in experiment with id {experiment.iid}")
    experiment.last_update_time = now_ms()
    ctx.session.flush()


VIEW_TYPES = ("ACTIVE_ONLY", "DELETED_ONLY", "ALL")


def search_experiments(
    ctx: ProjectContext,
    *,
    max_results: int,
    filter_string: str | None = None,
    order_by: t.Sequence[str] | None = None,
    page_token: str | None = None,
    view_type: str = "ACTIVE_ONLY",
) -> SearchPage:
    """One page of this project's experiments, filtered and ordered in SQL."""
    ensure_default_experiment(ctx)
    offset = decode_page_token(page_token) if page_token else 0
    stmt = _query(ctx).where(*_view_clauses(Experiment.lifecycle_stage, view_type))
    stmt = stmt.where(*experiment_filter_clauses(filter_string or ""))
    stmt = stmt.order_by(*experiment_order_by(list(order_by or [])))
    rows = list(ctx.session.scalars(stmt.offset(offset).limit(max_results + 1)))
    token = encode_page_token(offset + max_results) if len(rows) > max_results else None
    return SearchPage(rows[:max_results], token)


def _view_clauses(column: t.Any, view_type: str) -> list[t.Any]:
    if view_type == "ACTIVE_ONLY":
        return [column == ACTIVE]
    if view_type == "DELETED_ONLY":
        return [column == DELETED]
    return []
