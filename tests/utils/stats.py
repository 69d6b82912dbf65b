"""Seeding the tracker store (Rasa's `events` table, rows as Rasa's SQLTrackerStore writes them) and the project's
tables with known conversations, tickets and ratings, for the dashboard's tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)

# what one user turn looks like in the tracker, by the outcome the dashboard gives it
ANSWERED, CLARIFIED, HANDOFF, NOT_UNDERSTOOD, OTHER = "answered", "clarified", "handoff", "not_understood", "other"


@dataclass(frozen=True)
class Turn:
    outcome: str
    topic: str = "startup"
    intent: str = "startup_process"
    latency_ms: float = 100.0


def create_events_table(url: str) -> sa.engine.Engine:
    engine = sa.create_engine(url, future=True)
    SQLTrackerStore.Base.metadata.create_all(engine)
    return engine


def _turn_events(turn: Turn, channel: str, at: float) -> List[Event]:
    def user(intent: str, text: str) -> UserUttered:
        return UserUttered(text, {"name": intent, "confidence": 0.9}, input_channel=channel, timestamp=at)

    done = at + turn.latency_ms / 1000.0
    middle = at + turn.latency_ms / 2000.0
    if turn.outcome == ANSWERED:
        events = [
            user(turn.intent, "怎么开公司"),
            ActionExecuted("action_answer", timestamp=middle),
            BotUttered("答案……", timestamp=middle),
            SlotSet("entity_type", None, timestamp=middle),
            SlotSet("current_topic", turn.topic, timestamp=middle),
            SlotSet("last_answer_intent", turn.intent, timestamp=middle),
        ]
    elif turn.outcome == CLARIFIED:
        buttons = [{"title": "开办企业流程", "payload": "/startup_process"}, {"title": "都不是", "payload": "/deny"}]
        events = [
            user("nlu_fallback", "那个怎么弄"),
            ActionExecuted("action_clarify", timestamp=middle),
            BotUttered("您是想问……吗？", data={"buttons": buttons}, timestamp=middle),
            SlotSet("handoff_fallback_turn", 1, timestamp=middle),
        ]
    elif turn.outcome == NOT_UNDERSTOOD:
        events = [
            user("out_of_scope", "今天天气"),
            ActionExecuted("action_clarify", timestamp=middle),
            BotUttered("这个问题超出了我的范围……", timestamp=middle),
        ]
    elif turn.outcome == HANDOFF:
        events = [
            user("request_human", "转人工"),
            ActionExecuted("handoff_form", timestamp=middle),
            ActiveLoop("handoff_form", timestamp=middle),
            SlotSet("requested_slot", "handoff_topic", timestamp=middle),
            BotUttered("请选择问题类别", timestamp=middle),
        ]
    else:
        events = [user("greet", "你好"), ActionExecuted("utter_greet", timestamp=middle), BotUttered("您好！", timestamp=middle)]
    return events + [ActionExecuted("action_listen", timestamp=done)]


def conversation_rows(
    sender: str, channel: str, start: datetime, turns: Sequence[Turn], gap_seconds: float = 30.0
) -> List[Tuple]:
    """The rows of one conversation (a session start, then the turns ``gap_seconds`` apart) from ``start`` (UTC)."""
    at = start.replace(tzinfo=timezone.utc).timestamp()
    events: List[Event] = [
        ActionExecuted("action_session_start", timestamp=at),
        SessionStarted(timestamp=at),
        ActionExecuted("action_listen", timestamp=at),
    ]
    for i, turn in enumerate(turns):
        events += _turn_events(turn, channel, at + 1 + i * gap_seconds)
    rows = []
    for event in events:
        data = event.as_dict()
        intent = data.get("parse_data", {}).get("intent", {}).get("name")
        rows.append((sender, event.type_name, data.get("timestamp"), intent, data.get("name"), json.dumps(data)))
    return rows


def insert_rows(engine: sa.engine.Engine, rows: Iterable[Tuple]) -> None:
    table = SQLTrackerStore.SQLEvent.__table__
    keys = ("sender_id", "type_name", "timestamp", "intent_name", "action_name", "data")
    batch: List[dict] = []
    with engine.begin() as connection:
        for row in rows:
            batch.append(dict(zip(keys, row, strict=True)))
            if len(batch) >= 5000:
                connection.execute(table.insert(), batch)
                batch = []
        if batch:
            connection.execute(table.insert(), batch)


def seed_ticket(
    tickets,
    sender: str,
    channel: str,
    created: datetime,
    reply_after: Optional[timedelta] = None,
    resolve: bool = False,
    rating: Optional[int] = None,
    comment: Optional[str] = None,
    officer=None,
):
    """A ticket created at ``created`` (UTC), optionally answered by ``officer`` after ``reply_after``, resolved and
    rated, written with the hand-off's own repository (times set as they would have been)."""
    from core.handoff.models import AUTHOR_OFFICER, STATUS_RESOLVED, TicketMessage
    from core.handoff.repository import NewTicket

    ticket, _token = tickets.open_ticket(
        NewTicket(sender, channel, "user_request", "开办企业", "想问开办企业", "陈先生", "13812345678", True)
    )
    ticket.created_at = created
    if reply_after is not None:
        tickets.session.add(
            TicketMessage(ticket=ticket, author=AUTHOR_OFFICER, officer_id=officer.id, text="您好", created_at=created + reply_after)
        )
    if resolve:
        ticket.status = STATUS_RESOLVED
        ticket.closed_at = created + (reply_after or timedelta(minutes=1)) + timedelta(minutes=1)
    tickets.session.flush()
    if rating is not None:
        tickets.rate(ticket, rating, comment)
        ticket.rated_at = ticket.closed_at or created
    tickets.session.flush()
    return ticket
