"""Schema migrations with Alembic, in the registry's own version table."""

from __future__ import annotations

import os
import typing as t

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from .database import TABLE_PREFIX, metadata
from .database.sqlite import registry_work

__all__ = [
    "VERSION_TABLE",
    "Revision",
    "alembic_config",
    "check",
    "current",
    "downgrade",
    "exclude_registry_tables",
    "heads",
    "history",
    "include_object",
    "upgrade",
]

#: The registry's Alembic version table, separate from the host's ``alembic_version``.
VERSION_TABLE = TABLE_PREFIX + "alembic_version"
SCRIPT_LOCATION = os.path.join(os.path.dirname(__file__), "migrations")


def include_object(
    obj: t.Any, name: str | None, type_: str, reflected: bool, compare_to: t.Any
) -> bool:
    """Only the registry's own tables take part; the host's tables are never touched."""
    if type_ == "table":
        return name is not None and name.startswith(TABLE_PREFIX) and name != VERSION_TABLE
    return True


def exclude_registry_tables(
    obj: t.Any, name: str | None, type_: str, reflected: bool, compare_to: t.Any
) -> bool:
    """``include_object`` for the host's own Alembic environment: leave the registry's tables
    (``ml_*``, its version table included) to the registry, so that the host's autogenerate
    never proposes to drop them."""
    return not (type_ == "table" and name is not None and name.startswith(TABLE_PREFIX))


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the registry's tables to ``revision``."""
    with registry_work(), engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the registry's tables to ``revision``."""
    with registry_work(), engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def current(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` before the first upgrade."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


class Revision(t.NamedTuple):
    """One shipped migration, as ``flask model-registry db history`` lists it."""

    revision: str
    down_revision: str | None
    doc: str
    is_head: bool


def history() -> list[Revision]:
    """The shipped migrations, newest first."""
    return [
        Revision(
            script.revision,
            t.cast("str | None", script.down_revision),
            script.doc,
            script.is_head,
        )
        for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    ]


def heads() -> list[str]:
    """The newest revision(s) shipped in the package."""
    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


def check(engine: Engine) -> list[t.Any]:
    """Differences between the models and the database schema; empty when in sync."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_object": include_object,
                "version_table": VERSION_TABLE,
            },
        )
        return list(compare_metadata(context, metadata))
