"""The README's quick start against a running host, with the real ``mlflow`` client.

Creates an experiment, logs a run with a param and a metric, reads them back, then fetches the
project's experiments page and checks that it lists the experiment. Standalone (only
``mlflow`` and ``requests``), so that it also runs in a fresh environment holding nothing but
the installed release::

    python quickstart.py http://127.0.0.1:5000 <project id> <token>
"""

from __future__ import annotations

import os
import sys

import requests

EXPERIMENT = "My first experiment"


def run_quickstart(base_url: str, project_id: int, token: str) -> str:
    """Run the quick start as the holder of ``token``; return the experiment's id."""
    from mlflow.tracking import MlflowClient

    os.environ["MLFLOW_TRACKING_TOKEN"] = token
    os.environ["MLFLOW_TRACKING_URI"] = f"{base_url}/api/v4/projects/{project_id}/ml/mlflow"
    client = MlflowClient()
    experiment_id = client.create_experiment(EXPERIMENT)
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "alpha", "0.5")
    client.log_metric(run_id, "rmse", 0.25)
    client.set_terminated(run_id)

    data = client.get_run(run_id).data
    if data.params != {"alpha": "0.5"} or data.metrics != {"rmse": 0.25}:
        raise AssertionError(f"run {run_id} reads back {data.params} and {data.metrics}")
    page = requests.get(
        f"{base_url}/projects/{project_id}/-/ml/experiments",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    if page.status_code != 200 or EXPERIMENT not in page.text:
        raise AssertionError(f"the experiments page ({page.status_code}) lacks {EXPERIMENT!r}")
    return experiment_id


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    base_url, project_id, token = argv
    for name, value in (("MLFLOW_ENABLE_ASYNC_LOGGING", "false"), ("DO_NOT_TRACK", "true"),
                        ("MLFLOW_DISABLE_TELEMETRY", "true")):
        os.environ.setdefault(name, value)
    experiment_id = run_quickstart(base_url.rstrip("/"), int(project_id), token)
    print(f"Quick start: experiment {experiment_id} with a run, listed on its page.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
