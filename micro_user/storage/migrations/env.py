"""Alembic environment: micro-user always hands in an open connection (see ``migrate.py``)."""

from alembic import context

from micro_user.storage.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
context.run_migrations()
