"""The Alembic revisions build exactly the schema the models declare, and older databases are brought up to it.

PostgreSQL: the same check runs in tests/scaled (real server) when the scaled stack's tests run.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from core.db import Base, create_schema, import_all_models
from core.migrate import BASELINE, current


def schema_differences(engine) -> list:
    import_all_models()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
        return compare_metadata(context, Base.metadata)


def test_the_migrated_schema_equals_the_models(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    create_schema(engine)
    assert schema_differences(engine) == []
    assert current(engine) is not None
    create_schema(engine)  # running it again changes nothing
    assert schema_differences(engine) == []
    engine.dispose()


def test_a_database_from_before_migrations_is_completed_and_stamped(tmp_path):
    """A database made by create_all (the first version), lacking an optional column added since."""
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    import_all_models()
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE handoff_tickets DROP COLUMN user_left_at"))
        connection.execute(text("DROP TABLE console_login_attempts"))
    create_schema(engine)
    assert "user_left_at" in {c["name"] for c in inspect(engine).get_columns("handoff_tickets")}
    assert "console_login_attempts" in inspect(engine).get_table_names()
    assert current(engine) is not None and current(engine) >= BASELINE
    assert schema_differences(engine) == []
    engine.dispose()
