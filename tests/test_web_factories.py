"""Data builders for the web page tests: they go through the domain services in an app context,
as a request would, and commit."""

from __future__ import annotations

import contextlib
import io
import typing as t
from collections.abc import Iterator, Mapping, Sequence

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from flask_model_registry.dispatch import make_context
from flask_model_registry.services import experiments as experiment_service
from flask_model_registry.services import runs as run_service
from flask_model_registry.services.context import ProjectContext
from flask_model_registry.services.runs import MetricPoint
from flask_model_registry.state import get_state

__all__ = [
    "StatementCounter",
    "count_statements",
    "csrf_of",
    "login",
    "make_candidate",
    "make_experiment",
    "project_ctx",
    "store_artifact",
    "web",
]

BASE_TIME = 1_700_000_000_000


class _User:
    def __init__(self, username: str) -> None:
        self.username = username


@contextlib.contextmanager
def project_ctx(app: Flask, project_id: int, user: str = "alpha-developer") -> Iterator[
    ProjectContext
]:
    """A service context for ``project_id`` acting as ``user``; commits on success."""
    with app.test_request_context():
        ctx = make_context(project_id, _User(user))
        try:
            yield ctx
            ctx.session.commit()
        except BaseException:
            ctx.session.rollback()
            raise
        finally:
            ctx.session.close()


def web(project_id: int, path: str = "") -> str:
    """The URL of a page of ``project_id``."""
    return f"/projects/{project_id}/-/ml{path}"


def make_experiment(app: Flask, project_id: int, name: str) -> int:
    """Create an experiment and return its number (MLflow ``experiment_id``)."""
    with project_ctx(app, project_id) as ctx:
        return experiment_service.create_experiment(ctx, name).iid


def make_candidate(
    app: Flask,
    project_id: int,
    experiment_iid: int,
    name: str,
    *,
    params: Mapping[str, str] | None = None,
    metrics: Mapping[str, Sequence[float]] | None = None,
    tags: Mapping[str, str] | None = None,
    start: int = BASE_TIME,
    status: str = "FINISHED",
) -> str:
    """Create a finished run with params, tags and metric histories (one value per step)."""
    with project_ctx(app, project_id) as ctx:
        bundle = run_service.create_run(
            ctx, experiment_id=str(experiment_iid), run_name=name, start_time=start
        )
        run_id = bundle.run.run_id
        points = [
            MetricPoint(key, value, start + step * 1000, step)
            for key, values in (metrics or {}).items()
            for step, value in enumerate(values)
        ]
        for i in range(0, max(len(points), 1), 1000):
            run_service.log_batch(
                ctx,
                run_id,
                metrics=points[i : i + 1000],
                params=list((params or {}).items()) if i == 0 else [],
                tags=list((tags or {}).items()) if i == 0 else [],
            )
        run_service.update_run(ctx, run_id, status=status, end_time=start + 65_000)
        return run_id


def store_artifact(app: Flask, project_id: int, run_id: str, path: str, data: bytes) -> None:
    """Write ``data`` as artifact ``path`` of the run, where the MLflow client would put it."""
    from flask_model_registry.services import artifacts as artifact_service

    with project_ctx(app, project_id) as ctx:
        run = run_service.get_run(ctx, run_id)
        root = artifact_service.store_path(ctx, run.artifact_uri)
        ctx.artifacts.write(f"{root}/{path}", io.BytesIO(data))


def login(client: FlaskClient, username: str, password: str = "pw") -> None:
    """Sign in through the host's login form."""
    page = client.get("/login")
    token = _hidden(page.get_data(as_text=True), "csrf_token")
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def _hidden(html: str, name: str) -> str:
    import re

    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def csrf_of(html: str) -> str:
    """The registry's CSRF token in a rendered page."""
    return _hidden(html, "mr_csrf_token")


class StatementCounter:
    """Counts SQL statements sent on the registry's engine."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, *args: t.Any) -> None:
        self.statements.append(str(args[2]))

    @property
    def count(self) -> int:
        return len(self.statements)


@contextlib.contextmanager
def count_statements(app: Flask) -> Iterator[StatementCounter]:
    """Count the statements executed while the block runs."""
    with app.app_context():
        engine = get_state(app).db.engine
    counter = StatementCounter()
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)
