"""The knowledge pages of the staff console (``/console/faq…``).

Staff list, search, create, edit, publish, retire and roll back FAQ/knowledge entries, preview which entry the bot
would answer a question with, turn groups of unanswered questions into drafts, review editors' changes, and
import/export spreadsheets. The logic lives in ``core.curation``; each handler (behind ``handler.page``: role,
CSRF, thread pool) reads the request, runs one short transaction and renders a page or redirects. The JSON API
over the same logic is ``faq_api``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from core.accounts import account_repository
from core.catalogue import message
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
from core.curation.validation import EDITABLE, STATUSES, normalise
from core.knowledge.models import STATUS_DRAFT, STATUS_PUBLISHED, STATUS_RETIRED, KnowledgeEntry
from webapp.console import rendering
from webapp.console.faq_files import export_response, read_upload
from webapp.console.handler import ADMINS, EDITORS, SIGNED_IN, Allowed, Call, page, to_int
from webapp.console.rendering import redirect
from webapp.console.security import Auth

PAGE_SIZE = 50


def _message_page(request: Request, auth: Optional[Auth], message: str, status_code: int) -> Response:
    """A refusal or an error inside the knowledge section (signed out: to the sign-in page)."""
    if auth is None:
        return rendering.to_login(request)
    return rendering.render("faq_message.html", auth, request, status_code, message=message)


def faq_page(allowed: Allowed = SIGNED_IN, *, post: bool = False):
    """``handler.page`` with the knowledge section's refusal page."""
    return page(allowed, post=post, refuse=_message_page)


def _error(call: Call, message: str, status_code: int) -> Response:
    return _message_page(call.request, call.auth, message, status_code)


def _actor(call: Call) -> Actor:
    return Actor(call.auth.username, call.auth.role, call.auth.officer_id, call.ip, via="console")


def _entry_path(entry_id: str) -> str:
    return f"/faq/entries/{quote(entry_id, safe='')}"


# ---- the list -----------------------------------------------------------------------------------------------------------


@faq_page()
def faq_list(call: Call) -> Response:
    params = call.query
    text = params.get("q", "")[:100]
    topic = params.get("topic", "")[:64]
    status = params.get("status", "") if params.get("status", "") in STATUSES else ""
    page_number = max(1, to_int(params.get("page"), 1) or 1)
    with curation_repository() as repo:
        rows, total = repo.search(text, topic, status, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
        return call.render(
            "faq_list.html",
            rows=rows,
            total=total,
            page=page_number,
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


@faq_page(EDITORS.but(message("console.editors_create_only")))
def new_page(call: Call) -> Response:
    with curation_repository() as repo:
        context = _edit_context(repo, call.auth, None)
        values = _values_of(None, context["today"])
        values["topic_id"] = call.query.get("topic", "")[:64]
        return call.render("faq_edit.html", values=values, errors={}, **context)


@faq_page(EDITORS, post=True)
def new_submit(call: Call) -> Response:
    action = str(call.form.get("action", "draft"))
    data = _form_data(call.form)
    actor = _actor(call)
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
            return redirect(_entry_path(change.entry.id), m=notice)
    except CurationError as error:
        with curation_repository() as repo:
            context = _edit_context(repo, call.auth, None)
            return call.render("faq_edit.html", error.status, values=data, error=error.message,
                               errors=getattr(error, "errors", {}), **context)


@faq_page()
def entry_page(call: Call) -> Response:
    with curation_repository() as repo:
        row = repo.find(call.params["entry_id"])
        if row is None:
            return _error(call, message("console.no_entry"), 404)
        context = _edit_context(repo, call.auth, row)
        return call.render("faq_edit.html", values=_values_of(row, context["today"]), errors={},
                           version=row.version, **context)


@faq_page(EDITORS, post=True)
def entry_submit(call: Call) -> Response:
    entry_id = call.params["entry_id"]
    action = str(call.form.get("action", "save"))
    version = to_int(call.form.get("version"))
    data = _form_data(call.form)
    try:
        with curation_repository() as repo:
            notice = _save(repo, entry_id, action, data, version, _actor(call))
        return redirect(_entry_path(entry_id), m=notice)
    except CurationError as error:
        with curation_repository() as repo:
            row = repo.find(entry_id)
            if row is None:
                return _error(call, error.message, 404)
            context = _edit_context(repo, call.auth, row)
            conflict = None
            if isinstance(error, VersionConflict):
                mine = {**diff.snapshot(row), **normalise(data)}
                conflict = diff.changes(mine, diff.snapshot(row))
            values = {**_values_of(row, context["today"]), **data}
            # after a conflict the form carries the current version: saving again, having seen what changed,
            # is a deliberate decision, never a silent overwrite
            return call.render("faq_edit.html", error.status, values=values, error=error.message,
                               errors=getattr(error, "errors", {}), conflict=conflict, version=row.version, **context)


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


@faq_page(EDITORS, post=True)
def rollback_submit(call: Call) -> Response:
    entry_id = call.params["entry_id"]
    to_version, version = to_int(call.form.get("to_version")), to_int(call.form.get("version"))
    try:
        with curation_repository() as repo:
            repo.rollback(entry_id, to_version or 0, version, _actor(call))
        return redirect(_entry_path(entry_id), m="rolled_back")
    except CurationError as error:
        return _error(call, error.message, error.status)


# ---- preview ------------------------------------------------------------------------------------------------------------


@faq_page()
def preview_page(call: Call) -> Response:
    text = call.query.get("q", "")[:500]
    drafts = call.query.get("drafts") == "1"
    with curation_repository() as repo:
        result = preview(repo.session, text, include_drafts=drafts) if text.strip() else None
        return call.render("faq_preview.html", q=text, drafts=drafts, result=result)


# ---- unanswered questions -----------------------------------------------------------------------------------------------


@faq_page()
def unanswered_page(call: Call) -> Response:
    days = to_int(call.query.get("days"), 30) or 30
    days = days if days in (7, 14, 30, 90, 365) else 30
    reason = call.query.get("reason", "")
    reason = reason if reason in unanswered.REASON_LABELS else ""
    with curation_repository() as repo:
        report = unanswered.unanswered_report(repo.session, days, reason)
        return call.render("faq_unanswered.html", report=report, days=days, reason=reason,
                           REASONS=unanswered.REASON_LABELS)


@faq_page(EDITORS, post=True)
def unanswered_draft(call: Call) -> Response:
    ids = [i for i in (to_int(part) for part in str(call.form.get("ids", "")).split(",")[:5000]) if i is not None]
    try:
        with curation_repository() as repo:
            change = unanswered.draft_from_group(repo, ids, _actor(call))
            return redirect(_entry_path(change.entry.id), m="drafted")
    except CurationError as error:
        return _error(call, error.message, error.status)


# ---- review -------------------------------------------------------------------------------------------------------------


@faq_page()
def reviews_page(call: Call) -> Response:
    with curation_repository() as repo:
        items = []
        for review in repo.pending_reviews():
            entry = repo.find(review.entry_id)
            current = diff.snapshot(entry) if entry is not None else None
            items.append((review, entry, diff.changes(current, review.proposed)))
        return call.render("faq_reviews.html", items=items, review_required=repo.review_required())


KNOWLEDGE_ADMINS = ADMINS.but(message("console.admins_act_only"))


@faq_page(KNOWLEDGE_ADMINS, post=True)
def review_submit(call: Call) -> Response:
    review_id = call.params["review_id"]
    decision = str(call.form.get("decision", ""))
    comment = call.text("comment", 300)
    actor = _actor(call)
    try:
        with curation_repository() as repo:
            if decision == "approve":
                repo.approve(review_id, actor)
                return redirect("/faq/reviews", m="approved")
            repo.reject(review_id, actor, comment)
            return redirect("/faq/reviews", m="rejected")
    except CurationError as error:
        return _error(call, error.message, error.status)


# ---- import and export --------------------------------------------------------------------------------------------------


@faq_page()
def transfer_page(call: Call) -> Response:
    return call.render("faq_transfer.html", result=None, problems=None)


@faq_page()
def export_file(call: Call) -> Response:
    status = call.query.get("status", "")
    return export_response(status if status in STATUSES else "", call.params["fmt"])


@faq_page(EDITORS, post=True)
def import_submit(call: Call) -> Response:
    content, filename = read_upload(call.form)
    dry_run = call.form.get("dry_run") == "1"
    try:
        result = spreadsheet.import_file(content, filename, _actor(call), dry_run=dry_run)
        return call.render("faq_transfer.html", result=result, problems=None, filename=filename)
    except ImportRefused as refused:
        return call.render("faq_transfer.html", 400, result=None, problems=refused.problems,
                           error=refused.message, filename=filename)


# ---- settings and tokens ------------------------------------------------------------------------------------------------


@faq_page()
def settings_page(call: Call) -> Response:
    with curation_repository() as repo:
        return call.render("faq_settings.html", review_required=repo.review_required())


@faq_page(KNOWLEDGE_ADMINS, post=True)
def settings_submit(call: Call) -> Response:
    with curation_repository() as repo:
        repo.set_review_required(call.form.get("review_required") == "1", _actor(call))
    return redirect("/faq/settings", m="settings")


def _tokens(call: Call, new_token: Optional[str] = None, error: Optional[str] = None) -> Response:
    with account_repository() as accounts:
        rows = credentials.tokens_of(accounts, accounts.officer(call.auth.officer_id))
        return call.render("faq_tokens.html", 400 if error else 200, tokens=rows, new_token=new_token, error=error)


@faq_page()
def tokens_page(call: Call) -> Response:
    return _tokens(call)


@faq_page(SIGNED_IN, post=True)
def tokens_submit(call: Call) -> Response:
    revoke = to_int(call.form.get("revoke"))
    with account_repository() as accounts:
        me = accounts.officer(call.auth.officer_id)
        if revoke is not None:
            credentials.revoke_token(accounts, me, revoke, call.ip)
            return redirect("/faq/tokens", m="token_revoked")
        try:
            token = credentials.create_token(accounts, me, str(call.form.get("name", "")), call.ip)
        except ValueError as exc:
            token, error = None, str(exc)
        else:
            error = None
    return _tokens(call, new_token=token, error=error)
