"""Per-application state, kept in ``app.extensions["model_registry"]``."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from flask import Flask, current_app

from .config import Settings
from .hooks import Permission

if t.TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

    from .artifacts import ArtifactStore
    from .extension import ModelRegistry

__all__ = ["EXTENSION_KEY", "RegistryState", "get_state"]

EXTENSION_KEY = "model_registry"


@dataclass
class RegistryState:
    """Everything the registry needs for one application.

    ``init_app`` creates it and keeps it in ``app.extensions["model_registry"]``.
    """

    #: The extension object, shared by every app it is initialised on.
    registry: ModelRegistry
    #: The app's validated configuration.
    settings: Settings
    #: The ``SQLAlchemy`` whose engine holds the registry's tables for this app.
    db: SQLAlchemy
    #: Where run and model version files are stored.
    artifact_store: ArtifactStore
    #: Permission each registered endpoint requires; ``None`` marks a public endpoint.
    endpoint_permissions: dict[str, Permission | None] = field(default_factory=dict)


def get_state(app: Flask | None = None) -> RegistryState:
    """Return the registry state of ``app`` (default: the current app).

    :param app: The application to look in; the current app when ``None``, which needs an
        app context.
    :raises RuntimeError: The registry is not initialised on the app.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        state = app.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError(
            "The model registry is not initialised on this app: call"
            " ModelRegistry(app) or registry.init_app(app) first."
        ) from None
    return t.cast(RegistryState, state)
