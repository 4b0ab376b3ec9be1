"""The ``ModelRegistry`` Flask extension."""

from __future__ import annotations

import os
import typing as t

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from .artifacts import FileInfo, LocalArtifactStore
from .config import DEFAULTS, ConfigError, load_settings
from .database import sqlite
from .errors import HookMissing
from .state import EXTENSION_KEY, RegistryState, get_state

__all__ = ["ModelRegistry"]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


class ModelRegistry:
    """Add a model registry and an MLflow-compatible tracking API to a Flask app.

    .. code-block:: python

        registry = ModelRegistry(app, db=db)

        @registry.user_loader
        def load_user(): ...

    :param app: Call :meth:`init_app` on this app right away.
    :param db: The host's ``flask_sqlalchemy.SQLAlchemy``, for every app this registry is
        initialised on; by default each app's own registered one, or a new one the registry
        owns (SQLite under the app's instance folder). Per-app state, the database included,
        lives in ``app.extensions["model_registry"]``, so one object can serve several apps.
    :param options: Defaults for ``MODEL_REGISTRY_*`` keys, by lower-case name without the
        prefix (``artifact_root="/data"``); the app's config wins over them.
    """

    def __init__(
        self, app: Flask | None = None, *, db: SQLAlchemy | None = None, **options: t.Any
    ) -> None:
        unknown = [name for name in options if _config_key(name) not in DEFAULTS]
        if unknown:
            raise TypeError(f"Unknown ModelRegistry option(s): {', '.join(sorted(unknown))}.")
        self.db = db
        self.options = {_config_key(name): value for name, value in options.items()}
        self._user_loader: t.Callable[[], t.Any] | None = None
        self._project_access: t.Callable[[t.Any, int, str], bool] | None = None
        self._package_resolver: t.Callable[..., t.Any] | None = None
        self._package_url: t.Callable[[int, t.Any], str | None] | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read and validate configuration, then register models, blueprints and CLI on ``app``."""
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "A ModelRegistry is already registered on this app. Create one instance per app"
                " and call init_app once."
            )
        for key, default in DEFAULTS.items():
            app.config.setdefault(key, self.options.get(key, default))
        settings = load_settings(app.config, app.instance_path)
        owns_db = self.db is None and "sqlalchemy" not in app.extensions
        db = self._resolve_db(app)
        try:
            os.makedirs(settings.artifact_root, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"MODEL_REGISTRY_ARTIFACT_ROOT {settings.artifact_root!r} cannot be created: {exc}"
            ) from exc
        state = RegistryState(
            registry=self,
            settings=settings,
            db=db,
            artifact_store=LocalArtifactStore(settings.artifact_root),
        )
        app.extensions[EXTENSION_KEY] = state
        with app.app_context():
            sqlite.configure_engine(
                db.engine, busy_timeout=settings.sqlite_busy_timeout, owned=owns_db
            )

        from .api import make_blueprint as make_api_blueprint
        from .cli import model_registry_cli
        from .mlflow import make_blueprint as make_mlflow_blueprint
        from .openapi import register_openapi

        app.register_blueprint(make_mlflow_blueprint(state))
        app.register_blueprint(make_api_blueprint(state))
        register_openapi(app, state)
        if settings.enable_web:
            from .web import make_blueprint as make_web_blueprint

            app.register_blueprint(make_web_blueprint(state))
        app.cli.add_command(model_registry_cli)

    def _resolve_db(self, app: Flask) -> SQLAlchemy:
        """The ``SQLAlchemy`` serving ``app``; kept in the app's state, never on ``self``."""
        if self.db is not None:
            if "sqlalchemy" not in app.extensions:
                self.db.init_app(app)
            return self.db
        if "sqlalchemy" in app.extensions:
            return t.cast(SQLAlchemy, app.extensions["sqlalchemy"])
        os.makedirs(app.instance_path, exist_ok=True)
        app.config.setdefault(
            "SQLALCHEMY_DATABASE_URI",
            "sqlite:///" + os.path.join(app.instance_path, "model_registry.sqlite"),
        )
        db = SQLAlchemy()
        db.init_app(app)
        return db

    # Host hooks ------------------------------------------------------------------------------

    def user_loader(self, callback: F) -> F:
        """Register ``callback() -> user | None``: who is calling, from the current request."""
        self._user_loader = callback
        return callback

    def project_access(self, callback: F) -> F:
        """Register ``callback(user, project_id, permission) -> bool``.

        ``permission`` is one of ``read_model_experiments``, ``write_model_experiments``,
        ``read_model_registry`` and ``write_model_registry``. This is the only place where
        membership is decided.
        """
        self._project_access = callback
        return callback

    def package_resolver(self, callback: F) -> F:
        """Register ``callback(project_id, name, semver, *, deleted=False) -> package_id``.

        Called when a model version is created (find or create the host's package and return
        its id) and with ``deleted=True`` when the version is deleted.
        """
        self._package_resolver = callback
        return callback

    def package_url(self, callback: F) -> F:
        """Register ``callback(project_id, package_id) -> str | None``, a package page's URL."""
        self._package_url = callback
        return callback

    def _load_user(self) -> t.Any:
        if self._user_loader is None:
            raise HookMissing(_missing_hook("user_loader", "def load_user(): ..."))
        return self._user_loader()

    def _check_access(self, user: t.Any, project_id: int, permission: str) -> bool:
        if self._project_access is None:
            raise HookMissing(
                _missing_hook("project_access", "def can(user, project_id, permission): ...")
            )
        return bool(self._project_access(user, project_id, permission))

    def _resolve_package(self, project_id: int, name: str, semver: str) -> t.Any:
        if self._package_resolver is None:
            raise HookMissing(
                _missing_hook(
                    "package_resolver",
                    "def resolve(project_id, name, semver, *, deleted=False): ...",
                )
            )
        return self._package_resolver(project_id, name, semver)

    def _forget_package(self, project_id: int, name: str, semver: str) -> None:
        if self._package_resolver is None:
            raise HookMissing(
                _missing_hook(
                    "package_resolver",
                    "def resolve(project_id, name, semver, *, deleted=False): ...",
                )
            )
        self._package_resolver(project_id, name, semver, deleted=True)

    def _package_link(self, project_id: int, package_id: t.Any) -> str | None:
        if self._package_url is None or package_id is None:
            return None
        return self._package_url(project_id, package_id)

    # Host-facing helpers ----------------------------------------------------------------------

    def upgrade_database(self, revision: str = "head") -> None:
        """Create or upgrade the registry's tables (Alembic); needs an app context."""
        from .migrate import upgrade

        upgrade(get_state().db.engine, revision)

    def package_files(self, project_id: int, package_id: t.Any) -> list[FileInfo]:
        """Files of the model version linked to the host package ``package_id`` (or ``[]``)."""
        from .scope import make_context
        from .services import registry as registry_service

        return registry_service.package_files(make_context(project_id, None), package_id)


def _config_key(option: str) -> str:
    return "MODEL_REGISTRY_" + option.upper()


def _missing_hook(name: str, example: str) -> str:
    return (
        f"No {name} hook is registered on the ModelRegistry. Add one with"
        f" '@registry.{name}' on a function such as '{example}'."
    )
