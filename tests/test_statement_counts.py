"""No N+1 queries on the hot MLflow endpoints and the experiment page: the SQL statements one
request executes must not grow with the rows it reads or writes (10 vs 100 runs, metrics, params,
tags, versions...; 10 vs 1,000 candidates on the page).

Statements are counted with a ``before_cursor_execute`` listener around single test-client
requests; an ``executemany`` counts once. Each pair is measured right after a warm-up request,
so per-request work of the host (token bookkeeping) is the same for both sides.
"""

from __future__ import annotations

import re
import typing as t
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from flask_model_registry.database import TABLE_PREFIX
from tests.conftest import Project
from tests.support.seeding import seed_experiment
from tests.test_web_factories import (
    count_statements,
    login,
    make_candidate,
    make_experiment,
    web,
)
from tests.test_web_lineage import log_datasets, log_model, register

SMALL, LARGE = 10, 100


class Api:
    """JSON calls to the project's MLflow API as its developer; every call must answer 200."""

    def __init__(self, client: t.Any, project: Project) -> None:
        self.client = client
        self.base = f"/api/v4/projects/{project.id}/ml/mlflow/api/2.0/mlflow/"
        self.headers = project.headers("developer")

    def _check(self, response: t.Any, path: str) -> dict[str, t.Any]:
        assert response.status_code == 200, (path, response.status_code, response.get_data())
        return t.cast(dict[str, t.Any], response.get_json() or {})

    def post(self, path: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
        return self._check(self.client.post(self.base + path, json=body, headers=self.headers),
                           path)

    def get(self, path: str, **params: t.Any) -> dict[str, t.Any]:
        return self._check(
            self.client.get(self.base + path, query_string=params, headers=self.headers), path
        )

    def experiment(self, name: str) -> str:
        return str(self.post("experiments/create", {"name": name})["experiment_id"])

    def run(self, experiment_id: str, name: str = "run") -> str:
        body = {"experiment_id": experiment_id, "run_name": name, "start_time": 1_000}
        return str(self.post("runs/create", body)["run"]["info"]["run_id"])

    def log(self, run_id: str, params: int = 0, tags: int = 0, keys: int = 0, steps: int = 1,
            key_prefix: str = "m") -> None:
        """Log ``params`` params, ``tags`` tags and ``steps`` points of ``keys`` metric keys."""
        metrics = [
            {"key": f"{key_prefix}{k}", "value": k + step / 10, "timestamp": 1_000 + step,
             "step": step}
            for step in range(steps)
            for k in range(keys)
        ]
        for i in range(0, max(len(metrics), 1), 1000):
            body: dict[str, t.Any] = {"run_id": run_id, "metrics": metrics[i : i + 1000]}
            if i == 0:
                body["params"] = [{"key": f"p{k}", "value": "a"} for k in range(params)]
                body["tags"] = [{"key": f"t{k}", "value": f"v{k}"} for k in range(tags)]
            self.post("runs/log-batch", body)

    def warm_up(self) -> None:
        self.get("experiments/get", experiment_id="0")


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL statements executed on the app's engines inside the block."""
    statements: list[str] = []

    def record(_conn: t.Any, _cursor: t.Any, statement: str, *_args: t.Any) -> None:
        statements.append(statement)

    with app.app_context():
        engines = list(app.extensions["sqlalchemy"].engines.values())
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def statements_per_request(app: Flask, api: Api, *calls: Callable[[], object]) -> list[int]:
    """After a warm-up request, the number of statements each call executes."""
    api.warm_up()
    counts = []
    for call in calls:
        with counting(app) as statements:
            call()
        counts.append(len(statements))
    return counts


def assert_constant(counts: list[int], what: str) -> None:
    assert counts[0] > 0, f"{what}: no statements counted; is the listener on the right engine?"
    assert len(set(counts)) == 1, f"{what}: statements per request grow with rows: {counts}"


@pytest.fixture
def api(client: t.Any, project: Project) -> Api:
    return Api(client, project)


# --- tracking ----------------------------------------------------------------------------------


def _batch(run_id: str, n: int, step: int = 0) -> dict[str, t.Any]:
    return {
        "run_id": run_id,
        "metrics": [
            {"key": f"m{k}", "value": k * 0.5, "timestamp": 2_000 + step, "step": step}
            for k in range(n)
        ],
        "params": [{"key": f"p{k}", "value": str(k)} for k in range(n)] if step == 0 else [],
        "tags": [{"key": f"t{k}", "value": str(k)} for k in range(n)] if step == 0 else [],
    }


def test_log_batch_new_rows(app: Flask, api: Api) -> None:
    experiment = api.experiment("log-batch")
    small, large = api.run(experiment), api.run(experiment)
    counts = statements_per_request(
        app, api,
        lambda: api.post("runs/log-batch", _batch(small, SMALL)),
        lambda: api.post("runs/log-batch", _batch(large, LARGE)),
    )
    assert_constant(counts, f"log-batch of {SMALL} vs {LARGE} metrics, params and tags")
    logged = api.get("runs/get", run_id=large)["run"]["data"]
    assert len(logged["metrics"]) == len(logged["params"]) == LARGE


def test_log_batch_updates_latest_metrics(app: Flask, api: Api) -> None:
    """Newer points for keys that already have a latest value: no read-modify-write per key."""
    experiment = api.experiment("log-batch-again")
    small, large = api.run(experiment), api.run(experiment)
    api.post("runs/log-batch", _batch(small, SMALL))
    api.post("runs/log-batch", _batch(large, LARGE))
    counts = statements_per_request(
        app, api,
        lambda: api.post("runs/log-batch", _batch(small, SMALL, step=1)),
        lambda: api.post("runs/log-batch", _batch(large, LARGE, step=1)),
    )
    assert_constant(counts, f"second log-batch of {SMALL} vs {LARGE} existing keys")
    metrics = api.get("runs/get", run_id=large)["run"]["data"]["metrics"]
    assert {m["step"] for m in metrics} == {1}


def test_log_metric(app: Flask, api: Api) -> None:
    experiment = api.experiment("log-metric")
    small, large = api.run(experiment), api.run(experiment)
    api.log(small, keys=SMALL, steps=1)
    api.log(large, keys=LARGE, steps=LARGE)

    def log_metric(run_id: str) -> Callable[[], object]:
        body = {"run_id": run_id, "run_uuid": run_id, "key": "m0", "value": 9.5,
                "timestamp": 9_000, "step": 1_000}
        return lambda: api.post("runs/log-metric", body)

    counts = statements_per_request(app, api, log_metric(small), log_metric(large))
    assert_constant(counts, f"log-metric on a run with {SMALL} vs {LARGE * LARGE} points")
    history = api.get("metrics/get-history", run_id=large, metric_key="m0")["metrics"]
    assert len(history) == LARGE + 1


def test_get_run(app: Flask, api: Api) -> None:
    experiment = api.experiment("get-run")
    small, large = api.run(experiment), api.run(experiment)
    api.log(small, params=SMALL, tags=SMALL, keys=SMALL, steps=2)
    api.log(large, params=LARGE, tags=LARGE, keys=LARGE, steps=2)
    answers: list[dict[str, t.Any]] = []
    counts = statements_per_request(
        app, api,
        lambda: answers.append(api.get("runs/get", run_id=small)),
        lambda: answers.append(api.get("runs/get", run_id=large)),
    )
    assert_constant(counts, f"runs/get with {SMALL} vs {LARGE} params, tags and metrics")
    data = answers[1]["run"]["data"]
    assert (len(data["params"]), len(data["metrics"])) == (LARGE, LARGE)
    assert len(data["tags"]) >= LARGE


@pytest.fixture
def search_experiments(api: Api) -> dict[int, str]:
    """An experiment of SMALL runs and one of LARGE runs, each run with params, tags and
    metrics."""
    experiments = {}
    for size in (SMALL, LARGE):
        experiment = api.experiment(f"search-{size}")
        for i in range(size):
            run_id = api.run(experiment, f"run-{i}")
            api.log(run_id, params=3, tags=3, keys=3, steps=1)
        experiments[size] = experiment
    return experiments


@pytest.mark.parametrize(
    ("filter_string", "order_by"),
    [
        pytest.param("metrics.m0 >= 0 and params.p0 = 'a'", ["metrics.m1 DESC"], id="filtered"),
        pytest.param("", [], id="unfiltered"),
    ],
)
def test_search_runs(
    app: Flask, api: Api, search_experiments: dict[int, str], filter_string: str,
    order_by: list[str],
) -> None:
    answers: list[dict[str, t.Any]] = []

    def search(size: int) -> Callable[[], object]:
        body = {"experiment_ids": [search_experiments[size]], "filter": filter_string,
                "order_by": order_by, "max_results": 1000}
        return lambda: answers.append(api.post("runs/search", body))

    counts = statements_per_request(app, api, search(SMALL), search(LARGE))
    assert_constant(counts, f"runs/search over {SMALL} vs {LARGE} runs")
    assert [len(a["runs"]) for a in answers] == [SMALL, LARGE]
    assert all(len(run["data"]["params"]) == 3 for run in answers[1]["runs"])


def test_get_metric_history(app: Flask, api: Api) -> None:
    experiment = api.experiment("history")
    small, large = api.run(experiment), api.run(experiment)
    api.log(small, keys=1, steps=SMALL)
    api.log(large, keys=1, steps=LARGE * 10)
    answers: list[dict[str, t.Any]] = []

    def history(run_id: str) -> Callable[[], object]:
        return lambda: answers.append(api.get("metrics/get-history", run_id=run_id,
                                              metric_key="m0"))

    counts = statements_per_request(app, api, history(small), history(large))
    assert_constant(counts, f"metrics/get-history of {SMALL} vs {LARGE * 10} points")
    assert [len(a["metrics"]) for a in answers] == [SMALL, LARGE * 10]


# --- registry ----------------------------------------------------------------------------------


@pytest.fixture
def models(api: Api) -> dict[int, str]:
    """Model ``small`` with one version, one alias and one tag; model ``large`` with 10 of each,
    its versions in several stages and with tags."""
    experiment = api.experiment("registry")
    run_id = api.run(experiment)
    names = {1: "small", 10: "large"}
    for count, name in names.items():
        api.post("registered-models/create", {"name": name})
        for v in range(1, count + 1):
            api.post("model-versions/create", {
                "name": name, "source": f"runs:/{run_id}/model", "run_id": run_id,
                "tags": [{"key": f"k{i}", "value": "v"} for i in range(count)],
            })
            api.post("registered-models/alias", {"name": name, "alias": f"a{v}",
                                                 "version": str(v)})
            api.post("registered-models/set-tag", {"name": name, "key": f"t{v}", "value": "v"})
        api.post("registered-models/alias", {"name": name, "alias": "champion",
                                             "version": "1"})
        for v, stage in list(zip(range(2, count + 1), ("Staging", "Production", "Archived"),
                                 strict=False)):
            api.post("model-versions/transition-stage", {
                "name": name, "version": str(v), "stage": stage,
                "archive_existing_versions": False,
            })
    return names


VERSION_TAGS = {f"k{i}" for i in range(10)}


def _tag_keys(version: dict[str, t.Any]) -> set[str]:
    return {tag["key"] for tag in version.get("tags", [])}


def test_get_registered_model(app: Flask, api: Api, models: dict[int, str]) -> None:
    answers: list[dict[str, t.Any]] = []
    counts = statements_per_request(
        app, api,
        lambda: answers.append(api.get("registered-models/get", name=models[1])),
        lambda: answers.append(api.get("registered-models/get", name=models[10])),
    )
    assert_constant(counts, "registered-models/get with 1 vs 10 versions, aliases and tags")
    large = answers[1]["registered_model"]
    assert len(large["aliases"]) == 11
    assert len(large["tags"]) == 10
    assert {v["current_stage"] for v in large["latest_versions"]} == {
        "None", "Staging", "Production", "Archived"
    }


def test_search_model_versions(app: Flask, api: Api, models: dict[int, str]) -> None:
    answers: list[dict[str, t.Any]] = []

    def search(name: str) -> Callable[[], object]:
        return lambda: answers.append(
            api.get("model-versions/search", filter=f"name='{name}'", max_results=10000)
        )

    counts = statements_per_request(app, api, search(models[1]), search(models[10]))
    assert_constant(counts, "model-versions/search of 1 vs 10 versions")
    assert [len(a["model_versions"]) for a in answers] == [1, 10]
    assert all(_tag_keys(v) >= VERSION_TAGS for v in answers[1]["model_versions"])


def test_search_all_model_versions(app: Flask, api: Api, models: dict[int, str]) -> None:
    answers: list[dict[str, t.Any]] = []
    counts = statements_per_request(
        app, api,
        lambda: answers.append(api.get("model-versions/search", max_results=1)),
        lambda: answers.append(api.get("model-versions/search", max_results=10000)),
    )
    assert_constant(counts, "model-versions/search returning 1 vs 11 versions")
    assert [len(a["model_versions"]) for a in answers] == [1, 11]


def test_get_model_version_by_alias(app: Flask, api: Api, models: dict[int, str]) -> None:
    answers: list[dict[str, t.Any]] = []

    def by_alias(name: str) -> Callable[[], object]:
        return lambda: answers.append(
            api.get("registered-models/alias", name=name, alias="champion")
        )

    counts = statements_per_request(app, api, by_alias(models[1]), by_alias(models[10]))
    assert_constant(counts, "registered-models/alias (GET) on a model of 1 vs 10 versions")
    version = answers[1]["model_version"]
    assert version["version"] == "1"
    assert sorted(version["aliases"]) == ["a1", "champion"]
    assert _tag_keys(version) >= VERSION_TAGS


def test_set_alias(app: Flask, api: Api, models: dict[int, str]) -> None:
    def set_alias(name: str) -> Callable[[], object]:
        body = {"name": name, "alias": "prod", "version": "1"}
        return lambda: api.post("registered-models/alias", body)

    counts = statements_per_request(app, api, set_alias(models[1]), set_alias(models[10]))
    assert_constant(counts, "registered-models/alias (POST) on a model of 1 vs 10 versions")
    answer = api.get("registered-models/alias", name=models[10], alias="prod")
    assert answer["model_version"]["version"] == "1"


#: A statement on the registry's own tables (the host's authorization reads other tables).
REGISTRY_TABLE = re.compile(rf"\b{TABLE_PREFIX}\w+")


def test_registry_reads_take_few_statements(app: Flask, api: Api, models: dict[int, str]) -> None:
    """Each read answers in a small, fixed number of statements on the registry's tables: the
    latest versions, tags and aliases come with their owners, not one query per relationship."""
    name = models[10]
    budgets: dict[str, tuple[dict[str, t.Any], int]] = {
        "registered-models/get": ({"name": name}, 2),
        "model-versions/get": ({"name": name, "version": "3"}, 2),
        "registered-models/alias": ({"name": name, "alias": "champion"}, 2),
        "model-versions/search": ({"filter": f"name='{name}'"}, 2),
        "registered-models/search": ({}, 3),
        "registered-models/get-latest-versions": ({"name": name}, 3),
    }
    api.warm_up()
    for path, (params, budget) in budgets.items():
        with counting(app) as statements:
            api.get(path, **params)
        registry = [s for s in statements if REGISTRY_TABLE.search(s)]
        assert 0 < len(registry) <= budget, (path, registry)


def test_tracking_hot_paths_take_few_statements(app: Flask, api: Api) -> None:
    """Each hot tracking request runs a small, fixed number of statements on the registry's
    tables: one per table it writes, and its reads folded into as few queries as possible."""
    experiment = api.experiment("budgets")
    run_id = api.run(experiment)
    api.log(run_id, params=5, tags=5, keys=5, steps=3)
    batch = _batch(run_id, SMALL, step=7)
    batch["params"] = [{"key": "new", "value": "1"}]
    batch["tags"] = [{"key": "new", "value": "1"}]
    metric = {"run_id": run_id, "key": "m0", "value": 1.5, "timestamp": 9_000, "step": 9}
    search = {"experiment_ids": [experiment], "filter": "metrics.m0 > 0 and params.p0 = 'a'",
              "order_by": ["metrics.m1 DESC"]}
    budgets: dict[str, tuple[Callable[[], object], int]] = {
        # the run, existing params; then params, points, latest values, tags
        "runs/log-batch": (lambda: api.post("runs/log-batch", batch), 6),
        # the run; then the point and the latest value
        "runs/log-metric": (lambda: api.post("runs/log-metric", metric), 3),
        # the run; params and tags; latest metrics
        "runs/get": (lambda: api.get("runs/get", run_id=run_id), 3),
        # the page of runs; params and tags; latest metrics
        "runs/search": (lambda: api.post("runs/search", search), 3),
        # the run; the points
        "metrics/get-history": (
            lambda: api.get("metrics/get-history", run_id=run_id, metric_key="m0"), 2
        ),
    }
    api.warm_up()
    for path, (call, budget) in budgets.items():
        with counting(app) as statements:
            call()
        registry = [s for s in statements if REGISTRY_TABLE.search(s)]
        assert 0 < len(registry) <= budget, (path, len(registry), registry)


# --- pages -------------------------------------------------------------------------------------


def test_experiment_page_with_1000_candidates_and_20_metrics(
    app: Flask, client: FlaskClient, project: Project
) -> None:
    """The experiment page of 1,000 candidates runs as many statements as one of 10.
    (``python -m benchmarks.web_pages`` times it.)"""
    big = seed_experiment(app, project.id, "big", 1000, metrics=20)
    small = seed_experiment(app, project.id, "small", 10, metrics=20)
    login(client, "alpha-reporter")
    query = "?filter=metrics.m00+%3E+0.2&order_by=metrics.m01+DESC"
    for url in (f"/experiments/{big}", f"/experiments/{big}{query}",
                f"/experiments/{big}?page=10"):
        client.get(web(project.id, url))
    html = client.get(web(project.id, f"/experiments/{big}")).get_data(as_text=True)
    assert html.count('name="ids"') == 100  # 100 candidates per page by default
    assert "1–100 of 1000 candidates" in html
    with count_statements(app) as on_big:
        client.get(web(project.id, f"/experiments/{big}{query}"))
    client.get(web(project.id, f"/experiments/{small}{query}"))
    with count_statements(app) as on_small:
        client.get(web(project.id, f"/experiments/{small}{query}"))
    assert on_big.count == on_small.count


def _page_statements(app: Flask, client: FlaskClient, project: Project, path: str) -> int:
    """Statements of one page view, after a warm-up view of the same page."""
    url = web(project.id, path)
    assert client.get(url).status_code == 200
    with count_statements(app) as counter:
        assert client.get(url).status_code == 200
    return counter.count


def _lineage(app: Flask, project: Project, name: str, count: int) -> tuple[str, str]:
    """A run with ``count`` datasets and ``count`` logged models, each registered as a version
    of its own; (run id, the first version's page)."""
    iid = make_experiment(app, project.id, name)
    run_id = make_candidate(app, project.id, iid, name, metrics={"m": [1.0], "h": [1.0, 2.0]})
    log_datasets(app, project.id, run_id, count)
    files = {"MLmodel": b"flavors: {}\n", "requirements.txt": b"numpy==2.0\n"}
    version_page = ""
    for i in range(count):
        model_id = log_model(app, project.id, iid, run_id, f"model-{i}", files)
        model_pk, semver = register(app, project.id, f"{name}-{i}", model_id, run_id)
        version_page = version_page or f"/models/{model_pk}/versions/{semver}"
    return run_id, version_page


def test_candidate_and_version_pages_with_1_vs_6_logged_models_and_datasets(
    app: Flask, client: FlaskClient, project: Project
) -> None:
    """The candidate page lists logged models (params, metrics, versions) and datasets, and the
    version page the run's datasets, in as many statements for 6 of each as for 1."""
    small_run, small_version = _lineage(app, project, "small", 1)
    large_run, large_version = _lineage(app, project, "large", 6)
    login(client, "alpha-reporter")
    html = client.get(web(project.id, f"/candidates/{large_run}")).get_data(as_text=True)
    assert html.count('class="mr-logged-model"') == 6
    assert html.count("<tr data-dataset=") == 6
    assert (
        _page_statements(app, client, project, f"/candidates/{small_run}")
        == _page_statements(app, client, project, f"/candidates/{large_run}")
    )
    html = client.get(web(project.id, large_version)).get_data(as_text=True)
    assert html.count("<tr data-dataset=") == 6
    assert (
        _page_statements(app, client, project, small_version)
        == _page_statements(app, client, project, large_version)
    )
