"""Hand-off helpers for the channel end-to-end tests: a ticket in the running bot's database and an officer's reply,
written and delivered with the hand-off's own code (actions/handoff), as the staff console does it."""

from __future__ import annotations

import secrets
from typing import Tuple

from core import db
from core.accounts import account_repository
from core.accounts.models import Officer
from core.handoff import delivery
from core.handoff.repository import NewTicket, TranscriptLine, ticket_repository


def open_ticket(database_url: str, sender_id: str, channel: str) -> Tuple[int, str]:
    """(id, poll token) of a new ticket of ``sender_id``, as the contact form would create it."""
    db.configure(database_url)
    try:
        with ticket_repository() as tickets:
            ticket, token = tickets.open_ticket(
                NewTicket(
                    sender_id=sender_id, channel=channel, reason="user_request", topic="注销与歇业",
                    summary="简易注销公示期满后多久内要申请", contact_name="陈先生", phone="13812345678", consent=True,
                ),
                [TranscriptLine("user", "转人工")],
            )
            return ticket.id, token
    finally:
        db.configure("sqlite://")


def active_ticket_id(database_url: str, sender_id: str) -> int:
    """The id of the open ticket of ``sender_id`` (fails when there is none)."""
    db.configure(database_url)
    try:
        with ticket_repository() as tickets:
            ticket = tickets.active_ticket_of(sender_id)
            assert ticket is not None, f"no open ticket for {sender_id}"
            return ticket.id
    finally:
        db.configure("sqlite://")


def officer_replies(database_url: str, ticket_id: int, text: str, resolve_with: str = "") -> int:
    """A new officer claims the ticket and replies (and resolves it when ``resolve_with`` is a notice); the reply is
    then pushed as the console pushes it (``delivery.push_undelivered``). Returns how many messages were pushed."""
    db.configure(database_url)
    try:
        with account_repository() as accounts:
            username = f"e2e{secrets.token_hex(3)}"
            officer_id = accounts.create(username, "王服务官", f"{username}-Password-123").id
        with ticket_repository() as tickets:
            officer = tickets.session.get(Officer, officer_id)
            tickets.claim(ticket_id, officer)
            ticket = tickets.ticket(ticket_id)
            tickets.reply(ticket, officer, text)
            if resolve_with:
                tickets.resolve(ticket, officer, resolve_with)
        return delivery.push_undelivered(ticket_id)
    finally:
        db.configure("sqlite://")

