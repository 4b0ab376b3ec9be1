"""Read-only queries behind the web pages.

Each function issues a fixed number of statements whatever the number of rows it returns
(aggregates in SQL, children of a page of rows loaded with one ``IN`` query), so a page's
statement count does not grow with the data.
"""

from __future__ import annotations

import json
import math
import typing as t
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from flask_model_registry.errors import InvalidParameter, NotFound
from flask_model_registry.models import (
    ACTIVE,
    Dataset,
    Experiment,
    LoggedModel,
    ModelVersion,
    RegisteredModel,
    RegisteredModelAlias,
    Run,
    RunDatasetInput,
    RunLatestMetric,
    RunMetric,
    RunModelIO,
    RunParam,
)
from flask_model_registry.search.compile import run_filter_clauses, run_order_by

from . import registry
from .context import ProjectContext

__all__ = [
    "MAX_COMPARE",
    "MAX_KEYS",
    "CandidateTable",
    "DatasetInput",
    "ExperimentRow",
    "HistoryPoint",
    "LoggedModelEntry",
    "ModelDetail",
    "ModelRow",
    "Paged",
    "active_experiment",
    "candidate_detail",
    "candidate_table",
    "candidates_by_run_ids",
    "dataset_inputs",
    "experiment_keys",
    "experiment_page",
    "logged_model_of_candidate",
    "logged_models_of_candidate",
    "metric_histories",
    "model_detail",
    "model_names",
    "model_page",
    "model_version_detail",
    "versions_of_candidate",
]

T = t.TypeVar("T")

#: Most param or metric keys offered as columns of an experiment page.
MAX_KEYS = 500
#: Most candidates on the compare page.
MAX_COMPARE = 10
#: Most datasets, and most logged models, listed for one candidate.
MAX_DATASETS = 100
MAX_LOGGED_MODELS = 50


@dataclass(frozen=True)
class Paged(t.Generic[T]):
    """One page of rows and where it sits in the whole list."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        """1-based position of the first row shown (0 when empty)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0


def _offset(page: int, per_page: int) -> int:
    return (page - 1) * per_page


# --- experiments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentRow:
    """An experiment with its candidate count, last activity and linked model."""

    experiment: Experiment
    candidate_count: int
    last_activity: int
    model_id: int | None
    model_name: str | None


def experiment_page(ctx: ProjectContext, *, page: int, per_page: int) -> Paged[ExperimentRow]:
    """Active experiments, newest first, with aggregates (three statements)."""
    active = (Experiment.project_id == ctx.project_id, Experiment.lifecycle_stage == ACTIVE)
    stats = (
        select(
            Run.experiment_id.label("experiment_id"),
            func.count().label("count"),
            func.max(func.coalesce(Run.end_time, Run.start_time)).label("last"),
        )
        .where(Run.project_id == ctx.project_id, Run.lifecycle_stage == ACTIVE)
        .group_by(Run.experiment_id)
        .subquery()
    )
    total = ctx.session.scalar(select(func.count()).select_from(Experiment).where(*active)) or 0
    rows = ctx.session.execute(
        select(Experiment, stats.c.count, stats.c.last, RegisteredModel.id, RegisteredModel.name)
        .outerjoin(stats, stats.c.experiment_id == Experiment.id)
        .outerjoin(RegisteredModel, RegisteredModel.id == Experiment.model_id)
        .where(*active)
        .order_by(Experiment.iid.desc())
        .offset(_offset(page, per_page))
        .limit(per_page)
    ).all()
    items = [
        ExperimentRow(
            experiment=exp,
            candidate_count=count or 0,
            last_activity=max(exp.last_update_time, last or 0),
            model_id=model_id,
            model_name=model_name,
        )
        for exp, count, last, model_id, model_name in rows
    ]
    return Paged(items, total, page, per_page)


def active_experiment(ctx: ProjectContext, iid: int) -> Experiment:
    """The active experiment numbered ``iid``, with its linked model; 404 otherwise."""
    experiment = ctx.session.scalars(
        select(Experiment)
        .where(
            Experiment.project_id == ctx.project_id,
            Experiment.iid == iid,
            Experiment.lifecycle_stage == ACTIVE,
        )
        .options(joinedload(Experiment.model))
    ).first()
    if experiment is None:
        raise NotFound(f"No Experiment with id={iid} exists")
    return experiment


def _candidate_scope(
    ctx: ProjectContext, experiment: Experiment
) -> tuple[ColumnElement[bool], ...]:
    return (
        Run.project_id == ctx.project_id,
        Run.experiment_id == experiment.id,
        Run.lifecycle_stage == ACTIVE,
    )


def experiment_keys(ctx: ProjectContext, experiment: Experiment) -> tuple[list[str], list[str]]:
    """The param keys and metric keys used by the experiment's candidates, sorted."""

    def keys(entity: type[RunParam] | type[RunLatestMetric]) -> list[str]:
        stmt = (
            select(entity.key)
            .join(Run, Run.id == entity.candidate_id)
            .where(*_candidate_scope(ctx, experiment))
            .distinct()
            .order_by(entity.key)
            .limit(MAX_KEYS)
        )
        return list(ctx.session.scalars(stmt))

    return keys(RunParam), keys(RunLatestMetric)


@dataclass
class CandidateTable:
    """A page of candidates and the chosen param and metric values of each."""

    candidates: list[Run]
    total: int
    params: dict[int, dict[str, str]] = field(default_factory=dict)
    metrics: dict[int, dict[str, float]] = field(default_factory=dict)


def _metric_value(value: float, is_nan: bool) -> float:
    return math.nan if is_nan else value


def candidate_table(
    ctx: ProjectContext,
    experiment: Experiment,
    *,
    filter_string: str | None,
    order_by: Sequence[str],
    param_keys: Sequence[str],
    metric_keys: Sequence[str],
    offset: int,
    limit: int,
) -> CandidateTable:
    """Filtered, ordered candidates of an experiment with the chosen columns (four statements).

    The filter and ordering use the ``search_runs`` language; a bad one raises
    :class:`InvalidParameter` before anything is read.
    """
    where = (*_candidate_scope(ctx, experiment), *run_filter_clauses(filter_string))
    ordering = run_order_by(list(order_by))
    total = ctx.session.scalar(select(func.count()).select_from(Run).where(*where)) or 0
    candidates = list(
        ctx.session.scalars(
            select(Run).where(*where).order_by(*ordering).offset(offset).limit(limit)
        )
    )
    table = CandidateTable(candidates, total)
    ids = [c.id for c in candidates]
    table.params = {i: {} for i in ids}
    table.metrics = {i: {} for i in ids}
    if ids and param_keys:
        for cid, key, text in ctx.session.execute(
            select(RunParam.candidate_id, RunParam.key, RunParam.value).where(
                RunParam.candidate_id.in_(ids), RunParam.key.in_(list(param_keys))
            )
        ):
            table.params[cid][key] = text
    if ids and metric_keys:
        latest = RunLatestMetric
        for cid, key, value, is_nan in ctx.session.execute(
            select(latest.candidate_id, latest.key, latest.value, latest.is_nan).where(
                latest.candidate_id.in_(ids), latest.key.in_(list(metric_keys))
            )
        ):
            table.metrics[cid][key] = _metric_value(value, is_nan)
    return table


# --- candidates -------------------------------------------------------------------------------


def _with_data() -> list[t.Any]:
    return [
        selectinload(Run.params),
        selectinload(Run.latest_metrics),
        selectinload(Run.tags),
        joinedload(Run.experiment),
    ]


def candidate_detail(ctx: ProjectContext, run_id: str) -> Run:
    """The candidate ``run_id`` with params, latest metrics, tags and experiment; 404 if none."""
    candidate = ctx.session.scalars(
        select(Run)
        .where(Run.project_id == ctx.project_id, Run.run_id == run_id)
        .options(*_with_data())
    ).first()
    if candidate is None:
        raise NotFound(f"Run with id={run_id} not found")
    return candidate


def candidates_by_run_ids(ctx: ProjectContext, run_ids: Sequence[str]) -> list[Run]:
    """Candidates in the order of ``run_ids`` (2 to :data:`MAX_COMPARE`), with their data."""
    unique = list(dict.fromkeys(run_ids))
    if not 2 <= len(unique) <= MAX_COMPARE:
        raise InvalidParameter(
            f"Select between 2 and {MAX_COMPARE} candidates to compare; got {len(unique)}."
        )
    found = {
        c.run_id: c
        for c in ctx.session.scalars(
            select(Run)
            .where(Run.project_id == ctx.project_id, Run.run_id.in_(unique))
            .options(*_with_data())
        )
    }
    missing = [run_id for run_id in unique if run_id not in found]
    if missing:
        raise NotFound(f"Run with id={missing[0]} not found")
    return [found[run_id] for run_id in unique]


def versions_of_candidate(ctx: ProjectContext, candidate: Run) -> list[ModelVersion]:
    """Model versions promoted from (or registered with) the candidate, with their model."""
    return list(
        ctx.session.scalars(
            select(ModelVersion)
            .where(
                ModelVersion.project_id == ctx.project_id,
                or_(
                    ModelVersion.candidate_id == candidate.id,
                    ModelVersion.run_id == candidate.run_id,
                ),
            )
            .options(joinedload(ModelVersion.model))
            .order_by(ModelVersion.creation_timestamp)
        )
    )


@dataclass(frozen=True)
class DatasetInput:
    """A dataset a candidate used, and the context it was used in (``training``, ...)."""

    dataset: Dataset
    tags: list[tuple[str, str]]

    @property
    def context(self) -> str | None:
        """The ``mlflow.data.context`` input tag, if the client set one."""
        return next((value for key, value in self.tags if key == "mlflow.data.context"), None)


def _input_tag_pairs(raw: str | None) -> list[tuple[str, str]]:
    try:
        tags = json.loads(raw or "[]")
    except ValueError:
        return []
    if not isinstance(tags, list):
        return []
    return [
        (str(tag.get("key", "")), str(tag.get("value", "")))
        for tag in tags
        if isinstance(tag, dict)
    ]


def dataset_inputs(ctx: ProjectContext, candidate: Run) -> list[DatasetInput]:
    """The datasets the candidate used (``mlflow.log_input``), by name (one statement)."""
    rows = ctx.session.execute(
        select(RunDatasetInput.tags, Dataset)
        .join(Dataset, Dataset.id == RunDatasetInput.dataset_id)
        .where(RunDatasetInput.candidate_id == candidate.id)
        .order_by(Dataset.name, Dataset.digest)
        .limit(MAX_DATASETS)
    )
    return [DatasetInput(dataset, _input_tag_pairs(tags)) for tags, dataset in rows]


@dataclass(frozen=True)
class LoggedModelEntry:
    """A logged model a candidate produced, and the versions registered from it."""

    model: LoggedModel
    versions: list[ModelVersion]


def _produced_by(ctx: ProjectContext, candidate: Run) -> ColumnElement[bool]:
    """Whether a logged model is an active one of this project that the candidate produced:
    its ``source_run_id`` is the run, or the run logged it as an output."""
    outputs = select(RunModelIO.logged_model_id).where(
        RunModelIO.candidate_id == candidate.id, RunModelIO.direction == "output"
    )
    return and_(
        LoggedModel.project_id == ctx.project_id,
        LoggedModel.lifecycle_stage == ACTIVE,
        or_(LoggedModel.source_run_id == candidate.run_id, LoggedModel.id.in_(outputs)),
    )


def logged_models_of_candidate(ctx: ProjectContext, candidate: Run) -> list[LoggedModelEntry]:
    """The active logged models the candidate produced (its ``source_run_id`` or an output of
    the run), oldest first, with params, metrics and registered versions (four statements)."""
    models = list(
        ctx.session.scalars(
            select(LoggedModel)
            .where(_produced_by(ctx, candidate))
            .order_by(LoggedModel.creation_timestamp_ms, LoggedModel.id)
            .limit(MAX_LOGGED_MODELS)
            .options(selectinload(LoggedModel.params), selectinload(LoggedModel.metrics))
        )
    )
    versions: dict[int, list[ModelVersion]] = {model.id: [] for model in models}
    if models:
        for version in ctx.session.scalars(
            select(ModelVersion)
            .where(
                ModelVersion.project_id == ctx.project_id,
                ModelVersion.logged_model_id.in_(list(versions)),
            )
            .options(joinedload(ModelVersion.model))
            .order_by(ModelVersion.creation_timestamp, ModelVersion.id)
        ):
            versions[t.cast(int, version.logged_model_id)].append(version)
    return [LoggedModelEntry(model, versions[model.id]) for model in models]


def logged_model_of_candidate(ctx: ProjectContext, run_id: str, model_id: str) -> LoggedModel:
    """The logged model ``model_id`` if the candidate ``run_id`` produced it (as
    :func:`logged_models_of_candidate` lists them), without its data; 404 otherwise."""
    candidate = ctx.session.scalars(
        select(Run).where(Run.project_id == ctx.project_id, Run.run_id == run_id)
    ).first()
    if candidate is None:
        raise NotFound(f"Run with id={run_id} not found")
    model = ctx.session.scalars(
        select(LoggedModel).where(LoggedModel.model_id == model_id, _produced_by(ctx, candidate))
    ).first()
    if model is None:
        raise NotFound(f"Logged model with ID '{model_id}' not found for run {run_id}.")
    return model


@dataclass(frozen=True)
class HistoryPoint:
    step: int
    timestamp: int
    value: float


def _thin(points: list[HistoryPoint], limit: int) -> list[HistoryPoint]:
    """At most ``limit`` evenly spaced points, keeping the first and the last."""
    if len(points) <= limit:
        return points
    stride = (len(points) - 1) / (limit - 1)
    return [points[round(i * stride)] for i in range(limit)]


def metric_histories(
    ctx: ProjectContext,
    candidate_ids: Iterable[int],
    keys: Sequence[str] | None = None,
    *,
    max_points: int = 500,
) -> dict[int, dict[str, list[HistoryPoint]]]:
    """Full metric histories of several candidates in one statement, ordered by step.

    Long histories are thinned to ``max_points`` evenly spaced points for drawing.
    """
    ids = list(candidate_ids)
    result: dict[int, dict[str, list[HistoryPoint]]] = {i: {} for i in ids}
    if not ids:
        return result
    m = RunMetric
    stmt = (
        select(m.candidate_id, m.key, m.step, m.timestamp, m.value, m.is_nan)
        .join(Run, Run.id == m.candidate_id)
        .where(Run.project_id == ctx.project_id, m.candidate_id.in_(ids))
        .order_by(m.candidate_id, m.key, m.step, m.timestamp)
    )
    if keys is not None:
        stmt = stmt.where(m.key.in_(list(keys)))
    for cid, key, step, timestamp, value, is_nan in ctx.session.execute(stmt):
        point = HistoryPoint(step, timestamp, _metric_value(value, is_nan))
        result[cid].setdefault(key, []).append(point)
    for per_key in result.values():
        for key, points in per_key.items():
            per_key[key] = _thin(points, max_points)
    return result


# --- models -----------------------------------------------------------------------------------


def model_names(ctx: ProjectContext, limit: int = 1000) -> list[str]:
    """Names of the project's models, for suggestions."""
    return list(
        ctx.session.scalars(
            select(RegisteredModel.name)
            .where(RegisteredModel.project_id == ctx.project_id)
            .order_by(RegisteredModel.name)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class ModelRow:
    """A model with its version count, latest version and default experiment number."""

    model: RegisteredModel
    version_count: int
    latest_semver: str | None
    experiment_iid: int | None
    experiment_name: str | None = None


def model_page(ctx: ProjectContext, *, page: int, per_page: int) -> Paged[ModelRow]:
    """Models by name with aggregates (three statements)."""
    scope = RegisteredModel.project_id == ctx.project_id
    total = ctx.session.scalar(select(func.count()).select_from(RegisteredModel).where(scope)) or 0
    rows = ctx.session.execute(
        select(RegisteredModel, Experiment.iid, Experiment.name)
        .outerjoin(
            Experiment,
            (Experiment.model_id == RegisteredModel.id) & (Experiment.lifecycle_stage == ACTIVE),
        )
        .where(scope)
        .order_by(RegisteredModel.name)
        .offset(_offset(page, per_page))
        .limit(per_page)
    ).all()
    summary = registry.version_summary(ctx, [model for model, _, _ in rows])
    items = [
        ModelRow(model, *summary[model.id], iid, experiment_name)
        for model, iid, experiment_name in rows
    ]
    return Paged(items, total, page, per_page)


@dataclass(frozen=True)
class ModelDetail:
    """A model, its versions by descending SemVer precedence, aliases and latest version."""

    model: RegisteredModel
    versions: list[ModelVersion]
    aliases: dict[int, list[str]]
    latest: ModelVersion | None
    experiment: Experiment | None


def model_detail(ctx: ProjectContext, model_id: int) -> ModelDetail:
    """The model page's data (a fixed handful of statements)."""
    model = registry.get_model_by_id(ctx, model_id, with_versions=True)
    aliases: dict[int, list[str]] = {}
    for alias in model.aliases:
        aliases.setdefault(alias.version_id, []).append(alias.alias)
    experiment = model.default_experiment
    if experiment is not None and experiment.lifecycle_stage != ACTIVE:
        experiment = None
    return ModelDetail(
        model=model,
        versions=sorted(model.versions, key=registry.precedence, reverse=True),
        aliases=aliases,
        latest=registry.latest_of(model.versions),
        experiment=experiment,
    )


def model_version_detail(
    ctx: ProjectContext, model_id: int, semver: str
) -> tuple[ModelVersion, list[str]]:
    """The version of a model whose semver has the precedence of ``semver`` (as the native API
    finds it), with its candidate's data, and its aliases. A URL naming no valid semver names
    no version: 404, as for any other version that does not exist."""
    try:
        version_id = registry.find_semver_id(ctx, model_id, semver)
    except InvalidParameter:
        version_id = None
    version = None
    if version_id is not None:
        version = ctx.session.scalars(
            select(ModelVersion)
            .where(ModelVersion.project_id == ctx.project_id, ModelVersion.id == version_id)
            .options(
                joinedload(ModelVersion.model),
                joinedload(ModelVersion.logged_model),
                selectinload(ModelVersion.tags),
                selectinload(ModelVersion.run).options(*_with_data()),
            )
        ).first()
    if version is None:
        raise NotFound(f"Model version {semver} of model id={model_id} not found")
    aliases = list(
        ctx.session.scalars(
            select(RegisteredModelAlias.alias)
            .where(
                RegisteredModelAlias.model_id == model_id,
                RegisteredModelAlias.version_id == version.id,
            )
            .order_by(RegisteredModelAlias.alias)
        )
    )
    return version, aliases
