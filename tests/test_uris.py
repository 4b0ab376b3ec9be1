"""Parsing of the URIs the server reads and hands out."""

from __future__ import annotations

import pytest

from flask_model_registry import uris


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("mlflow-artifacts:/1/2/run/artifacts", "1/2/run/artifacts"),
        ("mlflow-artifacts:///1/a%20b", "1/a%20b"),
        ("mlflow-artifacts://host/1/a", None),
        ("mlflow-artifacts:/1/a?x=1", None),
        ("s3://bucket/1/a", None),
        ("runs:/abc/model", None),
    ],
)
def test_artifact_path(uri: str, path: str | None) -> None:
    assert uris.artifact_path(uri) == path
    assert uris.is_artifact_uri(uri) == (path is not None)


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        ("runs:/abc/model", ("abc", "model")),
        ("runs:/abc/model/sub/", ("abc", "model/sub")),
        ("runs:/abc", ("abc", "")),
        ("runs:///abc/x", ("abc", "x")),
        ("runs://host/abc/x", None),
        ("runs:/", None),
        ("models:/fraud/1", None),
    ],
)
def test_parse_runs_uri(uri: str, parsed: tuple[str, str] | None) -> None:
    assert uris.parse_runs_uri(uri) == parsed


def test_run_location() -> None:
    assert uris.run_location("mlflow-artifacts:/1/2/r/artifacts/", "model") == (
        "mlflow-artifacts:/1/2/r/artifacts/model"
    )
    assert uris.run_location("mlflow-artifacts:/1/2/r/artifacts", "") == (
        "mlflow-artifacts:/1/2/r/artifacts"
    )


def test_within() -> None:
    root = "mlflow-artifacts:/1/2/r/artifacts"
    assert uris.within(root + "/model", root)
    assert uris.within("MLFLOW-ARTIFACTS:/1/2/r/artifacts/a%20b", root)
    assert not uris.within("mlflow-artifacts:/1/2/r/other", root)
    assert not uris.within(root, "mlflow-artifacts:/")


@pytest.mark.parametrize(
    ("uri", "reference"),
    [
        ("models:/fraud/3", ("fraud", "3", None)),
        ("models:/fraud/Production", ("fraud", "Production", None)),
        ("models:/fraud@champion", ("fraud", None, "champion")),
        ("models:/fraud", ("", None, "fraud")),
    ],
)
def test_registered_model_reference(uri: str, reference: tuple[str | None, ...]) -> None:
    assert uris.registered_model_reference(uri) == reference
