"""The run service's guards that HTTP tests cannot reach deterministically."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_model_registry.errors import InvalidParameter
from flask_model_registry.services import runs
from flask_model_registry.services.runs.logging import _existing_params, _write_params
from flask_model_registry.services.runs.records import _run_ref
from tests.conftest import Project
from tests.test_web_factories import project_ctx


def _run_with_param(app: Flask, project: Project) -> str:
    with project_ctx(app, project.id) as ctx:
        run_id = runs.create_run(ctx).run.run_id
        runs.log_param(ctx, run_id, "lr", "0.1")
    return run_id


def test_a_param_logged_concurrently_with_another_value_is_refused(
    app: Flask, project: Project
) -> None:
    """A param another request stored after this one read the run's params (``existing``
    misses it) is still checked: the insert skips it and the stored value is compared."""
    run_id = _run_with_param(app, project)
    with project_ctx(app, project.id) as ctx:
        run = _run_ref(ctx, run_id)
        with pytest.raises(InvalidParameter, match="Changing param values is not allowed"):
            _write_params(ctx, run, {"lr": "0.2", "epochs": "3"}, {}, single=False)
        ctx.session.rollback()
    with project_ctx(app, project.id) as ctx:
        assert _existing_params(ctx, run, ["lr", "epochs"]) == {"lr": "0.1"}


def test_a_param_logged_concurrently_with_the_same_value_is_accepted(
    app: Flask, project: Project
) -> None:
    run_id = _run_with_param(app, project)
    with project_ctx(app, project.id) as ctx:
        run = _run_ref(ctx, run_id)
        _write_params(ctx, run, {"lr": "0.1", "epochs": "3"}, {}, single=False)
    with project_ctx(app, project.id) as ctx:
        assert _existing_params(ctx, run, ["lr", "epochs"]) == {"lr": "0.1", "epochs": "3"}


def test_batch_points_round_trip_exactly(app: Flask, project: Project) -> None:
    """Every double, including the extremes, comes back bit for bit, under keys with spaces,
    slashes, colons and non-ASCII letters; whatever path the database's bulk insert takes."""
    values = [5e-324, -0.0, 1.7976931348623157e308, -1.7976931348623157e308, 0.1, 1 / 3,
              -1e-300, 123456789.123456789, 2.0**53 + 1]
    keys = ["loss", "val/acc top:1", "größe", "a.b-c_d"]
    points = [
        runs.MetricPoint(key, value, 1_000 + step, step)
        for key in keys
        for step, value in enumerate(values)
    ]
    with project_ctx(app, project.id) as ctx:
        run_id = runs.create_run(ctx).run.run_id
        runs.log_batch(ctx, run_id, metrics=points)
    with project_ctx(app, project.id) as ctx:
        for key in keys:
            history = runs.get_metric_history(ctx, run_id, key).metrics
            stored = [(m.step, m.timestamp, m.value) for m in history]
            assert sorted(stored) == [(s, 1_000 + s, float(v)) for s, v in enumerate(values)]
