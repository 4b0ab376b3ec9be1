"""Each page runs a fixed number of SQL statements, however many rows it shows."""

from __future__ import annotations

import typing as t

from flask import Flask
from flask.testing import FlaskClient

from flask_model_registry.services import registry as registry_service
from tests.conftest import Project
from tests.test_web_factories import (
    count_statements,
    login,
    make_candidate,
    make_experiment,
    project_ctx,
    web,
)


def _statements(app: Flask, client: FlaskClient, url: str) -> int:
    client.get(url)  # warm up: first-use work (default experiment, session token) is not counted
    with count_statements(app) as counter:
        response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return counter.count


def _candidates(app: Flask, project_id: int, iid: int, count: int, start: int = 0) -> list[str]:
    return [
        make_candidate(
            app, project_id, iid, f"run-{start + i}",
            params={"lr": str(i), "depth": "3"}, metrics={"acc": [0.1, 0.2], "loss": [1.0]},
            tags={"team": "a"},
        )
        for i in range(count)
    ]


def test_experiment_page_statements_do_not_grow_with_candidates(
    app: Flask, client: FlaskClient, project: Project
) -> None:
    login(client, "alpha-reporter")
    iid = make_experiment(app, project.id, "grow")
    _candidates(app, project.id, iid, 10)
    url = web(project.id, f"/experiments/{iid}?filter=metrics.acc+%3E+0&order_by=metrics.acc+DESC")
    with_10 = _statements(app, client, url)
    _candidates(app, project.id, iid, 40, start=10)
    with_50 = _statements(app, client, url)
    assert with_10 == with_50
    assert 5 <= with_50 <= 15


def test_experiments_list_statements_do_not_grow(
    app: Flask, client: FlaskClient, project: Project
) -> None:
    login(client, "alpha-reporter")
    for i in range(2):
        make_candidate(app, project.id, make_experiment(app, project.id, f"e{i}"), f"r{i}")
    url = web(project.id, "/experiments")
    few = _statements(app, client, url)
    for i in range(2, 12):
        make_candidate(app, project.id, make_experiment(app, project.id, f"e{i}"), f"r{i}")
    assert _statements(app, client, url) == few


def test_compare_and_candidate_statements_do_not_grow(
    app: Flask, client: FlaskClient, project: Project
) -> None:
    login(client, "alpha-reporter")
    iid = make_experiment(app, project.id, "cmp")
    runs = _candidates(app, project.id, iid, 8)
    two = _statements(app, client, web(project.id, f"/compare?ids={runs[0]},{runs[1]}"))
    eight = _statements(app, client, web(project.id, "/compare?ids=" + ",".join(runs)))
    assert two == eight
    small = make_candidate(app, project.id, iid, "small", params={"a": "1"}, metrics={"m": [1.0]})
    big = make_candidate(
        app, project.id, iid, "big",
        params={f"p{i}": str(i) for i in range(30)},
        metrics={f"m{i}": [float(s) for s in range(20)] for i in range(15)},
        tags={f"t{i}": "x" for i in range(10)},
    )
    assert _statements(app, client, web(project.id, f"/candidates/{small}")) == _statements(
        app, client, web(project.id, f"/candidates/{big}")
    )


def _promote(app: Flask, project_id: int, name: str, runs: t.Sequence[str], first: int) -> int:
    with project_ctx(app, project_id) as ctx:
        try:
            model = registry_service.get_model(ctx, name)
        except Exception:
            model = registry_service.create_model(ctx, name, description="A *model*.")
        for i, run_id in enumerate(runs):
            registry_service.promote_candidate(ctx, model, run_id, semver=f"1.{first + i}.0")
        registry_service.set_alias(ctx, name, f"a{first}", "1")
        return model.id


def test_model_pages_statements_do_not_grow(
    app: Flask, client: FlaskClient, project: Project
) -> None:
    login(client, "alpha-reporter")
    iid = make_experiment(app, project.id, "m")
    runs = _candidates(app, project.id, iid, 8)
    model_id = _promote(app, project.id, "one", runs[:1], 0)
    _promote(app, project.id, "two", runs[:1], 0)
    model_url = web(project.id, f"/models/{model_id}")
    list_url = web(project.id, "/models")
    one_version = _statements(app, client, model_url)
    two_models = _statements(app, client, list_url)
    _promote(app, project.id, "one", runs[1:], 1)
    for i in range(3):
        _promote(app, project.id, f"more-{i}", runs[:2], 0)
    assert _statements(app, client, model_url) == one_version
    assert _statements(app, client, list_url) == two_models
