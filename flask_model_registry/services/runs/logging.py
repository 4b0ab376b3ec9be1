"""Logging params, metrics and tags to a run.

Every write goes through :func:`log_batch`: the whole batch is validated first, then each table
gets one bulk statement (metrics are inserted with ``ON CONFLICT DO NOTHING`` so re-sent points
are idempotent, and the latest value per key is maintained with one ``INSERT ... ON CONFLICT DO
UPDATE ... WHERE`` newer-than-stored).
"""

from __future__ import annotations

import functools
import math
import typing as t
from collections.abc import Iterable, Sequence

from sqlalchemy import Table, select, tuple_, update

from flask_model_registry.database import bulk
from flask_model_registry.errors import InvalidParameter, NotFound
from flask_model_registry.models import (
    LoggedModelMetric,
    Run,
    RunLatestMetric,
    RunMetric,
    RunParam,
    RunTag,
)
from flask_model_registry.services.context import ProjectContext

from .records import AnyRun, _logged_model_pks, _run_ref, get_run
from .validation import (
    RUN_NAME_TAG,
    MetricPoint,
    _check_active,
    _check_batch_limits,
    _validated_metrics,
    _validated_params,
    _validated_tags,
)

# SQL cannot hold infinities portably; MLflow stores the largest finite doubles instead.
_DOUBLE_MAX = 1.7976931348623157e308


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
    models = _logged_model_pks(ctx, model_ids)
    if not models:
        return
    lm = LoggedModelMetric
    columns = (lm.logged_model_id, lm.key, lm.step, lm.timestamp, lm.value, lm.is_nan)
    existing: set[tuple[t.Any, ...]] = set(
        ctx.session.execute(
            select(*columns).where(lm.logged_model_id.in_(models.values()), lm.run_id == run.run_id)
        ).all()
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
        ).all()
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

