"""The one prelude of every console page handler: who may call it, the CSRF check of a form, the refusal sent to
everyone else, and the thread pool.

    @page(TICKET_STAFF, post=True)
    def claim(call: Call) -> Response: ...

The decorated function gets a ``Call`` (request, signed-in account, posted form) and runs in the thread pool,
so its database work (one short transaction) never blocks the event loop and two officers acting at once are
really concurrent. The JSON API has its own decorator (``faq_api.api``): other credentials, JSON refusals.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Optional, Union

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from core.accounts.models import ROLE_ADMIN, ROLES
from core.catalogue import message
from core.curation.spreadsheet import MAX_BYTES as MAX_UPLOAD_BYTES
from webapp.console import rendering, security
from webapp.console.rendering import EDITOR_ROLES, TICKET_ROLES
from webapp.console.security import Auth

MAX_FORM_BYTES = MAX_UPLOAD_BYTES + 65536  # a spreadsheet upload and the form around it


@dataclass(frozen=True)
class Allowed:
    """The roles that may use a page and what the others are told (403)."""

    roles: Collection[str]
    refusal: str = ""

    def but(self, refusal: str) -> Allowed:
        """The same roles, another sentence for the others."""
        return Allowed(self.roles, refusal)


SIGNED_IN = Allowed(ROLES)
TICKET_STAFF = Allowed(TICKET_ROLES, message("console.tickets_only"))
ADMINS = Allowed((ROLE_ADMIN,), message("console.admins_only"))
EDITORS = Allowed(EDITOR_ROLES, message("console.editors_only"))


@dataclass
class Call:
    """One request to a page, as its handler sees it."""

    request: Request
    auth: Auth
    form: FormData = field(default_factory=FormData)

    @property
    def ip(self) -> str:
        return security.client_ip(self.request)

    @property
    def params(self) -> Any:
        return self.request.path_params

    @property
    def query(self) -> Any:
        return self.request.query_params

    def text(self, name: str, limit: int) -> str:
        """Form field ``name``, cut to ``limit`` characters."""
        return str(self.form.get(name, ""))[:limit]

    def render(self, template: str, status_code: int = 200, **context: Any) -> Response:
        return rendering.render(template, self.auth, self.request, status_code, **context)


# how a page refuses: (request, the account or None when signed out, the sentence, the status) → response
Refuse = Callable[[Request, Optional[Auth], str, int], Response]


def plain_refusal(request: Request, auth: Optional[Auth], message: str, status_code: int) -> Response:
    """Signed out: to the sign-in page; otherwise a one-line page."""
    if auth is None:
        return rendering.to_login(request)
    return rendering.message_html(message, status_code)


def page(
    allowed: Allowed = SIGNED_IN,
    *,
    post: bool = False,
    touch: Union[bool, Callable[[Request], bool]] = True,
    refuse: Refuse = plain_refusal,
) -> Callable[[Callable[[Call], Response]], Callable[[Request], Any]]:
    """Make ``handler(call)`` a Starlette endpoint for the accounts in ``allowed``.

    ``post``: the request is a form POST that must carry the session's CSRF token (and come from this site).
    ``touch``: whether the request counts as activity (an automatic refresh does not, so an unattended screen
    still signs out); a function of the request when only some requests are automatic.
    """

    def decorate(handler: Callable[[Call], Response]) -> Callable[[Request], Any]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            auth = await security.current_auth(request, touch(request) if callable(touch) else touch)
            if auth is None:
                return refuse(request, None, "", 401)
            if auth.role not in allowed.roles:
                return refuse(request, auth, allowed.refusal, 403)
            call = Call(request, auth)
            if post:
                if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
                    return refuse(request, auth, message("console.too_large"), 413)
                call.form = await request.form()
                if not security.csrf_ok(request, auth, str(call.form.get("csrf_token", ""))):
                    return rendering.forbidden()
            return await run_in_threadpool(handler, call)

        return endpoint

    return decorate


def to_int(value: Any, default: Optional[int] = None) -> Optional[int]:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default
