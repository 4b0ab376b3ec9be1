"""MLflow 3 logged models: create, read, finalize, tag, parametrize, delete and search.

A logged model belongs to an experiment of the project; its public id is ``m-<32 hex>`` and
its files live under ``<experiment artifact location>/models/<model_id>/artifacts``. Deleting
marks it deleted (files are kept: registered versions may still point at them).
"""

from __future__ import annotations

import typing as t
import uuid
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from flask_model_registry import rules
from flask_model_registry.database import now_ms
from flask_model_registry.errors import InvalidParameter, NotFound
from flask_model_registry.models import (
    ACTIVE,
    DELETED,
    Experiment,
    LoggedModel,
    LoggedModelParam,
    LoggedModelTag,
    ModelVersion,
    RegisteredModel,
)
from flask_model_registry.pagination import check_max_results, decode_page_token, encode_page_token
from flask_model_registry.search.compile import logged_model_filter_clauses, logged_model_order_by
from flask_model_registry.services.artifacts import Listing, list_files
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.services.experiments import get_experiment, parse_experiment_id
from flask_model_registry.services.runs import generate_run_name, get_run
from flask_model_registry.services.tags import delete_tag

__all__ = [
    "FINAL_STATUSES",
    "PENDING",
    "READY",
    "SearchPage",
    "UPLOAD_FAILED",
    "create_logged_model",
    "delete_logged_model",
    "delete_logged_model_tag",
    "get_logged_model",
    "list_logged_model_artifacts",
    "log_logged_model_params",
    "registrations",
    "search_logged_models",
    "set_logged_model_tags",
]

PENDING = "LOGGED_MODEL_PENDING"
READY = "LOGGED_MODEL_READY"
UPLOAD_FAILED = "LOGGED_MODEL_UPLOAD_FAILED"
#: The statuses a model can be finalized to.
FINAL_STATUSES = (READY, UPLOAD_FAILED)

MAX_KEY_LENGTH = rules.MAX_KEY_LENGTH
MAX_NAME_LENGTH = rules.MAX_LOGGED_MODEL_NAME_LENGTH
SEARCH_DEFAULT_RESULTS = 50
SEARCH_MAX_RESULTS = 50000
_BAD_NAME_CHARS = ("/", ":", ".", "%", '"', "'")

KeyValues = Iterable[tuple[str, str]]


class SearchPage(t.NamedTuple):
    """One page of logged models and the token of the next page, if any."""

    models: list[LoggedModel]
    next_page_token: str | None


# -- validation -------------------------------------------------------------------------------


def _check_name(name: str) -> str:
    _check_text("name", name)
    if not name or any(c in name for c in _BAD_NAME_CHARS):
        raise InvalidParameter(
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string "
            f"and cannot contain the following characters: {_BAD_NAME_CHARS}"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidParameter(
            f"Model name exceeds the maximum length of {MAX_NAME_LENGTH} characters"
        )
    return name


def _check_text(what: str, value: str | None) -> None:
    # PostgreSQL cannot store NUL in text; refuse it here rather than fail in the database.
    if value is not None and "\x00" in value:
        raise InvalidParameter(f"Invalid value for parameter '{what}': it contains a NUL byte.")


def _check_key(what: str, key: str) -> None:
    _check_text(f"{what}.key", key)
    if not key:
        raise rules.missing(f"{what}.key")
    if len(key) > MAX_KEY_LENGTH:
        raise rules.too_long(f"{what}.key", MAX_KEY_LENGTH)


def _unique_params(params: KeyValues) -> dict[str, str]:
    """Params by key; one key sent twice with different values is refused."""
    result: dict[str, str] = {}
    for key, value in params:
        _check_key("params", key)
        _check_text("params.value", value)
        if result.get(key, value) != value:
            raise InvalidParameter(
                f"Duplicate parameter key '{key}' with different values in one request."
            )
        result[key] = value
    return result


def _tag_map(tags: KeyValues) -> dict[str, str]:
    """Tags by key; a key sent twice keeps its last value."""
    result: dict[str, str] = {}
    for key, value in tags:
        _check_key("tags", key)
        _check_text("tags.value", value)
        result[key] = value
    return result


# -- lookups ----------------------------------------------------------------------------------


def _not_found(model_id: str) -> NotFound:
    return NotFound(f"Logged model with ID '{model_id}' not found.")


def _find(
    ctx: ProjectContext, model_id: str, *, allow_deleted: bool, for_update: bool = False
) -> LoggedModel:
    """The model, or 404; ``for_update`` locks its row until the transaction ends, so that
    concurrent changes of its tags and params queue and each reads what the last committed
    (PostgreSQL; SQLite's writers hold one lock already)."""
    if "\x00" in model_id:
        raise _not_found(model_id)
    stmt = select(LoggedModel).where(
        LoggedModel.project_id == ctx.project_id, LoggedModel.model_id == model_id
    )
    if not allow_deleted:
        stmt = stmt.where(LoggedModel.lifecycle_stage != DELETED)
    if for_update:
        # FOR NO KEY UPDATE: writers of the model queue, inserts referencing it do not.
        stmt = stmt.with_for_update(key_share=True)
    model = ctx.session.scalars(stmt).first()
    if model is None:
        raise _not_found(model_id)
    return model


def get_logged_model(
    ctx: ProjectContext, model_id: str, *, allow_deleted: bool = False
) -> LoggedModel:
    """The logged model ``model_id`` of this project (deleted ones only if allowed), or 404."""
    return _find(ctx, model_id, allow_deleted=allow_deleted)


def registrations(
    ctx: ProjectContext, models: Sequence[LoggedModel]
) -> dict[int, list[tuple[str, int]]]:
    """``(registered model name, version)`` pairs per logged model row id, in one query."""
    ids = [model.id for model in models]
    result: dict[int, list[tuple[str, int]]] = {model_id: [] for model_id in ids}
    if not ids:
        return result
    rows = ctx.session.execute(
        select(ModelVersion.logged_model_id, RegisteredModel.name, ModelVersion.sequence)
        .join(RegisteredModel, ModelVersion.model_id == RegisteredModel.id)
        .where(ModelVersion.project_id == ctx.project_id, ModelVersion.logged_model_id.in_(ids))
        .order_by(RegisteredModel.name, ModelVersion.sequence)
    )
    for logged_model_id, name, sequence in rows:
        result[t.cast(int, logged_model_id)].append((name, sequence))
    return result


def list_logged_model_artifacts(ctx: ProjectContext, model_id: str, path: str = "") -> Listing:
    """The model's artifact URI and the files under ``path`` of its artifact root."""
    model = _find(ctx, model_id, allow_deleted=False)
    return Listing(model.artifact_uri, list_files(ctx, model.artifact_uri, path))


# -- writing ----------------------------------------------------------------------------------


def _existing_run(ctx: ProjectContext, run_id: str) -> None:
    if "\x00" in run_id:
        raise NotFound(f"Run with id={run_id!r} not found")
    get_run(ctx, run_id)


def create_logged_model(
    ctx: ProjectContext,
    experiment_id: str,
    *,
    name: str | None = None,
    model_type: str | None = None,
    source_run_id: str | None = None,
    params: KeyValues = (),
    tags: KeyValues = (),
) -> LoggedModel:
    """Create a ``LOGGED_MODEL_PENDING`` model in an active experiment of this project."""
    name = _check_name(name) if name else generate_run_name()
    _check_text("model_type", model_type)
    if model_type is not None and len(model_type) > MAX_NAME_LENGTH:
        raise InvalidParameter(
            f"Model type exceeds the maximum length of {MAX_NAME_LENGTH} characters"
        )
    param_map, tag_map = _unique_params(params), _tag_map(tags)
    experiment = get_experiment(ctx, experiment_id)
    if experiment.lifecycle_stage != ACTIVE:
        raise InvalidParameter(
            f"The experiment {experiment.iid} must be in the 'active' state."
            f" Current state is {experiment.lifecycle_stage}."
        )
    if source_run_id:
        _existing_run(ctx, source_run_id)
    model_id = f"m-{uuid.uuid4().hex}"
    now = now_ms()
    model = LoggedModel(
        model_id=model_id,
        project_id=ctx.project_id,
        experiment=experiment,
        name=name,
        model_type=model_type or None,
        source_run_id=source_run_id or None,
        status=PENDING,
        creator_id=ctx.user_name,
        artifact_uri=f"{experiment.artifact_location.rstrip('/')}/models/{model_id}/artifacts",
        lifecycle_stage=ACTIVE,
        creation_timestamp_ms=now,
        last_updated_timestamp_ms=now,
        params=[LoggedModelParam(key=k, value=v) for k, v in param_map.items()],
        tags=[LoggedModelTag(key=k, value=v) for k, v in tag_map.items()],
    )
    ctx.session.add(model)
    ctx.session.flush()
    return model


def parse_status(value: str | int) -> str:
    """A wire status (enum name or number) to a final status name, or 400."""
    names = {1: PENDING, 2: READY, 3: UPLOAD_FAILED}
    status = names.get(value) if isinstance(value, int) else value
    if status is None or status not in FINAL_STATUSES:
        raise InvalidParameter(
            f"Invalid value {value!r} for parameter 'status': a logged model can only be"
            f" finalized to {' or '.join(FINAL_STATUSES)}."
        )
    return status


def finalize_logged_model(ctx: ProjectContext, model_id: str, status: str | int) -> LoggedModel:
    """Set the final status (``LOGGED_MODEL_READY`` or ``LOGGED_MODEL_UPLOAD_FAILED``)."""
    final = parse_status(status)
    model = _find(ctx, model_id, allow_deleted=True)
    model.status = final
    model.last_updated_timestamp_ms = now_ms()
    ctx.session.flush()
    return model


def delete_logged_model(ctx: ProjectContext, model_id: str) -> None:
    """Mark the model deleted; it disappears from get and search, its files stay."""
    model = _find(ctx, model_id, allow_deleted=True)
    model.lifecycle_stage = DELETED
    model.last_updated_timestamp_ms = now_ms()
    ctx.session.flush()


def set_logged_model_tags(ctx: ProjectContext, model_id: str, tags: KeyValues) -> LoggedModel:
    """Insert or overwrite tags of the model."""
    tag_map = _tag_map(tags)
    model = _find(ctx, model_id, allow_deleted=True, for_update=bool(tag_map))
    if not tag_map:
        return model
    existing = {tag.key: tag for tag in model.tags}
    for key, value in tag_map.items():
        if key in existing:
            existing[key].value = value
        else:
            model.tags.append(LoggedModelTag(key=key, value=value))
    model.last_updated_timestamp_ms = now_ms()
    ctx.session.flush()
    return model


def delete_logged_model_tag(ctx: ProjectContext, model_id: str, key: str) -> None:
    """Remove one tag; a missing tag is 404 as in MLflow."""
    model = _find(ctx, model_id, allow_deleted=True)
    if "\x00" in key or not delete_tag(ctx, model, LoggedModelTag.logged_model_id, key):
        raise NotFound(f"No tag with key {key!r} found for model with ID {model_id!r}.")
    model.last_updated_timestamp_ms = now_ms()
    ctx.session.flush()


def log_logged_model_params(ctx: ProjectContext, model_id: str, params: KeyValues) -> None:
    """Add params; re-logging a key with the same value is a no-op, a new value is 400."""
    param_map = _unique_params(params)
    model = _find(ctx, model_id, allow_deleted=True, for_update=bool(param_map))
    if not param_map:
        return
    existing = {param.key: param.value for param in model.params}
    for key, value in param_map.items():
        if key not in existing:
            model.params.append(LoggedModelParam(key=key, value=value))
        elif existing[key] != value:
            raise InvalidParameter(
                f"Changing param values is not allowed. Param with key='{key}' was already"
                f" logged with value='{existing[key]}' for logged model ID='{model_id}'."
                f" Attempted logging new value '{value}'."
            )
    model.last_updated_timestamp_ms = now_ms()
    ctx.session.flush()


# -- search -----------------------------------------------------------------------------------


def _experiment_iids(experiment_ids: Sequence[str]) -> list[int]:
    iids = []
    for experiment_id in experiment_ids:
        iid = parse_experiment_id(experiment_id)
        if iid is None:
            raise InvalidParameter(f"Invalid experiment ID '{experiment_id}'.")
        iids.append(iid)
    return iids


def search_logged_models(
    ctx: ProjectContext,
    experiment_ids: Sequence[str],
    *,
    filter_string: str | None = None,
    datasets: Sequence[Mapping[str, t.Any]] | None = None,
    max_results: int | None = None,
    order_by: Sequence[Mapping[str, t.Any]] | None = None,
    page_token: str | None = None,
) -> SearchPage:
    """One page of the active logged models of the given experiments of this project.

    The page token is bound to ``experiment_ids``, ``filter_string`` and ``order_by``.
    """
    limit = check_max_results(
        max_results or None, default=SEARCH_DEFAULT_RESULTS, maximum=SEARCH_MAX_RESULTS
    )
    bind = {
        "experiment_ids": list(experiment_ids),
        "filter_string": filter_string or None,
        "order_by": [dict(item) for item in order_by] if order_by else None,
    }
    offset = decode_page_token(page_token, **bind)
    where = logged_model_filter_clauses(filter_string or None, datasets or None)
    ordering = logged_model_order_by(order_by or None)
    experiments = select(Experiment.id).where(
        Experiment.project_id == ctx.project_id,
        Experiment.iid.in_(_experiment_iids(experiment_ids)),
    )
    stmt = (
        select(LoggedModel)
        .where(
            LoggedModel.project_id == ctx.project_id,
            LoggedModel.lifecycle_stage != DELETED,
            LoggedModel.experiment_id.in_(experiments),
            *where,
        )
        .order_by(*ordering)
        .offset(offset)
        .limit(limit + 1)
        .options(
            selectinload(LoggedModel.experiment),
            selectinload(LoggedModel.tags),
            selectinload(LoggedModel.params),
            selectinload(LoggedModel.metrics),
        )
    )
    rows = list(ctx.session.scalars(stmt))
    token = encode_page_token(offset + limit, **bind) if len(rows) > limit else None
    return SearchPage(rows[:limit], token)
