"""Reading runs as plain rows, with statements built once.

Constructing a statement costs more than SQLite takes to run it, so the hot reading paths use
prebuilt statements whose parameters are bound per call; ``ids`` lists expand.
"""

from __future__ import annotations

import json
import typing as t
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select, bindparam, literal, select, union_all
from sqlalchemy.sql.elements import BindParameter

from flask_model_registry.errors import NotFound
from flask_model_registry.models import (
    Dataset,
    Experiment,
    LoggedModel,
    Run,
    RunDatasetInput,
    RunLatestMetric,
    RunModelIO,
    RunParam,
    RunTag,
)
from flask_model_registry.services.context import ProjectContext


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


class RunRef(t.NamedTuple):
    """What writing to a run needs of it."""

    id: int
    run_id: str
    lifecycle_stage: str


#: A run to write to: the ORM row, or just the columns writing needs.
AnyRun = Run | RunRef

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


def _run_query(ctx: ProjectContext) -> Select[Run]:
    return select(Run).where(Run.project_id == ctx.project_id)


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


def _logged_model_pks(ctx: ProjectContext, model_ids: Iterable[str]) -> dict[str, int]:
    """Primary keys of the named logged models of this project, by model ID."""
    return dict(
        ctx.session.execute(
            select(LoggedModel.model_id, LoggedModel.id).where(
                LoggedModel.project_id == ctx.project_id, LoggedModel.model_id.in_(model_ids)
            )
        ).all()
    )
