"""Routes of the web chat: ``GET /`` serves the page (see the package docstring)."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import List
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, NoMatchFound, Route

from core.messages import MAX_MESSAGE_CHARS
from core.settings import PROJECT_ROOT, get_settings

STATIC_DIR = PROJECT_ROOT / "webapp" / "static" / "chat"
ASSETS = ("chat.css", "chat.js", "vendor/socket.io.min.js")
# name of the web app route that returns officer replies for a poll token (provided by the hand-off part)
HANDOFF_POLL_ROUTE = "handoff_poll"

_templates = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=select_autoescape(["html"]),
)


@lru_cache(maxsize=64)
def _version(asset: str, mtime: float) -> str:
    return hashlib.sha256((STATIC_DIR / asset).read_bytes()).hexdigest()[:10]


def asset_url(asset: str) -> str:
    """``/static/chat/<asset>?v=<content hash>``, so a new version is never served from a stale browser cache."""
    path = STATIC_DIR / asset
    return f"/static/chat/{asset}?v={_version(asset, path.stat().st_mtime)}"


def page_origins() -> List[str]:
    """The origins this page may be served under: CHAT_ALLOWED_ORIGINS (comma-separated; the same list Rasa's
    socket.io accepts), else http://localhost and http://127.0.0.1 on WEB_PORT."""
    configured = [o.strip().rstrip("/") for o in os.environ.get("CHAT_ALLOWED_ORIGINS", "").split(",") if o.strip()]
    port = get_settings().web_port
    return configured or [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]


def socket_url(request: Request) -> str:
    """Where the browser finds Rasa's socket.io: CHAT_SOCKET_URL, else the page's host on RASA_PORT when the page
    was asked for under one of :func:`page_origins`, else the first of them. Never a Host header as it came: the
    URL goes into the page and its Content-Security-Policy."""
    configured = os.environ.get("CHAT_SOCKET_URL", "").strip()
    if configured:
        return configured.rstrip("/")
    origins = page_origins()
    asked = f"{request.url.scheme}://{request.url.netloc}".lower()
    page = urlsplit(next((o for o in origins if o.lower() == asked), origins[0]))
    return f"{page.scheme}://{page.hostname}:{get_settings().rasa_port}"


def _handoff_poll_url(request: Request) -> str:
    try:
        return str(request.app.url_path_for(HANDOFF_POLL_ROUTE))
    except NoMatchFound:
        return ""


async def chat_page(request: Request) -> HTMLResponse:
    socket = socket_url(request)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(socket))
    ws_origin = origin.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    html = _templates.get_template("chat.html").render(
        socket_url=socket,
        socket_path="/socket.io",
        poll_url=_handoff_poll_url(request),
        max_chars=MAX_MESSAGE_CHARS,  # what the bot reads of a message (it answers longer ones on this much, with a note)
        assets={name: asset_url(name) for name in ASSETS},
    )
    headers = {
        "Content-Security-Policy": (
            f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
            f"connect-src 'self' {origin} {ws_origin}; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-cache",
    }
    return HTMLResponse(html, headers=headers)


def routes() -> List[BaseRoute]:
    return [Route("/", chat_page, methods=["GET"], name="chat_page")]
