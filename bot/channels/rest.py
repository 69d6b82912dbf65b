"""Rasa's REST channel (``rest``: same URL /webhooks/rest/webhook, same request and answer), registered in
credentials.yml in its place, hardened for a public port (bot/channels/guard.py):

- REST is an integration endpoint. With ``REST_TOKEN`` set, a request must carry ``Authorization: Bearer <token>``
  (else 401); set it whenever Rasa listens beyond loopback.
- The body must be a JSON object with a ``sender`` string the tracker store can keep (1–128 characters, no control
  characters or lone surrogates), else 400 with ``{"error": …}``: nothing reaches the bot.
- The client's ``input_channel`` is ignored: a REST message is a ``rest`` message (a made-up ``wechat`` sender would
  otherwise get tickets labelled 微信公众号 and officer replies pushed to WeChat).
- The text is cleaned and cut, senders and client addresses are throttled, a sender's messages are queued, and a
  turn that fails or says nothing is answered politely (all in guard.py). ``?stream=true`` is not offered.
- After the bot's answer, the officer replies waiting for a user who left the hand-off chat (bot/channels/handoff.py).
The request size is limited for the whole Rasa server by ``SANIC_REQUEST_MAX_SIZE`` (scripts/stack.py: 64 KB).
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.guard import TurnGuard, valid_sender
from bot.channels.handoff import with_officer_replies
from bot.channels.rate_limits import trusted_client_address


def client_address(request: Request) -> str:
    """The peer's address (not X-Forwarded-For: a client can write that header), or behind the scaled stack's
    nginx the X-Real-IP it sets (bot/channels/rate_limits.py)."""
    return trusted_client_address(str(request.ip or ""), request.headers.get("X-Real-IP"))


class RestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self, token: Optional[str] = None) -> None:
        self.token = token if token is not None else os.environ.get("REST_TOKEN", "").strip()
        self.guard: Optional[TurnGuard] = None

    @classmethod
    def from_credentials(cls, credentials: Optional[dict]) -> InputChannel:
        return cls((credentials or {}).get("token"))

    def _authorised(self, request: Request) -> bool:
        if not self.token:
            return True
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {self.token}".encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        handler = with_officer_replies(on_new_message)
        guard = self.guard = TurnGuard(self.name())
        webhook = Blueprint("custom_webhook_RestInput", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "missing or wrong token (Authorization: Bearer …)"}, status=401)
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                return response.json({"error": "the body must be JSON"}, status=400)
            if not isinstance(body, dict):
                return response.json({"error": "the body must be a JSON object"}, status=400)
            sender = body.get("sender")
            if not valid_sender(sender):
                return response.json(
                    {"error": "sender must be a string of 1-128 characters without control characters"}, status=400
                )
            metadata = body.get("metadata")
            collector = CollectingOutputChannel()
            message = UserMessage(
                body.get("message"), collector, sender, input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else None,
            )
            await guard.handle(message, handler, address=client_address(request))
            return response.json(collector.messages)

        return webhook
