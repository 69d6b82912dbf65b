"""Application factory of the web app."""

from __future__ import annotations

import html
import importlib
import logging
from functools import lru_cache
from http import HTTPStatus
from typing import Dict, List

import yaml
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from core.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

# "module" whose routes() are mounted; parts that are not there yet are skipped
PARTS = ["webapp.chat.routes", "webapp.console.routes"]
STATIC_DIR = PROJECT_ROOT / "webapp" / "static"


class Static(StaticFiles):
    """Static files with ``X-Content-Type-Options: nosniff``, so a browser never runs a file as another type."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


_STATUSES = {status.value for status in HTTPStatus}


@lru_cache(maxsize=1)
def error_texts() -> Dict[str, str]:
    data = yaml.safe_load((PROJECT_ROOT / "webapp" / "http_errors.yml").read_text(encoding="utf-8")) or {}
    return {str(code): str(text) for code, text in data.items()}


def error_response(request: Request, status_code: int, headers: Dict[str, str] | None = None) -> Response:
    """A short Chinese page (or JSON for the APIs) for an HTTP error, never Starlette's English default."""
    texts = error_texts()
    text = texts.get(str(status_code), texts["default"])
    path = request.url.path
    if path.startswith("/api/") or path.startswith("/console/api/"):
        code = HTTPStatus(status_code).phrase.lower().replace(" ", "_") if status_code in _STATUSES else "error"
        return JSONResponse({"error": code, "message": text}, status_code=status_code, headers=headers)
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(text)}</title></head><body><main><p>{html.escape(text)}</p>"
        '<p><a href="/">返回首页</a></p></main></body></html>'
    )
    return HTMLResponse(page, status_code=status_code, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    status_code = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = getattr(exc, "headers", None)
    return error_response(request, status_code, dict(headers) if headers else None)


async def server_error(request: Request, _exc: Exception) -> Response:
    return error_response(request, 500)


def create_app() -> Starlette:
    routes: List[BaseRoute] = [Route("/healthz", healthz), Mount("/static", Static(directory=STATIC_DIR), name="static")]
    for name in PARTS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                log.info("web app part %s not present", name)
                continue
            raise
        routes.extend(module.routes())
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error, 500: server_error})
