"""Every MLflow endpoint the client calls for our supported workflows is in the route table,
with the client's exact method and path (read from the installed client's own descriptors)."""

from __future__ import annotations

import re

import pytest
from mlflow.protos.mlflow_artifacts_pb2 import MlflowArtifactsService
from mlflow.protos.model_registry_pb2 import ModelRegistryService
from mlflow.protos.service_pb2 import MlflowService
from mlflow.utils.rest_utils import extract_all_api_info_for_service

from flask_model_registry.mlflow.routes import ROUTES

#: The RPCs of the tracking, logged-model, registry and artifact workflows we serve.
SUPPORTED = {
    MlflowService: [
        "CreateExperiment",
        "GetExperiment",
        "GetExperimentByName",
        "SearchExperiments",
        "UpdateExperiment",
        "DeleteExperiment",
        "RestoreExperiment",
        "SetExperimentTag",
        "DeleteExperimentTag",
        "CreateRun",
        "GetRun",
        "UpdateRun",
        "DeleteRun",
        "RestoreRun",
        "LogMetric",
        "LogParam",
        "SetTag",
        "DeleteTag",
        "LogBatch",
        "LogInputs",
        "LogOutputs",
        "SearchRuns",
        "GetMetricHistory",
        "GetMetricHistoryBulkInterval",
        "ListArtifacts",
        "CreateLoggedModel",
        "GetLoggedModel",
        "FinalizeLoggedModel",
        "DeleteLoggedModel",
        "SearchLoggedModels",
        "SetLoggedModelTags",
        "DeleteLoggedModelTag",
        "LogLoggedModelParamsRequest",
        "ListLoggedModelArtifacts",
    ],
    ModelRegistryService: [
        "CreateRegisteredModel",
        "RenameRegisteredModel",
        "UpdateRegisteredModel",
        "DeleteRegisteredModel",
        "GetRegisteredModel",
        "SearchRegisteredModels",
        "GetLatestVersions",
        "SetRegisteredModelTag",
        "DeleteRegisteredModelTag",
        "SetRegisteredModelAlias",
        "DeleteRegisteredModelAlias",
        "GetModelVersionByAlias",
        "CreateModelVersion",
        "UpdateModelVersion",
        "TransitionModelVersionStage",
        "DeleteModelVersion",
        "GetModelVersion",
        "SearchModelVersions",
        "GetModelVersionDownloadUri",
        "SetModelVersionTag",
        "DeleteModelVersionTag",
    ],
    MlflowArtifactsService: [
        "DownloadArtifact",
        "UploadArtifact",
        "ListArtifacts",
        "DeleteArtifact",
    ],
}


def _client_endpoints() -> list[tuple[str, str, str]]:
    endpoints = []
    for service, names in SUPPORTED.items():
        prefix = "/api/2.0"
        info = {
            cls.__name__: calls
            for cls, calls in extract_all_api_info_for_service(service, prefix).items()
        }
        for name in names:
            assert name in info, f"{name} is not an RPC of {service}"
            for path, method in info[name]:
                endpoints.append((name, method, path))
    return endpoints


def _our_endpoints() -> set[tuple[str, str]]:
    ours: set[tuple[str, str]] = set()
    for route in ROUTES:
        rule = route.rules[0]
        ours.update((method, re.sub(r"<(?:path:)?\w+>", "{}", rule)) for method in route.methods)
    return ours


@pytest.mark.parametrize(("rpc", "method", "path"), _client_endpoints())
def test_client_endpoint_is_routed(rpc: str, method: str, path: str) -> None:
    normalized = re.sub(r"\{\w+\}|<(?:path:)?\w+>", "{}", path)
    assert (method, normalized) in _our_endpoints(), f"{rpc}: {method} {path} is not routed"


def test_every_route_has_a_view_and_a_unique_rule() -> None:
    seen = set()
    for route in ROUTES:
        assert callable(route.view), route.view
        for method in route.methods:
            key = (method, route.rules[0])
            assert key not in seen, key
            seen.add(key)
