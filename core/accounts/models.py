"""Who uses the console: accounts (officers, administrators, editors), their sessions and API tokens, sign-in
attempts and the throttle's counters, the audit log, and the settings administrators change.

Times are naive UTC (``datetime.utcnow``), shown in China time by the console.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

from core.db import Base

# console roles
ROLE_ADMIN = "admin"
ROLE_OFFICER = "officer"
ROLE_EDITOR = "editor"  # curates the FAQ/knowledge entries (actions/curation); no tickets
ROLES = (ROLE_ADMIN, ROLE_OFFICER, ROLE_EDITOR)


class Officer(Base):
    """A console account: a CBSO officer, or an administrator who also manages accounts and settings."""

    __tablename__ = "console_officers"

    id = Column(Integer, primary_key=True)
    username = Column(String(40), nullable=False, unique=True)
    display_name = Column(String(40), nullable=False)
    password_hash = Column(String(200), nullable=False)
    role = Column(String(16), nullable=False, default=ROLE_OFFICER)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    last_login_at = Column(DateTime)

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    def __repr__(self) -> str:
        return f"Officer({self.id!r}, {self.username!r}, role={self.role!r}, active={self.active!r})"


class ConsoleSession(Base):
    """A signed-in console session. The cookie carries a signed random token; only its hash is stored."""

    __tablename__ = "console_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    officer_id = Column(Integer, ForeignKey("console_officers.id"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    last_seen_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    expires_at = Column(DateTime, nullable=False)
    revoked_at = Column(DateTime)

    officer = relationship("Officer")

    def __repr__(self) -> str:
        return f"ConsoleSession({self.id!r}, officer={self.officer_id!r})"


class ApiToken(Base):
    """A personal token for the console's JSON API. Only its hash is stored; it acts with its account's role and
    stops working when the account is deactivated or the token revoked."""

    __tablename__ = "console_api_tokens"

    id = Column(Integer, primary_key=True)
    officer_id = Column(Integer, ForeignKey("console_officers.id"), nullable=False, index=True)
    name = Column(String(60), nullable=False)
    token_hash = Column(String(64), nullable=False, unique=True)
    hint = Column(String(12), nullable=False, doc="the first characters, to tell tokens apart")
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    last_used_at = Column(DateTime)
    revoked_at = Column(DateTime)

    officer = relationship("Officer")

    def __repr__(self) -> str:
        return f"ApiToken({self.id!r}, officer={self.officer_id!r}, {self.name!r})"


class LoginAttempt(Base):
    __tablename__ = "console_login_attempts"

    id = Column(Integer, primary_key=True)
    username = Column(String(80), nullable=False, index=True)
    ip = Column(String(64), nullable=False, index=True)
    success = Column(Boolean, nullable=False)
    at = Column(DateTime, nullable=False, default=datetime.utcnow, index=True)

    def __repr__(self) -> str:
        return f"LoginAttempt({self.username!r}, success={self.success!r})"


class ThrottleCounter(Base):
    """One counter of the login throttle (core/throttle.py): failures of an account name from one
    address, of one address, or of one account name from anywhere. Updated under a row lock, so parallel attempts
    are counted one after another."""

    __tablename__ = "console_throttle"

    key = Column(String(220), primary_key=True)
    failures = Column(Integer, nullable=False, default=0)
    window_start = Column(DateTime, nullable=False)
    locked_until = Column(DateTime)

    def __repr__(self) -> str:
        return f"ThrottleCounter({self.key!r}, failures={self.failures!r})"


class AuditEntry(Base):
    """Who did what, when: every sign-in, ticket view and change, account and setting change."""

    __tablename__ = "console_audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=datetime.utcnow, index=True)
    officer_id = Column(Integer, ForeignKey("console_officers.id"))
    username = Column(String(80), nullable=False)
    action = Column(String(40), nullable=False)
    ticket_id = Column(Integer, ForeignKey("handoff_tickets.id"), index=True)
    detail = Column(String(300))
    ip = Column(String(64))

    officer = relationship("Officer")
    ticket = relationship("Ticket")

    def __repr__(self) -> str:
        return f"AuditEntry({self.at!r}, {self.username!r}, {self.action!r}, ticket={self.ticket_id!r})"


class Setting(Base):
    """A setting an administrator changes in the console: office hours (the environment gives the default),
    whether editors' changes need review, how far the unanswered-questions report has read the tickets."""

    __tablename__ = "console_settings"

    key = Column(String(40), primary_key=True)
    value = Column(Text, nullable=False)
    updated_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    updated_by = Column(String(80), nullable=False)

    def __repr__(self) -> str:
        return f"Setting({self.key!r}, {self.value!r})"


import core.handoff.models  # noqa: E402,F401 - the tickets audit entries point to (and that point to officers)
