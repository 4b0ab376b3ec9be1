"""Runs: lifecycle, params, metrics, tags, inputs, outputs and search.

Every write of params, metrics and tags goes through :func:`log_batch`: the whole batch is
validated first, then each table gets one bulk statement (metrics are inserted with
``ON CONFLICT DO NOTHING`` so re-sent points are idempotent, and the latest value per key is
maintained with one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` newer-than-stored).
"""

from __future__ import annotations

import functools
import json
import math
import random
import typing as t
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select, Table, bindparam, func, literal, select, tuple_, union_all, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import BindParameter

from flask_model_registry import rules
from flask_model_registry.database import bulk, now_ms
from flask_model_registry.errors import InvalidParameter, NotFound
from flask_model_registry.models import (
    ACTIVE,
    DELETED,
    Dataset,
    Experiment,
    LoggedModel,
    LoggedModelMetric,
    Run,
    RunDatasetInput,
    RunLatestMetric,
    RunMetric,
    RunModelIO,
    RunParam,
    RunTag,
)
from flask_model_registry.pagination import decode_page_token, encode_page_token
from flask_model_registry.rules import check_entity_name, invalid_value, missing, too_long
from flask_model_registry.search.compile import run_filter_clauses, run_order_by
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.services.experiments import get_experiment, parse_experiment_id

__all__ = [
    "RUN_NAME_TAG",
    "RUN_STATUSES",
    "DatasetInputData",
    "MetricPoint",
    "RunBundle",
    "RunInfo",
    "RunPage",
    "create_run",
    "delete_run",
    "delete_tag",
    "generate_run_name",
    "get_metric_history",
    "get_metric_history_bulk_interval",
    "get_run",
    "get_run_bundle",
    "log_batch",
    "log_inputs",
    "log_metric",
    "log_outputs",
    "log_param",
    "restore_run",
    "search_runs",
    "set_tag",
    "update_run",
]

RUN_NAME_TAG = "mlflow.runName"
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_KEY_LENGTH = rules.MAX_KEY_LENGTH
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_RUN_NAME_LENGTH = 250
MAX_USER_ID_LENGTH = 255
MAX_MODEL_ID_LENGTH = 64
MAX_DATASET_NAME = 500
MAX_DATASET_DIGEST = 36
MAX_DATASET_SOURCE_TYPE = 36
MAX_DATASET_SOURCE = 65535
MAX_DATASET_SCHEMA = 1048575
MAX_DATASET_PROFILE = 16777215
MAX_INPUT_TAG_KEY = 255
MAX_INPUT_TAG_VALUE = 500
MAX_BULK_RUN_IDS = 100
# SQL cannot hold infinities portably; MLflow stores the largest finite doubles instead.
_DOUBLE_MAX = 1.7976931348623157e308


class MetricPoint(t.NamedTuple):
    """One metric value as logged."""

    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


class DatasetInputData(t.NamedTuple):
    """A dataset a run used, with its input tags (``mlflow.data.context`` ...)."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None
    tags: Sequence[tuple[str, str]] = ()


class RunInfo(t.NamedTuple):
    """The columns of a run its MLflow ``RunInfo`` shows."""

    id: int
    run_id: str
    name: str
    experiment_iid: int
    user_id: str | None
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str


@dataclass
class RunBundle:
    """A run with everything its MLflow representation shows, as plain rows."""

    run: RunInfo
    params: list[tuple[str, str]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    #: Latest metric rows (``key value is_nan step timestamp model_id dataset_*``), by key.
    metrics: list[t.Any] = field(default_factory=list)
    dataset_inputs: list[tuple[t.Any, list[dict[str, str]]]] = field(default_factory=list)
    model_inputs: list[str] = field(default_factory=list)
    model_outputs: list[tuple[str, int]] = field(default_factory=list)


class RunPage(t.NamedTuple):
    """One page of runs and the token of the next page, if any."""

    runs: list[RunBundle]
    next_page_token: str | None


# ---------------------------------------------------------------------------------------------
# reading


def _run_query(ctx: ProjectContext) -> Select[Run]:
    return select(Run).where(Run.project_id == ctx.project_id)


class RunRef(t.NamedTuple):
    """What writing to a run needs of it."""

    id: int
    run_id: str
    lifecycle_stage: str


# Statements of the hot reading paths, built once: constructing a statement costs more than
# SQLite takes to run it. Parameters are bound per call; ``ids`` lists expand.
_IDS: BindParameter[t.Any] = bindparam("ids", expanding=True)
_PROJECT: BindParameter[t.Any] = bindparam("project_id")
_RUN_ID: BindParameter[t.Any] = bindparam("run_id")

_RUN_REF = select(Run.id, Run.run_id, Run.lifecycle_stage).where(
    Run.project_id == _PROJECT, Run.run_id == _RUN_ID
)

#: Run info rows, each flagged with whether the run has dataset or model inputs/outputs, so
#: those two lookups are skipped for the (usual) runs without any.
_RUN_INFO = (
    select(
        Run.id,
        Run.run_id,
        Run.name,
        Experiment.iid,
        Run.user_id,
        Run.status,
        Run.start_time,
        Run.end_time,
        Run.artifact_uri,
        Run.lifecycle_stage,
        select(RunDatasetInput.candidate_id)
        .where(RunDatasetInput.candidate_id == Run.id)
        .exists(),
        select(RunModelIO.candidate_id)
        .where(RunModelIO.candidate_id == Run.id)
        .exists(),
    )
    .join(Experiment, Experiment.id == Run.experiment_id)
)
_RUN_INFO_BY_ID = _RUN_INFO.where(Run.project_id == _PROJECT, Run.run_id == _RUN_ID)


def _params_and_tags() -> t.Any:
    params = select(
        literal(0).label("kind"), RunParam.candidate_id, RunParam.key,
        RunParam.value,
    ).where(RunParam.candidate_id.in_(_IDS))
    tags = select(
        literal(1), RunTag.candidate_id, RunTag.key, RunTag.value
    ).where(RunTag.candidate_id.in_(_IDS))
    both = union_all(params, tags)
    columns = both.selected_columns
    return both.order_by(columns.kind, columns.candidate_id, columns.key)


#: Params (kind 0) and tags (kind 1) of the runs ``ids``, by run and key.
_PARAMS_AND_TAGS = _params_and_tags()

_LATEST_METRICS = (
    select(
        RunLatestMetric.candidate_id,
        RunLatestMetric.key,
        RunLatestMetric.value,
        RunLatestMetric.is_nan,
        RunLatestMetric.timestamp,
        RunLatestMetric.step,
        RunLatestMetric.dataset_name,
        RunLatestMetric.dataset_digest,
        RunLatestMetric.model_id,
    )
    .where(RunLatestMetric.candidate_id.in_(_IDS))
    .order_by(RunLatestMetric.candidate_id, RunLatestMetric.key)
)

_DATASET_INPUTS = (
    select(RunDatasetInput.candidate_id, RunDatasetInput.tags, Dataset)
    .join(Dataset, Dataset.id == RunDatasetInput.dataset_id)
    .where(RunDatasetInput.candidate_id.in_(_IDS))
    .order_by(RunDatasetInput.candidate_id, Dataset.id)
)

_MODEL_IO = (
    select(
        RunModelIO.candidate_id,
        RunModelIO.direction,
        RunModelIO.step,
        LoggedModel.model_id,
    )
    .join(LoggedModel, LoggedModel.id == RunModelIO.logged_model_id)
    .where(RunModelIO.candidate_id.in_(_IDS))
    .order_by(RunModelIO.candidate_id, LoggedModel.id)
)


def _run_row(ctx: ProjectContext, statement: t.Any, run_id: str) -> t.Any:
    """The row ``statement`` reads for the run ``run_id`` of this project, or 404."""
    row = ctx.session.connection().execute(
        statement, {"project_id": ctx.project_id, "run_id": run_id}
    ).first()
    if row is None:
        raise NotFound(f"Run with id={run_id} not found")
    return row


def _run_ref(ctx: ProjectContext, run_id: str) -> RunRef:
    return RunRef(*_run_row(ctx, _RUN_REF, run_id))


#: A run to write to: the ORM row, or just the columns writing needs.
AnyRun = Run | RunRef


def get_run(ctx: ProjectContext, run_id: str) -> Run:
    """The run ``run_id`` of this project, or 404 "Run with id=... not found"."""
    run = ctx.session.scalars(_run_query(ctx).where(Run.run_id == run_id)).first()
    if run is None:
        raise NotFound(f"Run with id={run_id} not found")
    return run


def _bundles(ctx: ProjectContext, rows: Sequence[t.Any]) -> list[RunBundle]:
    """Bundles for run info rows: params, tags and latest metrics in two IN-queries, inputs and
    outputs in two more when any run of the page has them, whatever the page size."""
    bundles = {row[0]: RunBundle(RunInfo(*row[:10])) for row in rows}
    if not bundles:
        return []
    ids = {"ids": list(bundles)}
    connection = ctx.session.connection()  # plain rows: no ORM layer needed
    for kind, candidate_id, key, value in connection.execute(_PARAMS_AND_TAGS, ids):
        bundle = bundles[candidate_id]
        (bundle.tags if kind else bundle.params).append((key, value))
    for metric in connection.execute(_LATEST_METRICS, ids):
        bundles[metric.candidate_id].metrics.append(metric)
    with_datasets = [row[0] for row in rows if row[10]]
    if with_datasets:
        inputs = ctx.session.execute(_DATASET_INPUTS, {"ids": with_datasets})
        for candidate_id, tags, dataset in inputs:
            bundles[candidate_id].dataset_inputs.append((dataset, _input_tags(tags)))
    with_models = [row[0] for row in rows if row[11]]
    if with_models:
        for candidate_id, direction, step, model_id in connection.execute(
            _MODEL_IO, {"ids": with_models}
        ):
            bundle = bundles[candidate_id]
            if direction == "input":
                bundle.model_inputs.append(model_id)
            else:
                bundle.model_outputs.append((model_id, step))
    return [bundles[row[0]] for row in rows]


def _input_tags(raw: str | None) -> list[dict[str, str]]:
    try:
        tags = json.loads(raw or "[]")
    except ValueError:
        return []
    return [tag for tag in tags if isinstance(tag, dict)] if isinstance(tags, list) else []


def get_run_bundle(ctx: ProjectContext, run_id: str) -> RunBundle:
    """The run with params, tags, latest metrics, inputs and outputs, or 404."""
    return _bundles(ctx, [_run_row(ctx, _RUN_INFO_BY_ID, run_id)])[0]


# ---------------------------------------------------------------------------------------------
# lifecycle

_ADJECTIVES = (
    "amber", "bold", "brave", "bright", "calm", "clever", "crisp", "daring", "eager", "fancy",
    "gentle", "glad", "golden", "happy", "honest", "jolly", "keen", "kind", "lively", "lucky",
    "merry", "mighty", "nimble", "noble", "polite", "proud", "quick", "quiet", "rapid", "sharp",
    "shiny", "silent", "smart", "snappy", "steady", "sunny", "swift", "tidy", "vivid", "witty",
)
_NOUNS = (
    "badger", "bear", "beaver", "bison", "crane", "deer", "dolphin", "eagle", "falcon", "ferret",
    "finch", "fox", "gecko", "goat", "hare", "hawk", "heron", "ibis", "koala", "lark", "lemur",
    "lynx", "mole", "moose", "newt", "otter", "owl", "panda", "pony", "quail", "raven", "robin",
    "seal", "shrew", "sloth", "stork", "swan", "tiger", "whale", "wren",
)


def generate_run_name() -> str:
    """A readable random name such as ``swift-otter-417``."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randrange(1000)}"


def _check_run_name(name: str) -> str:
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise too_long("run_name", MAX_RUN_NAME_LENGTH)
    return name


def _check_active(run: AnyRun) -> None:
    if run.lifecycle_stage != ACTIVE:
        raise InvalidParameter(
            f"The run {run.run_id} must be in the 'active' state."
            f" Current state is {run.lifecycle_stage}."
        )


def create_run(
    ctx: ProjectContext,
    *,
    experiment_id: str | None = None,
    user_id: str | None = None,
    run_name: str | None = None,
    start_time: int | None = None,
    tags: Sequence[tuple[str, str]] = (),
) -> RunBundle:
    """Start a run in an active experiment (default ``0``); the caller is its user."""
    experiment = get_experiment(ctx, experiment_id or "0")
    if experiment.lifecycle_stage != ACTIVE:
        raise InvalidParameter(
            f"The experiment {experiment.iid} must be in the 'active' state."
            f" Current state is {experiment.lifecycle_stage}."
        )
    tag_values = _validated_tags(ctx, tags, single=False)
    name_tag = tag_values.get(RUN_NAME_TAG)
    if run_name and name_tag and run_name != name_tag:
        raise InvalidParameter(
            "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
            f"different values (run_name='{run_name}', mlflow.runName='{name_tag}')."
        )
    name = _check_run_name(run_name or name_tag or generate_run_name())
    tag_values[RUN_NAME_TAG] = name
    user = ctx.user_name or user_id or None
    if user is not None and len(user) > MAX_USER_ID_LENGTH:
        raise too_long("user_id", MAX_USER_ID_LENGTH)
    run_id = uuid.uuid4().hex
    run = Run(
        run_id=run_id,
        project_id=ctx.project_id,
        experiment_id=experiment.id,
        name=name,
        status="RUNNING",
        start_time=now_ms() if start_time is None else start_time,
        lifecycle_stage=ACTIVE,
        user_id=user,
        artifact_uri=f"{experiment.artifact_location.rstrip('/')}/{run_id}/artifacts",
    )
    tags = sorted(tag_values.items())
    run.tags = [RunTag(key=k, value=v) for k, v in tags]
    ctx.session.add(run)
    ctx.session.flush()
    return RunBundle(_info_of(run, experiment.iid), tags=tags)


def _info_of(run: Run, experiment_iid: int) -> RunInfo:
    return RunInfo(
        run.id, run.run_id, run.name, experiment_iid, run.user_id, run.status, run.start_time,
        run.end_time, run.artifact_uri, run.lifecycle_stage,
    )


def update_run(
    ctx: ProjectContext,
    run_id: str,
    *,
    status: str | None = None,
    end_time: int | None = None,
    run_name: str | None = None,
) -> RunInfo:
    """Change status, end time or name of an active run (the name tag follows the name)."""
    run = get_run(ctx, run_id)
    _check_active(run)
    if status is not None:
        if status not in RUN_STATUSES:
            raise invalid_value("status", status)
        run.status = status
    if end_time is not None:
        run.end_time = end_time
    if run_name:
        name = _check_run_name(run_name)
        _upsert_tags(ctx, run, {RUN_NAME_TAG: name})
        set_committed_value(run, "name", name)  # written by _upsert_tags
    ctx.session.flush()
    return _info_of(run, run.experiment.iid)


def delete_run(ctx: ProjectContext, run_id: str) -> None:
    """Mark the run deleted (it can be restored)."""
    run = get_run(ctx, run_id)
    run.lifecycle_stage = DELETED
    run.deleted_time = now_ms()
    ctx.session.flush()


def restore_run(ctx: ProjectContext, run_id: str) -> None:
    """Bring a deleted run back."""
    run = get_run(ctx, run_id)
    run.lifecycle_stage = ACTIVE
    run.deleted_time = None
    ctx.session.flush()


# ---------------------------------------------------------------------------------------------
# validation of logged data


def _path(single: bool, collection: str, index: int, name: str) -> str:
    return name if single else f"{collection}[{index}].{name}"


def _check_key(key: str, path: str, length_name: str) -> None:
    if not key:
        raise missing(path)
    check_entity_name(key, path)
    if len(key) > MAX_KEY_LENGTH:
        raise too_long(length_name, MAX_KEY_LENGTH)


def _limit_value(ctx: ProjectContext, value: str, limit: int, name: str) -> str:
    if len(value) <= limit:
        return value
    if ctx.settings.truncate_long_values:
        return value[:limit]
    raise too_long(name, limit)


def _check_optional(value: str | None, limit: int, name: str) -> None:
    if value is not None and len(value) > limit:
        raise too_long(name, limit)


def _validated_metrics(points: Sequence[MetricPoint], single: bool) -> list[MetricPoint]:
    checked_keys: set[str] = set()  # a batch repeats few keys over many steps
    for i, point in enumerate(points):
        if point.key not in checked_keys:
            _check_key(point.key, _path(single, "metrics", i, "name"), "Metric name")
            checked_keys.add(point.key)
        value = point.value
        if type(value) is not float and (
            isinstance(value, bool) or not isinstance(value, (int, float))
        ):
            raise invalid_value(
                _path(single, "metrics", i, "value"),
                point.value,
                f"(timestamp={point.timestamp}). "
                "Please specify value as a valid double (64-bit floating point)",
            )
        if point.timestamp < 0:
            raise invalid_value(
                _path(single, "metrics", i, "timestamp"),
                point.timestamp,
                f"metric '{point.key}' (value={point.value}). "
                "Timestamp must be a nonnegative long (64-bit integer) ",
            )
        if point.model_id or point.dataset_name or point.dataset_digest:
            _check_optional(point.model_id, MAX_MODEL_ID_LENGTH, "model_id")
            _check_optional(point.dataset_name, MAX_DATASET_NAME, "dataset_name")
            _check_optional(point.dataset_digest, MAX_DATASET_DIGEST, "dataset_digest")
    return list(points)


def _validated_params(
    ctx: ProjectContext, params: Sequence[tuple[str, str]], single: bool
) -> dict[str, str]:
    values: dict[str, str] = {}
    duplicates: list[str] = []
    for i, (key, value) in enumerate(params):
        _check_key(key, _path(single, "params", i, "key"), "Param key")
        if key in values:
            duplicates.append(key)
        values[key] = _limit_value(ctx, value, MAX_PARAM_VALUE_LENGTH, "Param value")
    if duplicates:
        raise InvalidParameter(
            f"Duplicate parameter keys have been submitted: {duplicates}. Please ensure "
            "the request contains only one param value per param key."
        )
    return values


def _validated_tags(
    ctx: ProjectContext, tags: Sequence[tuple[str, str]], single: bool
) -> dict[str, str]:
    """Tag values by key; a key repeated in one request keeps its last value, as in MLflow."""
    values: dict[str, str] = {}
    for i, (key, value) in enumerate(tags):
        key_path = _path(single, "tags", i, "key")
        _check_key(key, key_path, key_path)
        values[key] = _limit_value(
            ctx, value, MAX_TAG_VALUE_LENGTH, _path(single, "tags", i, "value")
        )
    if RUN_NAME_TAG in values:
        _check_run_name(values[RUN_NAME_TAG])
    return values


def _check_batch_limits(metrics: int, params: int, tags: int) -> None:
    for name, limit, count in (
        ("metrics", MAX_METRICS_PER_BATCH, metrics),
        ("params", MAX_PARAMS_TAGS_PER_BATCH, params),
        ("tags", MAX_PARAMS_TAGS_PER_BATCH, tags),
        ("metrics, params, and tags", MAX_ENTITIES_PER_BATCH, metrics + params + tags),
    ):
        if count > limit:
            raise InvalidParameter(
                f"A batch logging request can contain at most {limit} {name}. "
                f"Got {count} {name}. Please split up {name} across multiple"
                " requests and try again."
            )


# ---------------------------------------------------------------------------------------------
# writing


def _insert(ctx: ProjectContext, model: type[t.Any]) -> t.Any:
    """The dialect's Core INSERT into ``model``'s table (``ON CONFLICT`` on SQLite and
    PostgreSQL); executed with a list of rows it is one cached statement run as executemany."""
    return _dialect_insert(ctx.session.get_bind().dialect.name, model)


def _dialect_insert(dialect: str, model: type[t.Any]) -> t.Any:
    return bulk.dialect_insert(dialect, model.__table__)


@functools.cache
def _latest_metric_upsert(dialect: str) -> t.Any:
    """Keep the stored latest point per key unless the new one ranks higher; built once per
    dialect, as constructing it costs more than running it."""
    latest = _dialect_insert(dialect, RunLatestMetric)
    new, old = latest.excluded, RunLatestMetric.__table__.c
    return latest.on_conflict_do_update(
        index_elements=[old.candidate_id, old.key],
        set_={
            name: new[name]
            for name in (
                "value", "is_nan", "step", "timestamp", "model_id", "dataset_name",
                "dataset_digest",
            )
        },
        where=tuple_(new.step, new.timestamp, new.value)
        > tuple_(old.step, old.timestamp, old.value),
    )


@functools.cache
def _tag_upsert(dialect: str) -> t.Any:
    stmt = _dialect_insert(dialect, RunTag)
    return stmt.on_conflict_do_update(
        index_elements=["candidate_id", "key"], set_={"value": stmt.excluded.value}
    )


def _stored_value(value: float) -> tuple[float, bool]:
    """``(value, is_nan)`` as stored: NaN as 0.0 plus a flag, infinities clamped."""
    if math.isnan(value):
        return 0.0, True
    if math.isinf(value):
        return (_DOUBLE_MAX if value > 0 else -_DOUBLE_MAX), False
    return float(value), False


class MetricRow(t.NamedTuple):
    """A metric point as stored, in the column order of the metrics table and of
    :data:`~flask_model_registry.database.bulk.METRIC_POINT_SQL_TYPES`."""

    candidate_id: int
    key: str
    step: int
    timestamp: int
    value: float
    is_nan: bool
    model_id: str | None
    dataset_name: str | None
    dataset_digest: str | None


def _metric_rows(run: AnyRun, points: Iterable[MetricPoint]) -> list[MetricRow]:
    rows: dict[tuple[t.Any, ...], MetricRow] = {}
    candidate_id = run.id
    for key, raw, timestamp, step, model_id, dataset_name, dataset_digest in points:
        if math.isfinite(raw):
            value, is_nan = float(raw), False
        else:
            value, is_nan = _stored_value(raw)
        pk = (key, step, timestamp, value, is_nan)
        if pk not in rows:
            rows[pk] = MetricRow(
                candidate_id, key, step, timestamp, value, is_nan,
                model_id, dataset_name, dataset_digest,
            )
    # Rows in key order, in every table, so concurrent writers take row locks in one order.
    return [rows[pk] for pk in sorted(rows)]


def _latest_rows(rows: Iterable[MetricRow]) -> list[dict[str, t.Any]]:
    """The newest row per key by (step, timestamp, value), as MLflow ranks them."""
    latest: dict[str, MetricRow] = {}
    for row in rows:
        current = latest.get(row.key)
        if current is None or (row.step, row.timestamp, row.value) > (
            current.step, current.timestamp, current.value
        ):
            latest[row.key] = row
    return [latest[key]._asdict() for key in sorted(latest)]


def _insert_metric_points(ctx: ProjectContext, rows: list[MetricRow]) -> None:
    """Insert ``rows`` in one statement, skipping points already stored."""
    table = t.cast(Table, RunMetric.__table__)
    bulk.insert_metric_points(ctx.session.connection(), table, MetricRow._fields, rows)


def _write_metrics(ctx: ProjectContext, run: AnyRun, points: Sequence[MetricPoint]) -> None:
    rows = _metric_rows(run, points)
    if not rows:
        return
    _insert_metric_points(ctx, rows)
    dialect = ctx.session.get_bind().dialect.name
    ctx.session.execute(_latest_metric_upsert(dialect), _latest_rows(rows))
    _write_model_metrics(ctx, run, rows)


def _write_model_metrics(ctx: ProjectContext, run: AnyRun, rows: Sequence[MetricRow]) -> None:
    """Copy points that name a logged model of this project to that model's metrics."""
    model_ids = {row.model_id for row in rows if row.model_id}
    if not model_ids:
        return
    models = dict(
        ctx.session.execute(
            select(LoggedModel.model_id, LoggedModel.id).where(
                LoggedModel.project_id == ctx.project_id, LoggedModel.model_id.in_(model_ids)
            )
        ).tuples().all()
    )
    if not models:
        return
    lm = LoggedModelMetric
    columns = (lm.logged_model_id, lm.key, lm.step, lm.timestamp, lm.value, lm.is_nan)
    existing: set[tuple[t.Any, ...]] = set(
        ctx.session.execute(
            select(*columns).where(lm.logged_model_id.in_(models.values()), lm.run_id == run.run_id)
        ).tuples().all()
    )
    new_rows = []
    for row in rows:
        model_pk = models.get(row.model_id) if row.model_id else None
        ident = (model_pk, row.key, row.step, row.timestamp, row.value, row.is_nan)
        if model_pk is None or ident in existing:
            continue
        existing.add(ident)
        new_rows.append({
            "logged_model_id": model_pk,
            "key": row.key,
            "value": row.value,
            "is_nan": row.is_nan,
            "step": row.step,
            "timestamp": row.timestamp,
            "run_id": run.run_id,
            "dataset_name": row.dataset_name,
            "dataset_digest": row.dataset_digest,
        })
    if new_rows:
        ctx.session.execute(_insert(ctx, LoggedModelMetric), new_rows)


def _param_change_error(
    run: AnyRun, changed: list[tuple[str, str, str]], single: bool
) -> InvalidParameter:
    if single:
        key, old, new = changed[0]
        return InvalidParameter(
            f"Changing param values is not allowed. Param with key='{key}' was already"
            f" logged with value='{old}' for run ID='{run.run_id}'. Attempted logging new value"
            f" '{new}'."
        )
    listed = [{"key": k, "old_value": o, "new_value": n} for k, o, n in changed]
    return InvalidParameter(
        "Changing param values is not allowed. Params were already"
        f" logged='{listed}' for run ID='{run.run_id}'."
    )


def _existing_params(ctx: ProjectContext, run: AnyRun, keys: Iterable[str]) -> dict[str, str]:
    return dict(
        ctx.session.execute(
            select(RunParam.key, RunParam.value).where(
                RunParam.candidate_id == run.id, RunParam.key.in_(list(keys))
            )
        ).tuples().all()
    )


def _check_param_changes(
    run: AnyRun, params: dict[str, str], existing: dict[str, str], single: bool
) -> None:
    changed = [(k, existing[k], v) for k, v in params.items() if k in existing and existing[k] != v]
    if changed:
        raise _param_change_error(run, changed, single)


def _write_params(
    ctx: ProjectContext, run: AnyRun, params: dict[str, str], existing: dict[str, str],
    single: bool,
) -> None:
    rows: list[dict[str, t.Any]] = [
        {"candidate_id": run.id, "key": k, "value": v}
        for k, v in sorted(params.items()) if k not in existing
    ]
    if not rows:
        return
    inserted = ctx.session.execute(
        _insert(ctx, RunParam).on_conflict_do_nothing().returning(RunParam.key),
        rows,
    ).scalars().all()
    if len(inserted) != len(rows):
        # A concurrent request logged some of these keys between our read and our write.
        raced = {row["key"]: row["value"] for row in rows if row["key"] not in set(inserted)}
        _check_param_changes(run, raced, _existing_params(ctx, run, raced), single)


def _upsert_tags(ctx: ProjectContext, run: AnyRun, tags: dict[str, str]) -> None:
    if not tags:
        return
    ctx.session.execute(
        _tag_upsert(ctx.session.get_bind().dialect.name),
        [{"candidate_id": run.id, "key": k, "value": v} for k, v in sorted(tags.items())],
    )
    if RUN_NAME_TAG in tags:
        ctx.session.execute(
            update(Run).where(Run.id == run.id).values(name=tags[RUN_NAME_TAG])
            .execution_options(synchronize_session=False)
        )


def log_batch(
    ctx: ProjectContext,
    run_id: str,
    *,
    metrics: Sequence[MetricPoint] = (),
    params: Sequence[tuple[str, str]] = (),
    tags: Sequence[tuple[str, str]] = (),
    single: bool = False,
) -> None:
    """Log metrics, params and tags to an active run: all validated, then bulk-written.

    ``single`` words errors as MLflow's one-item endpoints do (``key`` rather than
    ``params[0].key``).
    """
    _check_batch_limits(len(metrics), len(params), len(tags))
    points = _validated_metrics(metrics, single)
    param_values = _validated_params(ctx, params, single)
    tag_values = _validated_tags(ctx, tags, single)
    run = _run_ref(ctx, run_id)
    _check_active(run)
    existing = _existing_params(ctx, run, param_values) if param_values else {}
    _check_param_changes(run, param_values, existing, single)
    _write_params(ctx, run, param_values, existing, single)
    _write_metrics(ctx, run, points)
    _upsert_tags(ctx, run, tag_values)
    ctx.session.flush()


def log_metric(ctx: ProjectContext, run_id: str, point: MetricPoint) -> None:
    """Log one metric value (through :func:`log_batch`)."""
    log_batch(ctx, run_id, metrics=[point], single=True)


def log_param(ctx: ProjectContext, run_id: str, key: str, value: str) -> None:
    """Log one param; re-logging the same value is a no-op, a new value is refused."""
    log_batch(ctx, run_id, params=[(key, value)], single=True)


def set_tag(ctx: ProjectContext, run_id: str, key: str, value: str) -> None:
    """Set one run tag; ``mlflow.runName`` also renames the run."""
    log_batch(ctx, run_id, tags=[(key, value)], single=True)


def delete_tag(ctx: ProjectContext, run_id: str, key: str) -> None:
    """Remove a tag of an active run; a missing tag is 404."""
    run = get_run(ctx, run_id)
    _check_active(run)
    tag = ctx.session.get(RunTag, (run.id, key))
    if tag is None:
        raise NotFound(f"No tag with name: {key} in run with id {run_id}")
    ctx.session.delete(tag)
    ctx.session.flush()


# ---------------------------------------------------------------------------------------------
# inputs and outputs


def _logged_models(ctx: ProjectContext, model_ids: Iterable[str]) -> dict[str, int]:
    """Primary keys of the named logged models; 404 for any not in this project."""
    wanted = set(model_ids)
    if not wanted:
        return {}
    found = dict(
        ctx.session.execute(
            select(LoggedModel.model_id, LoggedModel.id).where(
                LoggedModel.project_id == ctx.project_id, LoggedModel.model_id.in_(wanted)
            )
        ).tuples().all()
    )
    missing = sorted(wanted - set(found))
    if missing:
        raise NotFound(f"Logged model with ID '{missing[0]}' not found.")
    return found


def _check_dataset(data: DatasetInputData) -> None:
    for value, limit, name in (
        (data.name, MAX_DATASET_NAME, "name"),
        (data.digest, MAX_DATASET_DIGEST, "digest"),
        (data.source_type, MAX_DATASET_SOURCE_TYPE, "source_type"),
        (data.source, MAX_DATASET_SOURCE, "source"),
        (data.schema, MAX_DATASET_SCHEMA, "schema"),
        (data.profile, MAX_DATASET_PROFILE, "profile"),
    ):
        _check_optional(value, limit, name)
    for key, value in data.tags:
        _check_optional(key, MAX_INPUT_TAG_KEY, "key")
        _check_optional(value, MAX_INPUT_TAG_VALUE, "value")


def _dataset_ids(
    ctx: ProjectContext, experiment_id: int, datasets: Sequence[DatasetInputData]
) -> dict[tuple[str, str], int]:
    """Find or create the experiment's dataset rows (unique by name and digest)."""
    ctx.session.execute(
        _insert(ctx, Dataset).on_conflict_do_nothing(),
        [
            {
                "experiment_id": experiment_id,
                "name": d.name,
                "digest": d.digest,
                "source_type": d.source_type,
                "source": d.source,
                "schema": d.schema,
                "profile": d.profile,
            }
            for d in datasets
        ],
    )
    rows = ctx.session.execute(
        select(Dataset.name, Dataset.digest, Dataset.id).where(
            Dataset.experiment_id == experiment_id,
            Dataset.name.in_({d.name for d in datasets}),
            Dataset.digest.in_({d.digest for d in datasets}),
        )
    )
    return {(name, digest): pk for name, digest, pk in rows}


def log_inputs(
    ctx: ProjectContext,
    run_id: str,
    *,
    datasets: Sequence[DatasetInputData] = (),
    model_ids: Sequence[str] = (),
) -> None:
    """Record datasets (deduplicated per experiment) and logged models a run used."""
    for data in datasets:
        _check_dataset(data)
    run = get_run(ctx, run_id)
    _check_active(run)
    models = _logged_models(ctx, model_ids)
    unique = list({(d.name, d.digest): d for d in reversed(datasets)}.values())[::-1]
    if unique:
        ids = _dataset_ids(ctx, run.experiment_id, unique)
        ctx.session.execute(
            _insert(ctx, RunDatasetInput).on_conflict_do_nothing(),
            [
                {
                    "candidate_id": run.id,
                    "dataset_id": ids[(d.name, d.digest)],
                    "tags": json.dumps([{"key": k, "value": v} for k, v in d.tags]),
                }
                for d in unique
            ],
        )
    if models:
        ctx.session.execute(
            _insert(ctx, RunModelIO).on_conflict_do_nothing(),
            [
                {"candidate_id": run.id, "logged_model_id": pk, "direction": "input", "step": 0}
                for pk in models.values()
            ],
        )
    ctx.session.flush()


def log_outputs(ctx: ProjectContext, run_id: str, models: Sequence[tuple[str, int]]) -> None:
    """Record logged models a run produced, with the step each was produced at."""
    run = get_run(ctx, run_id)
    _check_active(run)
    pks = _logged_models(ctx, [model_id for model_id, _ in models])
    steps = {pks[model_id]: step for model_id, step in models}
    if not steps:
        return
    stmt = _insert(ctx, RunModelIO)
    ctx.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["candidate_id", "logged_model_id", "direction"],
            set_={"step": stmt.excluded.step},
        ),
        [
            {"candidate_id": run.id, "logged_model_id": pk, "direction": "output", "step": step}
            for pk, step in steps.items()
        ],
    )
    ctx.session.flush()


# ---------------------------------------------------------------------------------------------
# search and metric history


def _view_clause(view_type: str) -> list[t.Any]:
    if view_type == "ACTIVE_ONLY":
        return [Run.lifecycle_stage == ACTIVE]
    if view_type == "DELETED_ONLY":
        return [Run.lifecycle_stage == DELETED]
    return []


def _experiment_pks(ctx: ProjectContext, experiment_ids: Sequence[str]) -> t.Any:
    iids = []
    for experiment_id in experiment_ids:
        iid = parse_experiment_id(experiment_id)
        if iid is None:
            raise InvalidParameter(
                f"Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer."
            )
        iids.append(iid)
    return (
        select(Experiment.id)
        .where(Experiment.project_id == ctx.project_id, Experiment.iid.in_(iids))
        .scalar_subquery()
    )


def search_runs(
    ctx: ProjectContext,
    *,
    experiment_ids: Sequence[str],
    filter_string: str | None = None,
    view_type: str = "ACTIVE_ONLY",
    max_results: int = 1000,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> RunPage:
    """One page of runs of the given experiments, filtered and ordered in SQL.

    The page's runs come with their params, tags, latest metrics, inputs and outputs in a
    fixed number of statements, whatever the page size.
    """
    offset = decode_page_token(page_token)
    where = run_filter_clauses(filter_string or "")
    ordering = run_order_by(list(order_by or []))
    if not experiment_ids:
        return RunPage([], None)
    stmt = (
        _RUN_INFO.where(Run.project_id == ctx.project_id)
        .where(Run.experiment_id.in_(_experiment_pks(ctx, experiment_ids)))
        .where(*_view_clause(view_type), *where)
        .order_by(*ordering)
        .offset(offset)
        .limit(max_results + 1)
    )
    rows = ctx.session.execute(stmt).all()
    token = encode_page_token(offset + max_results) if len(rows) > max_results else None
    return RunPage(_bundles(ctx, rows[:max_results]), token)


class MetricHistoryPage(t.NamedTuple):
    """Metric points of one key and the token of the next page, if any."""

    metrics: list[t.Any]
    """Rows with the point's ``key``, ``value``, ``is_nan``, ``step``, ``timestamp``, ..."""
    next_page_token: str | None


_HISTORY_COLUMNS = (
    RunMetric.key,
    RunMetric.value,
    RunMetric.is_nan,
    RunMetric.step,
    RunMetric.timestamp,
    RunMetric.dataset_name,
    RunMetric.dataset_digest,
    RunMetric.model_id,
)
_HISTORY_ORDER = (
    RunMetric.step,
    RunMetric.timestamp,
    RunMetric.value,
    RunMetric.is_nan,
)


def get_metric_history(
    ctx: ProjectContext,
    run_id: str,
    key: str,
    *,
    max_results: int | None = None,
    page_token: str | None = None,
) -> MetricHistoryPage:
    """Every point of ``key`` in step then timestamp order; paged when ``max_results`` is set."""
    run = get_run(ctx, run_id)
    offset = decode_page_token(page_token)
    stmt = (
        select(*_HISTORY_COLUMNS)  # plain rows: a history can hold millions of points
        .where(RunMetric.candidate_id == run.id, RunMetric.key == key)
        .order_by(*_HISTORY_ORDER)
        .offset(offset)
    )
    if max_results is not None:
        stmt = stmt.limit(max_results + 1)
    points = list(ctx.session.execute(stmt).all())
    if max_results is not None and len(points) > max_results:
        return MetricHistoryPage(points[:max_results], encode_page_token(offset + max_results))
    return MetricHistoryPage(points, None)


def get_metric_history_bulk_interval(
    ctx: ProjectContext,
    run_ids: Sequence[str],
    key: str,
    *,
    max_results: int,
    start_step: int | None = None,
    end_step: int | None = None,
) -> list[tuple[str, RunMetric]]:
    """Up to ``max_results`` points of ``key`` per run, evenly sampled in step order.

    The first and last point of each run (within ``[start_step, end_step]``) are always kept;
    with ``max_results`` 1 only the last point is returned. Sampling happens in SQL.
    """
    if len(run_ids) > MAX_BULK_RUN_IDS:
        raise InvalidParameter(
            f"GetMetricHistoryBulkInterval request must specify at most {MAX_BULK_RUN_IDS}"
            f" run_ids. Received {len(run_ids)} run_ids."
        )
    runs = {
        run.run_id: run
        for run in ctx.session.scalars(_run_query(ctx).where(Run.run_id.in_(run_ids)))
    }
    for run_id in run_ids:
        if run_id not in runs:
            raise NotFound(f"Run with id={run_id} not found")
    if not runs:
        return []
    sampled = _sampled_points(
        [run.id for run in runs.values()], key, max(1, max_results), start_step, end_step
    )
    by_candidate: dict[int, list[RunMetric]] = {}
    for point in ctx.session.scalars(sampled):
        by_candidate.setdefault(point.candidate_id, []).append(point)
    return [
        (run_id, point)
        for run_id in dict.fromkeys(run_ids)
        for point in by_candidate.get(runs[run_id].id, [])
    ]


def _sampled_points(
    candidate_ids: list[int], key: str, k: int, start_step: int | None, end_step: int | None
) -> Select[RunMetric]:
    """Rows whose position i of n (0-based) starts a new bucket ``i * (k - 1) // (n - 1)``."""
    cm = RunMetric
    where = [cm.candidate_id.in_(candidate_ids), cm.key == key]
    if start_step is not None and end_step is not None:
        where += [cm.step >= start_step, cm.step <= end_step]
    ranked = (
        select(
            cm.candidate_id, cm.key, cm.step, cm.timestamp, cm.value, cm.is_nan,
            (
                func.row_number().over(partition_by=cm.candidate_id, order_by=_HISTORY_ORDER) - 1
            ).label("i"),
            func.count().over(partition_by=cm.candidate_id).label("n"),
        )
        .where(*where)
        .subquery()
    )
    i, n = ranked.c.i, ranked.c.n
    if k == 1:
        keep = i == n - 1
    else:
        bucket = (i * (k - 1)) // func.nullif(n - 1, 0)
        previous = ((i - 1) * (k - 1)) // func.nullif(n - 1, 0)
        keep = (n <= k) | (i == 0) | (bucket != previous)
    picked = select(
        ranked.c.candidate_id, ranked.c.key, ranked.c.step, ranked.c.timestamp,
        ranked.c.value, ranked.c.is_nan,
    ).where(keep).subquery()
    return (
        select(cm)
        .join(
            picked,
            (cm.candidate_id == picked.c.candidate_id)
            & (cm.key == picked.c.key)
            & (cm.step == picked.c.step)
            & (cm.timestamp == picked.c.timestamp)
            & (cm.value == picked.c.value)
            & (cm.is_nan == picked.c.is_nan),
        )
        .order_by(cm.candidate_id, *_HISTORY_ORDER)
    )
