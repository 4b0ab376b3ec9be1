"""``flask --app example_app ...`` commands to set up the database, users, projects and tokens.

Commands that hand out a secret or an id print it alone on the last line, so scripts can take it
with ``| tail -n 1``.
"""

from __future__ import annotations

import re

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import inspect, select

from .models import ROLES, Membership, PersonalAccessToken, Project, User, db
from .registry import mlflow_tracking_uri, registry

__all__ = ["init_database", "register_cli"]

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
DEMO_PROJECT = "demo"


def init_database() -> None:
    """Create or upgrade the registry's tables, then create the host's missing tables."""
    registry.upgrade_database()
    db.create_all()


def _require_schema() -> None:
    if not inspect(db.engine).has_table(User.__tablename__):
        raise click.ClickException(
            "The database has no tables yet; run 'flask --app example_app init-db' first."
        )


def _get_user(username: str) -> User:
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"No user named {username!r}.")
    return user


def _get_project(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None:
        raise click.ClickException(f"No project with id {project_id}.")
    return project


def _set_role(project: Project, user: User, role: str) -> Membership:
    membership = db.session.execute(
        select(Membership).where(Membership.project_id == project.id, Membership.user_id == user.id)
    ).scalar_one_or_none()
    if membership is None:
        membership = Membership(project=project, user=user, role=role)
        db.session.add(membership)
    else:
        membership.role = role
    return membership


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the host's tables and create or upgrade the registry's tables."""
    init_database()
    click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("create-user")
@click.argument("name")
@click.option("--password", help="Password for the web login; without one, tokens only.")
@with_appcontext
def create_user_command(name: str, password: str | None) -> None:
    """Create user NAME and a personal access token; the token is printed last."""
    _require_schema()
    if not _USERNAME.match(name):
        raise click.UsageError(
            f"Invalid username {name!r}: use 1-64 letters, digits, '.', '_' or '-',"
            " starting with a letter or digit."
        )
    if db.session.execute(select(User.id).where(User.username == name)).first() is not None:
        raise click.ClickException(f"A user named {name!r} already exists.")
    user = User(username=name)
    if password is not None:
        if not password:
            raise click.UsageError("--password must not be empty.")
        user.set_password(password)
    db.session.add(user)
    _, plain = PersonalAccessToken.issue(user, "default")
    db.session.commit()
    click.echo(f"Created user {name!r}" + ("." if password else " (no password: tokens only)."))
    click.echo("Personal access token (shown only now; store it safely):")
    click.echo(plain)


@click.command("create-project")
@click.argument("name")
@click.option("--owner", "owner_name", required=True, help="Username of the project's owner.")
@click.option("--public", is_flag=True, help="Anyone, even anonymous, may read the project.")
@with_appcontext
def create_project_command(name: str, owner_name: str, public: bool) -> None:
    """Create project NAME owned by --owner; the project id is printed last."""
    _require_schema()
    if not name.strip():
        raise click.UsageError("The project name must not be empty.")
    owner = _get_user(owner_name)
    project = Project(name=name.strip(), visibility="public" if public else "private")
    db.session.add(project)
    _set_role(project, owner, "owner")
    db.session.commit()
    click.echo(
        f"Created {project.visibility} project {project.name!r} owned by {owner.username!r}."
    )
    click.echo(str(project.id))


@click.command("add-member")
@click.argument("project_id", type=int)
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES), help="Role in the project.")
@with_appcontext
def add_member_command(project_id: int, username: str, role: str) -> None:
    """Give USERNAME the --role in project PROJECT_ID (changing an existing role)."""
    _require_schema()
    project = _get_project(project_id)
    user = _get_user(username)
    _set_role(project, user, role)
    db.session.commit()
    click.echo(f"{user.username!r} is now {role} of project {project.id} ({project.name!r}).")


@click.command("create-token")
@click.argument("username")
@click.option("--name", "token_name", default="cli", show_default=True, help="Label of the token.")
@with_appcontext
def create_token_command(username: str, token_name: str) -> None:
    """Create a personal access token for USERNAME; the token is printed last."""
    _require_schema()
    user = _get_user(username)
    _, plain = PersonalAccessToken.issue(user, token_name)
    db.session.commit()
    click.echo(f"Created token {token_name!r} for {user.username!r} (shown only now):")
    click.echo(plain)


@click.command("seed-demo")
@click.option(
    "--base-url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="Where 'flask --app example_app run' serves the app.",
)
@with_appcontext
def seed_demo_command(base_url: str) -> None:
    """Set up a demo user, a demo project and a fresh token; safe to run again."""
    init_database()
    user = db.session.execute(
        select(User).where(User.username == DEMO_USERNAME)
    ).scalar_one_or_none()
    if user is None:
        user = User(username=DEMO_USERNAME)
        db.session.add(user)
    if not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
    db.session.flush()
    project = db.session.execute(
        select(Project)
        .join(Membership, Membership.project_id == Project.id)
        .where(
            Project.name == DEMO_PROJECT,
            Membership.user_id == user.id,
            Membership.role == "owner",
        )
        .order_by(Project.id)
        .limit(1)
    ).scalar_one_or_none()
    if project is None:
        project = Project(name=DEMO_PROJECT, visibility="private")
        db.session.add(project)
        _set_role(project, user, "owner")
    _, plain = PersonalAccessToken.issue(user, "seed-demo")
    db.session.commit()

    base_url = base_url.rstrip("/")
    click.echo(f"Demo project {project.name!r} (id {project.id}) is ready.")
    click.echo("Start the server:    flask --app example_app run")
    click.echo(f"Sign in at {base_url}/login as '{DEMO_USERNAME}' with password '{DEMO_PASSWORD}'.")
    click.echo(f"Project page:        {base_url}/projects/{project.id}")
    click.echo("Point the mlflow client at the project:")
    click.echo(f"export MLFLOW_TRACKING_URI={mlflow_tracking_uri(project.id, base_url)}")
    click.echo(f"export MLFLOW_TRACKING_TOKEN={plain}")


def register_cli(app: Flask) -> None:
    """Add the host's commands to ``app.cli``."""
    for command in (
        init_db_command,
        create_user_command,
        create_project_command,
        add_member_command,
        create_token_command,
        seed_demo_command,
    ):
        app.cli.add_command(command)
