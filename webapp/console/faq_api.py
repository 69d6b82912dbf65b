"""The JSON API of the knowledge base (``/console/api/…``, documented in docs/console-api.md).

It takes HTTP Basic with a console account or a personal API token (``Authorization: Bearer hzk_…``); a console
session cookie is accepted only for reading, or with the session's CSRF token in an ``X-CSRF-Token`` header.
Every endpoint sits behind ``api`` (credentials, role, JSON errors, never a stack trace); the logic is
``core.curation``'s, as for the pages (``faq_pages``).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Tuple

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.accounts import account_repository
from core.catalogue import message
from core.curation import credentials, diff, spreadsheet, unanswered
from core.curation.preview import preview
from core.curation.repository import Actor, CurationError, CurationRepository, VersionConflict, curation_repository
from core.curation.spreadsheet import ImportRefused
from core.curation.validation import STATUSES
from core.knowledge.models import KnowledgeEntry
from webapp.console import security
from webapp.console.faq_files import export_response, read_upload
from webapp.console.handler import to_int
from webapp.console.rendering import EDITOR_ROLES
from webapp.console.security import PREFIX

log = logging.getLogger(__name__)

MAX_JSON_BYTES = 256 * 1024

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
                return api_error(401, "unauthorized", message("api.bad_credentials_header"))
            result = await run_in_threadpool(_authenticate, header, ip)
            if result.throttled:
                return api_error(429, "throttled", message("api.throttled"))
            if result.actor is None:
                return api_error(401, "unauthorized", message("api.unauthorized"))
            actor = result.actor
        else:
            auth = await security.current_auth(request)
            if auth is None:
                return api_error(401, "unauthorized", message("api.authentication_needed"))
            if write and not security.csrf_ok(request, auth, request.headers.get("x-csrf-token")):
                return api_error(403, "csrf", message("api.csrf"))
            actor = Actor(auth.username, auth.role, auth.officer_id, ip, via="api")
        if write and actor.role not in EDITOR_ROLES:
            return api_error(403, "forbidden", message("api.editors_only"))
        try:
            return await handler(request, actor)
        except CurationError as error:
            return _from_error(error)
        except Exception:  # noqa: BLE001 - the API answers JSON, whatever happens
            log.exception("console API error on %s %s", request.method, request.url.path)
            return api_error(500, "server_error", message("api.server_error"))

    return endpoint


async def _json_body(request: Request) -> Tuple[Optional[Dict[str, Any]], Optional[JSONResponse]]:
    if int(request.headers.get("content-length") or 0) > MAX_JSON_BYTES:
        return None, api_error(413, "too_large", message("api.body_too_large", kb=MAX_JSON_BYTES // 1024))
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        return None, api_error(413, "too_large", message("api.body_too_large", kb=MAX_JSON_BYTES // 1024))
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError):
        return None, api_error(400, "invalid_json", message("api.invalid_json"))
    if not isinstance(body, dict):
        return None, api_error(400, "invalid_json", message("api.not_an_object"))
    return body, None


def _api_fields(body: Mapping[str, Any], allowed: set) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """The entry fields of an API body (``topic`` → ``topic_id``) and per-field type errors."""
    errors: Dict[str, str] = {}
    data: Dict[str, Any] = {}
    for key, value in body.items():
        if key not in allowed:
            errors[str(key)[:40]] = message("api.unknown_field")
            continue
        if key in TEXT_FIELDS and value is not None and not isinstance(value, (str, int, float)):
            errors[key] = message("api.not_text")
            continue
        if key == "paraphrases" and value is not None:
            if not isinstance(value, (list, str)) or (
                isinstance(value, list) and not all(isinstance(v, (str, int, float)) for v in value)
            ):
                errors[key] = message("api.not_text_list")
                continue
        if key == "version" and (isinstance(value, bool) or not isinstance(value, int)):
            errors[key] = message("api.not_integer")
            continue
        data["topic_id" if key == "topic" else key] = value
    if "status" in data and data["status"] not in STATUSES:
        errors["status"] = message("api.statuses")
    return data, errors


async def _entry_fields(request: Request, allowed: set) -> Tuple[Dict[str, Any], Optional[JSONResponse]]:
    """The entry fields of the request's JSON body, or the error to answer."""
    body, problem = await _json_body(request)
    if problem is not None:
        return {}, problem
    data, errors = _api_fields(body, allowed)
    if errors:
        return {}, api_error(400, "invalid", message("api.invalid"), errors)
    return data, None


async def api_list(request: Request, actor: Actor) -> Response:
    params = request.query_params
    status = params.get("status", "")
    if status and status not in STATUSES:
        return api_error(400, "invalid", message("api.statuses"), {"status": message("api.invalid_status")})
    limit = min(max(to_int(params.get("limit"), 100) or 100, 1), 500)
    offset = max(to_int(params.get("offset"), 0) or 0, 0)

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
    data, problem = await _entry_fields(request, API_FIELDS - {"version"})
    if problem is not None:
        return problem
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
        return to_int(match)
    return to_int(request.query_params.get("version"))


async def _change_entry(request: Request, apply: Callable[[CurationRepository, str, Dict[str, Any], Optional[int]],
                                                       Response]) -> Response:
    """An update or a review proposal: the body's fields and the expected version (body, If-Match or ?version=),
    then ``apply(repo, entry_id, data, version)`` in one transaction."""
    data, problem = await _entry_fields(request, API_FIELDS - {"id"})
    if problem is not None:
        return problem
    entry_id = request.path_params["entry_id"]
    version = _expected_version(request, data)

    def work() -> Response:
        with curation_repository() as repo:
            return apply(repo, entry_id, data, version)

    return await run_in_threadpool(work)


async def api_update(request: Request, actor: Actor) -> Response:
    def apply(repo: CurationRepository, entry_id: str, data: Dict[str, Any], version: Optional[int]) -> Response:
        change = repo.update(entry_id, data, version, actor, note="API")
        payload = entry_json(change.entry, {t.id: t.title for t in repo.topics()})
        payload["changed"] = change.changed
        return JSONResponse(payload, headers=API_HEADERS)

    return await _change_entry(request, apply)


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
                    "diff": diff.unified(previous, version.snapshot,
                                         message("api.version_label", version=history[i + 1].version),
                                         message("api.version_label", version=version.version)) if previous is not None else "",
                    "snapshot": version.snapshot,
                })
            return JSONResponse({"id": entry_id, "versions": versions}, headers=API_HEADERS)

    return await run_in_threadpool(build)


async def api_rollback(request: Request, actor: Actor) -> Response:
    body, problem = await _json_body(request)
    if problem is not None:
        return problem
    to_version, version = body.get("to_version"), body.get("version")
    errors = {k: message("api.not_integer") for k, v in (("to_version", to_version), ("version", version))
              if isinstance(v, bool) or not isinstance(v, int)}
    if errors:
        return api_error(400, "invalid", message("api.rollback_needs"), errors)
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
    def apply(repo: CurationRepository, entry_id: str, data: Dict[str, Any], version: Optional[int]) -> Response:
        change = repo.propose(entry_id, data, version, actor)
        return JSONResponse(_review_json(change.review), status_code=202, headers=API_HEADERS)

    return await _change_entry(request, apply)


async def api_reviews(request: Request, actor: Actor) -> Response:
    def build() -> Response:
        with curation_repository() as repo:
            return JSONResponse({"reviews": [_review_json(r) for r in repo.pending_reviews()]}, headers=API_HEADERS)

    return await run_in_threadpool(build)


async def api_decide(request: Request, actor: Actor) -> Response:
    review_id = request.path_params["review_id"]
    decision = request.path_params["decision"]
    if decision not in ("approve", "reject"):
        return api_error(404, "not_found", message("api.decisions"))
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
        return api_error(400, "invalid", message("api.preview_needs_q"), {"q": message("api.required")})
    drafts = request.query_params.get("drafts") in ("1", "true")

    def build() -> Response:
        with curation_repository() as repo:
            return JSONResponse(preview(repo.session, text, include_drafts=drafts).as_json(), headers=API_HEADERS)

    return await run_in_threadpool(build)


async def api_unanswered(request: Request, actor: Actor) -> Response:
    days = min(max(to_int(request.query_params.get("days"), 30) or 30, 1), 365)
    reason = request.query_params.get("reason", "")
    if reason and reason not in unanswered.REASON_LABELS:
        return api_error(400, "invalid", message("api.reasons"), {"reason": message("api.invalid_value")})

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
        return api_error(400, "invalid", message("api.draft_needs_ids"), {"ids": message("api.not_integer_list")})

    def work() -> Response:
        with curation_repository() as repo:
            change = unanswered.draft_from_group(repo, ids[:5000], actor)
            return JSONResponse(entry_json(change.entry), status_code=201, headers=API_HEADERS)

    return await run_in_threadpool(work)


async def api_export(request: Request, actor: Actor) -> Response:
    status = request.query_params.get("status", "")
    if status and status not in STATUSES:
        return api_error(400, "invalid", message("api.statuses"), {"status": message("api.invalid_status")})
    fmt = request.query_params.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        return api_error(400, "invalid", message("api.formats"), {"format": message("api.invalid_value")})
    return await run_in_threadpool(export_response, status, fmt)


async def api_import(request: Request, actor: Actor) -> Response:
    if int(request.headers.get("content-length") or 0) > spreadsheet.MAX_BYTES + 65536:
        return api_error(413, "too_large", message("api.file_too_large"))
    content_type = request.headers.get("content-type", "")
    form = await request.form() if content_type.startswith("multipart/form-data") else None
    content = b"" if form is not None else await request.body()
    filename = request.query_params.get("filename", "") or (
        "import.csv" if "csv" in content_type or content_type.startswith("text/") else "import.xlsx"
    )
    dry_run = request.query_params.get("dry_run") in ("1", "true")

    def work() -> Response:
        nonlocal content, filename
        if form is not None:
            content, filename = read_upload(form)
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
            return api_error(400, "invalid", message("api.settings_only_review"),
                             {"review_required": message("api.not_boolean")})

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
    return api_error(404, "not_found", message("api.no_such_endpoint"))
