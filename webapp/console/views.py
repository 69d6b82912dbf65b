"""Pages of the staff console. Handlers are async (they read forms), the database work runs in the thread pool
(one short transaction per request) so two officers acting at once are really concurrent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from core import ratings
from core.accounts import MIN_PASSWORD_LENGTH, AccountRepository, account_repository
from core.handoff import contact, delivery, payloads, privacy
from core.handoff.models import (
    ACTIVE_STATUSES,
    AUTHOR_BOT,
    AUTHOR_EVENT,
    AUTHOR_OFFICER,
    AUTHOR_SYSTEM,
    AUTHOR_USER,
    FINAL_STATUSES,
    ROLE_ADMIN,
    ROLE_OFFICER,
    ROLES,
    STATUS_ASSIGNED,
    STATUS_OPEN,
    ConsoleSession,
    Officer,
    Ticket,
    TicketMessage,
)
from core.handoff.office_hours import OfficeHours, format_moment, load_holidays, parse_spec
from core.handoff.repository import ClaimConflict, NotAllowed, TicketRepository, ticket_repository
from core.settings import get_settings
from webapp.console import security
from webapp.console.security import PREFIX, Auth

log = logging.getLogger(__name__)

TEMPLATES = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")), autoescape=True)
MAX_REPLY_CHARS = 2000
TICKET_ROLES = (ROLE_ADMIN, ROLE_OFFICER)  # editors (actions/curation) curate knowledge and see no tickets

STATUS_LABELS = {"open": "待认领", "assigned": "处理中", "resolved": "已办结", "closed": "用户已取消"}
USER_LEFT_LABEL = "用户已返回机器人"  # 结束人工: the ticket stays open, replies reach the user on their next message
REASON_LABELS = {
    "user_request": "用户要求转人工",
    "fallback": "机器人连续两次未能理解",
    "not_helpful": "用户反馈回答没有帮助",
    "kb_gap": "知识库未覆盖的情况",
}
AUTHOR_LABELS = {
    AUTHOR_USER: "用户",
    AUTHOR_BOT: "机器人",
    AUTHOR_OFFICER: "服务官",
    AUTHOR_SYSTEM: "系统通知",
    AUTHOR_EVENT: "记录（用户看不到）",
}
CHANNEL_LABELS = {"rest": "网页/接口", "socketio": "网页聊天", "wechat": "微信公众号"}
ACTION_LABELS = {
    "login": "登录",
    "login_failed": "登录失败",
    "login_throttled": "登录被限制",
    "logout": "退出",
    "view_ticket": "查看工单",
    "claim": "认领",
    "reply": "回复用户",
    "transfer": "转交",
    "resolve": "办结",
    "note": "添加内部备注",
    "office_hours": "修改工作时间",
    "create_officer": "创建账号",
    "deactivate_officer": "停用账号",
    "activate_officer": "启用账号",
    "reset_password": "重置密码",
    "change_password": "修改本人密码",
    "privacy_export": "导出个人信息",
    "privacy_delete": "删除个人信息",
    "privacy_retention": "按保存期限删除个人信息",
    "followup_update": "更新整改/回访事项",
    "followup_close": "完成整改/回访事项",
}
NOTICES = {
    "claimed": ("ok", "已认领，这张工单由您负责。"),
    "claim_lost": ("error", "这张工单已被其他服务官认领。"),
    "replied": ("ok", "回复已发送，用户下一次发消息或网页刷新时即可看到。"),
    "replied_pushed": ("ok", "回复已发送给用户。"),
    "transferred": ("ok", "已转交。"),
    "resolved": ("ok", "工单已办结，用户将回到机器人服务并收到评价邀请。"),
    "noted": ("ok", "内部备注已保存（用户看不到）。"),
    "not_allowed": ("error", "无法执行：请先认领，或工单已关闭。"),
    "empty": ("error", "内容不能为空。"),
    "too_long": ("error", f"内容太长（最多 {MAX_REPLY_CHARS} 字）。"),
    "saved": ("ok", "已保存。"),
    "expired": ("error", "登录已过期，请重新登录。"),
    "password_changed": ("ok", "密码已修改，请重新登录。"),
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
        return f"{max(minutes, 0)} 分钟"
    if minutes < 48 * 60:
        return f"{minutes // 60} 小时 {minutes % 60} 分"
    return f"{minutes // (24 * 60)} 天"


def shown_text(message: TicketMessage) -> str:
    """A transcript line as the user saw it: button payloads of older tickets (``/startup_process``) as
    「（点击了按钮：…）」, "" for payloads sent without a click (left out)."""
    if message.author != AUTHOR_USER:
        return message.text
    return payloads.shown_text(message.text) or ""


def signature(officer: Optional[Officer]) -> str:
    """How the user sees an officer's replies (the same as delivery.officer_message_text)."""
    name = delivery.public_officer_name(officer)
    return "CBSO首席商事服务官" + (f" {name}" if name else "")


TEMPLATES.filters.update(china_time=china_time, age=age, mask_phone=contact.mask_phone, shown_text=shown_text)
TEMPLATES.globals.update(
    PREFIX=PREFIX,
    USER_LEFT_LABEL=USER_LEFT_LABEL,
    STATUS_LABELS=STATUS_LABELS,
    REASON_LABELS=REASON_LABELS,
    AUTHOR_LABELS=AUTHOR_LABELS,
    CHANNEL_LABELS=CHANNEL_LABELS,
    ACTION_LABELS=ACTION_LABELS,
    MAX_REPLY_CHARS=MAX_REPLY_CHARS,
    MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH,
    RATING_LABELS={level.score: level.label for level in ratings.LEVELS},
)


def render(
    name: str, auth: Optional[Auth], status_code: int = 200, request: Optional[Request] = None, **context: Any
) -> HTMLResponse:
    notice = None
    if request is not None:
        notice = NOTICES.get(request.query_params.get("m", ""))
    html = TEMPLATES.get_template(name).render(auth=auth, notice=notice, **context)
    return HTMLResponse(html, status_code=status_code)


def redirect(path: str, **query: str) -> RedirectResponse:
    url = PREFIX + path + (("?" + urlencode(query)) if query else "")
    return RedirectResponse(url, status_code=303)


def to_login(request: Request) -> Response:
    response = redirect("/login", m="expired") if security.had_session_cookie(request) else redirect("/login")
    security.clear_session_cookie(response, request)
    return response


def forbidden() -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><p>请求无效（页面可能已过期），请返回刷新后重试。</p>", status_code=403
    )


def landing(role: str) -> str:
    """Where an account starts: officers and administrators at the ticket queue, others (editors) elsewhere."""
    return "/queue" if role in TICKET_ROLES else "/faq"


async def _signed_in(request: Request, admin: bool = False, touch: bool = True, tickets: bool = True):
    """The signed-in account if it may see the page (``tickets``: officers and administrators only), else the
    response to send instead."""
    auth = await security.current_auth(request, touch)
    if auth is None:
        return None, to_login(request)
    if admin and not auth.is_admin:
        return None, HTMLResponse(
            "<!doctype html><meta charset=utf-8><p>只有管理员可以访问此页面。</p>", status_code=403
        )
    if tickets and auth.role not in TICKET_ROLES:
        return None, HTMLResponse("<!doctype html><meta charset=utf-8><p>此账号不处理工单。</p>", status_code=403)
    return auth, None


async def _posted(request: Request, admin: bool = False, tickets: bool = True):
    """The form of a POST by a signed-in officer with a valid CSRF token, else the response to send."""
    auth, refusal = await _signed_in(request, admin, tickets=tickets)
    if refusal is not None:
        return None, None, refusal
    form = await request.form()
    if not security.csrf_ok(request, auth, str(form.get("csrf_token", ""))):
        return None, None, forbidden()
    return auth, form, None


def _text(form: Any, field: str, limit: int = MAX_REPLY_CHARS) -> tuple[str, Optional[str]]:
    value = str(form.get(field, "")).strip()
    if not value:
        return "", "empty"
    if len(value) > limit:
        return "", "too_long"
    return value, None


# ---- signing in ---------------------------------------------------------------------------------------------------


async def home(request: Request) -> Response:
    auth = await security.current_auth(request)
    return redirect(landing(auth.role)) if auth else to_login(request)


async def login_page(request: Request) -> Response:
    auth = await security.current_auth(request)
    if auth:
        return redirect(landing(auth.role))
    token = security.login_token(request)
    response = render("login.html", None, request=request, csrf=token)
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
    form = await request.form()
    if not security.same_origin(request) or not security.login_csrf_ok(request, str(form.get("csrf_token", ""))):
        return forbidden()
    username = str(form.get("username", ""))[:80]
    password = str(form.get("password", ""))[:200]
    token, wait_minutes, role = await run_in_threadpool(_sign_in, username, password, security.client_ip(request))
    if token is None:
        throttled = wait_minutes > 0
        message = f"登录失败次数过多，请 {wait_minutes} 分钟后再试。" if throttled else "用户名或密码错误。"
        token = security.login_token(request)
        response = render(
            "login.html", None, status_code=429 if throttled else 401, error=message, username=username, csrf=token
        )
        security.set_login_cookie(response, request, token)
        return response
    response = redirect(landing(role))
    security.set_session_cookie(response, request, token)
    response.delete_cookie(security.LOGIN_COOKIE, path=PREFIX)
    return response


def _sign_out(auth: Auth, ip: str) -> None:
    with account_repository() as accounts:
        row = accounts.session.get(ConsoleSession, auth.session_id)
        if row is not None:
            accounts.end_session(row)
        accounts.audit(accounts.officer(auth.officer_id), "logout", ip)


async def logout(request: Request) -> Response:
    auth, _form, refusal = await _posted(request, tickets=False)
    if refusal is not None:
        return refusal
    await run_in_threadpool(_sign_out, auth, security.client_ip(request))
    response = redirect("/login")
    security.clear_session_cookie(response, request)
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


async def queue_page(request: Request) -> Response:
    # the page refreshes itself every minute (auto=1): that is not activity, so an unattended screen still signs out
    auth, refusal = await _signed_in(request, touch=request.query_params.get("auto") != "1")
    if refusal is not None:
        return refusal
    view = request.query_params.get("view", "open")
    if view not in ("open", "mine", "closed"):
        view = "open"

    def build() -> str:
        with ticket_repository() as tickets:
            if view == "closed":
                rows = tickets.recently_closed(50)
                groups = [TopicGroup("最近关闭的工单", rows)] if rows else []
            elif view == "mine":
                groups = _group_by_topic(tickets.queue(ACTIVE_STATUSES, officer_id=auth.officer_id))
            else:
                groups = _group_by_topic(tickets.queue(ACTIVE_STATUSES))
            counts = {
                "open": len(tickets.queue((STATUS_OPEN,))),
                "mine": len(tickets.queue((STATUS_ASSIGNED,), officer_id=auth.officer_id)),
            }
            hours = _office_hours(tickets)
            return render(
                "queue.html",
                auth,
                request=request,
                view=view,
                groups=groups,
                counts=counts,
                open_now=hours.is_open(datetime.utcnow()),
                hours=hours.describe(),
            )

    return await run_in_threadpool(build)


def _office_hours(tickets: TicketRepository) -> OfficeHours:
    settings = get_settings()
    return OfficeHours.from_spec(tickets.office_hours_spec(settings.office_hours), settings.timezone)


async def ticket_page(request: Request) -> Response:
    auth, refusal = await _signed_in(request)
    if refusal is not None:
        return refusal
    ticket_id = request.path_params["ticket_id"]
    ip = security.client_ip(request)

    def build() -> Response:
        with ticket_repository() as tickets:
            ticket = tickets.ticket(ticket_id)
            if ticket is None:
                return HTMLResponse("<!doctype html><meta charset=utf-8><p>工单不存在。</p>", status_code=404)
            accounts = AccountRepository(tickets.session)
            officers = [
                o
                for o in accounts.officers(active_only=True)
                if o.id != ticket.assigned_officer_id and o.role in TICKET_ROLES
            ]
            officer_names = {o.id: o.display_name for o in accounts.officers()}
            me = _officer_of(tickets, auth)
            tickets.audit(me, "view_ticket", ticket, ip=ip)
            mine = ticket.assigned_officer_id == auth.officer_id
            return render(
                "ticket.html",
                auth,
                request=request,
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

    return await run_in_threadpool(build)


def _message_json(message: TicketMessage) -> Dict[str, Any]:
    who = AUTHOR_LABELS.get(message.author, message.author)
    if message.author == AUTHOR_OFFICER and message.officer is not None:
        who = f"服务官 {message.officer.display_name}"
    return {
        "id": message.id,
        "author": message.author,
        "who": who,
        "time": china_time(message.created_at),
        "text": shown_text(message),
    }


async def ticket_updates(request: Request) -> Response:
    """New transcript lines for the ticket page's refresher (JSON; the page inserts them as text, never HTML)."""
    auth, refusal = await _signed_in(request, touch=False)
    if refusal is not None:
        return JSONResponse({"error": "signed_out"}, status_code=401)
    ticket_id = request.path_params["ticket_id"]
    try:
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        after = 0

    def build() -> Response:
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

    return await run_in_threadpool(build)


def _officer_of(tickets: TicketRepository, auth: Auth):
    return tickets.session.get(Officer, auth.officer_id)


async def claim(request: Request) -> Response:
    auth, _form, refusal = await _posted(request)
    if refusal is not None:
        return refusal
    ticket_id = request.path_params["ticket_id"]
    ip = security.client_ip(request)

    def work() -> str:
        try:
            with ticket_repository() as tickets:
                tickets.claim(ticket_id, _officer_of(tickets, auth), ip=ip)
            return "claimed"
        except ClaimConflict:
            return "claim_lost"

    outcome = await run_in_threadpool(work)
    return redirect(f"/tickets/{ticket_id}", m=outcome)


async def reply(request: Request) -> Response:
    auth, form, refusal = await _posted(request)
    if refusal is not None:
        return refusal
    ticket_id = request.path_params["ticket_id"]
    text, problem = _text(form, "text")
    if problem:
        return redirect(f"/tickets/{ticket_id}", m=problem)
    ip = security.client_ip(request)

    def work() -> str:
        try:
            with ticket_repository() as tickets:
                ticket = tickets.ticket(ticket_id)
                if ticket is None:
                    return "not_allowed"
                tickets.reply(ticket, _officer_of(tickets, auth), text, ip=ip)
        except NotAllowed:
            return "not_allowed"
        pushed = delivery.push_undelivered(ticket_id)
        return "replied_pushed" if pushed else "replied"

    return redirect(f"/tickets/{ticket_id}", m=await run_in_threadpool(work))


async def transfer(request: Request) -> Response:
    auth, form, refusal = await _posted(request)
    if refusal is not None:
        return refusal
    ticket_id = request.path_params["ticket_id"]
    ip = security.client_ip(request)
    try:
        target_id = int(str(form.get("officer_id", "")))
    except ValueError:
        return redirect(f"/tickets/{ticket_id}", m="not_allowed")

    def work() -> str:
        try:
            with ticket_repository() as tickets:
                ticket = tickets.ticket(ticket_id)
                target = tickets.session.get(Officer, target_id)
                if ticket is None or target is None or target.role not in TICKET_ROLES:
                    return "not_allowed"
                tickets.transfer(ticket, _officer_of(tickets, auth), target, ip=ip)
            return "transferred"
        except NotAllowed:
            return "not_allowed"

    return redirect(f"/tickets/{ticket_id}", m=await run_in_threadpool(work))


async def resolve(request: Request) -> Response:
    auth, _form, refusal = await _posted(request)
    if refusal is not None:
        return refusal
    ticket_id = request.path_params["ticket_id"]
    ip = security.client_ip(request)

    def work() -> str:
        try:
            with ticket_repository() as tickets:
                ticket = tickets.ticket(ticket_id)
                if ticket is None:
                    return "not_allowed"
                notice = delivery.response_text("utter_handoff_resolved_notice").replace("{ticket}", ticket.number)
                tickets.resolve(ticket, _officer_of(tickets, auth), notice, ip=ip)
        except NotAllowed:
            return "not_allowed"
        delivery.push_undelivered(ticket_id)
        return "resolved"

    return redirect(f"/tickets/{ticket_id}", m=await run_in_threadpool(work))


async def add_note(request: Request) -> Response:
    auth, form, refusal = await _posted(request)
    if refusal is not None:
        return refusal
    ticket_id = request.path_params["ticket_id"]
    text, problem = _text(form, "text")
    if problem:
        return redirect(f"/tickets/{ticket_id}", m=problem)
    ip = security.client_ip(request)

    def work() -> str:
        with ticket_repository() as tickets:
            ticket = tickets.ticket(ticket_id)
            if ticket is None:
                return "not_allowed"
            tickets.add_note(ticket, _officer_of(tickets, auth), text, ip=ip)
        return "noted"

    return redirect(f"/tickets/{ticket_id}", m=await run_in_threadpool(work))


# ---- administration ------------------------------------------------------------------------------------------------


async def audit_page(request: Request) -> Response:
    auth, refusal = await _signed_in(request, admin=True)
    if refusal is not None:
        return refusal

    def build() -> Response:
        with account_repository() as accounts:
            entries = accounts.audit_log(limit=300)
            numbers = {e.ticket_id: e.ticket.number for e in entries if e.ticket_id and e.ticket}
            return render("audit.html", auth, request=request, entries=entries, numbers=numbers)

    return await run_in_threadpool(build)


async def officers_page(request: Request, error: Optional[str] = None, status_code: int = 200) -> Response:
    auth, refusal = await _signed_in(request, admin=True)
    if refusal is not None:
        return refusal

    def build() -> Response:
        with account_repository() as accounts:
            return render(
                "officers.html",
                auth,
                status_code=status_code,
                request=request,
                officers=accounts.officers(),
                error=error,
            )

    return await run_in_threadpool(build)


async def officers_create(request: Request) -> Response:
    auth, form, refusal = await _posted(request, admin=True)
    if refusal is not None:
        return refusal
    username = str(form.get("username", "")).strip()
    display_name = str(form.get("display_name", "")).strip()
    password = str(form.get("password", ""))
    role = str(form.get("role")) if form.get("role") in ROLES else ROLE_OFFICER
    ip = security.client_ip(request)
    if not username or len(username) > 40 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        return await officers_page(request, "用户名只能包含字母、数字、点、横线和下划线（最多 40 位）。", 400)
    if len(display_name) > 40:
        return await officers_page(request, "姓名太长。", 400)

    def work() -> Optional[str]:
        try:
            with account_repository() as accounts:
                accounts.create(username, display_name, password, role)
                accounts.audit(accounts.officer(auth.officer_id), "create_officer", ip, f"{username}（{role}）")
        except ValueError as exc:
            return str(exc)
        return None

    problem = await run_in_threadpool(work)
    if problem:
        return await officers_page(request, problem, 400)
    return redirect("/officers", m="saved")


async def officers_update(request: Request) -> Response:
    auth, form, refusal = await _posted(request, admin=True)
    if refusal is not None:
        return refusal
    officer_id = request.path_params["officer_id"]
    action = str(form.get("action", ""))
    password = str(form.get("password", ""))
    ip = security.client_ip(request)

    def work() -> Optional[str]:
        try:
            with account_repository() as accounts:
                me = accounts.officer(auth.officer_id)
                target = accounts.officer(officer_id)
                if target is None:
                    return "账号不存在。"
                if action in ("deactivate", "activate"):
                    if target.id == me.id:
                        return "不能停用自己的账号。"
                    accounts.set_active(target, action == "activate")
                    accounts.audit(me, f"{action}_officer", ip, target.username)
                elif action == "reset_password":
                    accounts.set_password(target, password)
                    accounts.audit(me, "reset_password", ip, target.username)
                else:
                    return "未知操作。"
        except ValueError as exc:
            return str(exc)
        return None

    problem = await run_in_threadpool(work)
    if problem:
        return await officers_page(request, problem, 400)
    return redirect("/officers", m="saved")


async def password_page(request: Request) -> Response:
    auth, refusal = await _signed_in(request, tickets=False)
    if refusal is not None:
        return refusal
    return render("password.html", auth, request=request)


async def password_submit(request: Request) -> Response:
    auth, form, refusal = await _posted(request, tickets=False)
    if refusal is not None:
        return refusal
    current, new, again = (str(form.get(k, "")) for k in ("current", "new", "again"))
    ip = security.client_ip(request)

    def work() -> Optional[str]:
        if new != again:
            return "两次输入的新密码不一致。"
        try:
            with account_repository() as accounts:
                me = accounts.officer(auth.officer_id)
                if not accounts.check_password(me, current):
                    return "当前密码不正确。"
                accounts.set_password(me, new)
                accounts.audit(me, "change_password", ip)
        except ValueError as exc:
            return str(exc)
        return None

    problem = await run_in_threadpool(work)
    if problem:
        return render("password.html", auth, status_code=400, request=request, error=problem)
    response = redirect("/login", m="password_changed")
    security.clear_session_cookie(response, request)
    return response


async def settings_page(
    request: Request, error: Optional[str] = None, spec: Optional[str] = None, status_code: int = 200
) -> Response:
    auth, refusal = await _signed_in(request, admin=True)
    if refusal is not None:
        return refusal
    default = get_settings().office_hours

    def build() -> Response:
        with ticket_repository() as tickets:
            current = tickets.office_hours_spec(default)
            hours = OfficeHours.from_spec(current, get_settings().timezone)
            moment = datetime.utcnow()
            pickup = hours.next_opening(moment)
            return render(
                "settings.html",
                auth,
                status_code=status_code,
                request=request,
                spec=spec if spec is not None else current,
                default=default,
                overridden=current != default,
                describe=hours.describe(),
                open_now=hours.is_open(moment),
                next_opening=format_moment(pickup) if pickup else "",
                holiday_years=sorted(load_holidays().years),
                error=error,
            )

    return await run_in_threadpool(build)


async def settings_submit(request: Request) -> Response:
    auth, form, refusal = await _posted(request, admin=True)
    if refusal is not None:
        return refusal
    ip = security.client_ip(request)
    if form.get("action") == "reset":

        def reset() -> None:
            with ticket_repository() as tickets:
                tickets.reset_office_hours(_officer_of(tickets, auth), ip=ip)

        await run_in_threadpool(reset)
        return redirect("/settings", m="saved")
    spec = str(form.get("office_hours", "")).strip()[:200]
    try:
        parse_spec(spec)
    except ValueError as exc:
        return await settings_page(request, str(exc), spec, 400)

    def save() -> None:
        with ticket_repository() as tickets:
            tickets.set_office_hours(spec, _officer_of(tickets, auth), ip=ip)

    await run_in_threadpool(save)
    return redirect("/settings", m="saved")


# ---- personal data on request (个人信息保护法) -----------------------------------------------------------------


def _privacy_page(auth: Auth, request: Request, status_code: int = 200, **context: Any) -> Response:
    values = {"channel": "", "sender_id": "", "phone": "", "error": None, "erased": None, **context}
    return render("privacy.html", auth, status_code=status_code, request=request, channels=CHANNEL_LABELS,
                  retention_days=get_settings().ticket_retention_days, **values)


async def privacy_page(request: Request) -> Response:
    auth, refusal = await _signed_in(request, admin=True)
    if refusal is not None:
        return refusal
    return _privacy_page(auth, request)


async def privacy_submit(request: Request) -> Response:
    """Export (JSON download) or erase one user's tickets, found by channel + conversation id or by phone."""
    auth, form, refusal = await _posted(request, admin=True)
    if refusal is not None:
        return refusal
    ip = security.client_ip(request)
    channel = str(form.get("channel", "")).strip()[:32]
    channel = channel if channel in CHANNEL_LABELS else ""
    sender_id = str(form.get("sender_id", "")).strip()[:200]
    phone = str(form.get("phone", "")).strip()[:30]
    action = str(form.get("action", ""))
    shown = {"channel": channel, "sender_id": sender_id, "phone": phone}
    if not sender_id and not phone:
        return _privacy_page(auth, request, 400, error="请填写会话编号或手机号。", **shown)
    if phone and not sender_id and contact.normalize_phone(phone) is None:
        return _privacy_page(auth, request, 400, error="手机号格式不正确。", **shown)
    if action == "delete" and form.get("confirm") != "yes":
        return _privacy_page(auth, request, 400, error="删除前请勾选「确认删除」。", **shown)
    if action not in ("export", "delete"):
        return forbidden()
    described = privacy.describe_query(channel, sender_id, phone)

    def run() -> tuple[str, Any]:
        with account_repository() as accounts:
            officer = accounts.officer(auth.officer_id)
            found = privacy.find_user_tickets(accounts.session, channel, sender_id, phone)
            if action == "export":
                accounts.audit(officer, "privacy_export", ip, f"{described}：{len(found)} 张工单")
                return "export", privacy.export_user(found)
            count = privacy.erase_user(accounts.session, found)
            accounts.audit(officer, "privacy_delete", ip, f"{described}：{count} 张工单")
            return "delete", count

    kind, result = await run_in_threadpool(run)
    if kind == "export":
        return JSONResponse(
            result,
            headers={"Content-Disposition": 'attachment; filename="personal-data.json"', "Cache-Control": "no-store"},
        )
    return _privacy_page(auth, request, erased=result)
