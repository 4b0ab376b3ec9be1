"""Imports point one way: views -> schemas/permissions -> services -> models & co -> errors."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "flask_model_registry"

_VIEWS = {"mlflow", "api", "web"}
#: The request plumbing between the views and the domain.
_PLUMBING = {"dispatch", "routing", "wire", "openapi"}
#: Modules that know the app: only the views and the plumbing may import them.
_APP = {"permissions", "schemas", "extension", "state"}
#: Leaf modules know nothing of the domain, the app or HTTP.
_LEAF = {"services", *_VIEWS, *_APP, "models", "search"}

#: Top-level modules a layer may not import (relative to the package).
FORBIDDEN = {
    "services": {*_VIEWS, *_APP, *_PLUMBING, "cli"},
    "search": {"services", *_VIEWS, *_APP},
    "artifacts": _LEAF,
    "rules": _LEAF,
    "uris": _LEAF,
    "database": {"services", *_VIEWS, *_APP, *_PLUMBING, "models"},
    "versioning": {"services", *_VIEWS, "models", "extension", "state"},
    "models": {"services", *_VIEWS, "permissions", "schemas", "extension"},
    "errors": {"services", *_VIEWS, "models", "config", "extension"},
    "config": {"services", *_VIEWS, "models", "errors", "extension"},
    # Request plumbing sits below the views: it knows no view package.
    "routing": {*_VIEWS, "openapi", "extension"},
    "dispatch": {*_VIEWS, "openapi", "extension", "routing", "wire"},
    "wire": {*_VIEWS, "openapi", "extension", "routing", "dispatch"},
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
