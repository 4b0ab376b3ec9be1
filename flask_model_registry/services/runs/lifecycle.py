"""A run's lifecycle: create, update, delete and restore."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence

from sqlalchemy.orm.attributes import set_committed_value

from flask_model_registry.database import now_ms
from flask_model_registry.errors import InvalidParameter
from flask_model_registry.models import ACTIVE, DELETED, Run, RunTag
from flask_model_registry.rules import invalid_value, too_long
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.services.experiments import get_experiment

from .logging import _upsert_tags
from .records import RunBundle, RunInfo, get_run
from .validation import (
    MAX_USER_ID_LENGTH,
    RUN_NAME_TAG,
    RUN_STATUSES,
    _check_active,
    _check_run_name,
    _validated_tags,
)

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

