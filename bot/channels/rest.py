"""Rasa's REST channel (``rest``, same URL /webhooks/rest/webhook and answers), registered in credentials.yml in its
place, with the officer replies for users back with the bot after 结束人工 (bot/channels/handoff.py)."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint

from bot.channels.handoff import with_officer_replies


class RestInput(RasaRestInput):
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return super().blueprint(with_officer_replies(on_new_message))
