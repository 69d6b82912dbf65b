"""The questions the bot and the console ask about tickets, one named method each.

A ``TicketRepository`` works inside one short transaction (``with ticket_repository() as tickets: ...``); it never
commits itself. Changes made by officers write their status history and audit entry in the same transaction.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator, List, Optional, Sequence, Tuple

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session, selectinload

from core.accounts.models import ROLE_ADMIN, ROLE_OFFICER, AuditEntry, Officer, Setting
from core.catalogue import message as say
from core.db import hash_token, now  # noqa: F401 - others import them from here too
from core.handoff.models import (
    ACTIVE_STATUSES,
    AUTHOR_EVENT,
    AUTHOR_OFFICER,
    AUTHOR_SYSTEM,
    AUTHOR_USER,
    FINAL_STATUSES,
    OUTGOING_AUTHORS,
    STATUS_ASSIGNED,
    STATUS_CLOSED,
    STATUS_OPEN,
    STATUS_RESOLVED,
    StaffNote,
    Ticket,
    TicketMessage,
    TicketStatusChange,
)

SETTING_OFFICE_HOURS = "office_hours"
RATING_WINDOW = timedelta(days=7)
MAX_TRANSCRIPT_MESSAGES = 60
MAX_MESSAGE_CHARS = 4000
# lines for staff in the transcript (AUTHOR_EVENT); the user never sees them
EVENT_USER_LEFT = say("tickets.user_left")
EVENT_USER_BACK = say("tickets.user_back")


@dataclass(frozen=True)
class TranscriptLine:
    author: str  # AUTHOR_USER or AUTHOR_BOT
    text: str
    at: Optional[datetime] = None


@dataclass(frozen=True)
class NewTicket:
    sender_id: str
    channel: str
    reason: str
    topic: str
    summary: str
    contact_name: str
    phone: str
    consent: bool
    pickup_at: Optional[datetime] = None


class ClaimConflict(Exception):
    """Another officer claimed the ticket first (or it is no longer open)."""


class NotAllowed(Exception):
    """The officer may not do this to the ticket in its current state."""


class TicketRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # ---- the user's side (action server) -------------------------------------------------------------------

    def open_ticket(self, new: NewTicket, transcript: Sequence[TranscriptLine] = ()) -> Tuple[Ticket, str]:
        """Create a ticket holding the conversation so far; returns it and the user's poll token (kept hashed)."""
        token = secrets.token_urlsafe(24)
        created = now()
        ticket = Ticket(
            sender_id=new.sender_id,
            channel=new.channel,
            reason=new.reason,
            topic=new.topic,
            summary=new.summary,
            contact_name=new.contact_name,
            phone=new.phone,
            consent=new.consent,
            status=STATUS_OPEN,
            pickup_at=new.pickup_at,
            poll_token_hash=hash_token(token),
            created_at=created,
            updated_at=created,
        )
        self.session.add(ticket)
        self.session.flush()
        ticket.number = f"HZ{created:%y%m%d}-{ticket.id:04d}"
        for line in list(transcript)[-MAX_TRANSCRIPT_MESSAGES:]:
            self.session.add(
                TicketMessage(
                    ticket=ticket,
                    author=line.author,
                    text=line.text[:MAX_MESSAGE_CHARS],
                    created_at=line.at or created,
                    delivered_at=line.at or created,
                    delivered_via="transcript",
                )
            )
        self.session.add(TicketStatusChange(ticket=ticket, from_status=None, to_status=STATUS_OPEN, at=created))
        self.session.flush()
        return ticket, token

    @staticmethod
    def _of(sender_id: str, channel: Optional[str]):  # noqa: ANN205 - a SQL condition
        """Tickets of this user: a user is (channel, sender id); a REST client choosing the sender id of a WeChat
        user or a web chat session must not see their tickets. ``channel=None`` (console, tests): any channel."""
        if channel is None:
            return Ticket.sender_id == sender_id
        return and_(Ticket.sender_id == sender_id, Ticket.channel == channel)

    def active_ticket_of(self, sender_id: str, channel: Optional[str] = None) -> Optional[Ticket]:
        """The sender's open or assigned ticket (there is at most one), whether or not they are chatting in it."""
        query = (
            select(Ticket)
            .where(self._of(sender_id, channel), Ticket.status.in_(ACTIVE_STATUSES))
            .order_by(Ticket.id.desc())
        )
        return self.session.execute(query).scalars().first()

    def relayed_ticket_of(self, sender_id: str, channel: Optional[str] = None) -> Optional[Ticket]:
        """The sender's active ticket if they are chatting in it (not gone back to the bot with 结束人工)."""
        ticket = self.active_ticket_of(sender_id, channel)
        return ticket if ticket is not None and not ticket.user_left else None

    def left_ticket_of(self, sender_id: str, channel: Optional[str] = None) -> Optional[Ticket]:
        """The sender's latest ticket they went back to the bot from (open, or closed since), if any."""
        query = (
            select(Ticket)
            .where(self._of(sender_id, channel), Ticket.user_left_at.is_not(None))
            .order_by(Ticket.id.desc())
        )
        return self.session.execute(query).scalars().first()

    def ticket_of(self, sender_id: str, number: Optional[str], channel: Optional[str] = None) -> Optional[Ticket]:
        """Ticket ``number`` if it belongs to ``sender_id``."""
        if not number:
            return None
        query = select(Ticket).where(self._of(sender_id, channel), Ticket.number == number)
        return self.session.execute(query).scalars().first()

    def tickets_of(self, sender_id: str, limit: int = 5, channel: Optional[str] = None) -> List[Ticket]:
        query = select(Ticket).where(self._of(sender_id, channel)).order_by(Ticket.id.desc()).limit(limit)
        return list(self.session.execute(query).scalars())

    def add_user_message(self, ticket: Ticket, text: str) -> TicketMessage:
        message = TicketMessage(
            ticket=ticket, author=AUTHOR_USER, text=text[:MAX_MESSAGE_CHARS], created_at=now(), delivered_at=now()
        )
        self.session.add(message)
        ticket.updated_at = now()
        self.session.flush()
        return message

    def user_messages_waiting(self, ticket: Ticket) -> int:
        """How many user messages arrived since the last officer message (or since the ticket was opened)."""
        last_officer = self.session.execute(
            select(func.max(TicketMessage.id)).where(
                TicketMessage.ticket_id == ticket.id, TicketMessage.author == AUTHOR_OFFICER
            )
        ).scalar()
        query = select(func.count(TicketMessage.id)).where(
            TicketMessage.ticket_id == ticket.id,
            TicketMessage.author == AUTHOR_USER,
            TicketMessage.delivered_via.is_(None),  # not the transcript copied at creation
            TicketMessage.id > (last_officer or 0),
        )
        return int(self.session.execute(query).scalar() or 0)

    def take_undelivered(self, ticket: Ticket, via: str) -> List[TicketMessage]:
        """Officer and system messages of ``ticket`` not yet delivered, marked delivered ``via`` a channel.

        Each message is taken exactly once, even when the poll endpoint and the user's next message race: the
        conditional UPDATE only marks rows nobody marked before.
        """
        query = (
            select(TicketMessage)
            .where(
                TicketMessage.ticket_id == ticket.id,
                TicketMessage.author.in_(OUTGOING_AUTHORS),
                TicketMessage.delivered_at.is_(None),
            )
            .order_by(TicketMessage.id)
        )
        return [m for m in self.session.execute(query).scalars().all() if self.claim_delivery(m.id, via)]

    def claim_delivery(self, message_id: int, via: str) -> bool:
        """Mark one outgoing message delivered unless someone already did; True when this caller got it."""
        result = self.session.execute(
            update(TicketMessage)
            .where(TicketMessage.id == message_id, TicketMessage.delivered_at.is_(None))
            .values(delivered_at=now(), delivered_via=via)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def release_delivery(self, message_id: int) -> None:
        """Put a message back in the outbox after a failed push."""
        self.session.execute(
            update(TicketMessage)
            .where(TicketMessage.id == message_id)
            .values(delivered_at=None, delivered_via=None)
            .execution_options(synchronize_session=False)
        )

    def ticket_by_poll_token(self, token: str) -> Optional[Ticket]:
        if not token or len(token) > 200:
            return None
        query = select(Ticket).where(Ticket.poll_token_hash == hash_token(token))
        return self.session.execute(query).scalars().first()

    def leave(self, ticket: Ticket) -> None:
        """The user said 结束人工: they go back to the bot, the ticket stays open for the officers (marked, with a
        line in the transcript); officer replies still reach them (next message, poll, push)."""
        if ticket.is_active and ticket.user_left_at is None:
            ticket.user_left_at = now()
            ticket.updated_at = now()
            self._add_event(ticket, EVENT_USER_LEFT)

    def come_back(self, ticket: Ticket) -> None:
        """The user asked for a person again while their ticket is open: their messages go to it again."""
        if ticket.user_left_at is not None:
            ticket.user_left_at = None
            ticket.updated_at = now()
            self._add_event(ticket, EVENT_USER_BACK)

    def can_cancel(self, ticket: Ticket) -> bool:
        """取消人工 withdraws a ticket only while no officer has replied to it."""
        return ticket.is_active and not self.had_officer_reply(ticket)

    def cancel_by_user(self, ticket: Ticket) -> bool:
        """The user said 取消人工 before any officer replied: the ticket is closed (用户已取消); False when it may not
        be cancelled any more (an officer replied), which leaves it as it is."""
        if not self.can_cancel(ticket):
            return False
        self._set_status(ticket, STATUS_CLOSED, None, say("tickets.cancelled"))
        ticket.closed_at = now()
        return True

    def had_officer_reply(self, ticket: Ticket) -> bool:
        return any(m.author == AUTHOR_OFFICER for m in ticket.messages)

    def _add_event(self, ticket: Ticket, text: str) -> None:
        moment = now()
        self.session.add(
            TicketMessage(
                ticket=ticket, author=AUTHOR_EVENT, text=text, created_at=moment, delivered_at=moment, delivered_via="event"
            )
        )
        self.session.flush()

    def needs_rating(self, ticket: Ticket) -> bool:
        """Resolved by an officer, or closed after an officer answered; not rated yet."""
        if ticket.rating is not None or ticket.status not in FINAL_STATUSES:
            return False
        return ticket.status == STATUS_RESOLVED or self.had_officer_reply(ticket)

    def ticket_to_rate(self, sender_id: str, channel: Optional[str] = None) -> Optional[Ticket]:
        """The sender's latest ticket waiting for a satisfaction rating (closed in the last 7 days)."""
        query = (
            select(Ticket)
            .where(
                self._of(sender_id, channel),
                Ticket.status.in_(FINAL_STATUSES),
                Ticket.rating.is_(None),
                Ticket.closed_at >= now() - RATING_WINDOW,
            )
            .order_by(Ticket.closed_at.desc())
        )
        for ticket in self.session.execute(query).scalars():
            if self.needs_rating(ticket):
                return ticket
        return None

    def rate(self, ticket: Ticket, rating: int, comment: Optional[str] = None) -> None:
        """Store a 好差评 rating (score 5 非常满意 … 1 非常不满意, core/ratings.py) with its optional comment; a
        negative one with a comment opens a follow-up item for staff."""
        from core import ratings

        level = ratings.level_of(rating)
        if level is None:
            raise ValueError(rating)
        ticket.rating = rating
        ticket.rating_level = level.code
        ticket.rating_comment = ratings.clean_comment(comment)
        ticket.rated_at = now()
        ratings.FollowupRepository(self.session).open_for(ticket)

    def comment_rating(self, ticket: Ticket, comment: Optional[str]) -> bool:
        """Add the short comment the user sent after their rating; True when stored (a follow-up item opens for
        a negative rating)."""
        from core import ratings

        text = ratings.clean_comment(comment)
        if ticket.rating is None or not text:
            return False
        ticket.rating_comment = text
        ratings.FollowupRepository(self.session).open_for(ticket)
        return True

    def office_hours_spec(self, default: str) -> str:
        row = self.session.get(Setting, SETTING_OFFICE_HOURS)
        return row.value if row else default

    # ---- the console ---------------------------------------------------------------------------------------

    def queue(self, statuses: Sequence[str] = ACTIVE_STATUSES, officer_id: Optional[int] = None) -> List[Ticket]:
        """Tickets in ``statuses``, oldest first (optionally only those assigned to ``officer_id``)."""
        query = select(Ticket).options(selectinload(Ticket.assigned_officer)).where(Ticket.status.in_(statuses))
        if officer_id is not None:
            query = query.where(Ticket.assigned_officer_id == officer_id)
        return list(self.session.execute(query.order_by(Ticket.created_at, Ticket.id)).scalars())

    def recently_closed(self, limit: int = 20) -> List[Ticket]:
        query = (
            select(Ticket)
            .options(selectinload(Ticket.assigned_officer))
            .where(Ticket.status.in_(FINAL_STATUSES))
            .order_by(Ticket.closed_at.desc())
            .limit(limit)
        )
        return list(self.session.execute(query).scalars())

    def ticket(self, ticket_id: int) -> Optional[Ticket]:
        return self.session.get(Ticket, ticket_id)

    def messages_after(self, ticket_id: int, after_id: int) -> List[TicketMessage]:
        query = (
            select(TicketMessage)
            .options(selectinload(TicketMessage.officer))
            .where(TicketMessage.ticket_id == ticket_id, TicketMessage.id > after_id)
            .order_by(TicketMessage.id)
        )
        return list(self.session.execute(query).scalars())

    def claim(self, ticket_id: int, officer: Officer, ip: Optional[str] = None) -> Ticket:
        """Make ``officer`` the owner of an unclaimed ticket. Of two officers claiming at once exactly one wins:
        the UPDATE only applies while nobody owns the ticket; the loser gets ``ClaimConflict``."""
        claimed = now()
        result = self.session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.assigned_officer_id.is_(None), Ticket.status == STATUS_OPEN)
            .values(assigned_officer_id=officer.id, status=STATUS_ASSIGNED, claimed_at=claimed, updated_at=claimed)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise ClaimConflict(ticket_id)
        ticket = self.session.get(Ticket, ticket_id)
        self.session.refresh(ticket)
        self.session.add(
            TicketStatusChange(ticket=ticket, from_status=STATUS_OPEN, to_status=STATUS_ASSIGNED, officer_id=officer.id)
        )
        self.audit(officer, "claim", ticket, ip=ip)
        return ticket

    def reply(self, ticket: Ticket, officer: Officer, text: str, ip: Optional[str] = None) -> TicketMessage:
        """An officer's answer to the user; it waits in the outbox until the user's channel takes it."""
        self._require_owner(ticket, officer)
        message = TicketMessage(
            ticket=ticket, author=AUTHOR_OFFICER, officer_id=officer.id, text=text[:MAX_MESSAGE_CHARS], created_at=now()
        )
        self.session.add(message)
        ticket.updated_at = now()
        self.session.flush()
        self.audit(officer, "reply", ticket, detail=say("tickets.audit_reply", id=message.id), ip=ip)
        return message

    def transfer(self, ticket: Ticket, officer: Officer, to: Officer, ip: Optional[str] = None) -> None:
        if not (officer.is_admin or ticket.assigned_officer_id == officer.id) or not ticket.is_active:
            raise NotAllowed("transfer")
        if not to.active or to.id == ticket.assigned_officer_id or to.role not in (ROLE_ADMIN, ROLE_OFFICER):
            raise NotAllowed("transfer target")
        previous = ticket.assigned_officer.display_name if ticket.assigned_officer else say("tickets.unclaimed")
        ticket.assigned_officer = to
        ticket.assigned_officer_id = to.id
        if ticket.status == STATUS_OPEN:
            ticket.claimed_at = now()
        self._set_status(ticket, STATUS_ASSIGNED, officer, say("tickets.transferred", by=previous, to=to.display_name))
        self.audit(officer, "transfer", ticket, detail=say("tickets.audit_transfer", to=to.username), ip=ip)

    def resolve(self, ticket: Ticket, officer: Officer, notice: str, ip: Optional[str] = None) -> TicketMessage:
        """Close the ticket as resolved and queue ``notice`` for the user."""
        self._require_owner(ticket, officer, allow_admin=True)
        self._set_status(ticket, STATUS_RESOLVED, officer, None)
        ticket.closed_at = now()
        message = TicketMessage(ticket=ticket, author=AUTHOR_SYSTEM, text=notice, created_at=now())
        self.session.add(message)
        self.session.flush()
        self.audit(officer, "resolve", ticket, ip=ip)
        return message

    def add_note(self, ticket: Ticket, officer: Officer, text: str, ip: Optional[str] = None) -> StaffNote:
        note = StaffNote(ticket=ticket, officer_id=officer.id, text=text[:MAX_MESSAGE_CHARS], created_at=now())
        self.session.add(note)
        self.session.flush()
        self.audit(officer, "note", ticket, detail=say("tickets.audit_note", id=note.id), ip=ip)
        return note

    def set_office_hours(self, spec: str, officer: Officer, ip: Optional[str] = None) -> None:
        row = self.session.get(Setting, SETTING_OFFICE_HOURS)
        if row is None:
            row = Setting(key=SETTING_OFFICE_HOURS, value=spec, updated_by=officer.username)
            self.session.add(row)
        row.value, row.updated_by, row.updated_at = spec, officer.username, now()
        self.audit(officer, "office_hours", None, detail=spec[:200], ip=ip)

    def reset_office_hours(self, officer: Officer, ip: Optional[str] = None) -> None:
        row = self.session.get(Setting, SETTING_OFFICE_HOURS)
        if row is not None:
            self.session.delete(row)
        self.audit(officer, "office_hours", None, detail=say("tickets.audit_hours_reset"), ip=ip)

    def audit(
        self,
        officer: Optional[Officer],
        action: str,
        ticket: Optional[Ticket] = None,
        detail: Optional[str] = None,
        ip: Optional[str] = None,
        username: Optional[str] = None,
    ) -> None:
        self.session.add(
            AuditEntry(
                at=now(),
                officer_id=officer.id if officer else None,
                username=(officer.username if officer else username or "-")[:80],
                action=action,
                ticket_id=ticket.id if ticket else None,
                detail=(detail or "")[:300] or None,
                ip=ip,
            )
        )

    def _require_owner(self, ticket: Ticket, officer: Officer, allow_admin: bool = False) -> None:
        if not ticket.is_active:
            raise NotAllowed("ticket closed")
        if ticket.assigned_officer_id == officer.id:
            return
        if allow_admin and officer.is_admin and ticket.assigned_officer_id is not None:
            return
        raise NotAllowed("not the owner")

    def _set_status(self, ticket: Ticket, status: str, officer: Optional[Officer], note: Optional[str]) -> None:
        self.session.add(
            TicketStatusChange(
                ticket=ticket,
                from_status=ticket.status,
                to_status=status,
                officer_id=officer.id if officer else None,
                note=note,
                at=now(),
            )
        )
        ticket.status = status
        ticket.updated_at = now()


@contextmanager
def ticket_repository() -> Iterator[TicketRepository]:
    """One short transaction with a repository over it: ``with ticket_repository() as tickets: ...``."""
    from core.db import session_scope

    with session_scope() as session:
        yield TicketRepository(session)
