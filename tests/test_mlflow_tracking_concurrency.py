"""Concurrent requests against the live server: experiment numbers stay unique, the lazily
created Default experiment is created once, and parallel logging to one run loses nothing."""

from __future__ import annotations

import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

pytestmark = pytest.mark.live


def test_parallel_creation_and_logging(live_server: t.Any, project: t.Any) -> None:
    base = live_server.tracking_uri(project.id) + "/api/2.0/mlflow"
    session = requests.Session()
    session.headers.update(project.headers("developer"))

    def call(method: str, path: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
        response = session.request(method, f"{base}/{path}", json=body, timeout=60)
        assert response.status_code == 200, response.text
        return t.cast(dict[str, t.Any], response.json())

    with ThreadPoolExecutor(max_workers=8) as pool:
        # The first calls race to create experiment 0 while others number new experiments.
        default_runs = list(pool.map(
            lambda i: call("POST", "runs/create", {"run_name": f"d{i}"}), range(8)))
        created = list(pool.map(
            lambda i: call("POST", "experiments/create", {"name": f"e{i}"}), range(24)))
    assert {r["run"]["info"]["experiment_id"] for r in default_runs} == {"0"}
    assert sorted(int(c["experiment_id"]) for c in created) == list(range(1, 25))
    listed = call("POST", "experiments/search", {"max_results": 100})["experiments"]
    assert sorted(e["name"] for e in listed) == sorted(["Default"] + [f"e{i}" for i in range(24)])

    run_id = default_runs[0]["run"]["info"]["run_id"]

    def log(i: int) -> None:
        call("POST", "runs/log-batch", {
            "run_id": run_id,
            "metrics": [{"key": "m", "value": i, "timestamp": i, "step": i}],
            "params": [{"key": f"p{i}", "value": "1"}, {"key": "shared", "value": "same"}],
            "tags": [{"key": "last", "value": str(i)}],
        })

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(log, range(40)))
    run = call("GET", "runs/get?run_id=" + run_id, {})["run"]
    assert run["data"]["metrics"] == [{"key": "m", "value": 39, "timestamp": 39, "step": 39}]
    assert len(run["data"]["params"]) == 41
    history = call("GET", f"metrics/get-history?run_id={run_id}&metric_key=m", {})["metrics"]
    assert [m["step"] for m in history] == list(range(40))
