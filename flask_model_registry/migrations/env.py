"""Alembic environment of the registry: runs on the connection handed in by ``migrate.py``."""

from __future__ import annotations

from alembic import context

from flask_model_registry import models  # noqa: F401  (registers the tables)
from flask_model_registry.database import metadata
from flask_model_registry.migrate import VERSION_TABLE, include_object

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run the registry's migrations through 'flask model-registry db upgrade'.")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
