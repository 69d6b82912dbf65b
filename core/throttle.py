"""The login throttle of the console and its API: attempts are counted *before* the password is checked, in one
short transaction of their own with the counters' rows locked, so 40 parallel attempts are counted one after
another and only the allowed ones reach the password check.

Three counters per attempt:
- one account name from one address: ``MAX_FAILURES_PER_ACCOUNT_AND_IP`` failures per ``THROTTLE_WINDOW``;
- one address over all names: ``MAX_FAILURES_PER_IP`` per window;
- one account name from every address: ``FREE_ACCOUNT_FAILURES`` failures, then each further attempt waits an
  exponentially growing pause (``ACCOUNT_BACKOFF`` × 2ⁿ, at most ``ACCOUNT_BACKOFF_MAX``), so spreading a guess
  over many addresses does not help. Failures are forgotten after ``ACCOUNT_MEMORY`` without one.

The counters are written in transactions of their own: call them before the caller's session writes anything
(on SQLite a caller holding the write lock would wait for itself).

A successful sign-in forgets the account's failures (and does not count against the address). Unknown account
names are counted like real ones, so the throttle tells nothing about which names exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Tuple

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.accounts.models import ThrottleCounter

THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT_AND_IP = 5
MAX_FAILURES_PER_IP = 30
FREE_ACCOUNT_FAILURES = 10
ACCOUNT_BACKOFF = timedelta(seconds=30)
ACCOUNT_BACKOFF_MAX = timedelta(hours=1)
ACCOUNT_MEMORY = timedelta(hours=24)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float = 0.0  # seconds until an attempt may be allowed again

    @property
    def wait_minutes(self) -> int:
        return max(1, -(-int(self.retry_after) // 60))


def _keys(name: str, ip: str) -> Dict[str, str]:
    return {"pair": f"pair:{name}|{ip}"[:220], "ip": f"ip:{ip}"[:220], "account": f"account:{name}"[:220]}


def _lock_rows(session: Session, keys: List[str], moment: datetime) -> Dict[str, ThrottleCounter]:
    """The counters of ``keys`` (created when missing), locked until the transaction ends. The first statement is
    a write, so SQLite takes its write lock at once; PostgreSQL locks the rows (FOR UPDATE)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    rows = [{"key": key, "failures": 0, "window_start": moment} for key in keys]
    session.execute(insert(ThrottleCounter).values(rows).on_conflict_do_nothing(index_elements=["key"]))
    query = select(ThrottleCounter).where(ThrottleCounter.key.in_(keys)).with_for_update()
    return {row.key: row for row in session.execute(query.execution_options(populate_existing=True)).scalars()}


class LoginThrottle:
    def __init__(self, sessions: Optional[sessionmaker] = None) -> None:
        if sessions is None:
            from core.db import session_factory

            sessions = session_factory()
        self.sessions = sessions

    def reserve(self, name: str, ip: str, now: Optional[datetime] = None) -> Verdict:
        """Count an attempt of ``name`` from ``ip`` as a failure, unless it is throttled (then nothing is counted).
        Call :meth:`succeeded` when the password turns out right."""
        moment = now or datetime.utcnow()
        keys = _keys(name, ip)
        with self.sessions.begin() as session:
            rows = _lock_rows(session, list(keys.values()), moment)
            pair, by_ip, account = rows[keys["pair"]], rows[keys["ip"]], rows[keys["account"]]
            for row in (pair, by_ip):
                if row.window_start <= moment - THROTTLE_WINDOW:
                    row.failures, row.window_start = 0, moment
            if account.window_start <= moment - ACCOUNT_MEMORY:
                account.failures, account.locked_until = 0, None
            waits = [
                (row.window_start + THROTTLE_WINDOW - moment).total_seconds()
                for row, limit in ((pair, MAX_FAILURES_PER_ACCOUNT_AND_IP), (by_ip, MAX_FAILURES_PER_IP))
                if row.failures >= limit
            ]
            if account.locked_until is not None and account.locked_until > moment:
                waits.append((account.locked_until - moment).total_seconds())
            if waits:
                return Verdict(False, max(waits))
            for row in (pair, by_ip, account):
                row.failures += 1
            account.window_start = moment  # the account's failures are remembered from the last one
            if account.failures >= FREE_ACCOUNT_FAILURES:
                pause = ACCOUNT_BACKOFF * 2 ** min(account.failures - FREE_ACCOUNT_FAILURES, 16)
                account.locked_until = moment + min(pause, ACCOUNT_BACKOFF_MAX)
            return Verdict(True)

    def succeeded(self, name: str, ip: Optional[str]) -> None:
        """The reserved attempt was right: forget the account's failures and give the address its attempt back."""
        keys = _keys(name, ip or "-")
        with self.sessions.begin() as session:
            forget = [keys["account"]] + ([keys["pair"]] if ip else [])
            session.execute(delete(ThrottleCounter).where(ThrottleCounter.key.in_(forget)))
            if ip:
                session.execute(
                    update(ThrottleCounter)
                    .where(ThrottleCounter.key == keys["ip"], ThrottleCounter.failures > 0)
                    .values(failures=ThrottleCounter.failures - 1)
                )

    def count(self, key: str, window: timedelta, now: Optional[datetime] = None) -> Tuple[int, int]:
        """Add one to the plain counter ``key``: (its count in the current ``window``, 1 for the first; the count of
        the window that just ended when this one is the first, else 0)."""
        moment = now or datetime.utcnow()
        with self.sessions.begin() as session:
            row = _lock_rows(session, [key[:220]], moment)[key[:220]]
            ended = 0
            if row.window_start <= moment - window:
                ended, row.failures, row.window_start = row.failures, 0, moment
            row.failures += 1
            return row.failures, ended
