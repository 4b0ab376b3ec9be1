"""A model registry and an MLflow-compatible tracking server for any Flask application."""

from __future__ import annotations

from .errors import (
    AlreadyExists,
    InvalidParameter,
    NotFound,
    PermissionDenied,
    RegistryError,
    Unauthenticated,
)
from .extension import ModelRegistry
from .hooks import Permission

__version__ = "0.1.0"

__all__ = [
    "AlreadyExists",
    "InvalidParameter",
    "ModelRegistry",
    "NotFound",
    "Permission",
    "PermissionDenied",
    "RegistryError",
    "Unauthenticated",
]
