"""Tracker retention (scripts/trim_tracker.py) on a temporary SQLite file with Rasa's own events table."""

from __future__ import annotations

import sqlalchemy as sa

from scripts.trim_tracker import main, trim

DAY = 86400.0
NOW = 1_800_000_000.0


def store(path) -> sa.engine.Engine:
    engine = sa.create_engine(f"sqlite:///{path}", future=True)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) "
            "NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
        ))
    return engine


def add(engine, sender: str, days_ago: float, action: str | None = None) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO events (sender_id, type_name, timestamp, action_name, data) "
                    "VALUES (:s, :t, :ts, :a, '{}')"),
            {"s": sender, "t": "action" if action else "user", "ts": NOW - days_ago * DAY, "a": action},
        )


def left(engine) -> list:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT sender_id, timestamp FROM events ORDER BY sender_id, timestamp"))
        return [(s, round((NOW - t) / DAY)) for s, t in rows]


def test_old_conversations_go_and_current_sessions_stay_whole(tmp_path):
    engine = store(tmp_path / "tracker.db")
    add(engine, "gone", 90, "action_session_start")
    add(engine, "gone", 89)
    add(engine, "back", 60, "action_session_start")
    add(engine, "back", 59)
    add(engine, "back", 2, "action_session_start")
    add(engine, "back", 1)
    add(engine, "long", 40, "action_session_start")  # one session still going on across the cutoff: kept whole
    add(engine, "long", 0)
    add(engine, "new", 1, "action_session_start")
    assert trim(engine, days=30, dry_run=True, now=NOW) == 4
    assert trim(engine, days=30, now=NOW) == 4
    assert left(engine) == [("back", 2), ("back", 1), ("long", 40), ("long", 0), ("new", 1)]


def test_the_command_reads_the_tracker_db_setting(tmp_path, monkeypatch, capsys):
    engine = store(tmp_path / "tracker.db")
    add(engine, "gone", 400)
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "tracker.db"))
    monkeypatch.delenv("TRACKER_DB_URL", raising=False)
    assert main(["--days", "180"]) == 0
    assert "Erased 1" in capsys.readouterr().out and left(engine) == []
    assert main(["--days", "0"]) == 2
