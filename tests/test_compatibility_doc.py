"""``docs/mlflow-compatibility.md`` lists every MLflow endpoint and tells the truth about it."""

from __future__ import annotations

import pathlib
import re

from mlflow.protos.mlflow_artifacts_pb2 import MlflowArtifactsService
from mlflow.protos.model_registry_pb2 import ModelRegistryService
from mlflow.protos.service_pb2 import MlflowService
from mlflow.protos.webhooks_pb2 import WebhookService
from mlflow.utils.rest_utils import extract_all_api_info_for_service

from flask_model_registry.mlflow.routes import ROUTES

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "mlflow-compatibility.md"
ROW = re.compile(r"^\| (\w+) \| (\w+) \| `([^`]+)` \| (supported|not supported) \|$", re.M)


def _normalize(path: str) -> str:
    return re.sub(r"\{\w+\}|<(?:path:)?\w+>", "{}", path)


def test_doc_lists_every_endpoint_with_its_true_status() -> None:
    rows = {(m, _normalize(p)): status for _, m, p, status in ROW.findall(DOC.read_text())}
    ours = {(method, _normalize(r.rules[0])) for r in ROUTES for method in r.methods}
    for service in (MlflowService, ModelRegistryService, MlflowArtifactsService, WebhookService):
        for calls in extract_all_api_info_for_service(service, "/api/2.0").values():
            for path, method in calls:
                key = (method, _normalize(path))
                assert key in rows, f"{method} {path} is missing from the doc"
                expected = "supported" if key in ours else "not supported"
                assert rows[key] == expected, f"{method} {path} is documented as {rows[key]}"
