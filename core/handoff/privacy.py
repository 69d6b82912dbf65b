"""Personal data of the hand-off under the Personal Information Protection Law (个人信息保护法).

Tickets hold a name, a mobile number, a summary and the conversation transcript. They are kept while the ticket is
handled and for ``TICKET_RETENTION_DAYS`` (default 180) after it was resolved or cancelled; then the retention job
erases them. On a user's request an administrator exports (JSON) or erases one user's data in the console
(「个人信息」), found by channel + conversation id or by mobile number; both are written to the audit log. Both also
cover what Rasa's tracker store holds of those conversations (export_conversations / erase_conversations).

Erasing keeps the ticket row for the statistics (number, channel, reason, topic, status, times, rating) and removes
everything personal: name, phone, summary, the conversation id, the transcript, the staff notes and
the comment of the rating (a follow-up item keeps only what staff wrote).

Command line (``make retention``)::

    python -m core.handoff.privacy retention [--days N] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from sqlalchemy import MetaData, Table, create_engine, delete, func, inspect, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.accounts.models import AuditEntry
from core.catalogue import message
from core.handoff import contact
from core.handoff.models import FINAL_STATUSES, STATUS_CLOSED, StaffNote, Ticket, TicketMessage, TicketStatusChange

ERASED_NAME = message("privacy.erased_name")
ERASED_SUMMARY = message("privacy.erased_summary")
ERASED_NOTE = message("privacy.erased_note")  # the status change that records an erasure


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def erase_ticket(session: Session, ticket: Ticket, moment: datetime) -> None:
    """Remove the personal data of ``ticket``; an active ticket is closed first (nobody can answer it any more)."""
    if ticket.status not in FINAL_STATUSES:
        session.add(TicketStatusChange(ticket=ticket, from_status=ticket.status, to_status=STATUS_CLOSED,
                                       note=ERASED_NOTE, at=moment))
        ticket.status = STATUS_CLOSED
        ticket.closed_at = ticket.closed_at or moment
    ticket.contact_name = ERASED_NAME
    ticket.phone = ""
    ticket.summary = ERASED_SUMMARY
    ticket.rating_comment = None  # free text by the user; the rating itself stays for the statistics
    ticket.sender_id = f"erased-{ticket.id}"
    ticket.poll_token_hash = None
    ticket.erased_at = moment
    ticket.updated_at = moment
    session.query(TicketMessage).filter(TicketMessage.ticket_id == ticket.id).delete(synchronize_session=False)
    session.query(StaffNote).filter(StaffNote.ticket_id == ticket.id).delete(synchronize_session=False)
    for change in ticket.status_changes:
        if change.note and change.note != ERASED_NOTE:
            change.note = None  # free text by officers (a transfer reason may name the user)
    session.expire(ticket, ["messages", "notes"])


def due_for_retention(session: Session, days: int, moment: datetime) -> List[Ticket]:
    """Resolved or cancelled tickets whose last change is more than ``days`` old and not erased yet."""
    cutoff = moment - timedelta(days=days)
    query = select(Ticket).where(
        Ticket.status.in_(FINAL_STATUSES),
        Ticket.erased_at.is_(None),
        func.coalesce(Ticket.closed_at, Ticket.updated_at) < cutoff,
        Ticket.updated_at < cutoff,
    )
    return list(session.execute(query.order_by(Ticket.id)).scalars())


def apply_retention(session: Session, days: int, moment: Optional[datetime] = None, dry_run: bool = False) -> int:
    """Erase the tickets due (see :func:`due_for_retention`); returns how many."""
    moment = moment or datetime.utcnow()
    due = due_for_retention(session, days, moment)
    if not dry_run:
        for ticket in due:
            erase_ticket(session, ticket, moment)
    return len(due)


def apply_unanswered_retention(session: Session, days: int, moment: Optional[datetime] = None) -> int:
    """Delete the unanswered questions (what people typed, for the staff's review) older than ``days``."""
    from core.knowledge.models import UnansweredQuestion

    cutoff = (moment or datetime.utcnow()) - timedelta(days=days)
    result = session.execute(delete(UnansweredQuestion).where(UnansweredQuestion.created_at < cutoff))
    return result.rowcount or 0


def find_user_tickets(
    session: Session, channel: str = "", sender_id: str = "", phone: str = ""
) -> List[Ticket]:
    """The tickets of one user: by channel + conversation id, or by mobile number (either, or both: any match)."""
    conditions = []
    if sender_id.strip():
        by_sender = Ticket.sender_id == sender_id.strip()
        conditions.append(by_sender & (Ticket.channel == channel.strip()) if channel.strip() else by_sender)
    normalised = contact.normalize_phone(phone) if phone.strip() else None
    if normalised:
        conditions.append(Ticket.phone == normalised)
    if not conditions:
        return []
    query = select(Ticket).where(Ticket.erased_at.is_(None), or_(*conditions)).order_by(Ticket.id)
    return list(session.execute(query).scalars())


def export_user(tickets: List[Ticket]) -> Dict[str, Any]:
    """What is kept about a user, as JSON-ready data (the staff's internal notes are not the user's data)."""
    return {
        "exported_at": _iso(datetime.utcnow()),
        "tickets": [
            {
                "number": t.number,
                "channel": t.channel,
                "conversation_id": t.sender_id,
                "topic": t.topic,
                "summary": t.summary,
                "contact_name": t.contact_name,
                "phone": t.phone,
                "consent": t.consent,
                "status": t.status,
                "created_at": _iso(t.created_at),
                "closed_at": _iso(t.closed_at),
                "rating": t.rating,
                "rating_level": t.rating_level,
                "rating_comment": t.rating_comment,
                "messages": [
                    {"author": m.author, "text": m.text, "at": _iso(m.created_at)} for m in t.messages
                ],
            }
            for t in tickets
        ],
    }


def erase_user(session: Session, tickets: List[Ticket], moment: Optional[datetime] = None) -> int:
    moment = moment or datetime.utcnow()
    for ticket in tickets:
        erase_ticket(session, ticket, moment)
    return len(tickets)


def _tracker_events(engine: Engine) -> Optional[Table]:
    """Rasa's events table, or None when the tracker store holds nothing yet (a SQLite file not made yet is not
    created here)."""
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and not Path(database).exists():
        return None
    if not inspect(engine).has_table("events"):
        return None
    return Table("events", MetaData(), autoload_with=engine)


def _tracker_engine(url: Optional[str]) -> Engine:
    from core.settings import tracker_database_url

    return create_engine(url or tracker_database_url(), future=True, hide_parameters=True)


def export_conversations(sender_ids: Iterable[str], url: Optional[str] = None) -> List[Dict[str, Any]]:
    """What the user and the bot said in these conversations, from Rasa's tracker store (what it still holds:
    ``make tracker-retention`` trims it)."""
    senders = sorted({s for s in sender_ids if s})
    engine = _tracker_engine(url)
    try:
        events = _tracker_events(engine)
        if events is None or not senders:
            return []
        query = (
            select(events.c.sender_id, events.c.type_name, events.c.timestamp, events.c.data)
            .where(events.c.sender_id.in_(senders), events.c.type_name.in_(("user", "bot")))
            .order_by(events.c.sender_id, events.c.id)
        )
        conversations: Dict[str, List[Dict[str, Any]]] = {}
        with engine.connect() as connection:
            for sender, kind, timestamp, data in connection.execute(query):
                try:
                    text = (json.loads(data) or {}).get("text") or ""
                except (TypeError, ValueError):
                    text = ""
                moment = datetime.utcfromtimestamp(timestamp) if timestamp else None
                conversations.setdefault(sender, []).append({"author": kind, "text": text, "at": _iso(moment)})
        return [{"conversation_id": sender, "messages": lines} for sender, lines in conversations.items()]
    finally:
        engine.dispose()


def erase_conversations(sender_ids: Iterable[str], url: Optional[str] = None) -> int:
    """Delete every event of these conversations from Rasa's tracker store; returns how many. (A Rasa process keeps
    recent conversations in memory, bot/tracker_store.py, until it is restarted or they fall out of its cache.)"""
    senders = sorted({s for s in sender_ids if s})
    if not senders:
        return 0
    engine = _tracker_engine(url)
    try:
        events = _tracker_events(engine)
        if events is None:
            return 0
        with engine.begin() as connection:
            return connection.execute(delete(events).where(events.c.sender_id.in_(senders))).rowcount or 0
    finally:
        engine.dispose()


def describe_query(channel: str = "", sender_id: str = "", phone: str = "") -> str:
    """The search for the audit log, without the personal data itself (a masked phone, a shortened id)."""
    parts = []
    shown = sender_id.strip()
    if shown:
        channel_name = channel.strip() or message("privacy.any_channel")
        parts.append(message("privacy.query_sender", channel=channel_name, start=shown[:6]))
    if phone.strip():
        masked = contact.mask_phone(contact.normalize_phone(phone) or phone)
        parts.append(message("privacy.query_phone", phone=masked))
    return "，".join(parts) or "-"


def main(argv: Optional[List[str]] = None) -> int:
    from core.db import session_scope
    from core.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m core.handoff.privacy")
    sub = parser.add_subparsers(dest="command", required=True)
    retention = sub.add_parser("retention", help="erase closed tickets older than TICKET_RETENTION_DAYS")
    retention.add_argument("--days", type=int, default=None)
    retention.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    days = args.days if args.days is not None else get_settings().ticket_retention_days
    if days < 1:
        parser.error("--days must be at least 1")
    questions_days = max(1, get_settings().unanswered_retention_days)
    questions = 0
    with session_scope() as session:
        count = apply_retention(session, days, dry_run=args.dry_run)
        if count and not args.dry_run:
            session.add(AuditEntry(at=datetime.utcnow(), username="-", action="privacy_retention",
                                   detail=message("privacy.audit_retention", days=days, count=count)))
        if not args.dry_run:
            questions = apply_unanswered_retention(session, questions_days)
    verb = "would be erased" if args.dry_run else "erased"
    print(f"{count} closed ticket(s) older than {days} days {verb} (names, phones, summaries, transcripts).")
    if not args.dry_run:
        print(f"{questions} unanswered question(s) older than {questions_days} days deleted.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
