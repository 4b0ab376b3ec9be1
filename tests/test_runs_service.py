"""The run service's guards that HTTP tests cannot reach deterministically."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_model_registry.errors import InvalidParameter
from flask_model_registry.services import runs
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
        run = runs._run_ref(ctx, run_id)
        with pytest.raises(InvalidParameter, match="Changing param values is not allowed"):
            runs._write_params(ctx, run, {"lr": "0.2", "epochs": "3"}, {}, single=False)
        ctx.session.rollback()
    with project_ctx(app, project.id) as ctx:
        assert runs._existing_params(ctx, run, ["lr", "epochs"]) == {"lr": "0.1"}


def test_a_param_logged_concurrently_with_the_same_value_is_accepted(
    app: Flask, project: Project
) -> None:
    run_id = _run_with_param(app, project)
    with project_ctx(app, project.id) as ctx:
        run = runs._run_ref(ctx, run_id)
        runs._write_params(ctx, run, {"lr": "0.1", "epochs": "3"}, {}, single=False)
    with project_ctx(app, project.id) as ctx:
        assert runs._existing_params(ctx, run, ["lr", "epochs"]) == {"lr": "0.1", "epochs": "3"}
