"""Artifact storage: where run and model-version files live, independent of HTTP."""

from __future__ import annotations

from flask_model_registry.artifacts.base import ArtifactStore, FileInfo, normalize_path
from flask_model_registry.artifacts.local import LocalArtifactStore

__all__ = ["ArtifactStore", "FileInfo", "LocalArtifactStore", "normalize_path"]
