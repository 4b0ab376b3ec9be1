"""Searching runs and reading metric histories."""

from __future__ import annotations

import typing as t
from collections.abc import Sequence

from sqlalchemy import Select, func, select

from flask_model_registry.errors import InvalidParameter, NotFound
from flask_model_registry.models import ACTIVE, DELETED, Experiment, Run, RunMetric
from flask_model_registry.pagination import decode_page_token, encode_page_token
from flask_model_registry.search.compile import run_filter_clauses, run_order_by
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.services.experiments import parse_experiment_id

from .records import _RUN_INFO, RunPage, _bundles, _run_query, get_run

MAX_BULK_RUN_IDS = 100


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
