"""Alembic's entry point: runs the migrations on the connection `storage.postgres.migrate`
hands it, inside that connection's transaction (which holds the migration lock)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from storage.postgres.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run the migrations with `reportbot migrate`, not the alembic command")
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
