"""The registry's MLflow endpoints on the wire (Flask test client): request validation and
error codes, permissions, prompts, statement counts, and concurrent version creation."""

from __future__ import annotations

import threading
import typing as t

import pytest
import requests
from flask import Flask

from tests.conftest import Project
from tests.support.live import LiveServer
from tests.test_registry_helpers import JSON, SEMVER_TAG, Api, packages
from tests.test_statement_counts import counting


@pytest.fixture
def api(client: t.Any, project: Project) -> Api:
    return Api(client, project)


@pytest.fixture
def fraud(api: Api) -> str:
    """Model ``fraud`` with versions 1 (1.0.0) and 2 (1.0.1) of one run; returns the run id."""
    run_id = api.create_run()
    api.create_model("fraud")
    api.create_version("fraud", run_id)
    api.create_version("fraud", run_id)
    return run_id


INVALID = "INVALID_PARAMETER_VALUE"
MISSING = "Missing value for required parameter"


BAD_REQUESTS: list[tuple[str, str, dict[str, t.Any], str]] = [
    ("POST", "/registered-models/create", {}, f"{MISSING} 'name'"),
    ("POST", "/registered-models/create", {"name": ""}, f"{MISSING} 'name'"),
    ("POST", "/registered-models/create", {"name": "a/b"}, "Names cannot contain '/' or ':'"),
    ("POST", "/registered-models/create", {"name": "a:b"}, "Names cannot contain '/' or ':'"),
    ("POST", "/registered-models/create", {"name": "x" * 256}, "maximum length of 255"),
    (
        "POST",
        "/registered-models/create",
        {"name": "ok", "tags": [{"key": "bad!"}]},
        "Names may only contain",
    ),
    ("POST", "/registered-models/create", {"name": 5}, "Not a valid string"),
    ("POST", "/registered-models/rename", {"name": "fraud"}, f"{MISSING} 'new_name'"),
    (
        "GET",
        "/model-versions/get",
        {"name": "fraud", "version": "one"},
        "Parameter 'version' must be an integer, got 'one'.",
    ),
    ("POST", "/model-versions/create", {"name": "fraud"}, f"{MISSING} 'source'"),
    (
        "POST",
        "/registered-models/alias",
        {"name": "fraud", "alias": "a b", "version": "1"},
        "Invalid alias name: 'a b'",
    ),
    (
        "POST",
        "/registered-models/alias",
        {"name": "fraud", "alias": "Latest", "version": "1"},
        "'latest' alias name (case insensitive) is reserved.",
    ),
    (
        "POST",
        "/registered-models/alias",
        {"name": "fraud", "alias": "v3", "version": "1"},
        "Version alias name 'v3' is reserved.",
    ),
    (
        "POST",
        "/registered-models/alias",
        {"name": "fraud", "alias": "12", "version": "1"},
        "reads as a version number",
    ),
    (
        "POST",
        "/model-versions/transition-stage",
        {"name": "fraud", "version": "1", "stage": "gold"},
        "Invalid Model Version stage: gold",
    ),
    (
        "POST",
        "/model-versions/transition-stage",
        {
            "name": "fraud",
            "version": "1",
            "stage": "Archived",
            "archive_existing_versions": True,
        },
        "'Archived' is not an Active stage",
    ),
    ("GET", "/registered-models/search", {"max_results": 1001}, "at most 1000"),
    ("GET", "/registered-models/search", {"max_results": 0}, "positive integer"),
    ("GET", "/registered-models/search", {"page_token": "%%%"}, "Invalid page token"),
    ("GET", "/registered-models/search", {"filter": "name = 'a' OR name = 'b'"}, ""),
    (
        "GET",
        "/registered-models/search",
        {"order_by": "creation_timestamp"},
        "Invalid order by key",
    ),
    ("GET", "/model-versions/search", {"max_results": 200001}, "at most 200000"),
    ("GET", "/model-versions/search", {"filter": "params.x = '1'"}, ""),
    (
        "POST",
        "/registered-models/get-latest-versions",
        {"name": "fraud", "stages": ["gold"]},
        "Invalid Model Version stage: gold",
    ),
    (
        "POST",
        "/model-versions/set-tag",
        {"name": "fraud", "version": "1", "key": SEMVER_TAG, "value": "3.0.0"},
        f"Tag '{SEMVER_TAG}' is the semantic version of this version (1.0.0)",
    ),
]


def test_bad_requests_are_400_invalid_parameter_value(api: Api, fraud: str) -> None:
    answers = {(m, p, repr(b)): api.error(m, p, b) for m, p, b, _ in BAD_REQUESTS}
    for method, path, body, message in BAD_REQUESTS:
        status, code, text = answers[(method, path, repr(body))]
        assert (status, code) == (400, INVALID), (path, body, text)
        assert message in text, (path, body, text)
    assert len(api.ok("GET", "/model-versions/search", {})["model_versions"]) == 2


def test_unknown_names_and_versions_are_404(api: Api, fraud: str) -> None:
    assert api.error("GET", "/registered-models/get", {"name": "nope"}) == (
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Registered Model with name=nope not found",
    )
    assert api.error("GET", "/model-versions/get", {"name": "fraud", "version": "9"}) == (
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Model Version (name=fraud, version=9) not found",
    )
    status, code, _ = api.error(
        "GET", "/model-versions/get-download-uri", {"name": "nope", "version": "1"}
    )
    assert (status, code) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert api.error("GET", "/registered-models/alias", {"name": "fraud", "alias": "gone"}) == (
        400,
        INVALID,
        "Registered model alias gone not found.",
    )


def test_duplicate_model_is_resource_already_exists(api: Api, fraud: str) -> None:
    assert api.error("POST", "/registered-models/create", {"name": "fraud"}) == (
        400,
        "RESOURCE_ALREADY_EXISTS",
        "Registered Model (name=fraud) already exists.",
    )


def test_version_sources_are_validated_like_mlflow(
    api: Api, client: t.Any, project: Project, fraud: str
) -> None:
    other_run = api.create_run()
    foreign = Api(client, Project(project.other_id, project.tokens), "outsider")
    foreign_run = foreign.create_run()
    cases: list[tuple[dict[str, t.Any], int, str]] = [
        (
            {"source": f"runs:/{other_run}/model", "run_id": fraud},
            400,
            "The run_id request parameter must identify the resource that contains the source.",
        ),
        ({"source": f"runs:/{fraud}/model"}, 400, "run_id request parameter"),
        (
            {"source": f"runs:/{fraud}/a/%2E%2E/%2e%2e/x", "run_id": fraud},
            400,
            "without relative path references",
        ),
        # refused by the request parser (any NUL) or by the source rules: a 400 either way
        ({"source": f"runs:/{fraud}/a\x00b", "run_id": fraud}, 400, ""),
        ({"source": "file:///etc", "run_id": fraud}, 400, "To use a local path"),
        ({"source": "models:/m-0123", "run_id": fraud}, 400, "model_id request parameter"),
        (
            {"source": f"runs:/{fraud}/model", "run_id": fraud, "model_id": "m-0123"},
            404,
            "Logged model with id=m-0123 not found",
        ),
        (
            {"source": f"mlflow-artifacts:/{project.id}/9/x", "run_id": fraud},
            400,
            "run_id request parameter",
        ),
        (
            {"source": f"runs:/{foreign_run}/model", "run_id": foreign_run},
            404,
            f"Run with id={foreign_run} not found",
        ),
        ({"source": "models:/fraud/7"}, 404, "Model Version (name=fraud, version=7) not found"),
    ]
    for fields, status, message in cases:
        got = api.error("POST", "/model-versions/create", {"name": "fraud", **fields})
        assert got[0] == status, (fields, got)
        assert message in got[2], (fields, got)
    versions = api.ok("GET", "/model-versions/search", {"filter": "name='fraud'"})
    assert len(versions["model_versions"]) == 2


def test_a_registered_version_can_be_the_source_of_another(api: Api, fraud: str) -> None:
    api.create_model("fraud-copy")
    copied = api.ok(
        "POST", "/model-versions/create", {"name": "fraud-copy", "source": "models:/fraud@^1"}
    )["model_version"]
    assert copied["source"] == "models:/fraud/2"
    assert copied["run_id"] == fraud
    original = api.ok("GET", "/model-versions/get-download-uri", {"name": "fraud", "version": "2"})
    copy_uri = api.ok(
        "GET", "/model-versions/get-download-uri", {"name": "fraud-copy", "version": "1"}
    )
    assert copy_uri == original  # no files to copy: both point at the run's directory


def test_version_json_is_mlflow_shaped(api: Api, fraud: str) -> None:
    api.ok("POST", "/registered-models/alias", {"name": "fraud", "alias": "prod", "version": "2"})
    version = api.ok("GET", "/model-versions/get", {"name": "fraud", "version": "2"})
    mv = version["model_version"]
    assert mv["version"] == "2"
    assert mv["aliases"] == ["prod"]
    assert mv["current_stage"] == "None"
    assert mv["status"] == "READY"
    assert mv["tags"] == [{"key": SEMVER_TAG, "value": "1.0.1"}]
    assert "description" not in mv
    assert isinstance(mv["creation_timestamp"], int)
    model = api.ok("GET", "/registered-models/get", {"name": "fraud"})["registered_model"]
    assert model["aliases"] == [{"alias": "prod", "version": "2"}]
    assert [v["version"] for v in model["latest_versions"]] == ["2"]
    searched = api.ok("GET", "/model-versions/search", {"filter": "name='fraud'"})
    assert "aliases" not in searched["model_versions"][0]  # as MLflow's search answers
    assert "next_page_token" not in searched


def test_get_latest_versions_answers_both_methods(api: Api, fraud: str) -> None:
    posted = api.ok("POST", "/registered-models/get-latest-versions", {"name": "fraud"})
    got = api.ok("GET", "/registered-models/get-latest-versions", {"name": "fraud"})
    assert [v["version"] for v in posted["model_versions"]] == ["2"]
    assert got == posted
    staged = api.ok(
        "GET",
        "/registered-models/get-latest-versions",
        {"name": "fraud", "stages": ["1.0.0", "Production"]},
    )
    assert [v["version"] for v in staged["model_versions"]] == ["1"]


def test_search_accepts_the_client_prompt_clause_and_hides_prompts(api: Api, fraud: str) -> None:
    api.create_model("my-prompt", tags=[{"key": "mlflow.prompt.is_prompt", "value": "true"}])
    clause = "tag.`mlflow.prompt.is_prompt` != 'true'"
    models = api.ok("GET", "/registered-models/search", {"filter": f"name LIKE '%' AND {clause}"})
    assert [m["name"] for m in models["registered_models"]] == ["fraud"]
    prompts = api.ok(
        "GET", "/registered-models/search", {"filter": "tags.`mlflow.prompt.is_prompt` = 'true'"}
    )
    assert [m["name"] for m in prompts["registered_models"]] == ["my-prompt"]
    # a prompt has no default experiment, and its versions take MLflow's placeholder source
    prompt_version = api.ok(
        "POST",
        "/model-versions/create",
        {
            "name": "my-prompt",
            "source": "dummy-source",
            "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}],
        },
    )["model_version"]
    assert prompt_version["version"] == "1"
    assert api.error("GET", "/experiments/get-by-name", {"experiment_name": "my-prompt"})[0] == 404


def test_permissions(api: Api, fraud: str) -> None:
    reporter = api.as_role("reporter")
    assert reporter.ok("GET", "/registered-models/get", {"name": "fraud"})
    assert reporter.error("POST", "/registered-models/create", {"name": "x"})[:2] == (
        403,
        "PERMISSION_DENIED",
    )
    assert reporter.error("DELETE", "/model-versions/delete", {"name": "fraud", "version": "1"})[
        :2
    ] == (403, "PERMISSION_DENIED")
    assert api.as_role("guest").error("GET", "/registered-models/get", {"name": "fraud"})[0] in (
        403,
        404,
    )
    assert api.as_role("outsider").error("GET", "/registered-models/get", {"name": "fraud"})[
        :2
    ] == (404, "RESOURCE_DOES_NOT_EXIST")
    assert api.as_role("anonymous").error("GET", "/registered-models/get", {"name": "fraud"})[
        :2
    ] == (401, "UNAUTHENTICATED")
    assert api.ok("GET", "/model-versions/get", {"name": "fraud", "version": "1"})


def test_renaming_moves_the_package_links(
    app: Flask, api: Api, project: Project, fraud: str
) -> None:
    assert packages(app, project.id) == {("fraud", "1.0.0"), ("fraud", "1.0.1")}
    api.ok("POST", "/registered-models/rename", {"name": "fraud", "new_name": "fraud2"})
    assert packages(app, project.id) == {("fraud2", "1.0.0"), ("fraud2", "1.0.1")}


def test_search_registered_models_statements_do_not_grow(app: Flask, api: Api) -> None:
    run_id = api.create_run()
    for i in range(6):
        name = f"m{i}"
        api.create_model(name, tags=[{"key": "k", "value": "v"}])
        for _ in range(2):
            api.create_version(name, run_id)
        api.ok("POST", "/registered-models/alias", {"name": name, "alias": "prod", "version": "1"})
        api.ok(
            "POST",
            "/model-versions/transition-stage",
            {"name": name, "version": "2", "stage": "Staging"},
        )
    counts = []
    for limit in (1, 6):
        api.ok("GET", "/registered-models/get", {"name": "m0"})
        with counting(app) as statements:
            found = api.ok("GET", "/registered-models/search", {"max_results": limit})
        assert len(found["registered_models"]) == limit
        counts.append(len(statements))
    assert counts[0] > 0
    assert counts[0] == counts[1], counts
    latest = found["registered_models"][5]["latest_versions"]
    assert sorted((v["current_stage"], v["version"]) for v in latest) == [
        ("None", "1"),
        ("Staging", "2"),
    ]


def test_concurrent_creators_get_distinct_numbers_and_semvers(
    live_server: LiveServer, project: Project
) -> None:
    base = live_server.tracking_uri(project.id) + "/api/2.0/mlflow"
    headers = {**project.headers("developer"), **JSON}
    run = requests.post(
        f"{base}/runs/create", json={"experiment_id": "0"}, headers=headers, timeout=60
    ).json()["run"]["info"]["run_id"]
    requests.post(
        f"{base}/registered-models/create", json={"name": "race"}, headers=headers, timeout=60
    ).raise_for_status()
    answers: list[dict[str, t.Any]] = []

    def create() -> None:
        response = requests.post(
            f"{base}/model-versions/create",
            json={"name": "race", "source": f"runs:/{run}/model", "run_id": run},
            headers=headers,
            timeout=120,
        )
        answers.append(response.json())

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    versions = [answer["model_version"] for answer in answers]
    assert sorted(int(v["version"]) for v in versions) == list(range(1, 9))
    semvers = {v["version"]: v["tags"][0]["value"] for v in versions}
    assert sorted(semvers.values(), key=lambda s: int(s.rsplit(".", 1)[1])) == [
        f"1.0.{i}" for i in range(8)
    ]
    assert all(semvers[str(i + 1)] == f"1.0.{i}" for i in range(8))


def _without_aliases(version: dict[str, t.Any]) -> dict[str, t.Any]:
    return {key: value for key, value in version.items() if key != "aliases"}


def test_every_read_shows_a_version_alike(api: Api, fraud: str) -> None:
    """get, alias, get-latest-versions, search and the models' latest versions agree, field for
    field; reads list tags and aliases by key, while create answers tags in request order."""
    tags = [{"key": "zeta", "value": "1"}, {"key": "Alpha", "value": ""}]
    created = api.create_version("fraud", fraud, tags=tags, description="third")
    assert [tag["key"] for tag in created["tags"]] == ["zeta", "Alpha", SEMVER_TAG]
    api.ok("POST", "/registered-models/set-tag", {"name": "fraud", "key": "b", "value": "2"})
    api.ok("POST", "/registered-models/set-tag", {"name": "fraud", "key": "a", "value": "1"})
    for alias in ("prod", "best"):
        api.ok(
            "POST", "/registered-models/alias", {"name": "fraud", "alias": alias, "version": "3"}
        )
    api.ok(
        "POST",
        "/model-versions/transition-stage",
        {"name": "fraud", "version": "1", "stage": "Staging"},
    )

    got = api.ok("GET", "/model-versions/get", {"name": "fraud", "version": "3"})["model_version"]
    assert [tag["key"] for tag in got["tags"]] == ["Alpha", SEMVER_TAG, "zeta"]
    assert got["aliases"] == ["best", "prod"]
    assert got["description"] == "third"
    by_alias = api.ok("GET", "/registered-models/alias", {"name": "fraud", "alias": "prod"})
    assert by_alias["model_version"] == got
    by_latest = api.ok("GET", "/registered-models/alias", {"name": "fraud", "alias": "latest"})
    assert by_latest["model_version"] == got
    staged = api.ok(
        "POST", "/registered-models/get-latest-versions", {"name": "fraud", "stages": ["best"]}
    )
    assert staged["model_versions"] == [got]

    model = api.ok("GET", "/registered-models/get", {"name": "fraud"})["registered_model"]
    assert model["tags"] == [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
    assert model["aliases"] == [
        {"alias": "best", "version": "3"},
        {"alias": "prod", "version": "3"},
    ]
    latest = {v["version"]: v for v in model["latest_versions"]}
    assert list(latest) == ["1", "3"]
    assert latest["3"] == _without_aliases(got)
    first = api.ok("GET", "/model-versions/get", {"name": "fraud", "version": "1"})
    assert latest["1"] == _without_aliases(first["model_version"])

    searched = api.ok("GET", "/model-versions/search", {"filter": "name='fraud'"})
    assert _without_aliases(got) in searched["model_versions"]
    models = api.ok("GET", "/registered-models/search", {"filter": "name='fraud'"})
    assert models["registered_models"] == [model]


def test_latest_versions_of_each_searched_model(api: Api, fraud: str) -> None:
    """A page of models carries each model's own latest versions, in the page's order."""
    api.create_model("empty")
    api.create_model("other")
    api.create_version("other", fraud)
    page = api.ok("GET", "/registered-models/search", {"order_by": ["name DESC"]})
    names = [m["name"] for m in page["registered_models"]]
    assert names == ["other", "fraud", "empty"]
    latest = {
        m["name"]: [v["version"] for v in m.get("latest_versions", [])]
        for m in page["registered_models"]
    }
    assert latest == {"other": ["1"], "fraud": ["2"], "empty": []}
    assert all(
        v["name"] == m["name"]
        for m in page["registered_models"]
        for v in m.get("latest_versions", [])
    )
