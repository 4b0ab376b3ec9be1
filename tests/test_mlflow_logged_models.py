"""MLflow 3 logged models over the wire: create, get, finalize, tags, params, delete, search."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from sqlalchemy import event

from flask_model_registry.database import now_ms
from flask_model_registry.dispatch import make_context
from flask_model_registry.models import (
    LoggedModel,
    LoggedModelMetric,
    ModelVersion,
    RegisteredModel,
)
from flask_model_registry.services import experiments
from flask_model_registry.state import get_state
from tests.conftest import Project
from tests.test_mlflow_artifacts import Seeded, artifacts_url, seed_run

API = "/api/v4/projects/{}/ml/mlflow/api/2.0/mlflow"


def url(project_id: int, path: str) -> str:
    return f"{API.format(project_id)}/{path}"


@pytest.fixture
def seeded(app: Flask, project: Project) -> Seeded:
    return seed_run(app, project.id)


def create(client: t.Any, project: Project, seeded: Seeded, role: str = "developer",
           **body: t.Any) -> t.Any:
    payload = {"experiment_id": str(seeded.experiment_iid), **body}
    return client.post(url(project.id, "logged-models"), json=payload,
                       headers=project.headers(role))


def created(client: t.Any, project: Project, seeded: Seeded, **body: t.Any) -> dict[str, t.Any]:
    response = create(client, project, seeded, **body)
    assert response.status_code == 200, response.get_json()
    return t.cast(dict[str, t.Any], response.get_json()["model"])


# -- create and get ---------------------------------------------------------------------------


def test_create_returns_a_pending_model_under_the_experiment(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    model = created(
        client, project, seeded,
        name="model", model_type="agent", source_run_id=seeded.run_id,
        params=[{"key": "alpha", "value": "0.5"}, {"key": "epochs", "value": "10"}],
        tags=[{"key": "mlflow.source.type", "value": "LOCAL"}],
    )
    info = model["info"]
    model_id = info["model_id"]
    assert model_id.startswith("m-")
    assert len(model_id) == 34
    int(model_id[2:], 16)
    assert info["experiment_id"] == str(seeded.experiment_iid)
    assert info["name"] == "model"
    assert info["model_type"] == "agent"
    assert info["source_run_id"] == seeded.run_id
    assert info["status"] == "LOGGED_MODEL_PENDING"
    assert info["artifact_uri"] == (
        f"mlflow-artifacts:/{project.id}/{seeded.experiment_iid}/models/{model_id}/artifacts"
    )
    assert info["creation_timestamp_ms"] == info["last_updated_timestamp_ms"]
    assert abs(info["creation_timestamp_ms"] - now_ms()) < 60_000
    assert info["tags"] == [{"key": "mlflow.source.type", "value": "LOCAL"}]
    assert info["registrations"] == []
    assert "creator_id" not in info  # int64 on the wire; the user name is kept server-side
    assert model["data"] == {
        "params": [{"key": "alpha", "value": "0.5"}, {"key": "epochs", "value": "10"}],
        "metrics": [],
    }

    fetched = client.get(url(project.id, f"logged-models/{model_id}"),
                         headers=project.headers("reporter"))
    assert fetched.status_code == 200
    assert fetched.get_json()["model"] == model


def test_create_records_the_authenticated_creator(
    app: Flask, client: t.Any, project: Project, seeded: Seeded
) -> None:
    model_id = created(client, project, seeded, name="m")["info"]["model_id"]
    with app.app_context():
        row = get_state(app).db.session.query(LoggedModel).filter_by(model_id=model_id).one()
        assert row.creator_id == "alpha-developer"
        assert row.project_id == project.id


def test_create_without_a_name_generates_one(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    first = created(client, project, seeded)["info"]
    second = created(client, project, seeded)["info"]
    for info in (first, second):
        adjective, noun, number = info["name"].split("-")
        assert adjective.isalpha()
        assert noun.isalpha()
        assert number.isdigit()
    assert "source_run_id" not in first
    assert "model_type" not in first


def test_create_in_the_default_experiment(client: t.Any, project: Project) -> None:
    response = client.post(url(project.id, "logged-models"), json={"experiment_id": "0"},
                           headers=project.headers("developer"))
    assert response.status_code == 200
    info = response.get_json()["model"]["info"]
    assert info["experiment_id"] == "0"
    assert info["artifact_uri"].startswith(f"mlflow-artifacts:/{project.id}/0/models/m-")


CREATE_ERRORS: list[tuple[dict[str, t.Any], int, str, str]] = [
        ({}, 400, "INVALID_PARAMETER_VALUE",
         "Missing value for required parameter 'experiment_id'"),
        ({"experiment_id": ""}, 400, "INVALID_PARAMETER_VALUE",
         "Missing value for required parameter 'experiment_id'"),
        ({"experiment_id": "999"}, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=999"),
        ({"experiment_id": "abc"}, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=abc"),
        ({"experiment_id": 1}, 400, "INVALID_PARAMETER_VALUE", "experiment_id"),
        ({"name": "a/b"}, 400, "INVALID_PARAMETER_VALUE", "Invalid model name"),
        ({"name": "v1.0"}, 400, "INVALID_PARAMETER_VALUE", "Invalid model name"),
        ({"name": "x" * 501}, 400, "INVALID_PARAMETER_VALUE", "maximum length of 500"),
        ({"model_type": "x" * 501}, 400, "INVALID_PARAMETER_VALUE", "maximum length of 500"),
        ({"source_run_id": "0" * 32}, 404, "RESOURCE_DOES_NOT_EXIST", "Run with id="),
        ({"params": [{"key": "k" * 251, "value": "v"}]}, 400, "INVALID_PARAMETER_VALUE",
         "exceeds the maximum length of 250"),
        ({"params": [{"value": "v"}]}, 400, "INVALID_PARAMETER_VALUE",
         "Missing value for required parameter 'params[0].key'"),
        ({"params": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}, 400,
         "INVALID_PARAMETER_VALUE", "Duplicate parameter key 'a'"),
        ({"tags": "not-a-list"}, 400, "INVALID_PARAMETER_VALUE", "tags"),
        ({"tags": [{"key": "t" * 251, "value": "v"}]}, 400, "INVALID_PARAMETER_VALUE",
         "exceeds the maximum length of 250"),
]


def test_create_validation(client: t.Any, project: Project, seeded: Seeded) -> None:
    for body, status, code, message in CREATE_ERRORS:
        payload = {"experiment_id": str(seeded.experiment_iid), **body}
        if not body or body == {"experiment_id": ""}:
            payload = body
        response = client.post(url(project.id, "logged-models"), json=payload,
                               headers=project.headers("developer"))
        assert response.status_code == status, (body, response.get_json())
        assert response.get_json()["error_code"] == code, body
        assert message in response.get_json()["message"], body
    assert search(client, project, {"experiment_ids": [str(seeded.experiment_iid)]}).get_json() == {
        "models": []
    }


def test_create_refuses_other_projects_runs_and_deleted_experiments(
    app: Flask, client: t.Any, project: Project, seeded: Seeded
) -> None:
    foreign = seed_run(app, project.other_id)
    response = create(client, project, seeded, source_run_id=foreign.run_id)
    assert response.status_code == 404
    assert response.get_json()["message"] == f"Run with id={foreign.run_id} not found"
    with app.test_request_context():
        ctx = make_context(project.id, None)
        experiments.delete_experiment(ctx, seeded.experiment_iid)
        ctx.session.commit()
    response = create(client, project, seeded)
    assert response.status_code == 400
    assert "must be in the 'active' state" in response.get_json()["message"]


def test_reporter_cannot_create_and_outsiders_cannot_see(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    denied = create(client, project, seeded, role="reporter")
    assert denied.status_code == 403
    model_id = created(client, project, seeded)["info"]["model_id"]
    # the owner of another project, through that project's prefix and through this one
    for project_id in (project.other_id, project.id):
        response = client.get(url(project_id, f"logged-models/{model_id}"),
                              headers=project.headers("outsider"))
        assert response.status_code == 404
        assert response.get_json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_get_unknown_model_is_404(client: t.Any, project: Project) -> None:
    response = client.get(url(project.id, "logged-models/m-0123"),
                          headers=project.headers("developer"))
    assert response.status_code == 404
    assert response.get_json() == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "Logged model with ID 'm-0123' not found.",
    }


# -- finalize, delete -------------------------------------------------------------------------


FINALIZE_OK = [
    ("LOGGED_MODEL_READY", "LOGGED_MODEL_READY"), (2, "LOGGED_MODEL_READY"),
    ("2", "LOGGED_MODEL_READY"), ("LOGGED_MODEL_UPLOAD_FAILED", "LOGGED_MODEL_UPLOAD_FAILED"),
    (3, "LOGGED_MODEL_UPLOAD_FAILED"),
]


def test_finalize_accepts_enum_names_and_numbers(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    for status, expected in FINALIZE_OK:
        model = created(client, project, seeded)
        model_id = model["info"]["model_id"]
        response = client.patch(url(project.id, f"logged-models/{model_id}"),
                                json={"model_id": model_id, "status": status},
                                headers=project.headers("developer"))
        assert response.status_code == 200, (status, response.get_json())
        info = response.get_json()["model"]["info"]
        assert info["status"] == expected
        assert info["last_updated_timestamp_ms"] >= model["info"]["creation_timestamp_ms"]
        again = client.get(url(project.id, f"logged-models/{model_id}"),
                           headers=project.headers("developer"))
        assert again.get_json()["model"]["info"]["status"] == expected


def test_finalize_rejects_other_statuses(client: t.Any, project: Project, seeded: Seeded) -> None:
    model_id = created(client, project, seeded)["info"]["model_id"]
    for status in (None, "READY", "LOGGED_MODEL_PENDING", 0, 1, 7, True, "", 2.5):
        body = {} if status is None else {"status": status}
        response = client.patch(url(project.id, f"logged-models/{model_id}"), json=body,
                                headers=project.headers("developer"))
        assert response.status_code == 400, status
        assert response.get_json()["error_code"] == "INVALID_PARAMETER_VALUE"
    info = client.get(url(project.id, f"logged-models/{model_id}"),
                      headers=project.headers("developer")).get_json()["model"]["info"]
    assert info["status"] == "LOGGED_MODEL_PENDING"


def test_delete_hides_the_model_but_allow_deleted_finds_it(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    model_id = created(client, project, seeded, name="gone")["info"]["model_id"]
    dev = project.headers("developer")
    response = client.delete(url(project.id, f"logged-models/{model_id}"),
                             json={"model_id": model_id}, headers=dev)
    assert response.status_code == 200
    assert response.get_json() == {}
    assert client.get(url(project.id, f"logged-models/{model_id}"), headers=dev).status_code == 404
    found = client.get(url(project.id, f"logged-models/{model_id}?allow_deleted=true"),
                       headers=dev)
    assert found.status_code == 200
    assert found.get_json()["model"]["info"]["model_id"] == model_id
    search = client.post(url(project.id, "logged-models/search"),
                         json={"experiment_ids": [str(seeded.experiment_iid)]}, headers=dev)
    assert search.get_json() == {"models": []}
    missing = client.delete(url(project.id, "logged-models/m-missing"), headers=dev)
    assert missing.status_code == 404


# -- tags and params --------------------------------------------------------------------------


def test_set_tags_upserts_and_delete_tag_removes(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    model_id = created(client, project, seeded, tags=[{"key": "a", "value": "1"}])["info"][
        "model_id"
    ]
    dev = project.headers("developer")
    tags_url = url(project.id, f"logged-models/{model_id}/tags")
    response = client.patch(tags_url, json={"tags": [
        {"key": "a", "value": "2"}, {"key": "b/c", "value": "3"}, {"key": "d", "value": "x"},
        {"key": "d", "value": "y"},
    ]}, headers=dev)
    assert response.status_code == 200
    assert response.get_json() == {}
    info = client.get(url(project.id, f"logged-models/{model_id}"), headers=dev).get_json()[
        "model"]["info"]
    assert info["tags"] == [
        {"key": "a", "value": "2"}, {"key": "b/c", "value": "3"}, {"key": "d", "value": "y"}
    ]
    assert info["last_updated_timestamp_ms"] >= info["creation_timestamp_ms"]

    deleted = client.delete(f"{tags_url}/b/c", headers=dev)
    assert deleted.status_code == 200
    info = client.get(url(project.id, f"logged-models/{model_id}"), headers=dev).get_json()[
        "model"]["info"]
    assert [tag["key"] for tag in info["tags"]] == ["a", "d"]
    missing = client.delete(f"{tags_url}/nope", headers=dev)
    assert missing.status_code == 404
    assert missing.get_json()["message"] == (
        f"No tag with key 'nope' found for model with ID '{model_id}'."
    )
    reporter = client.patch(tags_url, json={"tags": [{"key": "z", "value": "1"}]},
                            headers=project.headers("reporter"))
    assert reporter.status_code == 403


def test_log_params_adds_and_refuses_changes(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    model_id = created(client, project, seeded, params=[{"key": "lr", "value": "0.1"}])["info"][
        "model_id"
    ]
    dev = project.headers("developer")
    params_url = url(project.id, f"logged-models/{model_id}/params")
    ok = client.post(params_url, json={"model_id": model_id, "params": [
        {"key": "lr", "value": "0.1"}, {"key": "depth", "value": "3"}, {"key": "empty"},
    ]}, headers=dev)
    assert ok.status_code == 200
    assert ok.get_json() == {}
    data = client.get(url(project.id, f"logged-models/{model_id}"), headers=dev).get_json()[
        "model"]["data"]
    assert data["params"] == [
        {"key": "depth", "value": "3"}, {"key": "empty", "value": ""}, {"key": "lr", "value": "0.1"}
    ]
    changed = client.post(params_url, json={"params": [{"key": "lr", "value": "0.2"}]},
                          headers=dev)
    assert changed.status_code == 400
    assert "Changing param values is not allowed" in changed.get_json()["message"]
    no_type = client.post(params_url, data=b"{}", headers=dev)
    assert no_type.status_code == 400
    assert "Content-Type" in no_type.get_json()["message"]


# -- metrics and registrations in the response -------------------------------------------------


def test_response_carries_metrics_and_registrations(
    app: Flask, client: t.Any, project: Project, seeded: Seeded
) -> None:
    model_id = created(client, project, seeded, name="reg")["info"]["model_id"]
    with app.app_context():
        session = get_state(app).db.session
        row = session.query(LoggedModel).filter_by(model_id=model_id).one()
        session.add_all([
            LoggedModelMetric(logged_model_id=row.id, key="acc", value=0.9, step=1,
                              timestamp=10, run_id=seeded.run_id, dataset_name="val",
                              dataset_digest="abc"),
            LoggedModelMetric(logged_model_id=row.id, key="loss", value=0.0, is_nan=True,
                              step=0, timestamp=11),
        ])
        registered = RegisteredModel(project_id=project.id, name="wf-model", creation_timestamp=1,
                           last_updated_timestamp=1)
        session.add(registered)
        session.flush()
        for sequence in (1, 2):
            session.add(ModelVersion(
                model_id=registered.id, project_id=project.id, sequence=sequence,
                semver=f"{sequence}.0.0", semver_major=sequence, semver_minor=0,
                semver_patch=0, source=f"models:/{model_id}", logged_model_id=row.id,
                creation_timestamp=1, last_updated_timestamp=1,
            ))
        session.commit()
    body = client.get(url(project.id, f"logged-models/{model_id}"),
                      headers=project.headers("developer")).get_json()["model"]
    assert body["info"]["registrations"] == [
        {"name": "wf-model", "version": "1"}, {"name": "wf-model", "version": "2"}
    ]
    assert body["data"]["metrics"] == [
        {"key": "acc", "value": 0.9, "timestamp": 10, "step": 1, "model_id": model_id,
         "dataset_name": "val", "dataset_digest": "abc", "run_id": seeded.run_id},
        {"key": "loss", "value": "NaN", "timestamp": 11, "step": 0, "model_id": model_id},
    ]


# -- search -----------------------------------------------------------------------------------


def search(client: t.Any, project: Project, body: dict[str, t.Any],
           role: str = "reporter") -> t.Any:
    return client.post(url(project.id, "logged-models/search"), json=body,
                       headers=project.headers(role))


def test_search_filters_orders_and_pages(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    exp = str(seeded.experiment_iid)
    ids = {}
    for name in ("alpha", "beta", "gamma"):
        ids[name] = created(client, project, seeded, name=name, source_run_id=seeded.run_id,
                            params=[{"key": "p", "value": name}])["info"]["model_id"]
    created(client, project, seed_run(t.cast(Flask, client.application), project.id, "other"),
            name="elsewhere")

    everything = search(client, project, {"experiment_ids": [exp]}).get_json()
    assert [m["info"]["name"] for m in everything["models"]] == ["gamma", "beta", "alpha"]
    assert "next_page_token" not in everything

    by_name = search(client, project, {"experiment_ids": [exp], "filter": "name = 'beta'"})
    assert [m["info"]["model_id"] for m in by_name.get_json()["models"]] == [ids["beta"]]
    by_param = search(client, project, {"experiment_ids": [exp],
                                        "filter": "params.p LIKE 'g%'"})
    assert [m["info"]["name"] for m in by_param.get_json()["models"]] == ["gamma"]
    by_run = search(client, project, {
        "experiment_ids": [exp], "filter": f"source_run_id = '{seeded.run_id}'",
        "order_by": [{"field_name": "name", "ascending": True}]})
    assert [m["info"]["name"] for m in by_run.get_json()["models"]] == ["alpha", "beta", "gamma"]

    order = [{"field_name": "name", "ascending": True}]
    first = search(client, project, {"experiment_ids": [exp], "max_results": 2,
                                     "order_by": order}).get_json()
    assert [m["info"]["name"] for m in first["models"]] == ["alpha", "beta"]
    token = first["next_page_token"]
    second = search(client, project, {"experiment_ids": [exp], "max_results": 2,
                                      "order_by": order, "page_token": token}).get_json()
    assert [m["info"]["name"] for m in second["models"]] == ["gamma"]
    assert "next_page_token" not in second
    mismatched = search(client, project, {"experiment_ids": [exp], "max_results": 2,
                                          "filter": "name = 'x'", "page_token": token})
    assert mismatched.status_code == 400


def test_search_scope_and_validation(
    app: Flask, client: t.Any, project: Project, seeded: Seeded
) -> None:
    created(client, project, seeded, name="mine")
    foreign = seed_run(app, project.other_id)
    other = client.post(url(project.other_id, "logged-models"),
                        json={"experiment_id": str(foreign.experiment_iid), "name": "theirs"},
                        headers=project.headers("outsider"))
    assert other.status_code == 200
    # the same experiment number in another project is not searched
    same_iid = search(client, project, {"experiment_ids": [str(foreign.experiment_iid)]})
    assert [m["info"]["name"] for m in same_iid.get_json()["models"]] == ["mine"]
    empty = search(client, project, {"experiment_ids": []})
    assert empty.get_json() == {"models": []}
    cases: list[tuple[dict[str, t.Any], str]] = [
        ({}, "Missing value for required parameter 'experiment_ids'"),
        ({"experiment_ids": "1"}, "experiment_ids"),
        ({"experiment_ids": ["x"]}, "Invalid experiment ID"),
        ({"experiment_ids": ["1"], "filter": "name = "}, ""),
        ({"experiment_ids": ["1"], "filter": "foo.bar = 'x'"}, "Invalid entity type"),
        ({"experiment_ids": ["1"], "order_by": [{"field_name": "params.x"}]}, "order by"),
        ({"experiment_ids": ["1"], "order_by": ["name"]}, "order_by"),
        ({"experiment_ids": ["1"], "max_results": -1}, "max_results"),
        ({"experiment_ids": ["1"], "page_token": "%%%"}, "Invalid page token"),
        ({"experiment_ids": ["1"], "datasets": [{"dataset_digest": "x"}]}, "dataset_name"),
    ]
    for body, message in cases:
        response = search(client, project, body)
        assert response.status_code == 400, (body, response.get_json())
        assert response.get_json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert message in response.get_json()["message"], body


def test_search_statement_count_does_not_grow_with_rows(
    app: Flask, client: t.Any, project: Project, seeded: Seeded
) -> None:
    def count_statements() -> int:
        with app.app_context():
            engine = get_state(app).db.engine
        seen: list[str] = []

        def record(*args: t.Any) -> None:
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", record)
        try:
            response = search(client, project, {"experiment_ids": [str(seeded.experiment_iid)]})
            assert response.status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(seen)

    for _ in range(2):
        created(client, project, seeded, tags=[{"key": "t", "value": "1"}],
                params=[{"key": "p", "value": "1"}])
    few = count_statements()
    for _ in range(6):
        created(client, project, seeded, tags=[{"key": "t", "value": "1"}],
                params=[{"key": "p", "value": "1"}])
    assert count_statements() == few


# -- artifacts of a logged model --------------------------------------------------------------


def test_model_artifacts_upload_and_directory_listing(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    info = created(client, project, seeded, name="files")["info"]
    root = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
    dev = project.headers("developer")
    for path, data in (("MLmodel", b"flavors: {}"), ("data/model.pkl", b"\x80\x04")):
        response = client.put(artifacts_url(project.id, f"{root}/{path}"), data=data, headers=dev)
        assert response.status_code == 200
    listing_url = url(project.id, f"logged-models/{info['model_id']}/artifacts/directories")
    top = client.get(listing_url, headers=dev).get_json()
    assert top == {
        "root_uri": info["artifact_uri"],
        "files": [
            {"path": "MLmodel", "is_dir": False, "file_size": 11},
            {"path": "data", "is_dir": True},
        ],
    }
    sub = client.get(listing_url, query_string={"artifact_directory_path": "data"},
                     headers=dev).get_json()
    assert sub["files"] == [{"path": "data/model.pkl", "is_dir": False, "file_size": 2}]
    bad = client.get(listing_url, query_string={"artifact_directory_path": "../.."},
                     headers=dev)
    assert bad.status_code == 400

    client.delete(url(project.id, f"logged-models/{info['model_id']}"), headers=dev)
    refused = client.put(artifacts_url(project.id, f"{root}/late.txt"), data=b"x", headers=dev)
    assert refused.status_code == 400
    assert "logged model" in refused.get_json()["message"]


def test_nul_bytes_are_4xx_on_every_backend(
    client: t.Any, project: Project, seeded: Seeded
) -> None:
    """PostgreSQL cannot hold NUL in text: such input must be refused, never a 500."""
    dev = project.headers("developer")
    bodies: list[dict[str, t.Any]] = [
        {"name": "a\x00b"}, {"model_type": "t\x00"}, {"source_run_id": "r\x00"},
        {"params": [{"key": "k\x00", "value": "v"}]}, {"tags": [{"key": "k", "value": "\x00"}]},
    ]
    for body in bodies:
        response = create(client, project, seeded, **body)
        assert 400 <= response.status_code < 500, (body, response.get_json())
    model_id = created(client, project, seeded)["info"]["model_id"]
    requests = [
        client.get(url(project.id, "logged-models/m-%00"), headers=dev),
        client.delete(url(project.id, f"logged-models/{model_id}/tags/a%00b"), headers=dev),
        client.patch(url(project.id, f"logged-models/{model_id}/tags"),
                     json={"tags": [{"key": "a", "value": "\x00"}]}, headers=dev),
        client.post(url(project.id, f"logged-models/{model_id}/params"),
                    json={"params": [{"key": "a", "value": "\x00"}]}, headers=dev),
        search(client, project, {"experiment_ids": ["1"], "filter": "name = 'a\x00'"}),
        client.get(url(project.id, "artifacts/list"), query_string={"run_id": "r\x00"},
                   headers=dev),
    ]
    statuses = [r.status_code for r in requests]
    assert statuses == [400, 400, 400, 400, 400, 400]
    assert all(r.get_json()["error_code"] == "INVALID_PARAMETER_VALUE" for r in requests)
