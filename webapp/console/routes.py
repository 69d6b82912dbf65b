"""Routes of the console (mounted at /console with its own security headers) and the hand-off poll endpoint.

Every URL of the console is here, one line a path: the handler of its GET and of its POST. Page handlers carry
their own access rule (``handler.page``); the JSON API's are wrapped in ``faq_api.api`` (``write``: editors and
administrators, and the CSRF header for callers with a session cookie).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from webapp.console import api, faq_api, stats, views
from webapp.console import faq_pages as faq
from webapp.console.faq_api import api as json_api
from webapp.console.security import PREFIX, RedactTokens, SecurityHeaders

STATIC_DIR = Path(__file__).parent / "static"
TICKET, ENTRY = "/tickets/{ticket_id:int}", "/faq/entries/{entry_id}"

# path → (GET, POST): signing in, the queue and tickets, administration (views.py); the
# dashboard and follow-ups (stats.py); the knowledge pages (faq_pages.py)
PAGES: Dict[str, tuple] = {
    "/": (views.home, None),
    "/login": (views.login_page, views.login_submit),
    "/logout": (None, views.logout),
    "/queue": (views.queue_page, None),
    TICKET: (views.ticket_page, None),
    TICKET + "/updates": (views.ticket_updates, None),
    TICKET + "/claim": (None, views.claim),
    TICKET + "/reply": (None, views.reply),
    TICKET + "/transfer": (None, views.transfer),
    TICKET + "/resolve": (None, views.resolve),
    TICKET + "/notes": (None, views.add_note),
    "/audit": (views.audit_page, None),
    "/officers": (views.officers_page, views.officers_create),
    "/officers/{officer_id:int}": (None, views.officers_update),
    "/password": (views.password_page, views.password_submit),
    "/settings": (views.settings_page, views.settings_submit),
    "/privacy": (views.privacy_page, views.privacy_submit),
    "/stats": (stats.stats_page, None),
    "/stats.xlsx": (stats.stats_export, None),
    "/followups": (stats.followups_page, None),
    "/followups/{item_id:int}": (None, stats.followup_update),
    "/faq": (faq.faq_list, None),
    "/faq/new": (faq.new_page, faq.new_submit),
    ENTRY: (faq.entry_page, faq.entry_submit),
    ENTRY + "/rollback": (None, faq.rollback_submit),
    "/faq/preview": (faq.preview_page, None),
    "/faq/unanswered": (faq.unanswered_page, None),
    "/faq/unanswered/draft": (None, faq.unanswered_draft),
    "/faq/reviews": (faq.reviews_page, None),
    "/faq/reviews/{review_id:int}": (None, faq.review_submit),
    "/faq/transfer": (faq.transfer_page, None),
    "/faq/export.{fmt:str}": (faq.export_file, None),
    "/faq/import": (None, faq.import_submit),
    "/faq/settings": (faq.settings_page, faq.settings_submit),
    "/faq/tokens": (faq.tokens_page, faq.tokens_submit),
}

# the knowledge base's JSON API (faq_api.py, docs/console-api.md): (method, path, handler, writes)
API_ENTRY = "/api/faq/{entry_id}"
API = [
    ("GET", "/api/faq", faq_api.api_list, False),
    ("POST", "/api/faq", faq_api.api_create, True),
    ("GET", API_ENTRY, faq_api.api_get, False),
    ("PUT", API_ENTRY, faq_api.api_update, True),
    ("DELETE", API_ENTRY, faq_api.api_retire, True),
    ("GET", API_ENTRY + "/history", faq_api.api_history, False),
    ("POST", API_ENTRY + "/rollback", faq_api.api_rollback, True),
    ("POST", API_ENTRY + "/review", faq_api.api_propose, True),
    ("GET", "/api/reviews", faq_api.api_reviews, False),
    ("POST", "/api/reviews/{review_id:int}/{decision:str}", faq_api.api_decide, True),
    ("GET", "/api/preview", faq_api.api_preview, False),
    ("GET", "/api/unanswered", faq_api.api_unanswered, False),
    ("POST", "/api/unanswered/draft", faq_api.api_unanswered_draft, True),
    ("GET", "/api/export", faq_api.api_export, False),
    ("POST", "/api/import", faq_api.api_import, True),
    ("GET", "/api/settings", faq_api.api_settings, False),
    ("PUT", "/api/settings", faq_api.api_settings, True),
]


def _page_routes() -> List[BaseRoute]:
    routes: List[BaseRoute] = []
    for path, handlers in PAGES.items():
        for method, endpoint in zip(("GET", "POST"), handlers, strict=True):
            if endpoint is not None:
                routes.append(Route(path, endpoint, methods=[method]))
    return routes


def _api_routes() -> List[BaseRoute]:
    routes: List[BaseRoute] = [
        Route(path, json_api(handler, write=write), methods=[method]) for method, path, handler, write in API
    ]
    return routes + [Route("/api/{rest:path}", faq_api.api_not_found)]


def console_app() -> Starlette:
    return Starlette(
        routes=[
            *_page_routes(),
            *_api_routes(),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="console_static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
    )


def routes() -> List[BaseRoute]:
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
    return [
        Route("/api/handoff/messages", api.poll_messages, methods=["GET"], name="handoff_poll"),
        Mount(PREFIX, app=console_app()),
    ]
