"""The OpenAPI document, and schemathesis fuzzing the app (WSGI) with it.

Positive cases (valid by the document) must get a documented status, a documented content type
and a body matching the documented schema; negative cases (violating it) must never get a
server error. ``FUZZ_EXAMPLES`` sets the examples per operation and mode: small by default so
the suite stays fast, larger through ``make fuzz``.
"""

from __future__ import annotations

import os
import pathlib
import re
import typing as t
from dataclasses import dataclass

import hypothesis
import jsonschema_rs
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flask_model_registry.api.routes import ROUTES as API_ROUTES
from flask_model_registry.mlflow.routes import ROUTES as MLFLOW_ROUTES
from flask_model_registry.openapi import OPENAPI_PATH, RESPONSES, build_openapi, openapi_path
from tests.conftest import Project, _backends, make_project
from tests.rel_samples import Factory
from tests.rel_support import app_on

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
Json = dict[str, t.Any]


@dataclass
class Target:
    app: Flask
    project: Project
    factory: Factory
    document: Json


@pytest.fixture(scope="module", params=_backends())
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> t.Iterator[Target]:
    directory = pathlib.Path(tmp_path_factory.mktemp("fuzz"))
    with app_on(request.param, directory) as app:
        project = make_project(app)
        factory = Factory(app.test_client(), project.id, project.headers("developer"), "f")
        response = app.test_client().get(OPENAPI_PATH)
        assert response.status_code == 200
        yield Target(app, project, factory, response.get_json())


# ---------------------------------------------------------------------------------------------
# the document


def test_document_is_served_publicly_and_is_stable(target: Target) -> None:
    response = target.app.test_client().get(OPENAPI_PATH)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == build_openapi(target.app.extensions["model_registry"])
    assert target.document["openapi"].startswith("3.")


def test_every_api_route_is_documented(target: Target) -> None:
    settings_ = target.app.extensions["model_registry"].settings
    documented = {(path, method) for path, item in target.document["paths"].items()
                  for method in item}
    expected = {(openapi_path(prefix + r.rules[0])[0], method.lower())
                for prefix, routes in _tables(settings_) for r in routes for method in r.methods}
    assert documented == expected


def _tables(settings_: t.Any) -> list[tuple[str, t.Any]]:
    return [(settings_.mlflow_prefix, MLFLOW_ROUTES), (settings_.api_prefix, API_ROUTES)]


def test_every_operation_reads_what_its_route_parses(target: Target) -> None:
    """Each operation documents exactly its route's schema fields (query or JSON body)."""
    settings_ = target.app.extensions["model_registry"].settings
    for prefix, routes in _tables(settings_):
        for route in routes:
            (method,) = route.methods
            op = target.document["paths"][openapi_path(prefix + route.rules[0])[0]][method.lower()]
            expected = set()
            if route.schema is not None:
                expected = {f.data_key or name for name, f in route.schema.fields.items()}
            if method == "GET":
                documented = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
            else:
                content = op.get("requestBody", {}).get("content", {})
                body = content.get("application/json", {}).get("schema", {})
                documented = set(body.get("properties", {}))
            assert documented == expected, (method, route.rules[0])


def test_every_response_entry_belongs_to_a_route() -> None:
    views = {r.view for r in MLFLOW_ROUTES} | {r.view for r in API_ROUTES}
    assert set(RESPONSES) <= views


def test_references_resolve_and_schemas_compile(target: Target) -> None:
    document = target.document
    text = repr(document)
    for ref in set(re.findall(r"#/components/(\w+)/(\w+)", text)):
        assert ref[1] in document["components"][ref[0]], ref
    operation_ids = [op["operationId"] for item in document["paths"].values()
                     for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for name, schema in document["components"]["schemas"].items():
        jsonschema_rs.validator_for({**schema, "components": document["components"]})
        assert isinstance(schema, dict), name
    for path, item in document["paths"].items():
        for op in item.values():
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path)), path


def test_request_schemas_describe_what_the_api_accepts(target: Target) -> None:
    """The samples the other tests send are valid by the document."""
    body = target.document["paths"][
        openapi_path(target.app.extensions["model_registry"].settings.mlflow_prefix
                     + "/api/2.0/mlflow/runs/log-batch")[0]]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    validator = jsonschema_rs.validator_for(schema)
    assert validator.is_valid({"run_id": "r", "metrics": [
        {"key": "m", "value": "NaN", "timestamp": 1, "step": 0}]})
    assert not validator.is_valid({"run_id": "r", "metrics": "x"})
    assert not validator.is_valid({"metrics": []})


# ---------------------------------------------------------------------------------------------
# fuzzing


def _known_values(f: Factory) -> dict[str, t.Any]:
    """Real identifiers, swapped into generated requests so they reach past the lookups."""
    return {
        "run_id": f.run_id, "run_uuid": f.run_id, "experiment_id": f.experiment_id,
        "experiment_ids": [f.experiment_id], "run_ids": [f.run_id],
        "experiment_name": f.experiment_name, "name": f.model_name,
        "version": f.version_number, "alias": f.alias_name, "candidate_id": f.run_id,
        "metric_key": "loss", "path": f"{f.run_root}/data",
    }


def _inject(known: dict[str, t.Any], case: t.Any) -> t.Any:
    for container in (case.body, case.query):
        if isinstance(container, dict):
            for key in container:
                if key in known:
                    container[key] = known[key]
    return case


def _strategy(target: Target, operation: t.Any, mode: GenerationMode) -> t.Any:
    path_parameters: Json = {"project_id": target.project.id}
    if "/logged-models/{model_id}" in operation.path:
        path_parameters["model_id"] = target.factory.logged_model_id
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
    if mode is GenerationMode.NEGATIVE:
        return strategy
    known = _known_values(target.factory)
    return st.tuples(strategy, st.booleans()).map(
        lambda pair: _inject(known, pair[0]) if pair[1] else pair[0]
    )


_CHECKS = {
    GenerationMode.POSITIVE: [not_a_server_error, status_code_conformance,
                              content_type_conformance, response_schema_conformance],
    GenerationMode.NEGATIVE: [not_a_server_error],
}


def _fuzz_operation(target: Target, operation: t.Any, mode: GenerationMode) -> str | None:
    @hypothesis.given(_strategy(target, operation, mode))
    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck),
              derandomize=os.environ.get("FUZZ_RANDOM") != "1")
    def run(case: t.Any) -> None:
        response = case.call(headers=target.project.headers("developer"))
        case.validate_response(response, checks=_CHECKS[mode])

    try:
        run()
    except Unsatisfiable:
        return None  # nothing in the operation can be made invalid
    except Exception as exc:  # noqa: BLE001 - one report per operation
        return f"{operation.label} ({mode.value}): {str(exc).strip()[:1500]}"
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["positive", "negative"])
def test_schemathesis_finds_no_server_error_or_schema_violation(
    target: Target, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_dict(target.document)
    schema.app = target.app
    # Credentials are the project developer's; random ones would only ever get 401.
    schema.config.generation.update(with_security_parameters=False)
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()
        operations += 1
        failure = _fuzz_operation(target, operation, mode)
        if failure:
            failures.append(failure)
    assert operations == len(MLFLOW_ROUTES) + len(API_ROUTES)
    assert failures == [], "\n\n".join(failures)
