"""Hostile input: malformed and wrong-typed bodies, out-of-range numbers, NaN where no number
may be NaN, NUL bytes, lone surrogates, huge bodies, odd path segments. Every such request is
answered 4xx in MLflow's error shape (never 5xx, which the client would retry for minutes), and
a refused request writes nothing. Unicode and long-but-legal names round-trip exactly."""

from __future__ import annotations

import json
import pathlib
import typing as t
from dataclasses import dataclass

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema
from werkzeug.routing import Rule

from flask_model_registry.api.routes import ROUTES as API_ROUTES
from flask_model_registry.mlflow.routes import ROUTES as MLFLOW_ROUTES
from flask_model_registry.openapi import field_schema
from tests.conftest import Project, _backends, make_project
from tests.rel_samples import (
    SAMPLES,
    Factory,
    Sample,
    build_url,
    registry_rules,
    rule_method,
    send,
    short_name,
)
from tests.rel_support import app_on, engine_of, files_under, snapshot
from tests.support.live import LiveServer

MAX_JSON = 256 * 1024
MAX_ARTIFACT = 1024 * 1024
Json = dict[str, t.Any]


@dataclass
class Setup:
    app: Flask
    project: Project
    factory: Factory
    client: FlaskClient

    @property
    def headers(self) -> dict[str, str]:
        return self.project.headers("developer")

    def snapshot(self) -> dict[str, str]:
        return snapshot(engine_of(self.app))


@pytest.fixture(scope="module", params=_backends())
def setup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> t.Iterator[Setup]:
    directory = pathlib.Path(tmp_path_factory.mktemp("hostile"))
    with app_on(request.param, directory, MODEL_REGISTRY_MAX_JSON_BYTES=MAX_JSON,
                MODEL_REGISTRY_MAX_ARTIFACT_BYTES=MAX_ARTIFACT) as app:
        project = make_project(app)
        client = app.test_client()
        factory = Factory(client, project.id, project.headers("developer"), "h")
        yield Setup(app, project, factory, client)


def error_problem(response: t.Any, *, want_4xx: bool = True) -> str | None:
    """Why ``response`` is not a 4xx answer in MLflow's error shape (or, for
    ``want_4xx=False``, not at least free of server errors); ``None`` when it is fine."""
    status = response.status_code
    text = response.get_data(as_text=True)[:200]
    if status >= 500:
        return f"server error {status}: {text}"
    if not want_4xx and status < 400:
        return None
    if not 400 <= status < 500:
        return f"answered {status}, not 4xx: {text}"
    body = response.get_json(silent=True)
    if response.mimetype != "application/json" or not isinstance(body, dict):
        return f"{status} without a JSON body: {text}"
    if not isinstance(body.get("error_code"), str) or not isinstance(body.get("message"), str):
        return f"{status} without error_code/message: {text}"
    return None


# ---------------------------------------------------------------------------------------------
# which routes take which parameters

_SCHEMA_OF_ENDPOINT = {
    **{f"mlflow.{route.endpoint}": route.schema for route in MLFLOW_ROUTES},
    **{f"api.{route.endpoint}": route.schema for route in API_ROUTES},
}


def schema_of(rule: Rule) -> Schema | None:
    """The schema the route reads its request with."""
    return _SCHEMA_OF_ENDPOINT[short_name(rule.endpoint)]


def api_rules(app: Flask) -> list[Rule]:
    """The MLflow (``api/`` spelling only) and native API rules, without the catch-alls."""
    return [
        r for r in registry_rules(app)
        if r.endpoint.startswith(("model_registry_mlflow.", "model_registry_api."))
        and "/ajax-api/" not in r.rule and "endpoint_not_found" not in r.endpoint
    ]


def schema_fields(schema: Schema | None) -> dict[str, Json]:
    """Request field name -> JSON Schema, from the route's request schema."""
    if schema is None:
        return {}
    return {(f.data_key or name): field_schema(f) for name, f in schema.fields.items()}


def kind(schema: Json) -> str:
    """``string``, ``integer``, ``number``, ``boolean``, ``array``, ``object`` or ``enum``."""
    for option in schema.get("anyOf", [schema]):
        if "enum" in option:
            return "enum"
        types = option.get("type")
        for type_ in types if isinstance(types, list) else [types]:
            if type_ and type_ != "null":
                return str(type_)
    return "any"


#: Values each kind of field must refuse with 4xx.
BAD_JSON_VALUES: dict[str, list[t.Any]] = {
    "string": [123, 1.5, True, ["a"], {"a": "b"}, "nul\x00byte", "lone\ud800surrogate"],
    "integer": ["abc", 1.5, 2**64, -(2**63) - 1, float("inf"), float("nan"), "NaN", True, [1],
                {"a": 1}],
    "number": ["abc", True, [1.0], {"v": 1}, 10**400],
    "boolean": ["maybe", 5, [True], {"a": True}],
    "array": ["not a list", 5, {"a": 1}, True, [123], [[]]],
    "object": ["str", 5, [1], True],
    "enum": ["BOGUS", 99, [], True],
    "any": [],
}

#: Query-string values each kind of parameter must refuse with 4xx.
BAD_QUERY_VALUES: dict[str, list[str]] = {
    "string": ["nul\x00byte"],
    "integer": ["abc", "1.5", "1e400", "NaN", "Infinity", str(2**64), str(-(2**63) - 1)],
    "array": ["nul\x00byte"],
    "enum": ["BOGUS"],
    "boolean": ["maybe"],
}

GARBAGE_BODIES: list[bytes] = [
    b"{", b'{"name": ', b"\xff\xfe\x00\x00", b"[1, 2]", b'"just a string"', b"42", b"null",
    b"true", b'{"a": 1}{"b": 2}', b"{'single': 'quotes'}",
    json.dumps(json.dumps(json.dumps({"name": "triple"}))).encode(),
    b"[" * 20_000 + b"]" * 20_000,
    b'{"a": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
]


def _body(value: t.Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def _send_raw(setup: Setup, rule: Rule, sample: Sample, body: bytes,
              content_type: str = "application/json") -> t.Any:
    url = build_url(setup.app, rule, setup.project.id, sample)
    return setup.client.open(url, method=sample.method, data=body,
                             headers={**setup.headers, "Content-Type": content_type})


def _json_rules(setup: Setup) -> list[tuple[Rule, Schema | None]]:
    return [
        (rule, schema_of(rule)) for rule in api_rules(setup.app)
        if rule_method(rule) != "GET" and SAMPLES[short_name(rule.endpoint)](setup.factory)
        .json is not None
    ]


# ---------------------------------------------------------------------------------------------
# bodies


def test_malformed_bodies_are_4xx_and_write_nothing(setup: Setup) -> None:
    problems: list[str] = []
    for rule, _ in _json_rules(setup):
        sample = SAMPLES[short_name(rule.endpoint)](setup.factory)
        before = setup.snapshot()
        for body in GARBAGE_BODIES:
            problem = error_problem(_send_raw(setup, rule, sample, body))
            if problem:
                problems.append(f"{sample.method} {rule.rule} body {body[:30]!r}: {problem}")
        if sample.method == "POST":
            for content_type in ("text/plain", ""):
                response = _send_raw(setup, rule, sample, _body(sample.json), content_type)
                problem = error_problem(response)
                if problem:
                    problems.append(f"{rule.rule} Content-Type {content_type!r}: {problem}")
        if setup.snapshot() != before:
            problems.append(f"{sample.method} {rule.rule}: a refused request wrote data")
    assert problems == [], "\n".join(problems)


def test_wrong_types_and_out_of_range_values_are_4xx(setup: Setup) -> None:
    problems: list[str] = []
    tried = 0
    for rule, request_schema in _json_rules(setup):
        sample = SAMPLES[short_name(rule.endpoint)](setup.factory)
        assert sample.json is not None
        for name, schema in schema_fields(request_schema).items():
            before = setup.snapshot()
            refused = True
            for value in BAD_JSON_VALUES[kind(schema)]:
                body = _body({**sample.json, name: value})
                response = _send_raw(setup, rule, sample, body)
                problem = error_problem(response)
                refused = refused and response.status_code >= 400
                tried += 1
                if problem:
                    problems.append(f"{sample.method} {rule.rule} {name}={value!r:.40}: {problem}")
            if refused and setup.snapshot() != before:
                problems.append(f"{sample.method} {rule.rule} {name}: a refused request wrote")
    assert tried > 300
    assert problems == [], f"{len(problems)} of {tried}:\n" + "\n".join(problems)


def _nested_cases(f: Factory) -> list[tuple[str, Json]]:
    metric = {"key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    dataset = {"name": "d", "digest": "x", "source_type": "local", "source": "{}"}
    return [
        ("/runs/log-batch", {"run_id": f.run_id, "metrics": [{**metric, "value": "abc"}]}),
        ("/runs/log-batch", {"run_id": f.run_id, "metrics": [{**metric, "timestamp": "NaN"}]}),
        ("/runs/log-batch", {"run_id": f.run_id, "metrics": [{**metric, "step": 2**63}]}),
        ("/runs/log-batch", {"run_id": f.run_id, "metrics": [{**metric, "key": None}]}),
        ("/runs/log-batch", {"run_id": f.run_id, "metrics": [metric, 5]}),
        ("/runs/log-batch", {"run_id": f.run_id, "params": [{"key": "k\x00", "value": "v"}]}),
        ("/runs/log-batch", {"run_id": f.run_id, "tags": [{"key": "k", "value": ["v"]}]}),
        ("/runs/log-batch", {"run_id": f.run_id,
                             "metrics": [{**metric, "dataset_digest": "d" * 37}]}),
        ("/runs/log-metric", {"run_id": f.run_id, **metric, "timestamp": float("nan")}),
        ("/runs/log-metric", {"run_id": f.run_id, **metric, "step": float("inf")}),
        ("/runs/log-metric", {"run_id": f.run_id, **metric, "value": 10**400}),
        ("/runs/log-inputs", {"run_id": f.run_id, "datasets": [{"dataset": {**dataset,
                                                                          "digest": "d" * 37}}]}),
        ("/runs/log-inputs", {"run_id": f.run_id, "datasets": [{"dataset": {**dataset,
                                                                          "name": "n" * 501}}]}),
        ("/runs/log-inputs", {"run_id": f.run_id, "datasets": [{"dataset": 5}]}),
        ("/runs/log-inputs", {"run_id": f.run_id, "datasets": [{"dataset": dataset,
                                                               "tags": [{"key": "k" * 256,
                                                                         "value": "v"}]}]}),
        ("/runs/outputs", {"run_id": f.run_id, "models": [{"model_id": 5}]}),
        ("/experiments/create", {"name": "x", "tags": [{"key": "k", "value": {"v": 1}}]}),
        ("/registered-models/create", {"name": "x", "tags": [{"key": None, "value": "v"}]}),
        ("/model-versions/create", {"name": f.model_name, "source": "s3://b/m",
                                    "tags": [{"key": "k", "value": 5}]}),
        ("/logged-models", {"experiment_id": f.experiment_id, "params": [{"key": 1}]}),
        ("/logged-models/search", {"experiment_ids": [f.experiment_id],
                                   "order_by": [{"field_name": 5}]}),
    ]


def test_bad_nested_values_are_4xx(setup: Setup) -> None:
    problems = []
    before = setup.snapshot()
    for path, body in _nested_cases(setup.factory):
        response = setup.client.post(setup.factory.mlflow_base + path, data=_body(body),
                                     headers={**setup.headers,
                                              "Content-Type": "application/json"})
        problem = error_problem(response)
        if problem:
            problems.append(f"{path} {json.dumps(body)[:120]}: {problem}")
    assert problems == [], "\n".join(problems)
    assert setup.snapshot() == before


# ---------------------------------------------------------------------------------------------
# query strings and paths


def test_bad_query_values_are_4xx(setup: Setup) -> None:
    problems: list[str] = []
    for rule in api_rules(setup.app):
        if rule_method(rule) != "GET":
            continue
        sample = SAMPLES[short_name(rule.endpoint)](setup.factory)
        url = build_url(setup.app, rule, setup.project.id, sample)
        for name, schema in schema_fields(schema_of(rule)).items():
            for value in BAD_QUERY_VALUES.get(kind(schema), []):
                query = {**(sample.query or {}), name: value}
                response = setup.client.get(url, query_string=query, headers=setup.headers)
                problem = error_problem(response)
                if problem:
                    problems.append(f"GET {rule.rule} {name}={value!r}: {problem}")
    assert problems == [], "\n".join(problems)


_BAD_SEGMENTS: dict[str, list[t.Any]] = {
    "int": [10**30, 2**63],
    "str": ["nul\x00byte", "x" * 5000, "..", "%2e%2e"],
}


def test_odd_path_segments_never_cause_server_errors(setup: Setup) -> None:
    problems: list[str] = []
    for rule in registry_rules(setup.app):
        sample = SAMPLES[short_name(rule.endpoint)](setup.factory)
        before = setup.snapshot()
        for name, converter in _converters(rule).items():
            for value in _BAD_SEGMENTS["int" if converter == "IntegerConverter" else "str"]:
                values = {**sample.values, name: value}
                probe = Sample(sample.method, values=values, json=sample.json,
                               query=sample.query, data=sample.data, form=sample.form)
                target = setup.project.id if name != "project_id" else value
                url = build_url(setup.app, rule, 0, probe).replace(
                    "/projects/0/", f"/projects/{target}/", 1)
                problem = _odd_path_problem(setup, rule, url, probe)
                if problem:
                    problems.append(f"{sample.method} {rule.rule} {name}={str(value)[:20]!r}: "
                                    f"{problem}")
        if setup.snapshot() != before:
            problems.append(f"{rule.rule}: a request with an odd path wrote data")
    assert problems == [], "\n".join(problems)


def _odd_path_problem(setup: Setup, rule: Rule, url: str, probe: Sample) -> str | None:
    try:
        response = send(setup.client, url, probe, setup.headers)
    except Exception as exc:  # noqa: BLE001 - the app let it escape: a 500 in production
        return f"server error: {type(exc).__name__}: {str(exc)[:80]}"
    if rule.endpoint.startswith("model_registry_web."):
        return f"server error {response.status_code}" if response.status_code >= 500 else None
    return error_problem(response, want_4xx=False)


def _converters(rule: Rule) -> dict[str, str]:
    return {name: type(conv).__name__ for name, conv in (rule._converters or {}).items()}


def test_artifact_paths_the_filesystem_cannot_hold_are_4xx(setup: Setup) -> None:
    """A segment longer than a file name may be, or a path longer than a path may be."""
    f = setup.factory
    store = pathlib.Path(setup.app.extensions["model_registry"].artifact_store.root)
    before = files_under(store)
    problems = []
    for tail in ("n" * 5000, "d/" * 3000 + "file.txt", "ok/" + "n" * 300 + "/f.txt"):
        path = f"{f.run_root}/{tail}"
        attempts: list[tuple[str, str, dict[str, t.Any]]] = [
            ("PUT", f"{f.artifacts_base}/{path}", {"data": b"x"}),
            ("GET", f"{f.artifacts_base}/{path}", {}),
            ("DELETE", f"{f.artifacts_base}/{path}", {}),
            ("GET", f.artifacts_base, {"query_string": {"path": path}}),
            ("GET", f.mlflow_base + "/artifacts/list",
             {"query_string": {"run_id": f.run_id, "path": tail}}),
        ]
        for method, url, kwargs in attempts:
            response = setup.client.open(url, method=method, headers=setup.headers, **kwargs)
            problem = error_problem(response, want_4xx=method == "PUT")
            if problem:
                problems.append(f"{method} {url[:80]} ({tail[:12]}...): {problem}")
    assert problems == [], "\n".join(problems)
    assert files_under(store) == before


# ---------------------------------------------------------------------------------------------
# sizes


def test_oversized_json_bodies_are_413(setup: Setup) -> None:
    problems: list[str] = []
    big = "a" * (MAX_JSON + 1)
    samples = [(rule, SAMPLES[short_name(rule.endpoint)](setup.factory))
               for rule, _ in _json_rules(setup)]
    before = setup.snapshot()
    for rule, sample in samples:
        response = _send_raw(setup, rule, sample, _body({**(sample.json or {}), "pad": big}))
        if response.status_code != 413 or error_problem(response):
            problems.append(f"{sample.method} {rule.rule}: {response.status_code} "
                            f"{response.get_data(as_text=True)[:100]}")
    assert problems == [], "\n".join(problems)
    assert setup.snapshot() == before


@pytest.mark.live
def test_oversized_chunked_bodies_are_413(setup: Setup) -> None:
    """Without Content-Length the limit is enforced while reading."""
    def chunks() -> t.Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(MAX_JSON // 4096 + 2):
            yield b"b" * 4096
        yield b'"}'

    before = setup.snapshot()
    with LiveServer(setup.app) as server:
        response = requests.post(
            server.url + setup.factory.mlflow_base + "/experiments/create", data=chunks(),
            headers={**setup.headers, "Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert setup.snapshot() == before


def test_artifacts_have_their_own_cap(setup: Setup) -> None:
    """Uploads are not held to the JSON limit but to MODEL_REGISTRY_MAX_ARTIFACT_BYTES."""
    f = setup.factory
    store = pathlib.Path(setup.app.extensions["model_registry"].artifact_store.root)
    ok = setup.client.put(f"{f.artifacts_base}/{f.run_root}/sizes/ok.bin",
                          data=b"o" * (MAX_JSON * 2), headers=setup.headers)
    assert ok.status_code == 200, ok.get_data(as_text=True)
    before = files_under(store)
    too_big = setup.client.put(f"{f.artifacts_base}/{f.run_root}/sizes/big.bin",
                               data=b"b" * (MAX_ARTIFACT + 1), headers=setup.headers)
    assert error_problem(too_big) is None
    assert files_under(store) == before


# ---------------------------------------------------------------------------------------------
# legal but unusual input


UNICODE_NAMES = [
    "Ünïcödé 実験 🚀", "שלום עולם", "e\u0301 combining", "zero\u200dwidth\u200bjoin",
    "😀" * 100, "Ωμέγα/δοκιμή",
]


def test_unicode_names_round_trip(setup: Setup) -> None:
    f = setup.factory
    for name in UNICODE_NAMES:
        experiment_id = f.call("POST", "/experiments/create", {"name": name})["experiment_id"]
        got = f.call("GET", "/experiments/get-by-name", query={"experiment_name": name})
        assert got["experiment"]["experiment_id"] == experiment_id
        assert got["experiment"]["name"] == name
        run = f.call("POST", "/runs/create", {"experiment_id": experiment_id, "run_name": name,
                                              "tags": [{"key": "note", "value": name}]})
        run_id = run["run"]["info"]["run_id"]
        f.call("POST", "/runs/log-parameter", {"run_id": run_id, "key": "größe", "value": name})
        stored = f.call("GET", "/runs/get", query={"run_id": run_id})["run"]
        assert stored["info"]["run_name"] == name
        assert {"key": "größe", "value": name} in stored["data"]["params"]
        assert {"key": "note", "value": name} in stored["data"]["tags"]
    for name in UNICODE_NAMES:
        if "/" in name:
            continue
        f.call("POST", "/registered-models/create", {"name": name, "description": name})
        model = f.call("GET", "/registered-models/get", query={"name": name})
        assert model["registered_model"]["name"] == name
        assert model["registered_model"]["description"] == name


def test_names_at_and_over_their_limits(setup: Setup) -> None:
    f = setup.factory
    assert f.call("POST", "/experiments/create", {"name": "e" * 500})["experiment_id"]
    f.call("POST", "/experiments/create", {"name": "e" * 501}, expected=400)
    f.call("POST", "/runs/log-parameter", {"run_id": f.run_id, "key": "k" * 250, "value": "v"})
    f.call("POST", "/runs/log-parameter", {"run_id": f.run_id, "key": "k" * 251, "value": "v"},
           expected=400)
    f.call("POST", "/runs/log-parameter", {"run_id": f.run_id, "key": "long", "value": "v" * 6001})
    f.call("POST", "/runs/set-tag", {"run_id": f.run_id, "key": "long", "value": "t" * 8001})
    run = f.call("GET", "/runs/get", query={"run_id": f.run_id})["run"]["data"]
    assert {p["key"]: p["value"] for p in run["params"]}["long"] == "v" * 6000
    assert {p["key"]: p["value"] for p in run["tags"]}["long"] == "t" * 8000
    f.call("POST", "/experiments/set-experiment-tag",
           {"experiment_id": f.experiment_id, "key": "big", "value": "x" * 20001}, expected=400)
    before = setup.snapshot()
    for path, body in [
        ("/registered-models/create", {"name": "m" * 300}),
        ("/runs/create", {"experiment_id": f.experiment_id, "run_name": "r" * 300}),
        ("/logged-models", {"experiment_id": f.experiment_id, "name": "l" * 501}),
        ("/registered-models/alias", {"name": f.model_name, "alias": "a" * 256,
                                      "version": f.version_number}),
        ("/registered-models/set-tag", {"name": f.model_name, "key": "k" * 251, "value": "v"}),
    ]:
        response = setup.client.post(f.mlflow_base + path, json=body, headers=setup.headers)
        assert error_problem(response) is None, (path, response.get_data(as_text=True))
    assert setup.snapshot() == before


def test_double_encoded_json_is_read_as_mlflow_does(setup: Setup) -> None:
    f = setup.factory
    name = f.name("double")
    response = setup.client.post(
        f.mlflow_base + "/experiments/create", data=json.dumps(json.dumps({"name": name})),
        headers={**setup.headers, "Content-Type": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    got = f.call("GET", "/experiments/get-by-name", query={"experiment_name": name})
    assert got["experiment"]["name"] == name


def test_nan_and_infinity_only_where_mlflow_allows_them(setup: Setup) -> None:
    f = setup.factory
    for value in ("NaN", "Infinity", "-Infinity"):
        f.call("POST", "/runs/log-metric", {"run_id": f.run_id, "key": f"special-{value}",
                                            "value": value, "timestamp": 1})
    metrics = {m["key"]: m["value"] for m in
               f.call("GET", "/runs/get", query={"run_id": f.run_id})["run"]["data"]["metrics"]}
    assert metrics["special-NaN"] == "NaN"
    assert metrics["special-Infinity"] in ("Infinity", 1.7976931348623157e308)
    before = setup.snapshot()
    for body in [
        {"run_id": f.run_id, "key": "m", "value": 1, "timestamp": "NaN"},
        {"run_id": f.run_id, "key": "m", "value": 1, "timestamp": 1, "step": "Infinity"},
    ]:
        f.call("POST", "/runs/log-metric", body, expected=400)
    f.call("POST", "/runs/search", {"experiment_ids": [f.experiment_id], "max_results": "NaN"},
           expected=400)
    assert setup.snapshot() == before


def test_hostile_headers_are_refused_cleanly(setup: Setup) -> None:
    url = setup.factory.mlflow_base + "/experiments/search"
    for headers in [
        {"Authorization": "Bearer " + "t" * 20_000},
        {"Authorization": "Bearer \u00ff\u00fe"},
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic " + "dXNlcg=="},  # "user" without a colon
        {"Authorization": "Negotiate abc"},
        {"PRIVATE-TOKEN": "x" * 5000},
    ]:
        response = setup.client.get(url, query_string={"max_results": 5}, headers=headers)
        assert response.status_code == 401, (headers, response.get_data(as_text=True))
        assert error_problem(response) is None
