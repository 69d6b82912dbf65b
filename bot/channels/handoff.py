"""Officer replies for users who went back to the bot (结束人工) while their ticket stays open.

While the user chats in a ticket, the relay form's validation sends the officer's waiting replies with each turn.
After 结束人工 the bot answers again and no hand-off action runs, so the input channels wrap Rasa's message handler
with ``with_officer_replies``: after the bot's answer, the replies waiting in the outbox for that user's left
ticket (core/handoff/delivery.py: ``replies_for_returning_user``) go out on the same output channel. Each is
taken once, whichever comes first: this, the web page's poll or the WeChat push.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, List

from rasa.core.channels.channel import UserMessage

log = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]


def _waiting_replies(sender_id: str, channel: str) -> List[str]:
    from core.handoff.delivery import replies_for_returning_user

    return replies_for_returning_user(sender_id, channel)


def with_officer_replies(on_new_message: Handler) -> Handler:
    """``on_new_message`` followed by the officer replies waiting for a user who left the chat with the officer."""

    async def handle(message: UserMessage) -> Any:
        result = await on_new_message(message)
        if not message.sender_id or message.output_channel is None:
            return result
        channel = message.input_channel or "rest"
        try:
            texts = await asyncio.get_running_loop().run_in_executor(
                None, _waiting_replies, message.sender_id, channel
            )
        except Exception as exc:  # noqa: BLE001 - the bot's answer is out already; the replies stay for the next turn
            # the type only: the error's text may hold the SQL parameters, i.e. the user's id (a WeChat openid)
            log.warning("officer replies for a user back with the bot could not be read: %s", type(exc).__name__)
            return result
        for text in texts:
            await message.output_channel.send_text_message(message.sender_id, text)
        return result

    return handle
