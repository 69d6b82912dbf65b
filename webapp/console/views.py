"""The ticket and administration pages of the staff console, and signing in and out.

Every page handler is a plain function behind ``handler.page`` (who may call it, CSRF, refusal, thread pool):
it reads the request, runs one short transaction and renders a page or redirects with a notice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.accounts import AccountRepository, account_repository
from core.accounts.models import ROLE_OFFICER, ROLES, ConsoleSession, Officer
from core.catalogue import message
from core.handoff import contact, delivery, privacy
from core.handoff.models import (
    ACTIVE_STATUSES,
    AUTHOR_OFFICER,
    FINAL_STATUSES,
    STATUS_ASSIGNED,
    STATUS_OPEN,
    Ticket,
    TicketMessage,
)
from core.handoff.office_hours import OfficeHours, format_moment, load_holidays, parse_spec
from core.handoff.repository import ClaimConflict, NotAllowed, TicketRepository, ticket_repository
from core.settings import get_settings
from webapp.console import security
from webapp.console.handler import ADMINS, SIGNED_IN, TICKET_STAFF, Call, page
from webapp.console.rendering import (
    AUTHOR_LABELS,
    CHANNEL_LABELS,
    MAX_REPLY_CHARS,
    TICKET_ROLES,
    china_time,
    forbidden,
    landing,
    message_html,
    redirect,
    render,
    shown_text,
)
from webapp.console.security import PREFIX, Auth

log = logging.getLogger(__name__)


def signature(officer: Optional[Officer]) -> str:
    """How the user sees an officer's replies (the same as delivery.officer_message_text)."""
    name = delivery.public_officer_name(officer)
    return message("console.signature") + (f" {name}" if name else "")


def _text(form: Any, field: str, limit: int = MAX_REPLY_CHARS) -> tuple[str, Optional[str]]:
    value = str(form.get(field, "")).strip()
    if not value:
        return "", "empty"
    if len(value) > limit:
        return "", "too_long"
    return value, None


def _officer_of(tickets: TicketRepository, auth: Auth) -> Optional[Officer]:
    return tickets.session.get(Officer, auth.officer_id)


# ---- signing in ---------------------------------------------------------------------------------------------------


@page(SIGNED_IN)
def home(call: Call) -> Response:
    return redirect(landing(call.auth.role))


async def login_page(request: Request) -> Response:
    auth = await security.current_auth(request)
    if auth:
        return redirect(landing(auth.role))
    token = security.login_token(request)
    response = render("login.html", None, request, csrf=token)
    security.set_login_cookie(response, request, token)
    return response


def _sign_in(username: str, password: str, ip: str):
    with account_repository() as accounts:
        result = accounts.sign_in(username, password, ip)
        if result.officer is None:
            return None, result.wait_minutes if result.throttled else 0, None
        _row, token = accounts.start_session(result.officer)
        return token, 0, result.officer.role


async def login_submit(request: Request) -> Response:
    """The sign-in form: no session yet, so its own CSRF token (a signed cookie, double-submit)."""
    form = await request.form()
    if not security.same_origin(request) or not security.login_csrf_ok(request, str(form.get("csrf_token", ""))):
        return forbidden()
    username = str(form.get("username", ""))[:80]
    password = str(form.get("password", ""))[:200]
    token, wait_minutes, role = await run_in_threadpool(_sign_in, username, password, security.client_ip(request))
    if token is None:
        throttled = wait_minutes > 0
        error = message("console.login_throttled", minutes=wait_minutes) if throttled else message("console.login_failed")
        token = security.login_token(request)
        response = render(
            "login.html", None, status_code=429 if throttled else 401, error=error, username=username, csrf=token
        )
        security.set_login_cookie(response, request, token)
        return response
    response = redirect(landing(role))
    security.set_session_cookie(response, request, token)
    response.delete_cookie(security.LOGIN_COOKIE, path=PREFIX)
    return response


@page(SIGNED_IN, post=True)
def logout(call: Call) -> Response:
    with account_repository() as accounts:
        row = accounts.session.get(ConsoleSession, call.auth.session_id)
        if row is not None:
            accounts.end_session(row)
        accounts.audit(accounts.officer(call.auth.officer_id), "logout", call.ip)
    response = redirect("/login")
    security.clear_session_cookie(response, call.request)
    return response


# ---- the queue and tickets -----------------------------------------------------------------------------------------


@dataclass
class TopicGroup:
    topic: str
    tickets: List[Ticket]


def _group_by_topic(tickets: List[Ticket]) -> List[TopicGroup]:
    order = {name: i for i, name in enumerate(contact.TOPIC_NAMES)}
    groups: Dict[str, List[Ticket]] = {}
    for ticket in tickets:
        groups.setdefault(ticket.topic, []).append(ticket)
    return [TopicGroup(t, groups[t]) for t in sorted(groups, key=lambda t: (order.get(t, 99), t))]


def _not_refreshing(request: Request) -> bool:
    """The queue refreshes itself every minute (auto=1): that is not activity."""
    return request.query_params.get("auto") != "1"


@page(TICKET_STAFF, touch=_not_refreshing)
def queue_page(call: Call) -> Response:
    view = call.query.get("view", "open")
    if view not in ("open", "mine", "closed"):
        view = "open"
    officer_id = call.auth.officer_id
    with ticket_repository() as tickets:
        if view == "closed":
            rows = tickets.recently_closed(50)
            groups = [TopicGroup(message("console.recently_closed"), rows)] if rows else []
        elif view == "mine":
            groups = _group_by_topic(tickets.queue(ACTIVE_STATUSES, officer_id=officer_id))
        else:
            groups = _group_by_topic(tickets.queue(ACTIVE_STATUSES))
        counts = {
            "open": len(tickets.queue((STATUS_OPEN,))),
            "mine": len(tickets.queue((STATUS_ASSIGNED,), officer_id=officer_id)),
        }
        hours = office_hours(tickets)
        return call.render(
            "queue.html",
            view=view,
            groups=groups,
            counts=counts,
            open_now=hours.is_open(datetime.utcnow()),
            hours=hours.describe(),
        )


def office_hours(tickets: TicketRepository) -> OfficeHours:
    settings = get_settings()
    return OfficeHours.from_spec(tickets.office_hours_spec(settings.office_hours), settings.timezone)


@page(TICKET_STAFF)
def ticket_page(call: Call) -> Response:
    auth = call.auth
    with ticket_repository() as tickets:
        ticket = tickets.ticket(call.params["ticket_id"])
        if ticket is None:
            return message_html(message("console.no_ticket"), 404)
        accounts = AccountRepository(tickets.session)
        officers = [
            o
            for o in accounts.officers(active_only=True)
            if o.id != ticket.assigned_officer_id and o.role in TICKET_ROLES
        ]
        officer_names = {o.id: o.display_name for o in accounts.officers()}
        me = _officer_of(tickets, auth)
        tickets.audit(me, "view_ticket", ticket, ip=call.ip)
        mine = ticket.assigned_officer_id == auth.officer_id
        return call.render(
            "ticket.html",
            ticket=ticket,
            messages=ticket.messages,
            notes=ticket.notes,
            history=ticket.status_changes,
            officers=officers,
            officer_names=officer_names,
            mine=mine,
            can_claim=ticket.status == STATUS_OPEN and ticket.assigned_officer_id is None,
            can_reply=mine and ticket.is_active,
            can_transfer=ticket.is_active and (mine or auth.is_admin),
            can_resolve=ticket.is_active and ticket.assigned_officer_id is not None and (mine or auth.is_admin),
            last_message_id=ticket.messages[-1].id if ticket.messages else 0,
            closed=ticket.status in FINAL_STATUSES,
            signature=signature(me),
        )


def _message_json(line: TicketMessage) -> Dict[str, Any]:
    who = AUTHOR_LABELS.get(line.author, line.author)
    if line.author == AUTHOR_OFFICER and line.officer is not None:
        who = message("console.officer_named", name=line.officer.display_name)
    return {
        "id": line.id,
        "author": line.author,
        "who": who,
        "time": china_time(line.created_at),
        "text": shown_text(line),
    }


def _signed_out(_request: Request, _auth: Optional[Auth], _message: str, _status: int) -> Response:
    return JSONResponse({"error": "signed_out"}, status_code=401)  # the page's script reloads, and signs in


@page(TICKET_STAFF, touch=False, refuse=_signed_out)
def ticket_updates(call: Call) -> Response:
    """New transcript lines for the ticket page's refresher (JSON; the page inserts them as text, never HTML)."""
    ticket_id = call.params["ticket_id"]
    try:
        after = int(call.query.get("after", "0"))
    except ValueError:
        after = 0
    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        if ticket is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(
            {
                "status": ticket.status,
                "user_left": ticket.user_left,
                "messages": [_message_json(m) for m in tickets.messages_after(ticket_id, after)],
            }
        )


def _back_to_ticket(call: Call, notice: str) -> Response:
    return redirect(f"/tickets/{call.params['ticket_id']}", m=notice)


@page(TICKET_STAFF, post=True)
def claim(call: Call) -> Response:
    try:
        with ticket_repository() as tickets:
            tickets.claim(call.params["ticket_id"], _officer_of(tickets, call.auth), ip=call.ip)
        return _back_to_ticket(call, "claimed")
    except ClaimConflict:
        return _back_to_ticket(call, "claim_lost")


def _act_on_ticket(call: Call, act: Callable[[TicketRepository, Ticket, Optional[Officer]], None]) -> bool:
    """Run ``act(tickets, ticket, me)`` on the ticket of the URL in one transaction; False when there is no such
    ticket or the repository refuses (``NotAllowed``: not claimed by me, already closed…)."""
    try:
        with ticket_repository() as tickets:
            ticket = tickets.ticket(call.params["ticket_id"])
            if ticket is None:
                return False
            act(tickets, ticket, _officer_of(tickets, call.auth))
        return True
    except NotAllowed:
        return False


@page(TICKET_STAFF, post=True)
def reply(call: Call) -> Response:
    text, problem = _text(call.form, "text")
    if problem:
        return _back_to_ticket(call, problem)
    if not _act_on_ticket(call, lambda tickets, ticket, me: tickets.reply(ticket, me, text, ip=call.ip)):
        return _back_to_ticket(call, "not_allowed")
    pushed = delivery.push_undelivered(call.params["ticket_id"])
    return _back_to_ticket(call, "replied_pushed" if pushed else "replied")


@page(TICKET_STAFF, post=True)
def transfer(call: Call) -> Response:
    try:
        target_id = int(str(call.form.get("officer_id", "")))
    except ValueError:
        return _back_to_ticket(call, "not_allowed")

    def hand_over(tickets: TicketRepository, ticket: Ticket, me: Optional[Officer]) -> None:
        target = tickets.session.get(Officer, target_id)
        if target is None or target.role not in TICKET_ROLES:
            raise NotAllowed("not an officer")
        tickets.transfer(ticket, me, target, ip=call.ip)

    return _back_to_ticket(call, "transferred" if _act_on_ticket(call, hand_over) else "not_allowed")


@page(TICKET_STAFF, post=True)
def resolve(call: Call) -> Response:
    def close(tickets: TicketRepository, ticket: Ticket, me: Optional[Officer]) -> None:
        notice = delivery.response_text("utter_handoff_resolved_notice").replace("{ticket}", ticket.number)
        tickets.resolve(ticket, me, notice, ip=call.ip)

    if not _act_on_ticket(call, close):
        return _back_to_ticket(call, "not_allowed")
    delivery.push_undelivered(call.params["ticket_id"])
    return _back_to_ticket(call, "resolved")


@page(TICKET_STAFF, post=True)
def add_note(call: Call) -> Response:
    text, problem = _text(call.form, "text")
    if problem:
        return _back_to_ticket(call, problem)
    noted = _act_on_ticket(call, lambda tickets, ticket, me: tickets.add_note(ticket, me, text, ip=call.ip))
    return _back_to_ticket(call, "noted" if noted else "not_allowed")


# ---- administration ------------------------------------------------------------------------------------------------


@page(ADMINS)
def audit_page(call: Call) -> Response:
    with account_repository() as accounts:
        entries = accounts.audit_log(limit=300)
        numbers = {e.ticket_id: e.ticket.number for e in entries if e.ticket_id and e.ticket}
        return call.render("audit.html", entries=entries, numbers=numbers)


def _officers(call: Call, error: Optional[str] = None, status_code: int = 200) -> Response:
    with account_repository() as accounts:
        return call.render("officers.html", status_code, officers=accounts.officers(), error=error)


@page(ADMINS)
def officers_page(call: Call) -> Response:
    return _officers(call)


def _valid_username(username: str) -> bool:
    return bool(username) and len(username) <= 40 and username.replace("-", "").replace("_", "").replace(".", "").isalnum()


@page(ADMINS, post=True)
def officers_create(call: Call) -> Response:
    username = str(call.form.get("username", "")).strip()
    display_name = str(call.form.get("display_name", "")).strip()
    password = str(call.form.get("password", ""))
    role = str(call.form.get("role")) if call.form.get("role") in ROLES else ROLE_OFFICER
    if not _valid_username(username):
        return _officers(call, message("console.bad_username"), 400)
    if len(display_name) > 40:
        return _officers(call, message("console.name_too_long"), 400)
    try:
        with account_repository() as accounts:
            accounts.create(username, display_name, password, role)
            accounts.audit(accounts.officer(call.auth.officer_id), "create_officer", call.ip, f"{username}（{role}）")
    except ValueError as exc:
        return _officers(call, str(exc), 400)
    return redirect("/officers", m="saved")


def _update_officer(accounts: AccountRepository, call: Call) -> Optional[str]:
    """Apply one button of the accounts page; the problem to show, if any."""
    action = str(call.form.get("action", ""))
    me = accounts.officer(call.auth.officer_id)
    target = accounts.officer(call.params["officer_id"])
    if target is None:
        return message("console.no_account")
    if action in ("deactivate", "activate"):
        if target.id == me.id:
            return message("console.not_yourself")
        accounts.set_active(target, action == "activate")
        accounts.audit(me, f"{action}_officer", call.ip, target.username)
    elif action == "reset_password":
        accounts.set_password(target, str(call.form.get("password", "")))
        accounts.audit(me, "reset_password", call.ip, target.username)
    else:
        return message("console.unknown_action")
    return None


@page(ADMINS, post=True)
def officers_update(call: Call) -> Response:
    try:
        with account_repository() as accounts:
            problem = _update_officer(accounts, call)
    except ValueError as exc:
        problem = str(exc)
    return _officers(call, problem, 400) if problem else redirect("/officers", m="saved")


@page(SIGNED_IN)
def password_page(call: Call) -> Response:
    return call.render("password.html")


def _change_password(call: Call, current: str, new: str, again: str) -> Optional[str]:
    if new != again:
        return message("console.passwords_differ")
    try:
        with account_repository() as accounts:
            me = accounts.officer(call.auth.officer_id)
            if not accounts.check_password(me, current):
                return message("console.wrong_password")
            accounts.set_password(me, new)
            accounts.audit(me, "change_password", call.ip)
    except ValueError as exc:
        return str(exc)
    return None


@page(SIGNED_IN, post=True)
def password_submit(call: Call) -> Response:
    problem = _change_password(call, *(str(call.form.get(k, "")) for k in ("current", "new", "again")))
    if problem:
        return call.render("password.html", 400, error=problem)
    response = redirect("/login", m="password_changed")
    security.clear_session_cookie(response, call.request)
    return response


def _settings(call: Call, error: Optional[str] = None, spec: Optional[str] = None, status_code: int = 200) -> Response:
    default = get_settings().office_hours
    with ticket_repository() as tickets:
        current = tickets.office_hours_spec(default)
        hours = OfficeHours.from_spec(current, get_settings().timezone)
        moment = datetime.utcnow()
        pickup = hours.next_opening(moment)
        return call.render(
            "settings.html",
            status_code,
            spec=spec if spec is not None else current,
            default=default,
            overridden=current != default,
            describe=hours.describe(),
            open_now=hours.is_open(moment),
            next_opening=format_moment(pickup) if pickup else "",
            holiday_years=sorted(load_holidays().years),
            error=error,
        )


@page(ADMINS)
def settings_page(call: Call) -> Response:
    return _settings(call)


@page(ADMINS, post=True)
def settings_submit(call: Call) -> Response:
    if call.form.get("action") == "reset":
        with ticket_repository() as tickets:
            tickets.reset_office_hours(_officer_of(tickets, call.auth), ip=call.ip)
        return redirect("/settings", m="saved")
    spec = str(call.form.get("office_hours", "")).strip()[:200]
    try:
        parse_spec(spec)
    except ValueError as exc:
        return _settings(call, str(exc), spec, 400)
    with ticket_repository() as tickets:
        tickets.set_office_hours(spec, _officer_of(tickets, call.auth), ip=call.ip)
    return redirect("/settings", m="saved")


# ---- personal data on request (个人信息保护法) -----------------------------------------------------------------


def _privacy(call: Call, status_code: int = 200, **context: Any) -> Response:
    values = {"channel": "", "sender_id": "", "phone": "", "error": None, "erased": None, **context}
    return call.render("privacy.html", status_code, channels=CHANNEL_LABELS,
                       retention_days=get_settings().ticket_retention_days, **values)


@page(ADMINS)
def privacy_page(call: Call) -> Response:
    return _privacy(call)


@page(ADMINS, post=True)
def privacy_submit(call: Call) -> Response:
    """Export (JSON download) or erase one user's tickets, found by channel + conversation id or by phone."""
    form = call.form
    channel = str(form.get("channel", "")).strip()[:32]
    channel = channel if channel in CHANNEL_LABELS else ""
    sender_id = str(form.get("sender_id", "")).strip()[:200]
    phone = str(form.get("phone", "")).strip()[:30]
    action = str(form.get("action", ""))
    shown = {"channel": channel, "sender_id": sender_id, "phone": phone}
    if not sender_id and not phone:
        return _privacy(call, 400, error=message("console.privacy_query_needed"), **shown)
    if phone and not sender_id and contact.normalize_phone(phone) is None:
        return _privacy(call, 400, error=message("console.privacy_bad_phone"), **shown)
    if action == "delete" and form.get("confirm") != "yes":
        return _privacy(call, 400, error=message("console.privacy_confirm"), **shown)
    if action not in ("export", "delete"):
        return forbidden()
    described = privacy.describe_query(channel, sender_id, phone)
    with account_repository() as accounts:
        officer = accounts.officer(call.auth.officer_id)
        found = privacy.find_user_tickets(accounts.session, channel, sender_id, phone)
        # the conversations in Rasa's tracker store: those of the tickets found, and the one asked for
        conversations = {t.sender_id for t in found} | ({sender_id} if sender_id else set())
        if action == "export":
            detail = message("console.privacy_audit", query=described, count=len(found))
            accounts.audit(officer, "privacy_export", call.ip, detail)
            exported = {**privacy.export_user(found), "conversations": privacy.export_conversations(conversations)}
        else:
            count = privacy.erase_user(accounts.session, found)
            events = privacy.erase_conversations(conversations)
            detail = message("console.privacy_audit_delete", query=described, count=count, events=events)
            accounts.audit(officer, "privacy_delete", call.ip, detail)
    if action == "export":
        return JSONResponse(
            exported,
            headers={"Content-Disposition": 'attachment; filename="personal-data.json"', "Cache-Control": "no-store"},
        )
    return _privacy(call, erased=count)
