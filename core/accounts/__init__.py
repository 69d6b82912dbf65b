"""Console accounts: argon2 password hashes, server-side sessions, login throttling, and the first administrator.

Sessions live in the database so that signing out, deactivating an account and expiry take effect at once; the
browser only holds a signed random token whose hash is stored.

Command line (``make admin-password``)::

    python -m core.accounts reset-password [USERNAME]   # a new random password, printed once
    python -m core.accounts list                         # the accounts, without passwords

``reset-password`` without a name takes CONSOLE_ADMIN_USER, else ``admin``, else the only active administrator; it
signs the account out everywhere and is written to the audit log (who ran it: the operating-system user).
"""

from __future__ import annotations

import logging
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Iterator, List, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.accounts.models import ROLE_ADMIN, ROLE_OFFICER, ROLES, AuditEntry, ConsoleSession, LoginAttempt, Officer
from core.catalogue import message
from core.db import hash_token, now
from core.throttle import (
    MAX_FAILURES_PER_ACCOUNT_AND_IP,  # noqa: F401 - re-exported: the limit the console tells users about
    LoginThrottle,
    Verdict,
)

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
PLACEHOLDER_PASSWORDS = frozenset({"changeme", "change-me", "password", "admin", "secret", "123456", "please-change"})
SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX_AGE = timedelta(hours=8)
TOUCH_EVERY = timedelta(seconds=60)
# login throttling: core/throttle.py (per account name and address, per address, per account name)

# a flood of refused attempts from one address is audited once per minute, with the count
AUDIT_AGGREGATE_WINDOW = timedelta(minutes=1)

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_problem(password: str) -> Optional[str]:
    """Why ``password`` is not acceptable (in Chinese, for the console), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return message("accounts.password_short", min=MIN_PASSWORD_LENGTH)
    if password.lower() in PLACEHOLDER_PASSWORDS or len(set(password)) < 4:
        return message("accounts.password_simple")
    return None


@dataclass(frozen=True)
class SignIn:
    officer: Optional[Officer]
    throttled: bool = False
    retry_after: float = 0.0  # seconds, when throttled
    name: str = ""  # the account name as tried (trimmed, lower case)
    account: Optional[Officer] = None  # the account of that name, also when the attempt was refused

    @property
    def wait_minutes(self) -> int:
        return Verdict(False, self.retry_after).wait_minutes


class AccountRepository:
    def __init__(self, session: Session, throttle: Optional[LoginThrottle] = None) -> None:
        self._throttle = throttle
        self.session = session

    # ---- accounts -----------------------------------------------------------------------------------------

    def officer(self, officer_id: int) -> Optional[Officer]:
        return self.session.get(Officer, officer_id)

    def by_username(self, username: str) -> Optional[Officer]:
        query = select(Officer).where(func.lower(Officer.username) == username.strip().lower())
        return self.session.execute(query).scalars().first()

    def officers(self, active_only: bool = False) -> List[Officer]:
        query = select(Officer).order_by(Officer.username)
        if active_only:
            query = query.where(Officer.active.is_(True))
        return list(self.session.execute(query).scalars())

    def count(self) -> int:
        return int(self.session.execute(select(func.count(Officer.id))).scalar() or 0)

    def create(self, username: str, display_name: str, password: str, role: str = ROLE_OFFICER) -> Officer:
        if role not in ROLES:
            raise ValueError(role)
        problem = password_problem(password)
        if problem:
            raise ValueError(problem)
        if self.by_username(username):
            raise ValueError(message("accounts.username_taken"))
        officer = Officer(
            username=username.strip(),
            display_name=display_name.strip() or username.strip(),
            password_hash=hash_password(password),
            role=role,
            active=True,
            created_at=now(),
        )
        self.session.add(officer)
        self.session.flush()
        return officer

    def set_password(self, officer: Officer, password: str) -> None:
        problem = password_problem(password)
        if problem:
            raise ValueError(problem)
        officer.password_hash = hash_password(password)
        self.revoke_sessions(officer)

    def set_active(self, officer: Officer, active: bool) -> None:
        officer.active = active
        if not active:
            self.revoke_sessions(officer)

    def check_password(self, officer: Officer, password: str) -> bool:
        try:
            _hasher.verify(officer.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(officer.password_hash):
            officer.password_hash = hash_password(password)
        return True

    # ---- signing in ---------------------------------------------------------------------------------------

    @property
    def throttle(self) -> LoginThrottle:
        if self._throttle is None:
            self._throttle = LoginThrottle()
        return self._throttle

    def reserve_attempt(self, username: str, ip: str, via: Optional[str] = None) -> Verdict:
        """Count a sign-in attempt before its password is checked (atomic, so parallel attempts cannot overtake the
        limit); a refused one is audited, at most once a minute per address (``via``: the audit detail)."""
        name = username.strip().lower()[:80]
        verdict = self.throttle.reserve(name, ip)
        if not verdict.allowed:
            self.audit_aggregated(None, name or "-", "login_throttled", ip, via)
        return verdict

    def audit_aggregated(
        self, officer: Optional[Officer], username: str, action: str, ip: Optional[str], detail: Optional[str] = None
    ) -> None:
        """Audit ``action`` from ``ip`` once per ``AUDIT_AGGREGATE_WINDOW``; the first entry of a window says how
        many more the previous window had, so a flood becomes one line a minute instead of one line a request."""
        count, ended = self.throttle.count(f"audit:{action}:{ip or '-'}", AUDIT_AGGREGATE_WINDOW)
        if count != 1:
            return
        parts = [detail] if detail else []
        if ended > 1:
            parts.append(message("accounts.audit_repeated", count=ended))
        self._audit(officer, username, action, ip, "；".join(parts) or None)

    def verify(self, username: str, password: str, ip: str, via: Optional[str] = None) -> SignIn:
        """The account of ``username`` if the throttle allows the attempt, the password is right and the account
        active (an unknown name takes as long as a wrong password); a success resets the throttle. Records
        nothing else: ``sign_in`` and the API's HTTP Basic record the outcome each in their own words."""
        name = (username or "").strip().lower()[:80]
        verdict = self.reserve_attempt(name, ip, via)
        if not verdict.allowed:
            return SignIn(None, throttled=True, retry_after=verdict.retry_after, name=name)
        account = self.by_username(name) if name else None
        if account is None:
            self._spend_time(password)
            ok = False
        else:
            ok = self.check_password(account, password) and account.active
        if ok:
            self.throttle.succeeded(name, ip)
        return SignIn(account if ok else None, name=name, account=account)

    def record_failure(self, result: SignIn, ip: str, action: str, detail: Optional[str] = None) -> None:
        """A refused sign-in: the attempt and an audit entry."""
        self.session.add(LoginAttempt(username=result.name or "-", ip=ip, success=False, at=now()))
        self._audit(result.account, result.name or "-", action, ip, detail)

    def sign_in(self, username: str, password: str, ip: str) -> SignIn:
        """Check the credentials unless the throttle refuses the attempt; record the attempt."""
        result = self.verify(username, password, ip)
        if result.throttled:
            return result
        if result.officer is None:
            self.record_failure(result, ip, "login_failed")
            return result
        self.session.add(LoginAttempt(username=result.name, ip=ip, success=True, at=now()))
        result.officer.last_login_at = now()
        self._audit(result.officer, result.name, "login", ip)
        return result

    @staticmethod
    def _spend_time(password: str) -> None:
        """Verify against a dummy hash so an unknown name takes as long as a wrong password."""
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            pass

    # ---- sessions -----------------------------------------------------------------------------------------

    def start_session(self, officer: Officer) -> tuple[ConsoleSession, str]:
        token = secrets.token_urlsafe(32)
        started = now()
        row = ConsoleSession(
            token_hash=hash_token(token),
            officer_id=officer.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=started,
            last_seen_at=started,
            expires_at=started + SESSION_MAX_AGE,
        )
        self.session.add(row)
        self.session.flush()
        return row, token

    def live_session(self, token: str, touch: bool = True) -> Optional[ConsoleSession]:
        """The session of ``token`` if it is neither revoked, idle too long, past its lifetime, nor of an account
        that was deactivated; ``touch`` counts this request as activity (stored at most once a minute)."""
        row = (
            self.session.execute(select(ConsoleSession).where(ConsoleSession.token_hash == hash_token(token)))
            .scalars()
            .first()
        )
        if row is None or row.revoked_at is not None:
            return None
        moment = now()
        if moment >= row.expires_at or moment - row.last_seen_at > SESSION_IDLE or not row.officer.active:
            if row.revoked_at is None:
                row.revoked_at = moment
            return None
        if touch and moment - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = moment
        return row

    def end_session(self, row: ConsoleSession) -> None:
        row.revoked_at = now()

    def revoke_sessions(self, officer: Officer) -> None:
        self.session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.officer_id == officer.id, ConsoleSession.revoked_at.is_(None))
            .values(revoked_at=now())
            .execution_options(synchronize_session=False)
        )

    # ---- audit --------------------------------------------------------------------------------------------

    def audit_log(self, limit: int = 200, offset: int = 0, ticket_id: Optional[int] = None) -> List[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
        if ticket_id is not None:
            query = query.where(AuditEntry.ticket_id == ticket_id)
        return list(self.session.execute(query).scalars())

    def audit(self, officer: Optional[Officer], action: str, ip: Optional[str], detail: Optional[str] = None) -> None:
        self._audit(officer, officer.username if officer else "-", action, ip, detail)

    def _audit(
        self, officer: Optional[Officer], username: str, action: str, ip: Optional[str], detail: Optional[str] = None
    ) -> None:
        self.session.add(
            AuditEntry(
                at=now(),
                officer_id=officer.id if officer else None,
                username=(username or "-")[:80],
                action=action,
                detail=(detail or "")[:300] or None,
                ip=ip,
            )
        )


@contextmanager
def account_repository() -> Iterator[AccountRepository]:
    from core.db import session_scope

    with session_scope() as session:
        yield AccountRepository(session)


def seed_admin() -> dict:
    """The first administrator (a seeder of ``make db``): CONSOLE_ADMIN_USER / CONSOLE_ADMIN_PASSWORD, or, when
    the password is unset, a random one printed once. Existing accounts are never changed."""
    from core.settings import get_settings

    settings = get_settings()
    username = settings.console_admin_user or "admin"
    password = settings.console_admin_password
    if password:
        problem = password_problem(password)
        if problem:
            raise SystemExit(
                f"CONSOLE_ADMIN_PASSWORD is not acceptable: {problem}" + message("accounts.admin_password_rule", min=MIN_PASSWORD_LENGTH)
            )
    with account_repository() as accounts:
        if accounts.by_username(username) is not None:
            return {"admin": "exists"}
        if not settings.console_admin_user and accounts.count() > 0:
            return {"admin": "exists"}
        generated = not password
        if generated:
            password = secrets.token_urlsafe(15)
        accounts.create(username, message("accounts.admin_name"), password, role=ROLE_ADMIN)
    if generated:
        print(
            "\n  ================================================================\n"
            f"  控制台管理员账号已创建 / console admin created: {username}\n"
            f"  初始密码 / password (shown only this once): {password}\n"
            "  登录后请在「修改密码」中更换 / change it after signing in.\n"
            "  忘记密码 / lost it: make admin-password\n"
            "  ================================================================\n",
            flush=True,
        )
        return {"admin": "created (random password printed above)"}
    return {"admin": "created from CONSOLE_ADMIN_USER/CONSOLE_ADMIN_PASSWORD"}


CLI_USER_PREFIX = "cli:"


def console_admin_name(preferred: Optional[str] = None) -> Optional[str]:
    """The name to sign in to the console with as administrator: ``preferred`` (default CONSOLE_ADMIN_USER) or
    ``admin`` if that account exists, else the first active administrator; None when there is none (or no database
    yet)."""
    from core.settings import get_settings

    wanted = preferred or get_settings().console_admin_user or "admin"
    try:
        with account_repository() as accounts:
            officer = accounts.by_username(wanted)
            if officer is not None and officer.active and officer.is_admin:
                return officer.username
            admins = [o for o in accounts.officers(active_only=True) if o.is_admin]
            return admins[0].username if admins else None
    except Exception:  # noqa: BLE001 - no database yet: the caller says how to make one
        return None


def reset_password(username: Optional[str] = None, by: str = "") -> tuple[str, str]:
    """Give ``username`` (default: ``console_admin_name()``) a new random password, sign it out everywhere and
    audit-log it as done from the command line by ``by``; returns (account name, new password)."""
    name = (username or "").strip() or console_admin_name()
    if not name:
        raise LookupError("no administrator account yet: run `make db` (it creates the first one)")
    password = secrets.token_urlsafe(15)
    with account_repository() as accounts:
        officer = accounts.by_username(name)
        if officer is None:
            known = ", ".join(o.username for o in accounts.officers()) or "none"
            raise LookupError(f"no console account named {name!r} (accounts: {known})")
        accounts.set_password(officer, password)
        accounts._audit(
            None,
            f"{CLI_USER_PREFIX}{by or '-'}"[:80],
            "reset_password",
            None,
            message("accounts.audit_cli_reset", username=officer.username),
        )
        username = officer.username
    # after the commit (the throttle writes in a transaction of its own): a locked-out account can sign in again
    LoginThrottle().succeeded(username, None)
    return username, password


def operating_system_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        return "-"
