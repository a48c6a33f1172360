"""Alembic environment: always run with a connection handed in by Database.migrate."""

from alembic import context

from imbachat.store.schema import metadata
from imbachat.store.search import include_name

connection = context.config.attributes["connection"]
# include_name: the search index (migration 0010) is raw SQL the metadata cannot declare.
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
