"""What a run used and produced: datasets and logged models."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from sqlalchemy import select

from flask_model_registry.errors import NotFound
from flask_model_registry.models import Dataset, RunDatasetInput, RunModelIO
from flask_model_registry.services.context import ProjectContext

from .logging import _insert
from .records import _logged_model_pks, get_run
from .validation import DatasetInputData, _check_active, _check_dataset


def _logged_models(ctx: ProjectContext, model_ids: Iterable[str]) -> dict[str, int]:
    """Primary keys of the named logged models; 404 for any not in this project."""
    wanted = set(model_ids)
    if not wanted:
        return {}
    found = _logged_model_pks(ctx, wanted)
    missing = sorted(wanted - set(found))
    if missing:
        raise NotFound(f"Logged model with ID '{missing[0]}' not found.")
    return found


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
