"""Alembic environment: the project's models, the engine or connection that core.migrate hands over.

SQLite cannot ALTER most things in place, so every revision runs in batch mode (render_as_batch), which
rebuilds a table where needed; PostgreSQL runs the same revisions directly.
"""

from __future__ import annotations

from alembic import context

from core.db import Base, get_engine, import_all_models

import_all_models()
config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        with get_engine().connect() as connection:
            _run(connection)
            connection.commit()
    else:
        _run(connection)


def _run(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
