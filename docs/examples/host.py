"""A complete host for flask-model-registry: users with tokens, projects with members.

Run it on SQLite (``instance/host.sqlite``)::

    flask --app host init-db               # the host's tables, then the registry's
    flask --app host seed alice demo       # prints a project id and alice's token
    flask --app host run

Then point the ``mlflow`` client at the project with ``MLFLOW_TRACKING_TOKEN=<token>`` and
``MLFLOW_TRACKING_URI=http://127.0.0.1:5000/api/v4/projects/<id>/ml/mlflow``. Any other
database: ``FLASK_SQLALCHEMY_DATABASE_URI=postgresql+psycopg://...``.
"""

from __future__ import annotations

import hashlib
import secrets

import click
from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_model_registry import ModelRegistry, Permission

app = Flask(__name__)
app.config.from_mapping(SQLALCHEMY_DATABASE_URI="sqlite:///host.sqlite", SECRET_KEY="dev")
app.config.from_prefixed_env()  # FLASK_SECRET_KEY (set it in production), FLASK_SQLALCHEMY_...


class Base(DeclarativeBase):  # the host's models; db.create_all() creates their tables
    pass


db = SQLAlchemy(app, model_class=Base)
registry = ModelRegistry(app, db=db)  # its tables live beside these, all named ml_*


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)  # MLflow records it as the user_id
    token_digest: Mapped[str] = mapped_column(unique=True)  # never store the token itself


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Member(Base):
    __tablename__ = "members"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    can_write: Mapped[bool]


class Package(Base):  # what a registered model version is, on the host's side
    __tablename__ = "packages"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str]
    version: Mapped[str]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@registry.user_loader
def load_user() -> User | None:
    """Who is calling: the owner of the bearer token the mlflow client sends."""
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return db.session.scalar(select(User).filter_by(token_digest=digest(token)))


@registry.project_access
def can(user: User | None, project_id: int, permission: Permission) -> bool:
    """Members read; members with can_write also write. Others get 404 (or 401 anonymous)."""
    member = db.session.get(Member, (project_id, user.id)) if user else None
    return member is not None and (member.can_write or not permission.is_write)


@registry.package_resolver
def resolve_package(
    project_id: int, name: str, semver: str, *, deleted: bool = False
) -> int | None:
    """The host's package of a new model version (found or created), deleted with it."""
    found = select(Package).filter_by(project_id=project_id, name=name, version=semver)
    package = db.session.scalar(found)
    if deleted:
        if package is not None:
            db.session.delete(package)
        return None
    if package is None:
        package = Package(project_id=project_id, name=name, version=semver)
        db.session.add(package)
        db.session.flush()  # the registry commits with its own work
    return package.id


@app.cli.command("init-db")
def init_db() -> None:
    """Create the host's tables, then create or upgrade the registry's."""
    db.create_all()  # the host's tables only: the registry keeps its own metadata
    registry.upgrade_database()  # the registry's migrations, in ml_alembic_version
    click.echo("The host's and the registry's tables are ready.")


@app.cli.command("seed")
@click.argument("username")
@click.argument("project_name")
def seed(username: str, project_name: str) -> None:
    """Create a user with a token and a project they may write to."""
    token = secrets.token_urlsafe(32)
    user, project = User(name=username, token_digest=digest(token)), Project(name=project_name)
    db.session.add_all([user, project])
    db.session.flush()
    db.session.add(Member(project_id=project.id, user_id=user.id, can_write=True))
    db.session.commit()
    click.echo(f"project {project.id}\ntoken {token}")
