"""The model registry embedded in this host, and the four hooks that tie it to the host."""

from __future__ import annotations

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from flask_model_registry import ModelRegistry

from .access import project_access
from .auth import Caller, load_request_user
from .models import ML_MODEL_PACKAGE_TYPE, Package, User, db

__all__ = ["load_user", "mlflow_tracking_uri", "package_url", "registry", "resolve_package"]

registry = ModelRegistry(db=db)


@registry.user_loader
def load_user() -> User | Caller | None:
    """Token headers for API clients, the login session for the web pages."""
    return load_request_user()


# Membership and visibility decide everything; see access.project_access.
registry.project_access(project_access)


def _find_package(project_id: int, name: str, semver: str) -> Package | None:
    return db.session.execute(
        select(Package).where(
            Package.project_id == project_id,
            Package.name == name,
            Package.version == semver,
            Package.package_type == ML_MODEL_PACKAGE_TYPE,
        )
    ).scalar_one_or_none()


@registry.package_resolver
def resolve_package(
    project_id: int, name: str, semver: str, *, deleted: bool = False
) -> int | None:
    """Find or create the ``ml_model`` package of a model version; delete it with the version.

    Runs inside the registry's transaction (the registry commits), so it only flushes.
    """
    package = _find_package(project_id, name, semver)
    if deleted:
        if package is not None:
            db.session.delete(package)
            db.session.flush()
        return None
    if package is not None:
        return package.id
    try:
        with db.session.begin_nested():  # a concurrent request may create the same package
            package = Package(
                project_id=project_id,
                name=name,
                version=semver,
                package_type=ML_MODEL_PACKAGE_TYPE,
            )
            db.session.add(package)
    except IntegrityError:
        package = _find_package(project_id, name, semver)
        if package is None:
            raise
    return package.id


@registry.package_url
def package_url(project_id: int, package_id: object) -> str | None:
    """The host page of a package, linked from the registry's model version pages."""
    try:
        return url_for("web.package", project_id=project_id, package_id=int(str(package_id)))
    except ValueError:
        return None


def mlflow_tracking_uri(project_id: int, base_url: str) -> str:
    """The ``MLFLOW_TRACKING_URI`` of a project, for a server reachable at ``base_url``."""
    rule = str(
        current_app.config.get(
            "MODEL_REGISTRY_MLFLOW_PREFIX", "/api/v4/projects/<int:project_id>/ml/mlflow"
        )
    )
    path = rule.replace("<int:project_id>", str(project_id)).rstrip("/")
    return base_url.rstrip("/") + path
