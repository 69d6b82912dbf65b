"""The knowledge pages of the staff console (``/console/faq…``) and its JSON API (``/console/api/…``).

Staff list, search, create, edit, publish, retire and roll back FAQ/knowledge entries, preview which entry the bot
would answer a question with, turn groups of unanswered questions into drafts, review editors' changes, and
import/export spreadsheets. The logic lives in ``core.curation``; these handlers read the request, check who is
asking, run one short transaction in the thread pool and render a page or JSON. The API is documented in
docs/console-api.md.

Pages use the console's session and CSRF token (a hidden field in every form). The API takes HTTP Basic with a
console account or a personal API token (``Authorization: Bearer hzk_…``); a console session cookie is accepted
only for reading, or with the session's CSRF token in an ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from core.accounts import account_repository
from core.curation import credentials, diff, spreadsheet, unanswered
from core.curation.preview import preview
from core.curation.repository import (
    Actor,
    CurationError,
    CurationRepository,
    VersionConflict,
    china_today,
    curation_repository,
)
from core.curation.spreadsheet import ImportRefused
from core.curation.validation import EDITABLE, LABELS, STATUS_LABELS, STATUSES, normalise
from core.handoff.models import ROLE_ADMIN, ROLE_EDITOR
from core.knowledge.models import STATUS_DRAFT, STATUS_PUBLISHED, STATUS_RETIRED, KnowledgeEntry
from webapp.console import security, views
from webapp.console.security import PREFIX, Auth

log = logging.getLogger(__name__)

MAX_JSON_BYTES = 256 * 1024
PAGE_SIZE = 50
ROLE_LABELS = {ROLE_ADMIN: "管理员", ROLE_EDITOR: "知识库编辑", "officer": "服务官"}
AUDIT_LABELS = {
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
views.ACTION_LABELS.update(AUDIT_LABELS)  # the audit page shows these actions in Chinese too

NOTICES = {
    "created": ("ok", "已新建。"),
    "saved": ("ok", "已保存。"),
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


# ---- shared helpers ---------------------------------------------------------------------------------------------------


def _actor(auth: Auth, request: Request) -> Actor:
    return Actor(auth.username, auth.role, auth.officer_id, security.client_ip(request), via="console")


def _page(name: str, auth: Auth, request: Request, status_code: int = 200, **context: Any) -> HTMLResponse:
    notice = NOTICES.get(request.query_params.get("m", ""))
    html = views.TEMPLATES.get_template(name).render(
        auth=auth,
        notice=notice,
        FAQ_STATUS=STATUS_LABELS,
        FIELD_LABELS=LABELS,
        ROLE_LABELS=ROLE_LABELS,
        can_edit=auth.role in (ROLE_ADMIN, ROLE_EDITOR),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def _message_page(auth: Optional[Auth], request: Request, message: str, status_code: int) -> HTMLResponse:
    if auth is None:
        return HTMLResponse(f"<!doctype html><meta charset=utf-8><p>{_escape(message)}</p>", status_code=status_code)
    return _page("faq_message.html", auth, request, status_code, message=message)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


async def _reader(request: Request) -> Tuple[Optional[Auth], Optional[Response]]:
    auth = await security.current_auth(request)
    if auth is None:
        return None, views.to_login(request)
    return auth, None


async def _writer(request: Request, admin: bool = False) -> Tuple[Optional[Auth], Any, Optional[Response]]:
    """The signed-in editor or administrator of a POST with a valid CSRF token, and the form."""
    auth = await security.current_auth(request)
    if auth is None:
        return None, None, views.to_login(request)
    if admin and auth.role != ROLE_ADMIN:
        return None, None, _message_page(auth, request, "只有管理员可以执行这个操作。", 403)
    if not admin and auth.role not in (ROLE_ADMIN, ROLE_EDITOR):
        return None, None, _message_page(auth, request, "只有知识库编辑和管理员可以修改问答。", 403)
    if int(request.headers.get("content-length") or 0) > spreadsheet.MAX_BYTES + 65536:
        return None, None, _message_page(auth, request, "提交的内容太大。", 413)
    form = await request.form()
    if not security.csrf_ok(request, auth, str(form.get("csrf_token", ""))):
        return None, None, views.forbidden()
    return auth, form, None


def _int(value: Any, default: Optional[int] = None) -> Optional[int]:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _entry_path(entry_id: str) -> str:
    return f"/faq/entries/{quote(entry_id, safe='')}"


# ---- the list -----------------------------------------------------------------------------------------------------------


async def faq_list(request: Request) -> Response:
    auth, refusal = await _reader(request)
    if refusal is not None:
        return refusal
    params = request.query_params
    text = params.get("q", "")[:100]
    topic = params.get("topic", "")[:64]
    status = params.get("status", "") if params.get("status", "") in STATUSES else ""
    page = max(1, _int(params.get("page"), 1) or 1)

    def build() -> Response:
        with curation_repository() as repo:
            rows, total = repo.search(text, topic, status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
            return _page(
                "faq_list.html",
                auth,
                request,
                rows=rows,
                total=total,
                page=page,
                pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
                q=text,
                topic=topic,
                status=status,
                topics=repo.topics(),
                titles={t.id: t.title for t in repo.topics()},
                counts=repo.counts_by_status(),
                pending=len(repo.pending_reviews()),
                review_required=repo.review_required(),
            )

    return await run_in_threadpool(build)


# ---- one entry: new, edit, history ------------------------------------------------------------------------------------


def _form_data(form: Any) -> Dict[str, Any]:
    return {key: str(form.get(key, ""))[:20000] for key in EDITABLE if key in form}


def _edit_context(repo: CurationRepository, auth: Auth, row: Optional[KnowledgeEntry]) -> Dict[str, Any]:
    context: Dict[str, Any] = {
        "topics": repo.topics(),
        "review_required": repo.review_required(),
        "can_publish": repo.can_publish(Actor(auth.username, auth.role, auth.officer_id)),
        "today": china_today(),
    }
    if row is not None:
        history = repo.history(row.id)
        steps = []
        for i, version in enumerate(history):
            previous = history[i + 1].snapshot if i + 1 < len(history) else None
            steps.append((version, diff.changes(previous, version.snapshot) if previous is not None else []))
        reviews = repo.reviews_of(row.id)
        context.update(
            entry=row,
            history=steps,
            reviews=[(r, diff.changes(diff.snapshot(row), r.proposed)) for r in reviews if r.status == "pending"],
        )
    return context


def _values_of(row: Optional[KnowledgeEntry], today: str) -> Dict[str, Any]:
    if row is None:
        return {"topic_id": "", "question": "", "paraphrases": "", "answer": "", "to_confirm": "", "source": "",
                "source_url": "", "rule_date": "", "reviewed": today}
    return {
        "topic_id": row.topic_id, "question": row.question, "paraphrases": "\n".join(row.paraphrases or []),
        "answer": row.answer or "", "to_confirm": row.to_confirm or "", "source": row.source or "",
        "source_url": row.source_url or "", "rule_date": row.rule_date or "", "reviewed": row.reviewed or "",
    }


async def new_page(request: Request) -> Response:
    auth, refusal = await _reader(request)
    if refusal is not None:
        return refusal
    if auth.role not in (ROLE_ADMIN, ROLE_EDITOR):
        return _message_page(auth, request, "只有知识库编辑和管理员可以新建问答。", 403)

    def build() -> Response:
        with curation_repository() as repo:
            context = _edit_context(repo, auth, None)
            values = _values_of(None, context["today"])
            values["topic_id"] = request.query_params.get("topic", "")[:64]
            return _page("faq_edit.html", auth, request, values=values, errors={}, **context)

    return await run_in_threadpool(build)


async def new_submit(request: Request) -> Response:
    auth, form, refusal = await _writer(request)
    if refusal is not None:
        return refusal
    action = str(form.get("action", "draft"))
    data = _form_data(form)
    actor = _actor(auth, request)

    def work() -> Response:
        try:
            with curation_repository() as repo:
                wants_publish = action == "publish" or action == "submit"
                direct = action == "publish" and repo.can_publish(actor)
                data["status"] = STATUS_PUBLISHED if direct else STATUS_DRAFT
                change = repo.create(data, actor)
                notice = "published" if direct else "created"
                if wants_publish and not direct:
                    repo.propose(change.entry.id, {"status": STATUS_PUBLISHED}, change.entry.version, actor)
                    notice = "submitted"
                return views.redirect(_entry_path(change.entry.id), m=notice)
        except CurationError as error:
            with curation_repository() as repo:
                context = _edit_context(repo, auth, None)
                return _page("faq_edit.html", auth, request, error.status, values=data, error=error.message,
                             errors=getattr(error, "errors", {}), **context)

    return await run_in_threadpool(work)


async def entry_page(request: Request) -> Response:
    auth, refusal = await _reader(request)
    if refusal is not None:
        return refusal
    entry_id = request.path_params["entry_id"]

    def build() -> Response:
        with curation_repository() as repo:
            row = repo.find(entry_id)
            if row is None:
                return _message_page(auth, request, "没有这条问答。", 404)
            context = _edit_context(repo, auth, row)
            return _page("faq_edit.html", auth, request, values=_values_of(row, context["today"]), errors={},
                         version=row.version, **context)

    return await run_in_threadpool(build)


async def entry_submit(request: Request) -> Response:
    auth, form, refusal = await _writer(request)
    if refusal is not None:
        return refusal
    entry_id = request.path_params["entry_id"]
    action = str(form.get("action", "save"))
    version = _int(form.get("version"))
    data = _form_data(form)
    actor = _actor(auth, request)

    def work() -> Response:
        try:
            with curation_repository() as repo:
                notice = _save(repo, entry_id, action, data, version, actor)
            return views.redirect(_entry_path(entry_id), m=notice)
        except CurationError as error:
            with curation_repository() as repo:
                row = repo.find(entry_id)
                if row is None:
                    return _message_page(auth, request, error.message, 404)
                context = _edit_context(repo, auth, row)
                conflict = None
                if isinstance(error, VersionConflict):
                    mine = {**diff.snapshot(row), **normalise(data)}
                    conflict = diff.changes(mine, diff.snapshot(row))
                values = {**_values_of(row, context["today"]), **data}
                # after a conflict the form carries the current version: saving again, having seen what changed,
                # is a deliberate decision, never a silent overwrite
                return _page("faq_edit.html", auth, request, error.status, values=values, error=error.message,
                             errors=getattr(error, "errors", {}), conflict=conflict, version=row.version, **context)

    return await run_in_threadpool(work)


def _save(repo: CurationRepository, entry_id: str, action: str, data: Dict[str, Any], version: Optional[int],
          actor: Actor) -> str:
    """Apply one button of the edit form; returns the notice to show."""
    row = repo.entry(entry_id)
    if action == "retire":
        repo.retire(entry_id, actor, version)
        return "retired"
    if action in ("submit", "submit_retire"):
        status = STATUS_RETIRED if action == "submit_retire" else STATUS_PUBLISHED
        if row.status != STATUS_PUBLISHED and action == "submit":
            change = repo.update(entry_id, {**data, "status": STATUS_DRAFT}, version, actor)  # keep the draft's text
            version = change.entry.version
            data = {}
        repo.propose(entry_id, {**data, "status": status}, version, actor)
        return "submitted"
    status = {"publish": STATUS_PUBLISHED, "draft": STATUS_DRAFT}.get(action, row.status)
    change = repo.update(entry_id, {**data, "status": status}, version, actor)
    if change.version is None:
        return "unchanged"
    return "published" if status == STATUS_PUBLISHED else "saved"


async def rollback_submit(request: Request) -> Response:
    auth, form, refusal = await _writer(request)
    if refusal is not None:
        return refusal
    entry_id = request.path_params["entry_id"]
    actor = _actor(auth, request)
    to_version, version = _int(form.get("to_version")), _int(form.get("version"))

    def work() -> Response:
        try:
            with curation_repository() as repo:
                repo.rollback(entry_id, to_version or 0, version, actor)
            return views.redirect(_entry_path(entry_id), m="rolled_back")
        except CurationError as error:
            return _message_page(auth, request, error.message, error.status)

    return await run_in_threadpool(work)


# ---- preview ------------------------------------------------------------------------------------------------------------


async def preview_page(request: Request) -> Response:
    auth, refusal = await _reader(request)
    if refusal is not None:
        return refusal
    text = request.query_params.get("q", "")[:500]
    drafts = request.query_params.get("drafts") == "1"

    def build() -> Response:
        with curation_repository() as repo:
            result = preview(repo.session, text, include_drafts=drafts) if text.strip() else None
            return _page("faq_preview.html", auth, request, q=text, drafts=drafts, result=result)

    return await run_in_threadpool(build)


# ---- unanswered questions -----------------------------------------------------------------------------------------------


async def unanswered_page(request: Request) -> Response:
    auth, refusal = await _reader(request)
    if refusal is not None:
        return refusal
    days = _int(request.query_params.get("days"), 30) or 30
    days = days if days in (7, 14, 30, 90, 365) else 30
    reason = request.query_params.get("reason", "")
    reason = reason if reason in unanswered.REASON_LABELS else ""

    def build() -> Response:
        with curation_repository() as repo:
            report = unanswered.unanswered_report(repo.session, days, reason)
            return _page("faq_unanswered.html", auth, request, report=report, days=days, reason=reason,
                         REASONS=unanswered.REASON_LABELS)

    return await run_in_threadpool(build)


async def unanswered_draft(request: Request) -> Response:
    auth, form, refusal = await _writer(request)
    if refusal is not None:
        return refusal
    ids = [i for i in (_int(part) for part in str(form.get("ids", "")).split(",")[:5000]) if i is not None]
    actor = _actor(auth, request)

    def work() -> Response:
        try:
            with curation_repository() as repo:
                change = unanswered.draft_from_group(repo, ids, actor)
                return views.redirect(_entry_path(change.entry.id), m="drafted")
        except CurationError as error:
            return _message_page(auth, request, error.message, error.status)

    return await run_in_threadpool(work)


# ---- review -------------------------------------------------------------------------------------------------------------


async def reviews_page(request: Request) -> Response:
    auth, refusal = await _reader(request)
    if refusal is not None:
        return refusal

    def build() -> Response:
        with curation_repository() as repo:
            items = []
            for review in repo.pending_reviews():
                entry = repo.find(review.entry_id)
                current = diff.snapshot(entry) if entry is not None else None
                items.append((review, entry, diff.changes(current, review.proposed)))
            return _page("faq_reviews.html", auth, request, items=items, review_required=repo.review_required())

    return await run_in_threadpool(build)


async def review_submit(request: Request) -> Response:
    auth, form, refusal = await _writer(request, admin=True)
    if refusal is not None:
        return refusal
    review_id = request.path_params["review_id"]
    decision = str(form.get("decision", ""))
    comment = str(form.get("comment", ""))[:300]
    actor = _actor(auth, request)

    def work() -> Response:
        try:
            with curation_repository() as repo:
                if decision == "approve":
                    repo.approve(review_id, actor)
                    return views.redirect("/faq/reviews", m="approved")
                repo.reject(review_id, actor, comment)
                return views.redirect("/faq/reviews", m="rejected")
        except CurationError as error:
            return _message_page(auth, request, error.message, error.status)

    return await run_in_threadpool(work)


# ---- import and export --------------------------------------------------------------------------------------------------


def _export(status: str, fmt: str) -> Response:
    with curation_repository() as repo:
        rows = spreadsheet.export_rows(repo.session, status)
        topics = repo.topics()
    stamp = china_today().replace("-", "")
    if fmt == "csv":
        content, media = spreadsheet.to_csv(rows), "text/csv; charset=utf-8"
    else:
        fmt = "xlsx"
        content = spreadsheet.to_xlsx(rows, topics)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    filename = f"haizhu-faq-{stamp}.{fmt}"
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def transfer_page(request: Request) -> Response:
    auth, refusal = await _reader(request)
    if refusal is not None:
        return refusal
    return _page("faq_transfer.html", auth, request, result=None, problems=None)


async def export_file(request: Request) -> Response:
    auth, refusal = await _reader(request)
    if refusal is not None:
        return refusal
    status = request.query_params.get("status", "")
    status = status if status in STATUSES else ""
    return await run_in_threadpool(_export, status, request.path_params["fmt"])


async def _upload(form: Any) -> Tuple[bytes, str]:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return b"", ""
    content = await upload.read(spreadsheet.MAX_BYTES + 1)
    return content, upload.filename or ""


async def import_submit(request: Request) -> Response:
    auth, form, refusal = await _writer(request)
    if refusal is not None:
        return refusal
    content, filename = await _upload(form)
    dry_run = form.get("dry_run") == "1"
    actor = _actor(auth, request)

    def work() -> Response:
        try:
            result = spreadsheet.import_file(content, filename, actor, dry_run=dry_run)
            return _page("faq_transfer.html", auth, request, result=result, problems=None, filename=filename)
        except ImportRefused as refused:
            return _page("faq_transfer.html", auth, request, 400, result=None, problems=refused.problems,
                         error=refused.message, filename=filename)

    return await run_in_threadpool(work)


# ---- settings and tokens ------------------------------------------------------------------------------------------------


async def settings_page(request: Request) -> Response:
    auth, refusal = await _reader(request)
    if refusal is not None:
        return refusal

    def build() -> Response:
        with curation_repository() as repo:
            return _page("faq_settings.html", auth, request, review_required=repo.review_required())

    return await run_in_threadpool(build)


async def settings_submit(request: Request) -> Response:
    auth, form, refusal = await _writer(request, admin=True)
    if refusal is not None:
        return refusal
    actor = _actor(auth, request)
    required = form.get("review_required") == "1"

    def work() -> Response:
        with curation_repository() as repo:
            repo.set_review_required(required, actor)
        return views.redirect("/faq/settings", m="settings")

    return await run_in_threadpool(work)


async def tokens_page(request: Request, new_token: Optional[str] = None, error: Optional[str] = None) -> Response:
    auth, refusal = await _reader(request)
    if refusal is not None:
        return refusal

    def build() -> Response:
        with account_repository() as accounts:
            me = accounts.officer(auth.officer_id)
            rows = credentials.tokens_of(accounts, me)
            return _page("faq_tokens.html", auth, request, 400 if error else 200, tokens=rows, new_token=new_token,
                         error=error)

    return await run_in_threadpool(build)


async def tokens_submit(request: Request) -> Response:
    auth = await security.current_auth(request)
    if auth is None:
        return views.to_login(request)
    form = await request.form()
    if not security.csrf_ok(request, auth, str(form.get("csrf_token", ""))):
        return views.forbidden()
    ip = security.client_ip(request)
    revoke = _int(form.get("revoke"))

    def work() -> Tuple[Optional[str], Optional[str]]:
        with account_repository() as accounts:
            me = accounts.officer(auth.officer_id)
            if revoke is not None:
                credentials.revoke_token(accounts, me, revoke, ip)
                return None, None
            try:
                return credentials.create_token(accounts, me, str(form.get("name", "")), ip), None
            except ValueError as exc:
                return None, str(exc)

    token, error = await run_in_threadpool(work)
    if token is None and error is None:
        return views.redirect("/faq/tokens", m="token_revoked")
    return await tokens_page(request, new_token=token, error=error)


# ---- the JSON API -------------------------------------------------------------------------------------------------------

ApiHandler = Callable[[Request, Actor], Awaitable[Response]]
API_FIELDS = {"id", "question", "paraphrases", "answer", "topic", "topic_id", "to_confirm", "source", "source_url",
              "rule_date", "reviewed", "status", "version"}
TEXT_FIELDS = {"id", "question", "answer", "topic", "topic_id", "to_confirm", "source", "source_url", "rule_date",
               "reviewed", "status"}
API_HEADERS = {"Cache-Control": "no-store"}


def api_error(status: int, code: str, message: str, errors: Optional[Mapping[str, str]] = None,
              **extra: Any) -> JSONResponse:
    body: Dict[str, Any] = {"error": code, "message": message}
    if errors:
        body["errors"] = {("topic" if k == "topic_id" else k): v for k, v in errors.items()}
    body.update(extra)
    headers = dict(API_HEADERS)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="hz-console", charset="UTF-8"'
    return JSONResponse(body, status_code=status, headers=headers)


def _from_error(error: CurationError) -> JSONResponse:
    extra: Dict[str, Any] = {}
    if isinstance(error, VersionConflict):
        extra["current_version"] = error.current
    return api_error(error.status, error.code, error.message, getattr(error, "errors", None), **extra)


def entry_json(row: KnowledgeEntry, titles: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    return {
        "id": row.id,
        "topic": row.topic_id,
        "topic_title": (titles or {}).get(row.topic_id),
        "intent": row.intent,
        "question": row.question,
        "paraphrases": list(row.paraphrases or []),
        "answer": row.answer,
        "to_confirm": row.to_confirm,
        "source": row.source,
        "source_url": row.source_url,
        "rule_date": row.rule_date,
        "reviewed": row.reviewed,
        "status": row.status,
        "origin": row.origin,
        "version": row.version,
        "updated_at": row.updated_at.isoformat(timespec="seconds") + "Z" if row.updated_at else None,
        "updated_by": row.updated_by,
    }


def _authenticate(header: str, ip: str):
    with account_repository() as accounts:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return credentials.Authentication(None)
            username, sep, password = decoded.partition(":")
            if not sep:
                return credentials.Authentication(None)
            return credentials.check_basic(accounts, username[:80], password[:200], ip)
        if scheme.lower() == "bearer":
            return credentials.check_token(accounts, value.strip(), ip)
        return credentials.Authentication(None)


def api(handler: ApiHandler, write: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate the caller (Basic, token, or session + CSRF header), then run ``handler``; never a stack
    trace: any unexpected error is logged and answered with a JSON 500."""

    async def endpoint(request: Request) -> Response:
        ip = security.client_ip(request)
        header = request.headers.get("authorization", "")
        if header:
            if len(header) > 1000:
                return api_error(401, "unauthorized", "认证信息无效。")
            result = await run_in_threadpool(_authenticate, header, ip)
            if result.throttled:
                return api_error(429, "throttled", "认证失败次数过多，请 15 分钟后再试。")
            if result.actor is None:
                return api_error(401, "unauthorized", "用户名、密码或令牌无效。")
            actor = result.actor
        else:
            auth = await security.current_auth(request)
            if auth is None:
                return api_error(401, "unauthorized", "需要认证：请使用 HTTP Basic（控制台账号）或 API 令牌。")
            if write and not security.csrf_ok(request, auth, request.headers.get("x-csrf-token")):
                return api_error(403, "csrf", "使用登录会话修改数据时，必须在 X-CSRF-Token 请求头中带上 CSRF 令牌。")
            actor = Actor(auth.username, auth.role, auth.officer_id, ip, via="api")
        if write and actor.role not in (ROLE_ADMIN, ROLE_EDITOR):
            return api_error(403, "forbidden", "只有知识库编辑和管理员可以修改问答。")
        try:
            return await handler(request, actor)
        except CurationError as error:
            return _from_error(error)
        except Exception:  # noqa: BLE001 - the API answers JSON, whatever happens
            log.exception("console API error on %s %s", request.method, request.url.path)
            return api_error(500, "server_error", "服务器内部错误，请稍后再试。")

    return endpoint


async def _json_body(request: Request) -> Tuple[Optional[Dict[str, Any]], Optional[JSONResponse]]:
    if int(request.headers.get("content-length") or 0) > MAX_JSON_BYTES:
        return None, api_error(413, "too_large", f"请求体太大（最多 {MAX_JSON_BYTES // 1024} KB）。")
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        return None, api_error(413, "too_large", f"请求体太大（最多 {MAX_JSON_BYTES // 1024} KB）。")
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError):
        return None, api_error(400, "invalid_json", "请求体不是有效的 JSON（UTF-8 编码）。")
    if not isinstance(body, dict):
        return None, api_error(400, "invalid_json", "请求体必须是一个 JSON 对象。")
    return body, None


def _api_fields(body: Mapping[str, Any], allowed: set) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """The entry fields of an API body (``topic`` → ``topic_id``) and per-field type errors."""
    errors: Dict[str, str] = {}
    data: Dict[str, Any] = {}
    for key, value in body.items():
        if key not in allowed:
            errors[str(key)[:40]] = "未知字段"
            continue
        if key in TEXT_FIELDS and value is not None and not isinstance(value, (str, int, float)):
            errors[key] = "应为文本"
            continue
        if key == "paraphrases" and value is not None:
            if not isinstance(value, (list, str)) or (
                isinstance(value, list) and not all(isinstance(v, (str, int, float)) for v in value)
            ):
                errors[key] = "应为文本列表"
                continue
        if key == "version" and (isinstance(value, bool) or not isinstance(value, int)):
            errors[key] = "应为整数"
            continue
        data["topic_id" if key == "topic" else key] = value
    if "status" in data and data["status"] not in STATUSES:
        errors["status"] = "状态只能是 draft、published 或 retired"
    return data, errors


async def api_list(request: Request, actor: Actor) -> Response:
    params = request.query_params
    status = params.get("status", "")
    if status and status not in STATUSES:
        return api_error(400, "invalid", "状态只能是 draft、published 或 retired", {"status": "无效的状态"})
    limit = min(max(_int(params.get("limit"), 100) or 100, 1), 500)
    offset = max(_int(params.get("offset"), 0) or 0, 0)

    def build() -> Response:
        with curation_repository() as repo:
            rows, total = repo.search(params.get("q", "")[:100], params.get("topic", "")[:64], status,
                                      params.get("origin", "")[:16], limit, offset)
            titles = {t.id: t.title for t in repo.topics()}
            return JSONResponse({"total": total, "limit": limit, "offset": offset,
                                 "entries": [entry_json(r, titles) for r in rows]}, headers=API_HEADERS)

    return await run_in_threadpool(build)


async def api_get(request: Request, actor: Actor) -> Response:
    entry_id = request.path_params["entry_id"]

    def build() -> Response:
        with curation_repository() as repo:
            row = repo.entry(entry_id)
            return JSONResponse(entry_json(row, {t.id: t.title for t in repo.topics()}), headers=API_HEADERS)

    return await run_in_threadpool(build)


async def api_create(request: Request, actor: Actor) -> Response:
    body, problem = await _json_body(request)
    if problem is not None:
        return problem
    data, errors = _api_fields(body, API_FIELDS - {"version"})
    if errors:
        return api_error(400, "invalid", "内容有误，请按 errors 中的提示修改。", errors)
    entry_id = str(data.pop("id", "") or "").strip() or None

    def work() -> Response:
        with curation_repository() as repo:
            change = repo.create(data, actor, entry_id)
            payload = entry_json(change.entry, {t.id: t.title for t in repo.topics()})
        return JSONResponse(payload, status_code=201, headers={**API_HEADERS, "Location": f"{PREFIX}/api/faq/{payload['id']}"})

    return await run_in_threadpool(work)


def _expected_version(request: Request, data: Dict[str, Any]) -> Optional[int]:
    if "version" in data:
        return data.pop("version")
    match = request.headers.get("if-match", "").strip().strip('"').removeprefix("W/").strip('"')
    if match:
        return _int(match)
    return _int(request.query_params.get("version"))


async def api_update(request: Request, actor: Actor) -> Response:
    body, problem = await _json_body(request)
    if problem is not None:
        return problem
    data, errors = _api_fields(body, API_FIELDS - {"id"})
    if errors:
        return api_error(400, "invalid", "内容有误，请按 errors 中的提示修改。", errors)
    entry_id = request.path_params["entry_id"]
    version = _expected_version(request, data)

    def work() -> Response:
        with curation_repository() as repo:
            change = repo.update(entry_id, data, version, actor, note="API")
            payload = entry_json(change.entry, {t.id: t.title for t in repo.topics()})
        payload["changed"] = change.changed
        return JSONResponse(payload, headers=API_HEADERS)

    return await run_in_threadpool(work)


async def api_retire(request: Request, actor: Actor) -> Response:
    entry_id = request.path_params["entry_id"]
    version = _expected_version(request, {})

    def work() -> Response:
        with curation_repository() as repo:
            change = repo.retire(entry_id, actor, version)
            payload = entry_json(change.entry, {t.id: t.title for t in repo.topics()})
        return JSONResponse(payload, headers=API_HEADERS)

    return await run_in_threadpool(work)


async def api_history(request: Request, actor: Actor) -> Response:
    entry_id = request.path_params["entry_id"]

    def build() -> Response:
        with curation_repository() as repo:
            repo.entry(entry_id)
            history = repo.history(entry_id)
            versions = []
            for i, version in enumerate(history):
                previous = history[i + 1].snapshot if i + 1 < len(history) else None
                versions.append({
                    "version": version.version,
                    "action": version.action,
                    "author": version.author,
                    "at": version.at.isoformat(timespec="seconds") + "Z",
                    "note": version.note,
                    "changed": diff.changed_labels(previous, version.snapshot) if previous is not None else [],
                    "diff": diff.unified(previous, version.snapshot, f"第 {history[i + 1].version} 版",
                                         f"第 {version.version} 版") if previous is not None else "",
                    "snapshot": version.snapshot,
                })
            return JSONResponse({"id": entry_id, "versions": versions}, headers=API_HEADERS)

    return await run_in_threadpool(build)


async def api_rollback(request: Request, actor: Actor) -> Response:
    body, problem = await _json_body(request)
    if problem is not None:
        return problem
    to_version, version = body.get("to_version"), body.get("version")
    errors = {k: "应为整数" for k, v in (("to_version", to_version), ("version", version))
              if isinstance(v, bool) or not isinstance(v, int)}
    if errors:
        return api_error(400, "invalid", "需要 to_version（回滚到的版本）和 version（当前版本）。", errors)
    entry_id = request.path_params["entry_id"]

    def work() -> Response:
        with curation_repository() as repo:
            change = repo.rollback(entry_id, to_version, version, actor)
            return JSONResponse(entry_json(change.entry), headers=API_HEADERS)

    return await run_in_threadpool(work)


def _review_json(review) -> Dict[str, Any]:
    return {
        "id": review.id, "entry_id": review.entry_id, "base_version": review.base_version,
        "status": review.status, "author": review.author,
        "created_at": review.created_at.isoformat(timespec="seconds") + "Z",
        "decided_by": review.decided_by, "comment": review.comment, "proposed": review.proposed,
    }


async def api_propose(request: Request, actor: Actor) -> Response:
    body, problem = await _json_body(request)
    if problem is not None:
        return problem
    data, errors = _api_fields(body, API_FIELDS - {"id"})
    if errors:
        return api_error(400, "invalid", "内容有误，请按 errors 中的提示修改。", errors)
    entry_id = request.path_params["entry_id"]
    version = _expected_version(request, data)

    def work() -> Response:
        with curation_repository() as repo:
            change = repo.propose(entry_id, data, version, actor)
            return JSONResponse(_review_json(change.review), status_code=202, headers=API_HEADERS)

    return await run_in_threadpool(work)


async def api_reviews(request: Request, actor: Actor) -> Response:
    def build() -> Response:
        with curation_repository() as repo:
            return JSONResponse({"reviews": [_review_json(r) for r in repo.pending_reviews()]}, headers=API_HEADERS)

    return await run_in_threadpool(build)


async def api_decide(request: Request, actor: Actor) -> Response:
    review_id = request.path_params["review_id"]
    decision = request.path_params["decision"]
    if decision not in ("approve", "reject"):
        return api_error(404, "not_found", "只能 approve（批准）或 reject（退回）。")
    comment = ""
    if decision == "reject":
        body, _problem = await _json_body(request)
        comment = str((body or {}).get("comment") or "")[:300]

    def work() -> Response:
        with curation_repository() as repo:
            if decision == "approve":
                change = repo.approve(review_id, actor)
                return JSONResponse({"review": _review_json(change.review), "entry": entry_json(change.entry)},
                                    headers=API_HEADERS)
            return JSONResponse({"review": _review_json(repo.reject(review_id, actor, comment))}, headers=API_HEADERS)

    return await run_in_threadpool(work)


async def api_preview(request: Request, actor: Actor) -> Response:
    text = request.query_params.get("q", "")
    if not text.strip():
        return api_error(400, "invalid", "请用 q 参数给出要预览的问题。", {"q": "必填"})
    drafts = request.query_params.get("drafts") in ("1", "true")

    def build() -> Response:
        with curation_repository() as repo:
            return JSONResponse(preview(repo.session, text, include_drafts=drafts).as_json(), headers=API_HEADERS)

    return await run_in_threadpool(build)


async def api_unanswered(request: Request, actor: Actor) -> Response:
    days = min(max(_int(request.query_params.get("days"), 30) or 30, 1), 365)
    reason = request.query_params.get("reason", "")
    if reason and reason not in unanswered.REASON_LABELS:
        return api_error(400, "invalid", "reason 只能是 fallback、out_of_scope 或 handoff", {"reason": "无效"})

    def build() -> Response:
        with curation_repository() as repo:
            report = unanswered.unanswered_report(repo.session, days, reason)
        return JSONResponse({
            "days": report.days,
            "total": report.total,
            "buckets": [{"start": b.start.isoformat() + "Z", "label": b.label, "count": b.count} for b in report.buckets],
            "groups": [
                {
                    "ids": g.ids, "count": g.count, "representative": g.representative,
                    "texts": [{"text": t, "count": n} for t, n in g.texts], "reasons": g.reasons,
                    "first_at": g.first_at.isoformat(timespec="seconds") + "Z",
                    "last_at": g.last_at.isoformat(timespec="seconds") + "Z",
                    "counts": g.buckets,
                    "closest": {"id": g.suggestion[0], "question": g.suggestion[1], "score": g.suggestion[2]}
                    if g.suggestion else None,
                }
                for g in report.groups
            ],
        }, headers=API_HEADERS)

    return await run_in_threadpool(build)


async def api_unanswered_draft(request: Request, actor: Actor) -> Response:
    body, problem = await _json_body(request)
    if problem is not None:
        return problem
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        return api_error(400, "invalid", "ids 应为未回答问题编号（整数）的列表。", {"ids": "应为整数列表"})

    def work() -> Response:
        with curation_repository() as repo:
            change = unanswered.draft_from_group(repo, ids[:5000], actor)
            return JSONResponse(entry_json(change.entry), status_code=201, headers=API_HEADERS)

    return await run_in_threadpool(work)


async def api_export(request: Request, actor: Actor) -> Response:
    status = request.query_params.get("status", "")
    if status and status not in STATUSES:
        return api_error(400, "invalid", "状态只能是 draft、published 或 retired", {"status": "无效的状态"})
    fmt = request.query_params.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        return api_error(400, "invalid", "format 只能是 xlsx 或 csv", {"format": "无效"})
    return await run_in_threadpool(_export, status, fmt)


async def api_import(request: Request, actor: Actor) -> Response:
    if int(request.headers.get("content-length") or 0) > spreadsheet.MAX_BYTES + 65536:
        return api_error(413, "too_large", "文件太大（最多 5 MB）。")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        content, filename = await _upload(await request.form())
    else:
        content = await request.body()
        filename = request.query_params.get("filename", "") or (
            "import.csv" if "csv" in content_type or content_type.startswith("text/") else "import.xlsx"
        )
    dry_run = request.query_params.get("dry_run") in ("1", "true")

    def work() -> Response:
        try:
            result = spreadsheet.import_file(content, filename, actor, dry_run=dry_run)
        except ImportRefused as refused:
            return api_error(400, refused.code, refused.message, problems=[
                {"row": p.row, "column": p.column, "message": p.message} for p in refused.problems
            ])
        return JSONResponse({"dry_run": dry_run, "created": result.created, "updated": result.updated,
                             "unchanged": result.unchanged, "message": result.summary()}, headers=API_HEADERS)

    return await run_in_threadpool(work)


async def api_settings(request: Request, actor: Actor) -> Response:
    if request.method == "PUT":
        body, problem = await _json_body(request)
        if problem is not None:
            return problem
        if not isinstance(body.get("review_required"), bool) or set(body) - {"review_required"}:
            return api_error(400, "invalid", "只能设置 review_required（true 或 false）。",
                             {"review_required": "应为 true 或 false"})

        def save() -> None:
            with curation_repository() as repo:
                repo.set_review_required(body["review_required"], actor)

        await run_in_threadpool(save)

    def build() -> Response:
        with curation_repository() as repo:
            return JSONResponse({"review_required": repo.review_required(),
                                 "can_publish": repo.can_publish(actor), "role": actor.role}, headers=API_HEADERS)

    return await run_in_threadpool(build)


async def api_not_found(request: Request) -> Response:
    return api_error(404, "not_found", "没有这个接口，请查看 docs/console-api.md。")


# ---- routes -------------------------------------------------------------------------------------------------------------


def routes() -> List[BaseRoute]:
    """Routes relative to the console's mount point (/console)."""
    get, post = ["GET"], ["POST"]
    entry = "/faq/entries/{entry_id}"
    api_entry = "/api/faq/{entry_id}"
    return [
        Route("/faq", faq_list, methods=get),
        Route("/faq/new", new_page, methods=get),
        Route("/faq/new", new_submit, methods=post),
        Route(entry, entry_page, methods=get),
        Route(entry, entry_submit, methods=post),
        Route(entry + "/rollback", rollback_submit, methods=post),
        Route("/faq/preview", preview_page, methods=get),
        Route("/faq/unanswered", unanswered_page, methods=get),
        Route("/faq/unanswered/draft", unanswered_draft, methods=post),
        Route("/faq/reviews", reviews_page, methods=get),
        Route("/faq/reviews/{review_id:int}", review_submit, methods=post),
        Route("/faq/transfer", transfer_page, methods=get),
        Route("/faq/export.{fmt:str}", export_file, methods=get),
        Route("/faq/import", import_submit, methods=post),
        Route("/faq/settings", settings_page, methods=get),
        Route("/faq/settings", settings_submit, methods=post),
        Route("/faq/tokens", tokens_page, methods=get),
        Route("/faq/tokens", tokens_submit, methods=post),
        # JSON API
        Route("/api/faq", api(api_list), methods=get),
        Route("/api/faq", api(api_create, write=True), methods=post),
        Route(api_entry, api(api_get), methods=get),
        Route(api_entry, api(api_update, write=True), methods=["PUT"]),
        Route(api_entry, api(api_retire, write=True), methods=["DELETE"]),
        Route(api_entry + "/history", api(api_history), methods=get),
        Route(api_entry + "/rollback", api(api_rollback, write=True), methods=post),
        Route(api_entry + "/review", api(api_propose, write=True), methods=post),
        Route("/api/reviews", api(api_reviews), methods=get),
        Route("/api/reviews/{review_id:int}/{decision:str}", api(api_decide, write=True), methods=post),
        Route("/api/preview", api(api_preview), methods=get),
        Route("/api/unanswered", api(api_unanswered), methods=get),
        Route("/api/unanswered/draft", api(api_unanswered_draft, write=True), methods=post),
        Route("/api/export", api(api_export), methods=get),
        Route("/api/import", api(api_import, write=True), methods=post),
        Route("/api/settings", api(api_settings), methods=get),
        Route("/api/settings", api(api_settings, write=True), methods=["PUT"]),
        Route("/api/{rest:path}", api_not_found),
    ]
