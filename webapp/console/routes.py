"""Routes of the console (mounted at /console with its own security headers) and the hand-off poll endpoint."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from webapp.console import api, faq, stats, views
from webapp.console.security import PREFIX, RedactTokens, SecurityHeaders

STATIC_DIR = Path(__file__).parent / "static"


def console_app() -> Starlette:
    get, post = ["GET"], ["POST"]
    return Starlette(
        routes=[
            Route("/", views.home, methods=get),
            Route("/login", views.login_page, methods=get),
            Route("/login", views.login_submit, methods=post),
            Route("/logout", views.logout, methods=post),
            Route("/queue", views.queue_page, methods=get),
            Route("/tickets/{ticket_id:int}", views.ticket_page, methods=get),
            Route("/tickets/{ticket_id:int}/updates", views.ticket_updates, methods=get),
            Route("/tickets/{ticket_id:int}/claim", views.claim, methods=post),
            Route("/tickets/{ticket_id:int}/reply", views.reply, methods=post),
            Route("/tickets/{ticket_id:int}/transfer", views.transfer, methods=post),
            Route("/tickets/{ticket_id:int}/resolve", views.resolve, methods=post),
            Route("/tickets/{ticket_id:int}/notes", views.add_note, methods=post),
            Route("/audit", views.audit_page, methods=get),
            Route("/officers", views.officers_page, methods=get),
            Route("/officers", views.officers_create, methods=post),
            Route("/officers/{officer_id:int}", views.officers_update, methods=post),
            Route("/password", views.password_page, methods=get),
            Route("/password", views.password_submit, methods=post),
            Route("/settings", views.settings_page, methods=get),
            Route("/settings", views.settings_submit, methods=post),
            Route("/privacy", views.privacy_page, methods=get),
            Route("/privacy", views.privacy_submit, methods=post),
            *stats.routes(),  # the service dashboard and the follow-up items of ratings (webapp/console/stats.py)
            *faq.routes(),  # knowledge curation pages and the JSON API under /console/api (webapp/console/faq.py)
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
