"""The host's own pages: the project list, a project, its packages and a package's files."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from .access import can_view_project, role_in, visible_projects
from .auth import current_user, protect_form_posts
from .models import Package, Project, db
from .registry import mlflow_tracking_uri, registry

__all__ = ["bp"]

bp = Blueprint("web", __name__)
bp.before_request(protect_form_posts)


def _project_or_404(project_id: int) -> Project:
    """The project if the signed-in user may see it; otherwise it does not exist for them."""
    project = db.session.get(Project, project_id)
    if project is None or not can_view_project(current_user(), project):
        abort(404)
    return project


@bp.get("/")
def index() -> Any:
    return render_template("index.html", projects=visible_projects(current_user()))


@bp.get("/projects/<int:project_id>")
def project(project_id: int) -> Any:
    project = _project_or_404(project_id)
    return render_template(
        "project.html",
        project=project,
        role=role_in(current_user(), project.id),
        # Served by the registry's blueprint, hence literal paths rather than url_for.
        experiments_url=f"/projects/{project.id}/-/ml/experiments",
        models_url=f"/projects/{project.id}/-/ml/models",
        tracking_uri=mlflow_tracking_uri(project.id, request.host_url),
    )


@bp.get("/projects/<int:project_id>/packages")
def packages(project_id: int) -> Any:
    project = _project_or_404(project_id)
    rows = db.session.execute(
        select(Package)
        .where(Package.project_id == project.id)
        .order_by(Package.name, Package.created_at, Package.id)
    ).scalars()
    return render_template("packages.html", project=project, packages=list(rows))


@bp.get("/projects/<int:project_id>/packages/<int:package_id>")
def package(project_id: int, package_id: int) -> Any:
    project = _project_or_404(project_id)
    package = db.session.get(Package, package_id)
    if package is None or package.project_id != project.id:
        abort(404)
    files = sorted(registry.package_files(project.id, package.id), key=lambda f: f.path)
    return render_template("package.html", project=project, package=package, files=files)
