"""Application factory of the web app."""

from __future__ import annotations

import importlib
import logging
from typing import List

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
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


async def not_found(_request: Request, _exc: Exception) -> PlainTextResponse:
    return PlainTextResponse("页面不存在", status_code=404)


async def server_error(_request: Request, _exc: Exception) -> PlainTextResponse:
    return PlainTextResponse("服务暂时出错，请稍后再试", status_code=500)


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
    return Starlette(routes=routes, exception_handlers={404: not_found, 500: server_error})
