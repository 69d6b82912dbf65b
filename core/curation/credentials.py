"""Who is calling the console's JSON API: HTTP Basic with a console account, or a personal API token.

- Basic: the account's argon2 password, throttled like the sign-in form (the same counters, counted before the
  password is checked: core/throttle.py); failures are recorded and audited, successes are not
  (an automation calling every few seconds would flood the log).
- Refused tokens and throttled attempts are audited at most once a minute per address, with the count.
- Token: ``Authorization: Bearer hzk_…``. Tokens are random (256 bits), shown once when created, stored as a
  SHA-256 hash; each acts with its account's role, and stops with the account or when revoked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import select

from core.accounts import AccountRepository
from core.accounts.models import ApiToken, Officer
from core.curation.repository import Actor, now
from core.handoff.repository import hash_token

TOKEN_PREFIX = "hzk_"
MAX_TOKENS_PER_ACCOUNT = 10


@dataclass(frozen=True)
class Authentication:
    actor: Optional[Actor]
    throttled: bool = False


def _actor(officer: Officer, ip: str) -> Actor:
    return Actor(officer.username, officer.role, officer.id, ip, via="api")


def check_basic(accounts: AccountRepository, username: str, password: str, ip: str) -> Authentication:
    result = accounts.verify(username, password, ip, via="API")
    if result.throttled:
        return Authentication(None, throttled=True)
    if result.officer is None:
        accounts.record_failure(result, ip, "api_auth_failed", "API（HTTP Basic）")
        return Authentication(None)
    return Authentication(_actor(result.officer, ip))


def check_token(accounts: AccountRepository, token: str, ip: str) -> Authentication:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return Authentication(None)
    row = accounts.session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).scalars().first()
    if row is None or row.revoked_at is not None or not row.officer.active:
        accounts.audit_aggregated(
            row.officer if row else None, row.officer.username if row else "-", "api_auth_failed", ip, "API（令牌）"
        )
        return Authentication(None)
    moment = now()
    if row.last_used_at is None or (moment - row.last_used_at).total_seconds() > 60:
        row.last_used_at = moment
    return Authentication(_actor(row.officer, ip))


def create_token(accounts: AccountRepository, officer: Officer, name: str, ip: Optional[str]) -> str:
    """A new token of ``officer`` (returned once, never stored in clear)."""
    name = " ".join((name or "").split())[:60] or "API 令牌"
    if len(tokens_of(accounts, officer)) >= MAX_TOKENS_PER_ACCOUNT:
        raise ValueError(f"每个账号最多 {MAX_TOKENS_PER_ACCOUNT} 个有效令牌，请先撤销不用的令牌。")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    accounts.session.add(
        ApiToken(officer_id=officer.id, name=name, token_hash=hash_token(token), hint=token[:8], created_at=now())
    )
    accounts.audit(officer, "api_token_create", ip, name)
    return token


def tokens_of(accounts: AccountRepository, officer: Officer) -> List[ApiToken]:
    query = select(ApiToken).where(ApiToken.officer_id == officer.id, ApiToken.revoked_at.is_(None))
    return list(accounts.session.execute(query.order_by(ApiToken.id)).scalars())


def revoke_token(accounts: AccountRepository, officer: Officer, token_id: int, ip: Optional[str]) -> bool:
    """Revoke one of ``officer``'s tokens (administrators may revoke anyone's)."""
    row = accounts.session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None or (row.officer_id != officer.id and not officer.is_admin):
        return False
    row.revoked_at = now()
    accounts.audit(officer, "api_token_revoke", ip, f"{row.name}（{row.officer.username}）")
    return True
