"""Secrets: the example host stores tokens hashed and compares them in constant time, and no
token, password or ``Authorization`` value ever reaches a log, whatever the request's outcome."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import typing as t

import pytest
import requests
from flask import Flask
from sqlalchemy import MetaData, Table, inspect, select

from tests.conftest import Project, run_cli
from tests.rel_support import engine_of
from tests.support.live import LiveServer

PASSWORD = "Correct-Horse-Battery-Staple-4711"


def _all_rows(app: Flask) -> list[str]:
    """Every value of every table of the database, as text."""
    engine = engine_of(app)
    values: list[str] = []
    with engine.connect() as connection:
        for name in inspect(connection).get_table_names():
            table = Table(name, MetaData(), autoload_with=connection)
            for row in connection.execute(select(table)):
                values.extend(str(value) for value in row)
    return values


def test_tokens_and_passwords_are_stored_only_hashed(app: Flask, project: Project) -> None:
    run_cli(app, "create-user", "secret-keeper", "--password", PASSWORD)
    stored = _all_rows(app)
    dump = "\n".join(stored)
    for token in project.tokens.values():
        assert token not in dump
        assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert PASSWORD not in dump


def test_token_lookup_uses_a_constant_time_comparison(
    app: Flask, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[t.Any, t.Any]] = []
    original = hmac.compare_digest

    def spy(a: t.Any, b: t.Any) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # what example_app.auth calls
    token = project.tokens["developer"]
    response = app.test_client().get(
        f"/api/v4/projects/{project.id}/ml/models", headers=project.headers("developer")
    )
    assert response.status_code == 200
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert (digest, digest) in compared


def _basic(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()


class _Calls:
    """Requests against the live server, remembering every secret they carried."""

    def __init__(self, base: str, project: Project) -> None:
        self.base = base
        self.project = project
        self.secrets: set[str] = set()
        self.bodies: list[str] = []

    def __call__(self, method: str, path: str, authorization: str | None = None,
                 expected: int | None = None, **kwargs: t.Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if authorization is not None:
            headers["Authorization"] = authorization
            self.secrets.add(authorization)
            self.secrets.add(authorization.split(" ", 1)[1])
        response = requests.request(method, self.base + path, headers=headers, timeout=30,
                                    allow_redirects=False, **kwargs)
        if expected is not None:
            assert response.status_code == expected, (method, path, response.text[:300])
        self.bodies.append(response.text)
        return response


@pytest.mark.live
def test_no_secret_reaches_any_log(
    app: Flask, project: Project, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = project.tokens["developer"]
    run_cli(app, "create-user", "secret-keeper", "--password", PASSWORD)
    run_cli(app, "add-member", str(project.id), "secret-keeper", "--role", "developer")
    near_miss = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "werkzeug", "urllib3", "flask_model_registry",
                 "example_app", "mlflow"):
        caplog.set_level(logging.DEBUG, logger=name)

    with LiveServer(app) as server:
        call = _Calls(server.url, project)
        mlflow = f"/api/v4/projects/{project.id}/ml/mlflow/api/2.0/mlflow"
        bearer = f"Bearer {token}"
        call("POST", mlflow + "/experiments/create", bearer, 200, json={"name": "secrets"})
        call("GET", mlflow + "/experiments/get-by-name", bearer, 200,
             params={"experiment_name": "secrets"})
        call("GET", f"/api/v4/projects/{project.id}/ml/models", None, 200,
             headers={"PRIVATE-TOKEN": token})
        call.secrets.add(token)
        call("GET", mlflow + "/experiments/get-by-name", _basic("alpha-developer", token), 200,
             params={"experiment_name": "secrets"})
        call("GET", mlflow + "/experiments/get-by-name", _basic("secret-keeper", PASSWORD), 200,
             params={"experiment_name": "secrets"})
        # failures: bad credentials, not allowed, not found, invalid, a crash
        call("GET", mlflow + "/experiments/get-by-name", f"Bearer {near_miss}", 401,
             params={"experiment_name": "secrets"})
        call("GET", mlflow + "/experiments/get-by-name", _basic("secret-keeper", PASSWORD + "x"),
             401, params={"experiment_name": "secrets"})
        call("POST", mlflow + "/experiments/create", f"Bearer {project.tokens['reporter']}", 403,
             json={"name": "nope"})
        call("GET", mlflow + "/experiments/get", bearer, 404, params={"experiment_id": "999"})
        call("POST", mlflow + "/runs/log-metric", bearer, 400, json={"run_id": "x"})
        call("GET", f"/projects/{project.id}/-/ml/experiments", bearer, 200)
        call("GET", f"/projects/{project.id}/-/ml/experiments", f"Bearer {near_miss}", 302)
        _login(server.url, PASSWORD + "x", expected=200)  # wrong: the form again
        _login(server.url, PASSWORD, expected=302)

        from flask_model_registry.services import experiments as experiment_service

        def crash(*args: t.Any, **kwargs: t.Any) -> t.Any:
            raise RuntimeError("simulated crash")

        monkeypatch.setattr(experiment_service, "search_experiments", crash)
        call("POST", mlflow + "/experiments/search", bearer, 500, json={"max_results": 5})
        monkeypatch.undo()

        _mlflow_client_session(server, project, monkeypatch)

    records = caplog.records
    assert any(r.name.startswith("werkzeug") for r in records), "access log not captured"
    assert any(r.name.startswith("sqlalchemy.engine") for r in records), "SQL log not captured"
    assert any("simulated crash" in (r.exc_text or "") or r.exc_info for r in records)
    logged = caplog.text + "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in records
    )
    out, err = capfd.readouterr()
    secrets = call.secrets | {token, near_miss, PASSWORD, PASSWORD + "x",
                              base64.b64encode(f"secret-keeper:{PASSWORD}".encode()).decode()}
    for secret in sorted(secrets):
        assert secret not in logged, f"a secret ({secret[:8]}...) appears in the logs"
        assert secret not in out + err, f"a secret ({secret[:8]}...) was printed"
        assert not any(secret in body for body in call.bodies), "a secret was echoed back"


def _login(base: str, password: str, expected: int) -> None:
    """Sign in through the host's form (it carries a CSRF token bound to the session)."""
    session = requests.Session()
    form = session.get(base + "/login", timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf is not None
    response = session.post(
        base + "/login", timeout=30, allow_redirects=False,
        data={"username": "secret-keeper", "password": password, "csrf_token": csrf.group(1)},
    )
    assert response.status_code == expected
    assert password not in response.text


def _mlflow_client_session(
    server: LiveServer, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real client, with a token and with username/password, including a failing call."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    uri = server.tracking_uri(project.id)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", project.tokens["developer"])
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("secrets")
    assert experiment is not None
    experiment_id = experiment.experiment_id
    run = client.create_run(experiment_id)
    client.log_param(run.info.run_id, "p", "1")
    with pytest.raises(MlflowException):
        client.get_run("0" * 32)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "secret-keeper")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    client.log_metric(run.info.run_id, "m", 1.0)
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
