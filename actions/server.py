"""The action server: rasa-sdk's app (``rasa_sdk.endpoint.create_app``) behind a token, on loopback.

``python -m actions.server --port 5055`` (scripts/stack.py starts it so). rasa-sdk alone listens on 0.0.0.0 and
runs any call it gets, so anyone who reached the port could read other users' tickets, take an officer's reply
meant for someone else or create tickets. Here:

- it listens on ``ACTION_SERVER_HOST`` (default 127.0.0.1);
- ``POST /webhook`` needs the header ``X-Action-Token: <ACTION_SERVER_TOKEN>`` (endpoints.yml sends it from the
  Rasa server; scripts/stack.py makes a random token per start when the variable is unset). Without the token set it
  refuses to start on any address but loopback;
- a body is at most ``ACTION_SERVER_MAX_BODY`` bytes (default 8 MB; Rasa sends the whole tracker), and a
  ``Content-Encoding: deflate`` body (Rasa's ``COMPRESS_ACTION_SERVER_REQUEST``) is inflated in bounded steps up to
  the same limit (rasa-sdk inflates it whole: a 300 KB bomb took 1.1 GB); other encodings get 415.
``GET /health`` stays open (it says nothing but "ok"); ``GET /actions`` needs the token too.
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import logging
import os
import sys
import zlib
from typing import Optional

from sanic import Sanic, response
from sanic.request import Request

TOKEN_HEADER = "X-Action-Token"
DEFAULT_MAX_BODY = 8 * 1024 * 1024
OPEN_PATHS = {"/health"}

log = logging.getLogger(__name__)


def inflate(body: bytes, limit: int) -> Optional[bytes]:
    """``body`` inflated (zlib/deflate), or None when it is malformed or would exceed ``limit`` bytes."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        return None
    if len(data) > limit or inflater.unconsumed_tail:
        return None
    return data


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def protect(app: Sanic, token: str, max_body: int) -> Sanic:
    """Token check and bounded decompression in front of every route but /health."""
    app.config.REQUEST_MAX_SIZE = max_body
    expected = token.encode()

    @app.middleware("request")
    async def guard(request: Request):  # noqa: ANN202 - a Sanic middleware returns a response or None
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(TOKEN_HEADER, "").encode("utf-8", "replace")
        if expected and not hmac.compare_digest(given, expected):
            return response.json({"error": "missing or wrong action server token"}, status=401)
        encoding = request.headers.get("content-encoding", "").strip().lower()
        if encoding in ("", "identity"):
            return None
        if encoding != "deflate":
            return response.json({"error": f"Content-Encoding {encoding[:20]!r} is not accepted"}, status=415)
        data = inflate(request.body or b"", max_body)
        if data is None:
            return response.json({"error": f"deflated body malformed or over {max_body} bytes"}, status=413)
        request.body = data
        del request.headers["content-encoding"]  # rasa-sdk must not inflate it again
        return None

    return app


def create_app(token: str, max_body: int = DEFAULT_MAX_BODY, actions_package: str = "actions") -> Sanic:
    from rasa_sdk.endpoint import create_app as create_sdk_app

    return protect(create_sdk_app(actions_package, cors_origins=None), token, max_body)


def warm_up() -> None:
    """Build the materials check's spaCy pipeline before serving: its first build takes seconds (spaCy's thinc
    imports TensorFlow), longer than Rasa waits for an action (ACTION_TIMEOUT) on a loaded machine."""
    try:
        from core.materials.extraction import get_extractor

        get_extractor().extract("身份证")
    except Exception:  # noqa: BLE001 - a failed warm-up only makes the first check slower
        log.warning("the materials pipeline could not be built at start-up", exc_info=True)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description="the project's action server (rasa-sdk behind a token)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTION_PORT", "").strip() or 5055))
    parser.add_argument("--host", default=os.environ.get("ACTION_SERVER_HOST", "").strip() or "127.0.0.1")
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args(argv)

    from rasa_sdk import utils
    from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME

    utils.configure_colored_logging(os.environ.get("LOG_LEVEL", "INFO"))
    logging.getLogger(APPLICATION_ROOT_LOGGER_NAME).setLevel(os.environ.get("LOG_LEVEL", "INFO"))
    utils.update_sanic_log_level()

    token = os.environ.get("ACTION_SERVER_TOKEN", "").strip()
    if not token:
        if not is_loopback(args.host):
            print(f"ACTION_SERVER_TOKEN must be set to listen on {args.host} (beyond loopback).", file=sys.stderr)
            return 2
        log.warning("ACTION_SERVER_TOKEN is not set: any local process can call the action server")
    max_body = int(os.environ.get("ACTION_SERVER_MAX_BODY", "").strip() or DEFAULT_MAX_BODY)
    app = create_app(token, max_body, args.actions)
    warm_up()
    log.info("Action server on http://%s:%d (token %s)", args.host, args.port, "required" if token else "off")
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
