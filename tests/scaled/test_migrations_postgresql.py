"""The Alembic revisions on a real PostgreSQL: the migrated schema equals the models, every revision goes down
and up again, and the settings revision (0005) keeps its rows. The same checks as tests/unit/test_migrations.py
(SQLite), on a cluster of its own (scripts/scaled.py's Postgres: no model, no Rasa needed).

Needs the Debian package postgresql (make test installs it: scripts/ensure_scaled_deps.sh); skipped without it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from core.migrate import upgrade
from scripts.scaled import Postgres, free_port, postgres_bin
from tests.unit.test_migrations import SETTINGS, _insert_old_settings, _settings, downgrade_one, schema_differences


@pytest.fixture(scope="module")
def postgresql_url():
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (make test installs it: scripts/ensure_scaled_deps.sh)")
    # the postgres user cannot enter pytest's private temporary folders (mode 700): a folder of its own
    home = Path(tempfile.mkdtemp(prefix="hzbot-pg-migrations-"))
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    server = Postgres(home / "postgres", free_port(), secrets.token_urlsafe(16))
    password = secrets.token_urlsafe(16)
    try:
        server.start()
        server.ensure_database("hzbot_migrations", "hzbot", password)
        yield f"postgresql+psycopg2://hzbot:{password}@127.0.0.1:{server.port}/hzbot_migrations"
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture()
def engine(postgresql_url):
    engine = create_engine(postgresql_url)
    with engine.begin() as connection:  # an empty database for every test
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    yield engine
    engine.dispose()


def test_the_migrated_schema_equals_the_models_on_postgresql(engine):
    assert engine.dialect.name == "postgresql"
    upgrade(engine)
    assert schema_differences(engine) == []
    upgrade(engine)  # running it again changes nothing
    assert schema_differences(engine) == []


def test_every_revision_goes_down_and_up_again_on_postgresql(engine):
    from alembic import command

    from core.migrate import alembic_config

    upgrade(engine)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert schema_differences(engine) == []


def test_the_two_settings_tables_become_one_and_keep_every_row_on_postgresql(engine):
    upgrade(engine, "0004_haochaping_ratings")
    with engine.begin() as connection:
        _insert_old_settings(connection)
    upgrade(engine)
    assert _settings(engine) == {(key, value, by) for _table, key, value, by in SETTINGS}
    downgrade_one(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM curation_settings")).scalar() == 2
    upgrade(engine)
    assert len(_settings(engine)) == 3
