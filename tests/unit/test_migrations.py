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


def test_earlier_1_to_5_ratings_get_their_haochaping_level(tmp_path):
    """Migration 0004 keeps every rating and gives it its 好差评 level (5 非常满意 … 1 非常不满意)."""
    from core.migrate import upgrade

    engine = create_engine(f"sqlite:///{tmp_path / 'rated.db'}")
    upgrade(engine, "0003_ticket_erased_at")
    with engine.begin() as connection:
        for number, rating in enumerate((5, 4, 3, 2, 1, None), start=1):
            connection.execute(
                text(
                    "INSERT INTO handoff_tickets (number, sender_id, channel, reason, topic, summary, contact_name,"
                    " phone, consent, status, created_at, updated_at, rating, rated_at) VALUES (:n, 's', 'rest',"
                    " 'user_request', '开办企业', '问题', '陈', '13812345678', 1, 'resolved', '2026-11-01 10:00:00',"
                    " '2026-11-01 10:00:00', :r, CASE WHEN :r IS NULL THEN NULL ELSE '2026-11-01 11:00:00' END)"
                ),
                {"n": f"HZ{number}", "r": rating},
            )
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT rating, rating_level, rated_at FROM handoff_tickets ORDER BY id")).all()
    assert [(r[0], r[1]) for r in rows] == [
        (5, "very_satisfied"),
        (4, "satisfied"),
        (3, "basic"),
        (2, "dissatisfied"),
        (1, "very_dissatisfied"),
        (None, None),
    ]
    assert all(r[2] is not None for r in rows[:5])
    from core.ratings import BY_SCORE

    assert all(BY_SCORE[r[0]].code == r[1] for r in rows[:5])
    assert schema_differences(engine) == []
    engine.dispose()


SETTINGS = [
    ("handoff_settings", "office_hours", "周一至周五 9:00-12:00", "chief"),
    ("curation_settings", "review_required", "1", "chief"),
    ("curation_settings", "handoffs_upto", "42", "system"),
]


def _insert_old_settings(connection) -> None:
    for table, key, value, by in SETTINGS:
        connection.execute(
            text(f"INSERT INTO {table} (key, value, updated_at, updated_by) VALUES (:k, :v, '2026-11-01 10:00:00', :b)"),
            {"k": key, "v": value, "b": by},
        )


def _settings(engine) -> set:
    with engine.connect() as connection:
        return {tuple(r) for r in connection.execute(text("SELECT key, value, updated_by FROM console_settings"))}


def test_the_two_settings_tables_become_one_and_keep_every_row(tmp_path):
    """Migration 0005: office hours and the curation settings move to console_settings, and back on downgrade."""
    from core.migrate import upgrade

    engine = create_engine(f"sqlite:///{tmp_path / 'settings.db'}")
    upgrade(engine, "0004_haochaping_ratings")
    with engine.begin() as connection:
        _insert_old_settings(connection)
    upgrade(engine)
    assert _settings(engine) == {(key, value, by) for _table, key, value, by in SETTINGS}
    assert not {"handoff_settings", "curation_settings"} & set(inspect(engine).get_table_names())
    assert schema_differences(engine) == []
    downgrade_one(engine)
    with engine.connect() as connection:
        hours = connection.execute(text("SELECT value FROM handoff_settings WHERE key = 'office_hours'")).scalar()
        review = connection.execute(text("SELECT value FROM curation_settings WHERE key = 'review_required'")).scalar()
    assert (hours, review) == ("周一至周五 9:00-12:00", "1")
    upgrade(engine)
    assert len(_settings(engine)) == 3
    engine.dispose()


def test_a_database_from_before_migrations_keeps_its_settings(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old-settings.db'}")
    import_all_models()
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE console_settings"))
        for table in ("handoff_settings", "curation_settings"):
            connection.execute(text(f"CREATE TABLE {table} (key VARCHAR(40) PRIMARY KEY, value TEXT NOT NULL,"
                                    " updated_at DATETIME NOT NULL, updated_by VARCHAR(80) NOT NULL)"))
        _insert_old_settings(connection)
    create_schema(engine)
    assert _settings(engine) == {(key, value, by) for _table, key, value, by in SETTINGS}
    assert schema_differences(engine) == []
    engine.dispose()


def downgrade_one(engine) -> None:
    from alembic import command

    from core.migrate import alembic_config

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
