"""Tickets in the database (core/handoff/repository.py): creation, the outbox, claims, ratings."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from core.accounts import AccountRepository
from core.accounts.models import AuditEntry, Officer
from core.db import session_scope
from core.handoff.models import AUTHOR_OFFICER, AUTHOR_SYSTEM, STATUS_ASSIGNED, STATUS_CLOSED, STATUS_RESOLVED, Ticket
from core.handoff.repository import (
    ClaimConflict,
    NewTicket,
    NotAllowed,
    TicketRepository,
    TranscriptLine,
    ticket_repository,
)


def new_ticket(
    sender: str = "user-1", channel: str = "rest", summary: str = "个体户转公司要准备什么材料", **extra
) -> NewTicket:
    """A ticket as the contact form produces it (shared with the other hand-off tests)."""
    values = dict(
        sender_id=sender,
        channel=channel,
        reason="user_request",
        topic="变更登记",
        summary=summary,
        contact_name="陈先生",
        phone="13812345678",
        consent=True,
    )
    values.update(extra)
    return NewTicket(**values)


def make_officer(username: str, role: str = "officer") -> int:
    with session_scope() as session:
        return AccountRepository(session).create(username, f"服务官{username}", f"{username}-password-123", role).id


def open_ticket(sender: str = "user-1", **extra) -> tuple[int, str, str]:
    """(id, number, poll token) of a new ticket with a two-line transcript."""
    with ticket_repository() as tickets:
        ticket, token = tickets.open_ticket(
            new_ticket(sender, **extra), [TranscriptLine("user", "开公司要多久"), TranscriptLine("bot", "0.5天办结")]
        )
        return ticket.id, ticket.number, token


def test_a_ticket_holds_the_form_and_the_transcript(database):
    ticket_id, number, token = open_ticket()
    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        assert number.startswith("HZ") and number.endswith(f"-{ticket_id:04d}")
        assert ticket.status == "open" and ticket.assigned_officer is None
        assert [(m.author, m.text) for m in ticket.messages] == [("user", "开公司要多久"), ("bot", "0.5天办结")]
        assert [(c.from_status, c.to_status) for c in ticket.status_changes] == [(None, "open")]
        assert tickets.active_ticket_of("user-1").id == ticket_id
        assert tickets.ticket_of("someone-else", number) is None  # a number alone does not give a ticket away
        assert tickets.ticket_by_poll_token(token).id == ticket_id
        assert ticket.poll_token_hash != token  # only the hash is stored
        assert tickets.ticket_by_poll_token("guess") is None


def test_officer_replies_wait_in_the_outbox_and_are_taken_once(database):
    officer_id = make_officer("wang")
    ticket_id, _number, _token = open_ticket()
    with ticket_repository() as tickets:
        officer = tickets.session.get(Officer, officer_id)
        tickets.claim(ticket_id, officer)
        ticket = tickets.ticket(ticket_id)
        tickets.add_user_message(ticket, "还在吗")
        assert tickets.user_messages_waiting(ticket) == 1
        tickets.reply(ticket, officer, "在的，请问是哪类个体户？")
        assert tickets.user_messages_waiting(ticket) == 0
    with ticket_repository() as tickets:
        taken = tickets.take_undelivered(tickets.ticket(ticket_id), "rest")
        assert [(m.author, m.text) for m in taken] == [(AUTHOR_OFFICER, "在的，请问是哪类个体户？")]
    with ticket_repository() as tickets:
        assert tickets.take_undelivered(tickets.ticket(ticket_id), "poll") == []


def test_two_officers_claiming_at_once_exactly_one_wins(database):

    ids = [make_officer("li"), make_officer("zhao")]
    ticket_id, _number, _token = open_ticket()
    barrier = threading.Barrier(2)
    outcomes: dict = {}

    def claim(officer_id: int) -> None:
        barrier.wait()
        try:
            with ticket_repository() as tickets:
                tickets.claim(ticket_id, tickets.session.get(Officer, officer_id))
            outcomes[officer_id] = "won"
        except ClaimConflict:
            outcomes[officer_id] = "lost"

    for _round in range(5):  # a few rounds, each on a fresh ticket, to give the race a chance
        threads = [threading.Thread(target=claim, args=(i,)) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes.values()) == ["lost", "won"]
        winner = next(i for i, o in outcomes.items() if o == "won")
        with ticket_repository() as tickets:
            ticket = tickets.ticket(ticket_id)
            assert ticket.assigned_officer_id == winner and ticket.status == STATUS_ASSIGNED
            claims = tickets.session.query(AuditEntry).filter_by(ticket_id=ticket_id, action="claim").count()
            assert claims == 1
        outcomes.clear()
        ticket_id, _number, _token = open_ticket(sender=f"user-race-{_round}")


def test_only_the_owner_replies_and_closed_tickets_take_no_replies(database):

    owner_id, other_id, admin_id = make_officer("owner"), make_officer("other"), make_officer("boss", "admin")
    ticket_id, _number, _token = open_ticket()
    with ticket_repository() as tickets:
        owner, other, admin = (tickets.session.get(Officer, i) for i in (owner_id, other_id, admin_id))
        ticket = tickets.ticket(ticket_id)
        with pytest.raises(NotAllowed):
            tickets.reply(ticket, owner, "还没认领")
        tickets.claim(ticket_id, owner)
        tickets.session.refresh(ticket)
        with pytest.raises(NotAllowed):
            tickets.reply(ticket, other, "不是我的工单")
        with pytest.raises(NotAllowed):
            tickets.transfer(ticket, other, admin)
        tickets.transfer(ticket, owner, other)
        assert ticket.assigned_officer_id == other_id
        tickets.resolve(ticket, admin, "已办结")  # an administrator may close any claimed ticket
        assert ticket.status == STATUS_RESOLVED and ticket.closed_at is not None
        assert ticket.messages[-1].author == AUTHOR_SYSTEM
        with pytest.raises(NotAllowed):
            tickets.reply(ticket, other, "太迟了")
        notes = [c.note for c in ticket.status_changes]
        assert any(note and "转交给" in note for note in notes)


def test_ratings_are_asked_after_resolution_or_an_answered_ticket(database):

    officer_id = make_officer("sun")
    unanswered_id, _n, _t = open_ticket(sender="quiet")
    answered_id, _n2, _t2 = open_ticket(sender="talked")
    with ticket_repository() as tickets:
        officer = tickets.session.get(Officer, officer_id)
        unanswered, answered = tickets.ticket(unanswered_id), tickets.ticket(answered_id)
        assert tickets.cancel_by_user(unanswered)
        assert unanswered.status == STATUS_CLOSED and not tickets.needs_rating(unanswered)
        assert tickets.ticket_to_rate("quiet") is None
        tickets.claim(answered_id, officer)
        tickets.session.refresh(answered)
        tickets.reply(answered, officer, "请带身份证原件")
        assert not tickets.cancel_by_user(answered)  # answered: no longer withdrawn by the user
        assert answered.status == STATUS_ASSIGNED and tickets.ticket_to_rate("talked") is None
        tickets.resolve(answered, officer, "已办结")
        assert tickets.ticket_to_rate("talked").id == answered_id
        tickets.rate(answered, 4)
        assert tickets.ticket_to_rate("talked") is None
        with pytest.raises(ValueError):
            tickets.rate(answered, 6)


def test_old_tickets_are_not_rated_any_more(database):
    ticket_id, _n, _t = open_ticket(sender="late")
    with ticket_repository() as tickets:
        ticket: Ticket = tickets.ticket(ticket_id)
        ticket.status, ticket.closed_at = STATUS_RESOLVED, datetime.utcnow() - timedelta(days=8)
        assert tickets.ticket_to_rate("late") is None


def test_office_hours_can_be_changed_and_reset(database):

    admin_id = make_officer("chief", "admin")
    with ticket_repository() as tickets:
        admin = tickets.session.get(Officer, admin_id)
        assert tickets.office_hours_spec("mon-fri 09:00-12:00") == "mon-fri 09:00-12:00"
        tickets.set_office_hours("mon-sat 09:00-12:00", admin)
    with ticket_repository() as tickets:
        assert tickets.office_hours_spec("default") == "mon-sat 09:00-12:00"
        tickets.reset_office_hours(tickets.session.get(Officer, admin_id))
    with ticket_repository() as tickets:
        assert tickets.office_hours_spec("default") == "default"
        assert isinstance(tickets, TicketRepository)


def test_a_user_who_goes_back_to_the_bot_leaves_the_ticket_open(database):
    ticket_id, _number, _token = open_ticket()
    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        assert tickets.relayed_ticket_of("user-1").id == ticket_id and tickets.left_ticket_of("user-1") is None
        tickets.leave(ticket)
        tickets.leave(ticket)  # once
        assert ticket.status == "open" and ticket.user_left and ticket.closed_at is None
        assert tickets.active_ticket_of("user-1").id == ticket_id  # still the user's open ticket …
        assert tickets.relayed_ticket_of("user-1") is None  # … but they no longer chat in it
        assert tickets.left_ticket_of("user-1").id == ticket_id
        assert [t.id for t in tickets.queue()] == [ticket_id]  # and the officers still see it
        assert [m.author for m in ticket.messages].count("event") == 1
        assert tickets.take_undelivered(ticket, "rest") == []  # staff lines are never sent
        tickets.come_back(ticket)
        assert not ticket.user_left and tickets.relayed_ticket_of("user-1").id == ticket_id
        assert ticket.messages[-1].text == "用户回到了人工对话。"
