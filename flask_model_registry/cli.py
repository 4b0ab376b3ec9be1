"""``flask model-registry``: the registry's schema: upgrade, downgrade, current, history, check."""

from __future__ import annotations

import types

import click
from flask.cli import AppGroup

from .state import get_state

__all__ = ["model_registry_cli"]

model_registry_cli = AppGroup("model-registry", help="Manage the model registry.")
db_cli = AppGroup("db", help="The registry's database schema.")
model_registry_cli.add_command(db_cli)


def _migrate() -> types.ModuleType:
    """The migration module, imported when a command runs: serving requests never loads
    Alembic, which would add to every worker's start."""
    from . import migrate

    return migrate


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Create or upgrade the registry's tables to REVISION (default: head)."""
    engine, migrate = get_state().db.engine, _migrate()
    migrate.upgrade(engine, revision)
    click.echo(f"Model registry schema at {migrate.current(engine) or 'base (empty)'}.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrade the registry's tables to REVISION."""
    engine, migrate = get_state().db.engine, _migrate()
    migrate.downgrade(engine, revision)
    click.echo(f"Model registry schema at {migrate.current(engine) or 'base (empty)'}.")


@db_cli.command("current")
def db_current() -> None:
    """Show the schema revision of the database."""
    click.echo(_migrate().current(get_state().db.engine) or "empty")


@db_cli.command("history")
def db_history() -> None:
    """List the shipped revisions, newest first; mark the head and the database's revision."""
    engine, migrate = get_state().db.engine, _migrate()
    at = migrate.current(engine)
    for revision in migrate.history():
        marks = [
            mark
            for mark, applies in (("head", revision.is_head), ("current", revision.revision == at))
            if applies
        ]
        line = f"{revision.down_revision or '<base>'} -> {revision.revision}"
        if marks:
            line += f" ({', '.join(marks)})"
        click.echo(f"{line}, {revision.doc}")


@db_cli.command("check")
def db_check() -> None:
    """Fail if the database schema differs from the models (drift) or is not at head."""
    engine, migrate = get_state().db.engine, _migrate()
    at, heads = migrate.current(engine), migrate.heads()
    if at not in heads:
        raise click.ClickException(
            f"The registry schema is at {at or 'no revision'}, not at head {', '.join(heads)}:"
            " run 'flask model-registry db upgrade'."
        )
    diffs = migrate.check(engine)
    if diffs:
        lines = "\n".join(f"  {diff}" for diff in diffs)
        raise click.ClickException(f"The registry schema differs from the models:\n{lines}")
    click.echo("The registry schema matches the models.")
