"""Sign-in state, CSRF and response headers of the staff console.

- The session cookie holds a random token signed with itsdangerous (CONSOLE_SECRET_KEY; a random key per process
  when unset, so sessions end when the web app restarts). The database keeps only the token's hash, the officer,
  the CSRF token and the times: a session ends on sign-out, after ``SESSION_IDLE`` without a request, after
  ``SESSION_MAX_AGE`` in any case, and when the account is deactivated or its password changes.
- Every POST carries the session's CSRF token in a hidden field (the sign-in form: a signed token in a short-lived
  cookie, double-submit) and, when the browser sends an Origin header, it must be this site.
- Cookies are HttpOnly, SameSite=Strict, Path=/console, and Secure on HTTPS.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.accounts import SESSION_MAX_AGE, account_repository
from core.settings import get_settings

log = logging.getLogger(__name__)

PREFIX = "/console"
SESSION_COOKIE = "hz_console"
LOGIN_COOKIE = "hz_console_login"
LOGIN_COOKIE_AGE = 30 * 60

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # (no-referrer would make browsers send "Origin: null" on our own POSTs)
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@lru_cache(maxsize=1)
def _secret() -> str:
    configured = get_settings().console_secret_key
    if configured:
        return configured
    log.warning("CONSOLE_SECRET_KEY is not set: using a random key, console sessions end when the web app restarts")
    return secrets.token_urlsafe(32)


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(), salt=salt)


@dataclass(frozen=True)
class Auth:
    """The signed-in officer of a request (plain values, safe to use outside the database session)."""

    session_id: int
    officer_id: int
    username: str
    display_name: str
    role: str
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "-"


def _cookie_token(request: Request) -> Optional[str]:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw or len(raw) > 500:
        return None
    try:
        return _serializer("console-session").loads(raw, max_age=int(SESSION_MAX_AGE.total_seconds()))
    except BadSignature:
        return None


def _load_auth(token: str, touch: bool) -> Optional[Auth]:
    with account_repository() as accounts:
        row = accounts.live_session(token, touch)
        if row is None:
            return None
        officer = row.officer
        return Auth(row.id, officer.id, officer.username, officer.display_name, officer.role, row.csrf_token)


async def current_auth(request: Request, touch: bool = True) -> Optional[Auth]:
    """The signed-in officer, or None. Automatic refreshes pass ``touch=False`` so that a page left open does not
    keep its session alive."""
    token = _cookie_token(request)
    if token is None:
        return None
    return await run_in_threadpool(_load_auth, token, touch)


def had_session_cookie(request: Request) -> bool:
    return SESSION_COOKIE in request.cookies


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        _serializer("console-session").dumps(token),
        max_age=int(SESSION_MAX_AGE.total_seconds()),
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=_secure(request))


def login_token(request: Request) -> str:
    """The token of the sign-in form: the one in the sign-in cookie if it is valid, else a new one."""
    raw = request.cookies.get(LOGIN_COOKIE, "")
    try:
        token = _serializer("console-login").loads(raw, max_age=LOGIN_COOKIE_AGE) if raw else None
    except BadSignature:
        token = None
    return str(token) if token else secrets.token_urlsafe(24)


def set_login_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        _serializer("console-login").dumps(token),
        max_age=LOGIN_COOKIE_AGE,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def login_csrf_ok(request: Request, submitted: str) -> bool:
    raw = request.cookies.get(LOGIN_COOKIE, "")
    try:
        token = _serializer("console-login").loads(raw, max_age=LOGIN_COOKIE_AGE) if raw else None
    except BadSignature:
        return False
    return bool(token) and hmac.compare_digest(str(token), submitted or "")


def same_origin(request: Request) -> bool:
    """A POST from another site is refused when the browser says where it comes from (an opaque ``null`` origin
    says nothing: the CSRF token decides)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return True
    expected = f"{request.url.scheme}://{request.url.netloc}"
    return origin.rstrip("/") == expected


def csrf_ok(request: Request, auth: Auth, submitted: Optional[str]) -> bool:
    return same_origin(request) and hmac.compare_digest(auth.csrf, submitted or "")


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every console response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in _LOWER]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_LOWER = {k.lower() for k in SECURITY_HEADERS}

_TOKEN_IN_QUERY = re.compile(r"(token=)[^&\s\"]+")


class RedactTokens(logging.Filter):
    """Keeps poll tokens out of the access log (the web chat sends them in the query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_QUERY.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True
