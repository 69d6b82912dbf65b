"""Tracker retention: erase old conversation events from Rasa's SQL tracker store (`make tracker-retention`).

Rasa keeps every event of every conversation forever; the tracker store holds what users typed (names, phone
numbers, case details) and grows with every turn. This deletes, for every sender, the events older than
``TRACKER_RETENTION_DAYS`` days (default 30) that lie before the sender's latest session start, so a conversation
still in its current session is never cut in the middle (Rasa reads a tracker from its latest
``action_session_start``; sessions expire after 120 minutes, bot/domain/core.yml). A sender with nothing recent
disappears from the store entirely.

    python -m scripts.trim_tracker [--days N] [--dry-run]

Reads ``TRACKER_DB`` (the SQLite file in endpoints.yml; default var/rasa_tracker.db) or ``TRACKER_DB_URL`` (any
SQLAlchemy URL, e.g. PostgreSQL). Safe to run while the bot runs; run it daily (cron) in production.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from core.settings import tracker_database_url

ROOT = Path(__file__).resolve().parent.parent
SESSION_START = "action_session_start"
DEFAULT_DAYS = 30


def tracker_url() -> str:
    return tracker_database_url()


def trim(engine: sa.engine.Engine, days: float, dry_run: bool = False, now: float | None = None) -> int:
    """Delete (or with ``dry_run`` count) the old events; returns how many."""
    cutoff = (time.time() if now is None else now) - days * 86400
    events = sa.Table("events", sa.MetaData(), autoload_with=engine)
    other = events.alias("other")
    latest_start = (
        sa.select(sa.func.max(other.c.timestamp))
        .where(other.c.sender_id == events.c.sender_id, other.c.action_name == SESSION_START)
        .scalar_subquery()
    )
    anything_recent = sa.exists().where(other.c.sender_id == events.c.sender_id, other.c.timestamp >= cutoff)
    # old, and either before the sender's latest session start or part of a history that is old as a whole
    doomed = sa.and_(events.c.timestamp < cutoff, sa.or_(events.c.timestamp < latest_start, ~anything_recent))
    with engine.begin() as connection:
        if dry_run:
            return connection.execute(sa.select(sa.func.count()).select_from(events).where(doomed)).scalar_one()
        return connection.execute(sa.delete(events).where(doomed)).rowcount


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=float(os.environ.get("TRACKER_RETENTION_DAYS", "").strip() or DEFAULT_DAYS))
    parser.add_argument("--dry-run", action="store_true", help="only count what would be erased")
    args = parser.parse_args(argv)
    if args.days <= 0:
        print("--days must be positive", file=sys.stderr)
        return 2
    url = tracker_url()
    engine = sa.create_engine(url, hide_parameters=True, future=True)
    if not sa.inspect(engine).has_table("events"):
        print("No tracker store events table yet: nothing to trim.")
        return 0
    count = trim(engine, args.days, args.dry_run)
    print(f"{'Would erase' if args.dry_run else 'Erased'} {count} tracker events older than {args.days:g} days.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
