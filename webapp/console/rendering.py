"""What every console page shares: the templates, the labels they show, the notices after a redirect, and the
responses that are not a page (redirects, the sign-in redirect, the refusal of a stale form)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader
from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from core import ratings
from core.accounts import MIN_PASSWORD_LENGTH
from core.accounts.models import ROLE_ADMIN, ROLE_EDITOR, ROLE_OFFICER
from core.catalogue import catalogue, labels, message
from core.curation.validation import LABELS as FIELD_LABELS
from core.curation.validation import STATUS_LABELS as FAQ_STATUS
from core.handoff import contact, payloads
from core.handoff.models import AUTHOR_USER, TicketMessage
from core.settings import get_settings
from webapp.console import security
from webapp.console.security import PREFIX, Auth

TEMPLATES = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")), autoescape=True)
MAX_REPLY_CHARS = 2000
TICKET_ROLES = (ROLE_ADMIN, ROLE_OFFICER)  # editors (core/curation) curate knowledge and see no tickets
EDITOR_ROLES = (ROLE_ADMIN, ROLE_EDITOR)  # who may change knowledge entries

STATUS_LABELS = labels("ticket_status")
USER_LEFT_LABEL = message("console.user_left")  # 结束人工: the ticket stays open, replies reach the user next time
REASON_LABELS = labels("handoff_reasons")
AUTHOR_LABELS = labels("authors")
CHANNEL_LABELS = labels("channels")
ROLE_LABELS = labels("roles")
ACTION_LABELS = labels("audit_actions")  # the audit log's actions
# the notice a page shows after a redirect with ?m=<key>
NOTICES = {
    key: (str(kind), str(text).format(max_chars=MAX_REPLY_CHARS)) for key, (kind, text) in catalogue()["notices"].items()
}


def china_time(moment: Optional[datetime], fmt: str = "%m-%d %H:%M") -> str:
    if moment is None:
        return ""
    return moment.replace(tzinfo=timezone.utc).astimezone(_office_tz()).strftime(fmt)


def _office_tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo(get_settings().timezone)


def age(moment: Optional[datetime]) -> str:
    if moment is None:
        return ""
    minutes = int((datetime.utcnow() - moment).total_seconds() // 60)
    if minutes < 60:
        return message("console.age_minutes", minutes=max(minutes, 0))
    if minutes < 48 * 60:
        return message("console.age_hours", hours=minutes // 60, minutes=minutes % 60)
    return message("console.age_days", days=minutes // (24 * 60))


def shown_text(message: TicketMessage) -> str:
    """A transcript line as the user saw it: button payloads of older tickets (``/startup_process``) as
    「（点击了按钮：…）」, "" for payloads sent without a click (left out)."""
    if message.author != AUTHOR_USER:
        return message.text
    return payloads.shown_text(message.text) or ""


TEMPLATES.filters.update(china_time=china_time, age=age, mask_phone=contact.mask_phone, shown_text=shown_text)
TEMPLATES.globals.update(
    PREFIX=PREFIX, MAX_REPLY_CHARS=MAX_REPLY_CHARS, MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH,
    USER_LEFT_LABEL=USER_LEFT_LABEL, STATUS_LABELS=STATUS_LABELS, REASON_LABELS=REASON_LABELS,
    AUTHOR_LABELS=AUTHOR_LABELS, CHANNEL_LABELS=CHANNEL_LABELS, ACTION_LABELS=ACTION_LABELS, ROLE_LABELS=ROLE_LABELS,
    FAQ_STATUS=FAQ_STATUS, FIELD_LABELS=FIELD_LABELS, RATING_LABELS={level.score: level.label for level in ratings.LEVELS},
)


def render(
    name: str, auth: Optional[Auth], request: Optional[Request] = None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Template ``name`` for the signed-in ``auth`` (None on the sign-in page), with the notice of ``?m=``."""
    notice = NOTICES.get(request.query_params.get("m", "")) if request is not None else None
    can_edit = auth is not None and auth.role in EDITOR_ROLES
    html = TEMPLATES.get_template(name).render(auth=auth, notice=notice, can_edit=can_edit, **context)
    return HTMLResponse(html, status_code=status_code)


def message_html(message: str, status_code: int) -> HTMLResponse:
    """A one-line page without the console's frame."""
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><p>{escape(message)}</p>", status_code=status_code)


def redirect(path: str, **query: str) -> RedirectResponse:
    url = PREFIX + path + (("?" + urlencode(query)) if query else "")
    return RedirectResponse(url, status_code=303)


def to_login(request: Request) -> Response:
    response = redirect("/login", m="expired") if security.had_session_cookie(request) else redirect("/login")
    security.clear_session_cookie(response, request)
    return response


def forbidden() -> HTMLResponse:
    return message_html(message("console.stale_form"), 403)


def landing(role: str) -> str:
    """Where an account starts: officers and administrators at the ticket queue, others (editors) elsewhere."""
    return "/queue" if role in TICKET_ROLES else "/faq"
