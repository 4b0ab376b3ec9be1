"""The registry's migrations beside a host's own: the ``flask model-registry db`` commands,
``ModelRegistry.upgrade_database()`` from a deploy step, what the host's ``db.create_all()``
does, and a host with its own Alembic environment and ``alembic_version`` table."""

from __future__ import annotations

import pathlib
import textwrap
import typing as t

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_model_registry import ModelRegistry, migrate
from flask_model_registry import models as _registers_the_tables  # noqa: F401
from flask_model_registry.database import metadata as registry_metadata
from tests.rel_support import dispose

REGISTRY_TABLES = set(registry_metadata.tables)
HEAD = "0002"


class HostBase(DeclarativeBase):
    pass


class Note(HostBase):
    __tablename__ = "host_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(200))


class Host(t.NamedTuple):
    app: Flask
    db: SQLAlchemy
    registry: ModelRegistry

    def engine(self) -> Engine:
        with self.app.app_context():
            return self.db.engine

    def tables(self) -> set[str]:
        return set(inspect(self.engine()).get_table_names())

    def cli(self, *args: str) -> str:
        result = self.app.test_cli_runner().invoke(args=["model-registry", "db", *args])
        assert result.exit_code == 0, result.output
        return str(result.output)


@pytest.fixture
def host(database_url: str, tmp_path: pathlib.Path) -> t.Iterator[Host]:
    """A host with its own models (``host_notes``) sharing its database with the registry."""
    app = Flask("host", instance_path=str(tmp_path / "instance"))
    app.config.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        MODEL_REGISTRY_ARTIFACT_ROOT=str(tmp_path / "artifacts"),
    )
    db = SQLAlchemy(app, model_class=HostBase)
    yield Host(app, db, ModelRegistry(app, db=db))
    dispose(app)


# -------------------------------------------------------------------------------------------
# the registry's own version table, through the CLI


def test_the_cli_upgrades_reports_and_downgrades(host: Host) -> None:
    assert host.cli("current") == "empty\n"
    assert host.cli("history") == (
        "0001 -> 0002 (head), index tag keys of models and versions\n"
        "<base> -> 0001, initial schema\n"
    )
    assert host.cli("upgrade") == f"Model registry schema at {HEAD}.\n"
    assert REGISTRY_TABLES | {migrate.VERSION_TABLE} <= host.tables()
    assert host.cli("current") == f"{HEAD}\n"
    assert "0001 -> 0002 (head, current)," in host.cli("history")

    assert host.cli("downgrade", "0001") == "Model registry schema at 0001.\n"
    assert "<base> -> 0001 (current), initial schema" in host.cli("history")
    assert host.cli("downgrade", "base") == "Model registry schema at base (empty).\n"
    assert host.tables() & REGISTRY_TABLES == set()
    assert host.cli("current") == "empty\n"


# -------------------------------------------------------------------------------------------
# from the host's own deploy step


def test_upgrade_database_runs_in_an_app_context_without_a_request(host: Host) -> None:
    with host.app.app_context():
        host.registry.upgrade_database("0001")
        assert migrate.current(host.db.engine) == "0001"
        host.registry.upgrade_database()
        host.registry.upgrade_database()  # at head already: nothing to do
        assert migrate.current(host.db.engine) == HEAD
        assert migrate.check(host.db.engine) == []


def test_upgrade_database_needs_an_app_context(host: Host) -> None:
    with pytest.raises(RuntimeError, match="application context"):
        host.registry.upgrade_database()


def test_upgrade_database_needs_an_app_the_registry_is_initialised_on(host: Host) -> None:
    with Flask("other").app_context(), pytest.raises(RuntimeError, match="not initialised"):
        host.registry.upgrade_database()


# -------------------------------------------------------------------------------------------
# the host's db.create_all() and db.drop_all()


def test_create_all_creates_the_hosts_tables_only(host: Host) -> None:
    with host.app.app_context():
        host.db.create_all()
    assert host.tables() == {"host_notes"}

    with host.app.app_context():
        host.registry.upgrade_database()
        host.db.drop_all()
    assert host.tables() == REGISTRY_TABLES | {migrate.VERSION_TABLE}


# -------------------------------------------------------------------------------------------
# a host with its own Alembic environment

HOST_ENV = """\
from alembic import context

from flask_model_registry.migrate import exclude_registry_tables

context.configure(
    connection=context.config.attributes["connection"],
    include_object=exclude_registry_tables,
)
with context.begin_transaction():
    context.run_migrations()
"""

HOST_REVISION = """\
import sqlalchemy as sa
from alembic import op

revision = "h1"
down_revision = None


def upgrade():
    op.create_table(
        "host_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("body", sa.String(200), nullable=False),
    )


def downgrade():
    op.drop_table("host_notes")
"""


def host_alembic(tmp_path: pathlib.Path, engine: Engine, revision: str, *, up: bool) -> None:
    """Run the host's own migrations (default version table ``alembic_version``)."""
    location = tmp_path / "host_migrations"
    if not location.exists():
        (location / "versions").mkdir(parents=True)
        (location / "env.py").write_text(HOST_ENV)
        (location / "script.py.mako").write_text("")
        (location / "versions" / "h1_notes.py").write_text(textwrap.dedent(HOST_REVISION))
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(location))
        config.attributes["connection"] = connection
        (command.upgrade if up else command.downgrade)(config, revision)


def host_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def test_the_hosts_alembic_and_the_registrys_do_not_interfere(
    host: Host, tmp_path: pathlib.Path
) -> None:
    engine = host.engine()
    host_alembic(tmp_path, engine, "head", up=True)
    migrate.upgrade(engine, "head")
    with engine.connect() as connection:
        assert host_revision(connection) == "h1"
    assert migrate.current(engine) == HEAD
    assert {"alembic_version", migrate.VERSION_TABLE, "host_notes"} <= host.tables()

    migrate.downgrade(engine, "base")
    with engine.connect() as connection:
        assert host_revision(connection) == "h1"
    assert host.tables() == {"alembic_version", migrate.VERSION_TABLE, "host_notes"}

    migrate.upgrade(engine, "head")
    host_alembic(tmp_path, engine, "base", up=False)
    with engine.connect() as connection:
        assert host_revision(connection) is None
    assert "host_notes" not in host.tables()
    assert migrate.current(engine) == HEAD
    assert migrate.check(engine) == []


def autogenerate_diff(engine: Engine, **opts: t.Any) -> list[t.Any]:
    """What the host's ``alembic revision --autogenerate`` would propose."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=opts)
        return list(compare_metadata(context, HostBase.metadata))


def test_the_hosts_autogenerate_leaves_the_registrys_tables_alone(host: Host) -> None:
    with host.app.app_context():
        host.db.create_all()
        host.registry.upgrade_database()
    engine = host.engine()

    unfiltered = autogenerate_diff(engine)
    dropped = {diff[1].name for diff in unfiltered if diff[0] == "remove_table"}
    assert dropped == REGISTRY_TABLES | {migrate.VERSION_TABLE}

    assert autogenerate_diff(engine, include_object=migrate.exclude_registry_tables) == []
