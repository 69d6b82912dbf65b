"""Rasa's socket.io channel (``socketio``) with two fixes, registered in credentials.yml in its place.

1. Custom messages: Rasa 3.6 emits ``json_message`` as keyword arguments of ``AsyncServer.emit``
   (``emit("bot_uttered", **json_message)``), so ``{"handoff": {...}}`` raises ``TypeError`` and the rest of the
   bot's turn is lost. Here the custom message is the event's data, as text messages are; the web chat reads
   ``{"handoff": {"poll_token": …}}`` from it.
2. ``enter_room`` is awaited when it is a coroutine (python-socketio >= 5.10, RasaHQ/rasa#13027), so session
   persistence keeps working if the python-socketio==5.9.0 pin is ever lifted.

Everything else (events, session_request/session_confirm, sender id = session id, metadata) is Rasa's.
"""

from __future__ import annotations

import inspect
import json
import logging
import uuid
from typing import Any, Awaitable, Callable, Dict

import rasa.shared.utils.io
from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput as RasaSocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.handoff import with_officer_replies

log = logging.getLogger(__name__)


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

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: Dict, auth: Dict | None) -> bool:
            if not self.jwt_key:
                return True
            token = auth.get("token") if auth else None
            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str) -> None:
            log.debug("socket.io client %s disconnected", sid)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Dict | None) -> None:
            data = data if isinstance(data, dict) else {}
            if not data.get("session_id"):
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, data["session_id"], namespace=self.namespace)
                if inspect.isawaitable(joined):
                    await joined
            await sio.emit("session_confirm", data["session_id"], room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Dict) -> None:
            if not isinstance(data, dict):
                return
            output_channel = SocketIOOutput(sio, self.bot_message_evt)
            if self.session_persistence:
                if not data.get("session_id"):
                    rasa.shared.utils.io.raise_warning(
                        "A message without a session_id was received and ignored; "
                        "send session_request first (session_persistence is on)."
                    )
                    return
                sender_id = data["session_id"]
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key, {})
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            message = UserMessage(
                data.get("message", ""), output_channel, sender_id, input_channel=self.name(), metadata=metadata
            )
            await on_new_message(message)

        return socketio_webhook
