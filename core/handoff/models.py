"""Tables of the hand-off: tickets with their messages, status history and staff notes, and the follow-ups of
ratings. The console's accounts are core/accounts/models.py. Times are naive UTC (``datetime.utcnow``), shown in
China time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

from core.accounts.models import Officer  # noqa: F401 - tickets are assigned to officers
from core.db import Base

# ticket states
STATUS_OPEN = "open"  # waiting for an officer to claim it
STATUS_ASSIGNED = "assigned"  # an officer owns it
STATUS_RESOLVED = "resolved"  # the officer resolved it
STATUS_CLOSED = "closed"  # the user cancelled the ticket (取消人工 before any officer replied)
ACTIVE_STATUSES = (STATUS_OPEN, STATUS_ASSIGNED)
FINAL_STATUSES = (STATUS_RESOLVED, STATUS_CLOSED)

# message authors
AUTHOR_USER = "user"
AUTHOR_BOT = "bot"
AUTHOR_OFFICER = "officer"
AUTHOR_SYSTEM = "system"  # notices to the user (resolved …)
AUTHOR_EVENT = "event"  # a line for staff in the transcript (the user left the chat / came back); never sent
OUTGOING_AUTHORS = (AUTHOR_OFFICER, AUTHOR_SYSTEM)  # messages that must reach the user

# follow-up items of negative ratings (core/ratings.py)
FOLLOWUP_OPEN = "open"
FOLLOWUP_CLOSED = "closed"


class Ticket(Base):
    """One hand-off: who asked (conversation id and channel), the form's answers, the state and the owner."""

    __tablename__ = "handoff_tickets"

    id = Column(Integer, primary_key=True)
    number = Column(String(24), unique=True)
    sender_id = Column(String(200), nullable=False, index=True)
    channel = Column(String(32), nullable=False, default="rest")
    poll_token_hash = Column(String(64), index=True)
    reason = Column(String(24), nullable=False)
    topic = Column(String(40), nullable=False)
    summary = Column(Text, nullable=False)
    contact_name = Column(String(40), nullable=False)
    phone = Column(String(24), nullable=False)
    consent = Column(Boolean, nullable=False)
    status = Column(String(16), nullable=False, default=STATUS_OPEN, index=True)
    assigned_officer_id = Column(Integer, ForeignKey("console_officers.id"), index=True)
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow, index=True)
    updated_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    pickup_at = Column(DateTime, doc="when officers are expected to pick it up (the next opening hour)")
    user_left_at = Column(
        DateTime, doc="when the user went back to the bot (结束人工) while the ticket stays open; empty while they chat"
    )
    claimed_at = Column(DateTime)
    closed_at = Column(DateTime)
    rating = Column(Integer, doc="好差评 score: 5 非常满意 … 1 非常不满意 (core/ratings.py)")
    rating_level = Column(String(20), doc="the 好差评 level's code (core.ratings.LEVELS), kept with the score")
    rating_comment = Column(String(200), doc="the user's optional short comment on the rating")
    rated_at = Column(DateTime)
    erased_at = Column(DateTime, doc="when the personal data was erased (retention or on request); counts remain")

    assigned_officer = relationship("Officer", foreign_keys=[assigned_officer_id])
    messages = relationship(
        "TicketMessage", back_populates="ticket", order_by="TicketMessage.id", cascade="all, delete-orphan"
    )
    status_changes = relationship(
        "TicketStatusChange", back_populates="ticket", order_by="TicketStatusChange.id", cascade="all, delete-orphan"
    )
    notes = relationship("StaffNote", back_populates="ticket", order_by="StaffNote.id", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def user_left(self) -> bool:
        """The user went back to the bot; officer replies reach them on their next message, a poll or a push."""
        return self.user_left_at is not None

    def __repr__(self) -> str:
        return f"Ticket({self.id!r}, {self.number!r}, status={self.status!r}, topic={self.topic!r})"


class TicketMessage(Base):
    """A line of the transcript. Officer and system messages wait in this table (``delivered_at`` empty) until
    the user's channel takes them: the outbox."""

    __tablename__ = "handoff_messages"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("handoff_tickets.id"), nullable=False, index=True)
    author = Column(String(16), nullable=False)
    officer_id = Column(Integer, ForeignKey("console_officers.id"))
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    delivered_at = Column(DateTime, index=True)
    delivered_via = Column(String(32))

    ticket = relationship("Ticket", back_populates="messages")
    officer = relationship("Officer")

    def __repr__(self) -> str:
        return f"TicketMessage({self.id!r}, ticket={self.ticket_id!r}, author={self.author!r})"


class TicketStatusChange(Base):
    __tablename__ = "handoff_status_changes"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("handoff_tickets.id"), nullable=False, index=True)
    from_status = Column(String(16))
    to_status = Column(String(16), nullable=False)
    officer_id = Column(Integer, ForeignKey("console_officers.id"))
    note = Column(String(200))
    at = Column(DateTime, nullable=False, default=datetime.utcnow)

    ticket = relationship("Ticket", back_populates="status_changes")
    officer = relationship("Officer")

    def __repr__(self) -> str:
        return f"TicketStatusChange(ticket={self.ticket_id!r}, {self.from_status!r}->{self.to_status!r})"


class StaffNote(Base):
    """A note on a ticket for staff only: never sent to the user."""

    __tablename__ = "handoff_staff_notes"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("handoff_tickets.id"), nullable=False, index=True)
    officer_id = Column(Integer, ForeignKey("console_officers.id"), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)

    ticket = relationship("Ticket", back_populates="notes")
    officer = relationship("Officer")

    def __repr__(self) -> str:
        return f"StaffNote({self.id!r}, ticket={self.ticket_id!r})"


class RatingFollowup(Base):
    """A 不满意/非常不满意 rating with a comment, for staff to follow up (回访 or 整改) and close."""

    __tablename__ = "rating_followups"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("handoff_tickets.id"), nullable=False, unique=True)
    kind = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False, default=FOLLOWUP_OPEN, index=True)
    note = Column(Text, doc="what staff did (for staff only)")
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow, index=True)
    updated_at = Column(DateTime)
    updated_by_id = Column(Integer, ForeignKey("console_officers.id"))
    closed_at = Column(DateTime)
    closed_by_id = Column(Integer, ForeignKey("console_officers.id"))

    ticket = relationship("Ticket")
    closed_by = relationship("Officer", foreign_keys=[closed_by_id])
    updated_by = relationship("Officer", foreign_keys=[updated_by_id])

    def __repr__(self) -> str:
        return f"RatingFollowup({self.id!r}, ticket={self.ticket_id!r}, {self.kind!r}, {self.status!r})"


