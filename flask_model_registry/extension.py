"""The ``ModelRegistry`` Flask extension."""

from __future__ import annotations

import os
import typing as t

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from .artifacts import FileInfo, LocalArtifactStore
from .config import DEFAULTS, ConfigError, load_settings
from .database import sqlite
from .hooks import (
    HostHooks,
    PackageResolverT,
    PackageUrlT,
    ProjectAccessT,
    UserLoaderT,
)
from .state import EXTENSION_KEY, RegistryState, get_state

__all__ = ["ModelRegistry"]

class ModelRegistry:
    """Add a model registry and an MLflow-compatible tracking API to a Flask app.

    .. code-block:: python

        registry = ModelRegistry(app, db=db)

        @registry.user_loader
        def load_user(): ...

    :param app: The Flask application to initialise right away with :meth:`init_app`; leave
        it out to call :meth:`init_app` later (the application factory pattern).
    :param db: The host's ``flask_sqlalchemy.SQLAlchemy``, for every app this registry is
        initialised on; by default each app's own registered one, or a new one the registry
        owns (SQLite under the app's instance folder). Per-app state, the database included,
        lives in ``app.extensions["model_registry"]``, so one object can serve several apps.
    :param options: Defaults for ``MODEL_REGISTRY_*`` keys, by lower-case name without the
        prefix (``artifact_root="/data"``); the app's config wins over them.
    :raises TypeError: An option names no ``MODEL_REGISTRY_*`` key.
    """

    def __init__(
        self, app: Flask | None = None, *, db: SQLAlchemy | None = None, **options: t.Any
    ) -> None:
        unknown = [name for name in options if _config_key(name) not in DEFAULTS]
        if unknown:
            raise TypeError(f"Unknown ModelRegistry option(s): {', '.join(sorted(unknown))}.")
        #: The ``SQLAlchemy`` given to the constructor, or ``None``; never changed by an app.
        self.db = db
        #: The constructor's options as ``MODEL_REGISTRY_*`` keys and their values.
        self.options = {_config_key(name): value for name, value in options.items()}
        #: The host's callbacks, filled by the decorators below; the same for every app.
        self.hooks = HostHooks()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read and validate configuration, then register models, blueprints and CLI on ``app``.

        Sets every missing ``MODEL_REGISTRY_*`` key of ``app.config`` to the constructor's
        option or its default, creates the artifact directory, configures a SQLite engine and
        registers the MLflow API, the native API, the OpenAPI document, the web pages (unless
        ``MODEL_REGISTRY_ENABLE_WEB`` is false) and the ``flask model-registry`` commands.

        :param app: The Flask application to serve. Call once per app; one registry may be
            initialised on several apps.
        :raises ~flask_model_registry.config.ConfigError: A ``MODEL_REGISTRY_*`` value is
            unusable, or the artifact directory cannot be created.
        :raises RuntimeError: A registry is already initialised on ``app``.
        """
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

    def user_loader(self, callback: UserLoaderT) -> UserLoaderT:
        """Register ``callback() -> user | None``: who is calling, from the current request.

        Called at most once per request, before the view runs. The registry records the
        user's ``username`` or ``name`` attribute, or ``str(user)``, as MLflow's ``user_id``.

        :param callback: A function of no argument returning the calling user, or ``None``
            for an anonymous caller (see :class:`~flask_model_registry.hooks.UserLoader`).
        :return: ``callback`` unchanged, so this works as a decorator.
        """
        self.hooks.user_loader = callback
        return callback

    def project_access(self, callback: ProjectAccessT) -> ProjectAccessT:
        """Register ``callback(user, project_id, permission) -> bool``.

        ``permission`` is a :class:`~flask_model_registry.Permission` (a ``str`` enum):
        ``read_model_experiments``, ``write_model_experiments``, ``read_model_registry`` or
        ``write_model_registry``. This is the only place where membership is decided.

        :param callback: A function taking the user from the ``user_loader`` (``None`` when
            anonymous), the project id and the permission, returning whether the user holds
            it; a ``write_*`` permission must imply its ``read_*`` counterpart (see
            :class:`~flask_model_registry.hooks.ProjectAccess`).
        :return: ``callback`` unchanged, so this works as a decorator.
        """
        self.hooks.project_access = callback
        return callback

    def package_resolver(self, callback: PackageResolverT) -> PackageResolverT:
        """Register ``callback(project_id, name, semver, *, deleted=False) -> package_id``.

        Called when a model version is created (find or create the host's package and return
        its id) and with ``deleted=True`` when the version is deleted.

        :param callback: A function taking the project id, the registered model's name, the
            version's semantic version and the keyword ``deleted``, returning the package id
            (an ``int`` or ``str``). It runs inside the registry's transaction: it may add and
            flush, but must not commit (see
            :class:`~flask_model_registry.hooks.PackageResolver`).
        :return: ``callback`` unchanged, so this works as a decorator.
        """
        self.hooks.package_resolver = callback
        return callback

    def package_url(self, callback: PackageUrlT) -> PackageUrlT:
        """Register ``callback(project_id, package_id) -> str | None``, a package page's URL.

        Optional: the model version page links to the URL it returns.

        :param callback: A function taking the project id and the id the ``package_resolver``
            returned, returning the URL of the host's page of that package, or ``None`` (see
            :class:`~flask_model_registry.hooks.PackageUrl`).
        :return: ``callback`` unchanged, so this works as a decorator.
        """
        self.hooks.package_page = callback
        return callback

    # Host-facing helpers ----------------------------------------------------------------------

    def upgrade_database(self, revision: str = "head") -> None:
        """Create the registry's tables or upgrade them to ``revision``: what
        ``flask model-registry db upgrade`` runs, for a host's own deploy step or tests.

        The registry's Alembic migrations run in its own version table,
        ``ml_alembic_version``, on the current app's database. Call it inside an app context
        of an app this registry is initialised on (no request needed), once per deploy rather
        than in every worker::

            with app.app_context():
                registry.upgrade_database()

        :param revision: The Alembic revision to reach: ``"head"`` (the default, the newest
            shipped) or a revision id such as ``"0001"``.
        :raises RuntimeError: Outside an app context, or on an app this registry is not
            initialised on.
        """
        from .migrate import upgrade

        upgrade(get_state().db.engine, revision)

    def package_files(self, project_id: int, package_id: t.Any) -> list[FileInfo]:
        """Files of the model version linked to the host package ``package_id`` (or ``[]``).

        Needs an app context. No permission is checked: the host asks for its own package.

        :param project_id: The project the package belongs to.
        :param package_id: The id the ``package_resolver`` returned for the version.
        :return: Every file stored with the version, with paths relative to the version's
            root; ``[]`` when no version is linked to the package.
        """
        from .dispatch import make_context
        from .services import registry as registry_service

        return registry_service.package_files(make_context(project_id, None), package_id)


def _config_key(option: str) -> str:
    return "MODEL_REGISTRY_" + option.upper()
