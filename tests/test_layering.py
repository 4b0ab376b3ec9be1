"""Imports point one way: views -> schemas/permissions -> services -> models & co -> errors."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "flask_model_registry"

#: Top-level modules a layer may not import (relative to the package).
FORBIDDEN = {
    "services": {
        "mlflow",
        "api",
        "web",
        "permissions",
        "schemas",
        "extension",
        "state",
        "dispatch",
        "routing",
        "wire",
        "openapi",
        "cli",
    },
    "search": {"services", "mlflow", "api", "web", "permissions", "schemas", "extension", "state"},
    "artifacts": {
        "services",
        "mlflow",
        "api",
        "web",
        "permissions",
        "schemas",
        "extension",
        "state",
        "models",
        "search",
    },
    "database": {
        "services",
        "mlflow",
        "api",
        "web",
        "permissions",
        "schemas",
        "extension",
        "state",
        "dispatch",
        "routing",
        "wire",
        "openapi",
        "models",
    },
    "versioning": {"services", "mlflow", "api", "web", "models", "extension", "state"},
    "models": {"services", "mlflow", "api", "web", "permissions", "schemas", "extension"},
    "errors": {"services", "mlflow", "api", "web", "models", "config", "extension"},
    "config": {"services", "mlflow", "api", "web", "models", "errors", "extension"},
    "rules": {
        "services",
        "mlflow",
        "api",
        "web",
        "permissions",
        "schemas",
        "extension",
        "state",
        "models",
        "search",
    },
    "uris": {
        "services",
        "mlflow",
        "api",
        "web",
        "permissions",
        "schemas",
        "extension",
        "state",
        "models",
        "search",
    },
    # Request plumbing sits below the views: it knows no view package.
    "routing": {"mlflow", "api", "web", "openapi", "extension"},
    "dispatch": {"mlflow", "api", "web", "openapi", "extension", "routing", "wire"},
    "wire": {"mlflow", "api", "web", "openapi", "extension", "routing", "dispatch"},
}
HTTP_MODULES = {"flask", "werkzeug"}


def _layer_files(layer: str) -> list[pathlib.Path]:
    path = PACKAGE / layer
    return sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def _imports(path: pathlib.Path) -> set[str]:
    """Package-relative top-level modules and third-party roots imported by ``path``."""
    tree = ast.parse(path.read_text())
    package_parts = path.relative_to(PACKAGE).parts[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package_parts[: len(package_parts) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
                if target:
                    found.add(target[0])
                else:
                    found.update(alias.name for alias in node.names)
            elif node.module:
                parts = node.module.split(".")
                found.add(
                    parts[1] if parts[0] == "flask_model_registry" and len(parts) > 1 else parts[0]
                )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name.split(".")[0])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_down(layer: str) -> None:
    for path in _layer_files(layer):
        bad = _imports(path) & FORBIDDEN[layer]
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "layer", ["services", "search", "artifacts", "versioning", "models", "database"]
)
def test_domain_layers_know_no_http(layer: str) -> None:
    for path in _layer_files(layer):
        bad = _imports(path) & HTTP_MODULES
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"
