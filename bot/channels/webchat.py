"""Rasa's socket.io channel (``socketio``) with these fixes, registered in credentials.yml in its place.

1. Custom messages: Rasa 3.6 emits ``json_message`` as keyword arguments of ``AsyncServer.emit``
   (``emit("bot_uttered", **json_message)``), so ``{"handoff": {...}}`` raises ``TypeError`` and the rest of the
   bot's turn is lost. Here the custom message is the event's data, as text messages are; the web chat reads
   ``{"handoff": {"poll_token": …}}`` from it.
2. ``enter_room`` is awaited when it is a coroutine (python-socketio >= 5.10, RasaHQ/rasa#13027), so session
   persistence keeps working if the python-socketio==5.9.0 pin is ever lifted.
3. The session id (the sender id) is issued by the server: random, signed with ``CHAT_SESSION_SECRET``
   (scripts/stack.py makes one per start if unset). ``session_request`` keeps a session id the server signed, and
   issues a new one for anything else; ``user_uttered`` uses the session confirmed for that connection and ignores
   the ``session_id`` the client sends, so nobody can talk as another user's session.
4. Browsers connect only from ``CHAT_ALLOWED_ORIGINS`` (comma-separated; scripts/stack.py defaults it to the web
   app's origins), checked at connect; the server's own origin and clients that send no Origin (not a browser)
   are not affected.
5. Messages go through bot/channels/guard.py: text cleaned and cut, throttled per session and per address, queued
   per session (a burst is answered in order, never dropped with Rasa's ``LockError``), failures answered politely.

Everything else (event names, session_confirm, metadata) is Rasa's.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import logging
import os
import secrets
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput as RasaSocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.guard import TurnGuard
from bot.channels.handoff import with_officer_replies

log = logging.getLogger(__name__)


_SESSION_RANDOM_HEX = 32
_SESSION_SIGNATURE_HEX = 16


def session_secret() -> bytes:
    configured = os.environ.get("CHAT_SESSION_SECRET", "").strip()
    return configured.encode() if configured else _PROCESS_SECRET


_PROCESS_SECRET = secrets.token_bytes(32)  # only when CHAT_SESSION_SECRET is unset: sessions end with the process


def _signature(random_part: str) -> str:
    return hmac.new(session_secret(), random_part.encode(), hashlib.sha256).hexdigest()[:_SESSION_SIGNATURE_HEX]


def new_session_id() -> str:
    """48 hex digits: 128 random bits and a signature, so only this server can make one."""
    random_part = secrets.token_hex(_SESSION_RANDOM_HEX // 2)
    return random_part + _signature(random_part)


def is_issued_session_id(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != _SESSION_RANDOM_HEX + _SESSION_SIGNATURE_HEX:
        return False
    random_part, signature = value[:_SESSION_RANDOM_HEX], value[_SESSION_RANDOM_HEX:]
    return all(c in "0123456789abcdef" for c in value) and hmac.compare_digest(signature, _signature(random_part))


def allowed_origins() -> list[str]:
    return [o.strip().rstrip("/") for o in os.environ.get("CHAT_ALLOWED_ORIGINS", "").split(",") if o.strip()]


def _peer_address(environ: Dict) -> str:
    from bot.channels.rate_limits import trusted_client_address

    return trusted_client_address(str(environ.get("REMOTE_ADDR") or ""), environ.get("HTTP_X_REAL_IP"))


class SocketIOOutput(RasaSocketIOOutput):
    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        await self._send_message(recipient_id, json_message)


class SocketIOInput(RasaSocketIOInput):
    """Rasa's ``socketio`` input channel, same name and settings (see the module docstring for what differs)."""

    def get_output_channel(self) -> SocketIOOutput | None:
        if self.sio is None:
            return None
        return SocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Rasa's blueprint, with SocketIOOutput and enter_room above; other origins as in Rasa (CORS by --cors)
        on_new_message = with_officer_replies(on_new_message)  # replies for users back with the bot (结束人工)
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        guard = TurnGuard(self.name())
        origins = allowed_origins()
        sessions: Dict[str, str] = {}  # socket.io connection -> the session it was confirmed
        addresses: Dict[str, str] = {}

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: Dict, auth: Dict | None) -> bool:
            origin = str(environ.get("HTTP_ORIGIN") or "").rstrip("/")
            same_origin = origin.split("://", 1)[-1] == str(environ.get("HTTP_HOST") or "")
            if origin and origins and origin not in origins and not same_origin:
                log.info("socket.io connection refused: origin %r is not in CHAT_ALLOWED_ORIGINS", origin[:100])
                return False
            addresses[sid] = _peer_address(environ)
            if not self.jwt_key:
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str) -> None:
            sessions.pop(sid, None)
            addresses.pop(sid, None)
            log.debug("socket.io client %s disconnected", sid)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Dict | None) -> None:
            data = dict(data) if isinstance(data, dict) else {}
            if not is_issued_session_id(data.get("session_id")):
                data["session_id"] = new_session_id()  # a new visitor, or an id this server never issued
            sessions[sid] = data["session_id"]
            if self.session_persistence:
                joined = sio.enter_room(sid, data["session_id"], namespace=self.namespace)
                if inspect.isawaitable(joined):
                    await joined
            await sio.emit("session_confirm", data["session_id"], room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Dict) -> None:
            data = data if isinstance(data, dict) else {}
            output_channel = SocketIOOutput(sio, self.bot_message_evt)
            if self.session_persistence:
                sender_id = sessions.get(sid)
                if sender_id is None:  # no session_request on this connection: tell it, never drop silently
                    await sio.emit(self.bot_message_evt, {"text": guard.text("bad_sender")}, room=sid,
                                   namespace=self.namespace)
                    return
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key, {})
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            message = UserMessage(
                data.get("message", ""), output_channel, sender_id, input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else None,
            )
            await guard.handle(message, on_new_message, address=addresses.get(sid))

        return socketio_webhook
