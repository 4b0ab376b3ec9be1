"""A small host application that embeds ``flask_model_registry``.

It has users with passwords and personal access tokens, projects with members and roles, and
packages. The registry adds experiment tracking and a model registry to every project, an
MLflow-compatible API under ``/api/v4/projects/<id>/ml/mlflow`` and web pages under
``/projects/<id>/-/ml/``.

Quick start::

    flask --app example_app seed-demo
    flask --app example_app run
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

__all__ = ["DEV_SECRET_KEY", "create_app"]

#: Signs session cookies in development only. Set ``FLASK_SECRET_KEY`` (or pass ``SECRET_KEY``)
#: to a long random value for anything reachable by others.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"


def create_app(
    config: Mapping[str, Any] | None = None, *, instance_path: str | None = None
) -> Flask:
    """Build the host app.

    Configuration is layered: the defaults below, then ``FLASK_*`` environment variables
    (``FLASK_SECRET_KEY``, ``FLASK_SQLALCHEMY_DATABASE_URI``, ...), then ``config``.

    :param config: Settings that win over the defaults and the environment.
    :param instance_path: Absolute instance folder (SQLite database, artifacts); Flask's
        default ``instance/`` folder when omitted.
    """
    app = Flask(__name__, instance_path=instance_path)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(
        SECRET_KEY=DEV_SECRET_KEY,
        SQLALCHEMY_DATABASE_URI="sqlite:///" + os.path.join(app.instance_path, "example.sqlite"),
        SESSION_COOKIE_SAMESITE="Lax",
        MODEL_REGISTRY_BASE_TEMPLATE="layout.html",
        MODEL_REGISTRY_LOGIN_VIEW="auth.login",
    )
    app.config.from_prefixed_env()
    if config is not None:
        app.config.update(config)
    if app.config["SECRET_KEY"] == DEV_SECRET_KEY and not (app.debug or app.testing):
        app.logger.warning(
            "Using the development SECRET_KEY; set FLASK_SECRET_KEY before exposing this app."
        )

    from . import auth, views
    from .cli import register_cli
    from .models import configure_sqlite, db
    from .registry import registry

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    registry.init_app(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.after_request(auth.record_token_use)

    @app.context_processor
    def inject_session() -> dict[str, Any]:
        return {"session_user": auth.current_user(), "host_csrf_token": auth.csrf_token}

    register_cli(app)
    return app
