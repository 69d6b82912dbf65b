"""Database schema migrations (Alembic, revisions in core/migrations/versions), run by ``make db``.

``upgrade`` brings any database to the newest revision. A database created before the project had migrations
(tables, but no ``alembic_version``) gets the tables and optional columns it lacks, which makes it the schema
of the models, and is stamped with the newest revision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001_baseline"


def alembic_config(engine: Optional[Engine] = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    from core.db import Base, add_missing_columns, import_all_models

    import_all_models()
    tables = set(inspect(engine).get_table_names())
    legacy = bool(tables & set(Base.metadata.tables)) and "alembic_version" not in tables
    config = alembic_config(engine)
    if legacy:
        Base.metadata.create_all(engine)
        add_missing_columns(engine)
        with engine.begin() as connection:
            _fold_legacy_settings(connection, tables)
            config.attributes["connection"] = connection
            command.stamp(config, "head")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


LEGACY_SETTINGS = ("handoff_settings", "curation_settings")  # one table since 0005_one_settings_table


def _fold_legacy_settings(connection, tables: set) -> None:
    """A database from before migrations has the two settings tables that revision 0005 folded into one: their
    rows move to console_settings, as the revision moves them."""
    columns = "key, value, updated_at, updated_by"
    for table in LEGACY_SETTINGS:
        if table in tables:
            connection.exec_driver_sql(
                f"INSERT INTO console_settings ({columns}) SELECT {columns} FROM {table} "
                "WHERE key NOT IN (SELECT key FROM console_settings)"
            )
            connection.exec_driver_sql(f"DROP TABLE {table}")


def current(engine: Engine) -> Optional[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
