"""A complete host: users with tokens, projects with members, and packages."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column

from flask_model_registry import ModelRegistry, Permission

db = SQLAlchemy()
registry = ModelRegistry(db=db)


class User(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)  # recorded as the MLflow user_id
    token: Mapped[str] = mapped_column(unique=True)  # a real host stores a digest


class Member(db.Model):
    user_id: Mapped[int] = mapped_column(db.ForeignKey(User.id), primary_key=True)
    project_id: Mapped[int] = mapped_column(primary_key=True)
    can_write: Mapped[bool] = mapped_column(default=False)


class Package(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int]
    name: Mapped[str]
    version: Mapped[str]


@registry.user_loader
def load_user() -> User | None:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return db.session.scalar(db.select(User).filter_by(token=token)) if token else None


@registry.project_access
def can(user: User | None, project_id: int, permission: Permission) -> bool:
    member = db.session.get(Member, (user.id, project_id)) if user else None
    return member is not None and (member.can_write or not permission.is_write)


@registry.package_resolver
def package(project_id: int, name: str, semver: str, *, deleted: bool = False) -> int | None:
    found = db.session.scalar(
        db.select(Package).filter_by(project_id=project_id, name=name, version=semver)
    )
    if deleted:
        if found is not None:
            db.session.delete(found)
        return None
    if found is None:
        found = Package(project_id=project_id, name=name, version=semver)
        db.session.add(found)
        db.session.flush()  # the registry commits the request's transaction
    return found.id


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///host.sqlite"
    app.config.update(config or {})
    db.init_app(app)
    registry.init_app(app)
    with app.app_context():
        db.create_all()  # the host's tables
        registry.upgrade_database()  # the registry's tables, by migration
    return app
