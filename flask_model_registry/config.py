"""Configuration keys, their defaults, and the frozen settings read once at ``init_app``."""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass

__all__ = ["DEFAULTS", "ConfigError", "Settings", "load_settings"]

#: Every ``MODEL_REGISTRY_*`` key with its default; ``None`` means "derived at init_app".
DEFAULTS: dict[str, t.Any] = {
    # URL rule of the MLflow-compatible API; must carry ``<int:project_id>``.
    "MODEL_REGISTRY_MLFLOW_PREFIX": "/api/v4/projects/<int:project_id>/ml/mlflow",
    # URL rule of the native JSON API.
    "MODEL_REGISTRY_API_PREFIX": "/api/v4/projects/<int:project_id>/ml",
    # URL rule of the web pages.
    "MODEL_REGISTRY_WEB_PREFIX": "/projects/<int:project_id>/-/ml",
    # Directory of the local artifact store; default ``<instance_path>/model-registry-artifacts``.
    "MODEL_REGISTRY_ARTIFACT_ROOT": None,
    # Largest artifact upload in bytes (streamed, so memory stays flat); 0 disables the cap.
    "MODEL_REGISTRY_MAX_ARTIFACT_BYTES": 5 * 1024**3,
    # Largest JSON request body in bytes.
    "MODEL_REGISTRY_MAX_JSON_BYTES": 16 * 1024**2,
    # Values longer than MLflow's limits (param 6000, tag 8000) are truncated as MLflow does;
    # False rejects them instead.
    "MODEL_REGISTRY_TRUNCATE_LONG_VALUES": True,
    # SQLite busy timeout (seconds) set on engines the registry configures.
    "MODEL_REGISTRY_SQLITE_BUSY_TIMEOUT": 30.0,
    # Template the web pages extend; the host points it at its own layout.
    "MODEL_REGISTRY_BASE_TEMPLATE": "model_registry/base.html",
    # Endpoint name of the host's login view; pages redirect anonymous users there.
    "MODEL_REGISTRY_LOGIN_VIEW": None,
    # Whether the web pages are registered at all.
    "MODEL_REGISTRY_ENABLE_WEB": True,
}


class ConfigError(ValueError):
    """A ``MODEL_REGISTRY_*`` value is unusable."""


@dataclass(frozen=True)
class Settings:
    """Validated configuration of one application, kept in its
    :class:`~flask_model_registry.state.RegistryState`.

    Each field holds the key of the same name, upper-cased and prefixed with
    ``MODEL_REGISTRY_`` (``mlflow_prefix`` is ``MODEL_REGISTRY_MLFLOW_PREFIX``), after
    validation: prefixes lose a trailing ``/``, ``artifact_root`` is absolute and
    ``max_artifact_bytes`` is ``None`` for no cap.
    """

    mlflow_prefix: str
    api_prefix: str
    web_prefix: str
    artifact_root: str
    max_artifact_bytes: int | None
    max_json_bytes: int
    truncate_long_values: bool
    sqlite_busy_timeout: float
    base_template: str
    login_view: str | None
    enable_web: bool


def _prefix(config: t.Mapping[str, t.Any], key: str) -> str:
    value = config[key]
    if not isinstance(value, str) or not value.startswith("/"):
        raise ConfigError(f"{key} must be a URL rule starting with '/', got {value!r}.")
    if "<int:project_id>" not in value:
        raise ConfigError(f"{key} must contain '<int:project_id>', got {value!r}.")
    return value.rstrip("/")


def _int(config: t.Mapping[str, t.Any], key: str, *, minimum: int) -> int:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key} must be an integer >= {minimum}, got {value!r}.")
    return value


def _bool(config: t.Mapping[str, t.Any], key: str) -> bool:
    value = config[key]
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be True or False, got {value!r}.")
    return value


def load_settings(config: t.Mapping[str, t.Any], instance_path: str) -> Settings:
    """Validate the ``MODEL_REGISTRY_*`` keys of ``config`` and return frozen settings.

    :param config: A mapping holding every key of :data:`DEFAULTS`, usually ``app.config``
        after ``init_app`` filled in the missing ones.
    :param instance_path: The app's instance folder, under which the default artifact
        directory is.
    :raises ConfigError: A value is unusable; the message names the key.
    """
    root = config["MODEL_REGISTRY_ARTIFACT_ROOT"]
    if root is None:
        root = os.path.join(instance_path, "model-registry-artifacts")
    if not isinstance(root, (str, os.PathLike)) or not str(root):
        raise ConfigError(f"MODEL_REGISTRY_ARTIFACT_ROOT must be a directory path, got {root!r}.")
    timeout = config["MODEL_REGISTRY_SQLITE_BUSY_TIMEOUT"]
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise ConfigError(
            f"MODEL_REGISTRY_SQLITE_BUSY_TIMEOUT must be a number of seconds, got {timeout!r}."
        )
    template = config["MODEL_REGISTRY_BASE_TEMPLATE"]
    if not isinstance(template, str) or not template:
        raise ConfigError(
            f"MODEL_REGISTRY_BASE_TEMPLATE must be a template name, got {template!r}."
        )
    login_view = config["MODEL_REGISTRY_LOGIN_VIEW"]
    if login_view is not None and not isinstance(login_view, str):
        raise ConfigError(
            f"MODEL_REGISTRY_LOGIN_VIEW must be an endpoint name, got {login_view!r}."
        )
    max_artifact = _int(config, "MODEL_REGISTRY_MAX_ARTIFACT_BYTES", minimum=0)
    return Settings(
        mlflow_prefix=_prefix(config, "MODEL_REGISTRY_MLFLOW_PREFIX"),
        api_prefix=_prefix(config, "MODEL_REGISTRY_API_PREFIX"),
        web_prefix=_prefix(config, "MODEL_REGISTRY_WEB_PREFIX"),
        artifact_root=os.path.abspath(os.fspath(root)),
        max_artifact_bytes=max_artifact or None,
        max_json_bytes=_int(config, "MODEL_REGISTRY_MAX_JSON_BYTES", minimum=1024),
        truncate_long_values=_bool(config, "MODEL_REGISTRY_TRUNCATE_LONG_VALUES"),
        sqlite_busy_timeout=float(timeout),
        base_template=template,
        login_view=login_view,
        enable_web=_bool(config, "MODEL_REGISTRY_ENABLE_WEB"),
    )
