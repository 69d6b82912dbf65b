"""How officer replies reach the user, in the channel the ticket came from.

Every officer or system message is first stored undelivered (``handoff_messages.delivered_at`` empty): that table is
the outbox. It is emptied by whichever comes first:

- the user's next message (the relay form's validation sends the waiting replies with the bot's answer: REST,
  socket.io, WeChat; after 结束人工, when the user is back with the bot, the input channels add them to the bot's
  answer: ``replies_for_returning_user`` through bot/channels/handoff.py);
- the web page polling ``GET /api/handoff/messages`` with the ticket's poll token (webapp/console/api.py);
- a push right after the officer sends it, for channels that can reach the user on their own: ``PUSHERS`` maps a
  channel name to ``"module:function"``, a synchronous ``function(sender_id: str, text: str)`` that raises (or
  returns False) when the message could not be sent. WeChat uses the customer-service API client of the WeChat
  channel (core/wechat_api.py).

A message is marked delivered only once (see ``TicketRepository.take_undelivered``), so a push never repeats what a
poll already showed.

The user sees an officer as 「CBSO首席商事服务官」, followed by the officer's display name only when it is a person's
name the officer chose (``public_officer_name``): never an account name or an administrator/system name.
"""

from __future__ import annotations

import importlib
import logging
from functools import lru_cache
from typing import Callable, Dict, List, Optional

import yaml

from core.accounts.models import Officer
from core.handoff.models import AUTHOR_OFFICER, Ticket, TicketMessage
from core.settings import DOMAIN_DIR

log = logging.getLogger(__name__)

PUSHERS: Dict[str, str] = {"wechat": "core.wechat_api:send_text_blocking"}


@lru_cache(maxsize=1)
def _responses() -> Dict[str, str]:
    data = yaml.safe_load((DOMAIN_DIR / "handoff.yml").read_text(encoding="utf-8")) or {}
    return {name: variants[0]["text"] for name, variants in (data.get("responses") or {}).items() if variants}


def response_text(name: str) -> str:
    """The text of a hand-off response of the domain, for the web app (which has no domain at hand)."""
    return _responses()[name]


# display names that are not a person's name: never shown to users
_NOT_A_PERSON = ("管理员", "系统", "admin", "administrator", "root", "system", "test", "测试", "cbso", "服务官")


def public_officer_name(officer: Optional[Officer]) -> str:
    """The officer's display name as users may see it, or "" (then only the title 「CBSO首席商事服务官」 shows): not
    an administrator's or system name (系统管理员, admin …), not the account name, not a title (服务官wang)."""
    if officer is None:
        return ""
    name = " ".join((officer.display_name or "").split())
    lowered = name.lower()
    if not name or lowered == (officer.username or "").strip().lower():
        return ""
    if any(word in lowered for word in _NOT_A_PERSON):
        return ""
    return name


def officer_message_text(message: TicketMessage) -> str:
    """What the user sees: an officer's reply with its signature (``utter_handoff_officer_reply``), a notice as
    is."""
    if message.author == AUTHOR_OFFICER:
        name = public_officer_name(message.officer)
        template = _responses()["utter_handoff_officer_reply"]
        return template.replace("{officer}", f" {name}" if name else "").replace("{text}", message.text)
    return message.text


def replies_for_returning_user(sender_id: str, channel: str) -> List[str]:
    """Officer replies and notices of a ticket the user went back to the bot from (结束人工), taken from the outbox
    for the bot's answer to the user's message, with a line saying how to talk to the officer again."""
    from core.handoff.repository import ticket_repository

    with ticket_repository() as tickets:
        ticket = tickets.left_ticket_of(sender_id, channel)
        if ticket is None:
            return []
        taken = tickets.take_undelivered(ticket, channel)
        texts = [officer_message_text(m) for m in taken]
        if ticket.is_active and any(m.author == AUTHOR_OFFICER for m in taken):
            texts.append(response_text("utter_handoff_reply_while_away").replace("{ticket}", ticket.number or ""))
        return texts


def _pusher(channel: str) -> Optional[Callable[[str, str], object]]:
    spec = PUSHERS.get(channel)
    if not spec:
        return None
    module_name, _, function_name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError):
        log.warning("push for channel %s is not available (%s)", channel, spec)
        return None


def can_push(channel: str) -> bool:
    return channel in PUSHERS


def push_undelivered(ticket_id: int) -> int:
    """Push the ticket's waiting officer/system messages if its channel can be reached; returns how many went out.

    Called by the console right after an officer replies or resolves (outside the transaction that stored the
    message). Messages that could not be pushed stay in the outbox for the user's next message.
    """
    from core.handoff.repository import ticket_repository

    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        if ticket is None or not can_push(ticket.channel):
            return 0
        pusher = _pusher(ticket.channel)
        if pusher is None:
            return 0
        sender, channel = ticket.sender_id, ticket.channel
        waiting = [(m.id, officer_message_text(m)) for m in _waiting(ticket)]
    sent = 0
    for message_id, text in waiting:
        with ticket_repository() as tickets:
            if not tickets.claim_delivery(message_id, channel):
                continue  # the user's next message or a poll took it meanwhile
        try:
            ok = pusher(sender, text) is not False
        except Exception as exc:  # noqa: BLE001 - any failure leaves the message for the next user message
            log.warning(
                "push of ticket %s message %s over %s failed: %s", ticket_id, message_id, channel, type(exc).__name__
            )
            ok = False
        if not ok:
            with ticket_repository() as tickets:
                tickets.release_delivery(message_id)
            break
        sent += 1
    return sent


def _waiting(ticket: Ticket) -> List[TicketMessage]:
    from core.handoff.models import OUTGOING_AUTHORS

    return [m for m in ticket.messages if m.author in OUTGOING_AUTHORS and m.delivered_at is None]


def deliver_officer_reply(ticket_id: int) -> int:
    """The hook named in the hand-off issue: deliver the officer replies of a ticket over its channel now if the
    channel can push (WeChat), else leave them for the user's next message or the web page's poll."""
    return push_undelivered(ticket_id)
