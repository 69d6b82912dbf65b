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
from core.curation.validation import LABELS as FIELD_LABELS
from core.curation.validation import STATUS_LABELS as FAQ_STATUS
from core.handoff import contact, payloads
from core.handoff.models import (
    AUTHOR_BOT,
    AUTHOR_EVENT,
    AUTHOR_OFFICER,
    AUTHOR_SYSTEM,
    AUTHOR_USER,
    ROLE_ADMIN,
    ROLE_EDITOR,
    ROLE_OFFICER,
    TicketMessage,
)
from core.settings import get_settings
from webapp.console import security
from webapp.console.security import PREFIX, Auth

TEMPLATES = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")), autoescape=True)
MAX_REPLY_CHARS = 2000
TICKET_ROLES = (ROLE_ADMIN, ROLE_OFFICER)  # editors (core/curation) curate knowledge and see no tickets
EDITOR_ROLES = (ROLE_ADMIN, ROLE_EDITOR)  # who may change knowledge entries

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
ROLE_LABELS = {ROLE_ADMIN: "管理员", ROLE_EDITOR: "知识库编辑", ROLE_OFFICER: "服务官"}
# the audit log's actions: tickets and accounts, then knowledge curation
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
    "faq_create": "新建问答（草稿）",
    "faq_edit": "修改问答",
    "faq_publish": "发布问答",
    "faq_retire": "停用问答",
    "faq_rollback": "回滚问答",
    "faq_approve": "审核通过并发布",
    "faq_review_submit": "提交问答审核",
    "faq_review_reject": "退回问答审核",
    "faq_import": "导入问答表格",
    "faq_import_refused": "导入被拒绝",
    "faq_settings": "修改审核设置",
    "api_token_create": "创建 API 令牌",
    "api_token_revoke": "撤销 API 令牌",
    "api_auth_failed": "API 认证失败",
}
# the notice a page shows after a redirect with ?m=<key>
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
    "created": ("ok", "已新建。"),
    "published": ("ok", "已发布：机器人几秒钟内就会用新内容回答，无需重新训练。"),
    "retired": ("ok", "已停用：机器人不再用这条回答。"),
    "rolled_back": ("ok", "已回滚，并记为一个新版本。"),
    "submitted": ("ok", "已提交审核，管理员批准后生效。"),
    "unchanged": ("ok", "没有修改。"),
    "approved": ("ok", "已批准并生效。"),
    "rejected": ("ok", "已退回。"),
    "drafted": ("ok", "已根据这组问题生成草稿，请补充答案和来源后发布。"),
    "settings": ("ok", "设置已保存。"),
    "token_revoked": ("ok", "令牌已撤销。"),
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
    return message_html("请求无效（页面可能已过期），请返回刷新后重试。", 403)


def landing(role: str) -> str:
    """Where an account starts: officers and administrators at the ticket queue, others (editors) elsewhere."""
    return "/queue" if role in TICKET_ROLES else "/faq"
