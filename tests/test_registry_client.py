"""Every ``MlflowClient`` registry method against a live server: each test writes through the
real client and reads back what it wrote."""

from __future__ import annotations

import typing as t

import pytest

from tests.test_registry_helpers import SEMVER_TAG

pytestmark = pytest.mark.live


@pytest.fixture
def client(mlflow_env: str) -> t.Any:
    from mlflow import MlflowClient

    return MlflowClient()


@pytest.fixture
def run_id(client: t.Any) -> str:
    return str(client.create_run("0").info.run_id)


def _error(call: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as raised:
        call(*args, **kwargs)
    return raised.value


def test_create_get_update_registered_model(client: t.Any) -> None:
    created = client.create_registered_model("fraud", tags={"team": "risk"}, description="v0")
    assert (created.name, created.description, created.tags) == ("fraud", "v0", {"team": "risk"})

    client.update_registered_model("fraud", description="detects fraud")

    model = client.get_registered_model("fraud")
    assert (model.name, model.description, model.tags) == (
        "fraud",
        "detects fraud",
        {"team": "risk"},
    )
    assert model.creation_timestamp <= model.last_updated_timestamp
    duplicate = _error(client.create_registered_model, "fraud")
    assert duplicate.error_code == "RESOURCE_ALREADY_EXISTS"


def test_creating_a_model_creates_its_default_experiment(client: t.Any) -> None:
    client.create_registered_model("fraud")
    experiment = client.get_experiment_by_name("fraud")
    assert experiment is not None
    assert experiment.lifecycle_stage == "active"


def test_creating_a_model_adopts_an_experiment_of_the_same_name(client: t.Any) -> None:
    experiment_id = client.create_experiment("churn")
    client.create_registered_model("churn")
    assert client.get_experiment_by_name("churn").experiment_id == experiment_id


def test_rename_registered_model(client: t.Any, run_id: str) -> None:
    client.create_registered_model("fraud")
    client.create_model_version("fraud", f"runs:/{run_id}/model", run_id=run_id)

    client.rename_registered_model("fraud", "fraud-detector")

    assert client.get_registered_model("fraud-detector").name == "fraud-detector"
    assert client.get_model_version("fraud-detector", "1").name == "fraud-detector"
    assert _error(client.get_registered_model, "fraud").error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_experiment_by_name("fraud-detector") is not None
    assert client.get_experiment_by_name("fraud") is None


def test_rename_to_a_taken_name_is_refused(client: t.Any) -> None:
    client.create_registered_model("a")
    client.create_registered_model("b")
    assert _error(client.rename_registered_model, "a", "b").error_code == "RESOURCE_ALREADY_EXISTS"
    client.create_experiment("c")
    refused = _error(client.rename_registered_model, "a", "c")
    assert refused.error_code == "RESOURCE_ALREADY_EXISTS"
    assert "experiment named 'c'" in refused.message
    assert client.get_registered_model("a").name == "a"


def test_registered_model_tags(client: t.Any) -> None:
    client.create_registered_model("fraud")
    client.set_registered_model_tag("fraud", "team", "risk")
    client.set_registered_model_tag("fraud", "stage", "beta")
    client.set_registered_model_tag("fraud", "stage", "ga")
    assert client.get_registered_model("fraud").tags == {"team": "risk", "stage": "ga"}

    client.delete_registered_model_tag("fraud", "team")

    assert client.get_registered_model("fraud").tags == {"stage": "ga"}


def test_create_get_update_model_version(client: t.Any, run_id: str) -> None:
    client.create_registered_model("fraud")
    created = client.create_model_version(
        "fraud", f"runs:/{run_id}/model", run_id=run_id, tags={"data": "2024"}, description="first"
    )
    assert (created.version, created.status, created.current_stage) == ("1", "READY", "None")

    client.update_model_version("fraud", "1", description="first, reviewed")

    version = client.get_model_version("fraud", "1")
    assert version.source == f"runs:/{run_id}/model"
    assert version.run_id == run_id
    assert version.description == "first, reviewed"
    assert version.tags == {"data": "2024", SEMVER_TAG: "1.0.0"}
    assert client.get_registered_model("fraud").latest_versions[0].version == "1"


def test_model_version_tags(client: t.Any, run_id: str) -> None:
    client.create_registered_model("fraud")
    client.create_model_version("fraud", f"runs:/{run_id}/model", run_id=run_id)
    client.set_model_version_tag("fraud", "1", "reviewed", "yes")
    assert client.get_model_version("fraud", "1").tags == {"reviewed": "yes", SEMVER_TAG: "1.0.0"}

    client.delete_model_version_tag("fraud", "1", "reviewed")

    assert client.get_model_version("fraud", "1").tags == {SEMVER_TAG: "1.0.0"}
    refused = _error(client.set_model_version_tag, "fraud", "1", SEMVER_TAG, "9.9.9")
    assert refused.error_code == "INVALID_PARAMETER_VALUE"
    refused = _error(client.delete_model_version_tag, "fraud", "1", SEMVER_TAG)
    assert refused.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_model_version("fraud", "1").tags == {SEMVER_TAG: "1.0.0"}


def test_aliases(client: t.Any, run_id: str) -> None:
    client.create_registered_model("fraud")
    for _ in range(2):
        client.create_model_version("fraud", f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias("fraud", "champion", "1")
    client.set_registered_model_alias("fraud", "challenger", "2")
    client.set_registered_model_alias("fraud", "champion", "2")

    assert client.get_model_version_by_alias("fraud", "champion").version == "2"
    assert client.get_registered_model("fraud").aliases == {"champion": "2", "challenger": "2"}
    assert sorted(client.get_model_version("fraud", "2").aliases) == ["challenger", "champion"]

    client.delete_registered_model_alias("fraud", "challenger")

    assert client.get_registered_model("fraud").aliases == {"champion": "2"}
    missing = _error(client.get_model_version_by_alias, "fraud", "challenger")
    assert missing.error_code == "INVALID_PARAMETER_VALUE"
    for reserved in ("latest", "v1", "1"):
        refused = _error(client.set_registered_model_alias, "fraud", reserved, "1")
        assert refused.error_code == "INVALID_PARAMETER_VALUE", reserved


def test_transition_stage_and_latest_versions_per_stage(client: t.Any, run_id: str) -> None:
    client.create_registered_model("fraud")
    for _ in range(3):
        client.create_model_version("fraud", f"runs:/{run_id}/model", run_id=run_id)

    moved = client.transition_model_version_stage("fraud", "1", "staging")
    assert moved.current_stage == "Staging"
    client.transition_model_version_stage("fraud", "2", "Production")
    client.transition_model_version_stage(
        "fraud", "3", "Production", archive_existing_versions=True
    )

    stages = {v: client.get_model_version("fraud", v).current_stage for v in ("1", "2", "3")}
    assert stages == {"1": "Staging", "2": "Archived", "3": "Production"}
    latest = client.get_latest_versions("fraud", stages=["Staging", "Production"])
    assert [(v.version, v.current_stage) for v in latest] == [("1", "Staging"), ("3", "Production")]
    per_stage = client.get_registered_model("fraud").latest_versions
    assert sorted((v.current_stage, v.version) for v in per_stage) == [
        ("Archived", "2"),
        ("Production", "3"),
        ("Staging", "1"),
    ]
    refused = _error(client.transition_model_version_stage, "fraud", "1", "None", True)
    assert refused.error_code == "INVALID_PARAMETER_VALUE"
    assert _error(client.transition_model_version_stage, "fraud", "1", "Gold").error_code == (
        "INVALID_PARAMETER_VALUE"
    )


def test_download_uri_of_a_run_source(client: t.Any, run_id: str) -> None:
    client.create_registered_model("fraud")
    client.create_model_version("fraud", f"runs:/{run_id}/model", run_id=run_id)
    run = client.get_run(run_id)
    uri = client.get_model_version_download_uri("fraud", "1")
    assert uri == run.info.artifact_uri + "/model"


def test_search_registered_models_filters_orders_and_pages(client: t.Any) -> None:
    for name in ("fraud-b", "fraud-a", "churn", "fraud-c"):
        client.create_registered_model(name, tags={"kind": "fraud" if "fraud" in name else "x"})
    client.set_registered_model_tag("fraud-c", "kind", "other")

    found = client.search_registered_models(filter_string="name LIKE 'fraud%'")
    assert [m.name for m in found] == ["fraud-a", "fraud-b", "fraud-c"]
    tagged = client.search_registered_models(filter_string="tags.kind = 'fraud'")
    assert [m.name for m in tagged] == ["fraud-a", "fraud-b"]
    ordered = client.search_registered_models(order_by=["name DESC"])
    assert [m.name for m in ordered] == ["fraud-c", "fraud-b", "fraud-a", "churn"]

    first = client.search_registered_models(max_results=2)
    second = client.search_registered_models(max_results=2, page_token=first.token)
    assert [m.name for m in first] + [m.name for m in second] == [
        "churn",
        "fraud-a",
        "fraud-b",
        "fraud-c",
    ]
    assert first.token
    assert not second.token


def test_search_model_versions_filters_orders_and_pages(client: t.Any, run_id: str) -> None:
    other_run = str(client.create_run("0").info.run_id)
    client.create_registered_model("fraud")
    client.create_registered_model("churn")
    for name, run in (
        ("fraud", run_id),
        ("fraud", other_run),
        ("churn", run_id),
        ("fraud", run_id),
    ):
        client.create_model_version(name, f"runs:/{run}/model", run_id=run)
    client.set_model_version_tag("fraud", "2", "reviewed", "yes")

    fraud = client.search_model_versions("name = 'fraud'", order_by=["version_number ASC"])
    assert [v.version for v in fraud] == ["1", "2", "3"]
    by_run = client.search_model_versions(f"run_id = '{other_run}'")
    assert [(v.name, v.version) for v in by_run] == [("fraud", "2")]
    by_tag = client.search_model_versions("tags.reviewed = 'yes'")
    assert [(v.name, v.version) for v in by_tag] == [("fraud", "2")]
    by_semver = client.search_model_versions(f"tags.`{SEMVER_TAG}` = '1.0.1'")
    assert [(v.name, v.version) for v in by_semver] == [("fraud", "2")]
    by_source = client.search_model_versions(f"source_path = 'runs:/{other_run}/model'")
    assert [(v.name, v.version) for v in by_source] == [("fraud", "2")]
    numbered = client.search_model_versions("name = 'fraud' AND version_number >= 2")
    assert sorted(v.version for v in numbered) == ["2", "3"]

    first = client.search_model_versions(
        "name='fraud'", max_results=2, order_by=["version_number DESC"]
    )
    second = client.search_model_versions(
        "name='fraud'", max_results=2, order_by=["version_number DESC"], page_token=first.token
    )
    assert [v.version for v in first] + [v.version for v in second] == ["3", "2", "1"]


def test_delete_model_version_and_registered_model(client: t.Any, run_id: str) -> None:
    client.create_registered_model("fraud")
    for _ in range(2):
        client.create_model_version("fraud", f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias("fraud", "champion", "2")

    client.delete_model_version("fraud", "2")

    assert _error(client.get_model_version, "fraud", "2").error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_registered_model("fraud").aliases == {}
    assert [v.version for v in client.search_model_versions("name='fraud'")] == ["1"]
    # numbers are never reused, semvers are bumped from what exists
    third = client.create_model_version("fraud", f"runs:/{run_id}/model", run_id=run_id)
    assert (third.version, third.tags[SEMVER_TAG]) == ("3", "1.0.1")

    client.delete_registered_model("fraud")

    assert _error(client.get_registered_model, "fraud").error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_model_versions("name='fraud'") == []
    assert client.get_experiment_by_name("fraud") is not None  # the candidates stay


def test_create_model_version_refuses_bad_sources(client: t.Any, run_id: str) -> None:
    client.create_registered_model("fraud")
    other_run = str(client.create_run("0").info.run_id)
    cases = [
        (f"runs:/{other_run}/model", {"run_id": run_id}, "INVALID_PARAMETER_VALUE"),
        (f"runs:/{run_id}/../../secrets", {"run_id": run_id}, "INVALID_PARAMETER_VALUE"),
        ("/tmp/model", {"run_id": run_id}, "INVALID_PARAMETER_VALUE"),
        ("models:/m-0123456789abcdef0123456789abcdef", {}, "INVALID_PARAMETER_VALUE"),
        (
            "runs:/0123456789abcdef0123456789abcdef/model",
            {"run_id": "0123456789abcdef0123456789abcdef"},
            "RESOURCE_DOES_NOT_EXIST",
        ),
    ]
    for source, kwargs, code in cases:
        assert _error(client.create_model_version, "fraud", source, **kwargs).error_code == code
    assert client.search_model_versions("name='fraud'") == []
