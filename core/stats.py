"""The service figures of the console's dashboard (/console/stats) and its spreadsheet export.

For a period (today by hour, the last 7 or 30 days by day, in office time) and a channel (web, WeChat or all):

- from the tracker store (Rasa's SQL ``events`` table, read-only): conversations (sessions with a user message)
  and messages per hour/day; what became of each user message — answered from the knowledge base (an answer set
  ``current_topic``), clarified (the "您是想问……吗？" buttons), handed to an officer (the hand-off form started),
  not understood (no answer, no useful choice), other (greetings, form answers, the materials check …); the
  topics and entries answered; the assistant's own latency (user message → the bot listening again);
- from the project's tables: hand-off tickets (opened, waiting now, time to the first officer reply, resolved,
  opened outside office hours), 好差评 ratings and their follow-up items, and the top unanswered questions
  (grouped as on the unanswered view, which has no channel: they count every channel).

No sender id, name, phone or message text of a conversation leaves this module; unanswered questions are the
texts staff already review on the unanswered view. The tracker is read in one pass, ordered by conversation,
over the period's rows only (about 2 s for a month of 10,000 conversations on SQLite; see tests/unit/test_stats).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.catalogue import section
from core.settings import tracker_database_url

WORDS = section("stats")  # knowledge/console.yml: every label of the dashboard and its export
PERIODS = dict(WORDS["periods"])
CHANNELS = dict(WORDS["channels"])
WECHAT = "wechat"

ANSWERED, CLARIFIED, HANDOFF, NOT_UNDERSTOOD, OTHER = "answered", "clarified", "handoff", "not_understood", "other"
OUTCOMES = (ANSWERED, CLARIFIED, HANDOFF, NOT_UNDERSTOOD, OTHER)
OUTCOME_LABELS = {o: WORDS["outcomes"][o] for o in OUTCOMES}
TOP = 10

# names in the tracker (bot/domain, actions/names.py, core/handoff/names.py)
SLOT_TOPIC = "current_topic"
SLOT_ANSWER_INTENT = "last_answer_intent"
SLOT_FALLBACK = "handoff_fallback_turn"
HANDOFF_FORM = "handoff_form"
SESSION_START = "action_session_start"
LISTEN = "action_listen"
NOT_UNDERSTOOD_INTENTS = ("nlu_fallback", "out_of_scope")
CLARIFY_MARK = '"/deny"'  # the 「都不是」 button closes every clarification (actions/answers.py render_decision)
_CHANNEL = re.compile(r'"input_channel"\s*:\s*"([^"]*)"')
_SLOT_NAMES = (SLOT_TOPIC, SLOT_ANSWER_INTENT, SLOT_FALLBACK)


def tracker_url() -> str:
    """The tracker store's database, as the Rasa server is given it (core.settings.tracker_database_url)."""
    return tracker_database_url()


_engines: Dict[str, sa.engine.Engine] = {}


def tracker_engine(url: Optional[str] = None) -> sa.engine.Engine:
    url = url or tracker_url()
    if url not in _engines:
        args = {"check_same_thread": False, "timeout": 30} if url.startswith("sqlite") else {}
        _engines[url] = sa.create_engine(url, future=True, hide_parameters=True, connect_args=args)
    return _engines[url]


# ---- periods ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive
    bucket_starts: Tuple[datetime, ...]  # naive UTC
    labels: Tuple[str, ...]  # office time
    hourly: bool

    def bucket(self, at: datetime) -> int:
        if self.hourly:
            index = int((at - self.start).total_seconds() // 3600)
        else:
            index = 0
            for i, start in enumerate(self.bucket_starts):
                if at >= start:
                    index = i
        return max(0, min(index, len(self.bucket_starts) - 1))

    @property
    def days(self) -> int:
        return 1 if self.kind == "day" else 7 if self.kind == "week" else 30


def period(kind: str, moment: Optional[datetime] = None, tz_name: str = "Asia/Shanghai") -> Period:
    """Today (by hour), the last 7 or the last 30 days including today (by day), in office time."""
    kind = kind if kind in PERIODS else "week"
    tz = ZoneInfo(tz_name)
    moment = moment or datetime.utcnow()
    local = moment.replace(tzinfo=timezone.utc).astimezone(tz)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (today + timedelta(days=1)).astimezone(timezone.utc).replace(tzinfo=None)
    if kind == "day":
        starts = [today + timedelta(hours=h) for h in range(24)]
        labels = [WORDS["hour"].format(hour=f"{s:%H}") for s in starts]
    else:
        days = 7 if kind == "week" else 30
        starts = [_local_midnight(today.date() - timedelta(days=days - 1 - i), tz) for i in range(days)]
        labels = [f"{s:%m-%d}" for s in starts]
    utc = tuple(s.astimezone(timezone.utc).replace(tzinfo=None) for s in starts)
    return Period(kind, utc[0], end, utc, tuple(labels), kind == "day")


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """The ``q`` quantile (0–1) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def channel_matches(channel: Optional[str], wanted: str) -> bool:
    if wanted == "all":
        return True
    is_wechat = (channel or "") == WECHAT
    return is_wechat if wanted == WECHAT else not is_wechat


# ---- the figures ------------------------------------------------------------------------------------------------


@dataclass
class Volume:
    label: str
    conversations: int = 0
    user_messages: int = 0
    bot_messages: int = 0


@dataclass
class ConversationFigures:
    volumes: List[Volume]
    outcomes: Dict[str, int]
    topics: Counter
    entries: Counter  # answer intent → count
    latencies_ms: List[float]

    @property
    def conversations(self) -> int:
        return sum(v.conversations for v in self.volumes)

    @property
    def user_messages(self) -> int:
        return sum(v.user_messages for v in self.volumes)


@dataclass
class TicketFigures:
    opened: int = 0
    waiting: int = 0
    resolved: int = 0
    after_hours: int = 0
    replied: int = 0
    first_reply_minutes: List[float] = field(default_factory=list)
    per_topic: Counter = field(default_factory=Counter)

    @property
    def first_reply_median(self) -> Optional[float]:
        return percentile(self.first_reply_minutes, 0.5)

    @property
    def first_reply_p90(self) -> Optional[float]:
        return percentile(self.first_reply_minutes, 0.9)


@dataclass
class RatingFigures:
    counts: Dict[int, int]  # score → count, every level present
    comments: int = 0
    followups_opened: int = 0
    followups_open_now: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def satisfied_share(self) -> Optional[float]:
        """满意率 as 好差评 counts it: 非常满意, 满意 and 基本满意 over all ratings."""
        return sum(c for s, c in self.counts.items() if s >= 3) / self.total if self.total else None

    @property
    def average(self) -> Optional[float]:
        return sum(s * c for s, c in self.counts.items()) / self.total if self.total else None


@dataclass
class Figures:
    period: Period
    channel: str
    conversations: ConversationFigures
    tickets: TicketFigures
    ratings: RatingFigures
    unanswered: List[Tuple[str, int]]
    topic_titles: Dict[str, str]
    entry_questions: Dict[str, str]
    generated_at: datetime

    def share(self, outcome: str) -> Optional[float]:
        total = sum(self.conversations.outcomes.values())
        return self.conversations.outcomes.get(outcome, 0) / total if total else None

    def top_topics(self) -> List[Tuple[str, int]]:
        return [(self.topic_titles.get(t, t), n) for t, n in self.conversations.topics.most_common(TOP)]

    def top_entries(self) -> List[Tuple[str, int]]:
        return [(self.entry_questions.get(i, i), n) for i, n in self.conversations.entries.most_common(TOP)]

    def latency(self, q: float) -> Optional[float]:
        return percentile(self.conversations.latencies_ms, q)

    def tables(self) -> List[Table]:
        """Every figure as a table: what the page shows under its plots and what the export's sheets hold."""
        from core.ratings import LEVELS

        c, t, r = self.conversations, self.tickets, self.ratings
        words = WORDS["tables"]
        unit = WORDS["units"]["hourly" if self.period.hourly else "daily"]
        total_outcomes = sum(c.outcomes.values())

        def table(key: str, rows: List[List[Any]], headers: Optional[List[str]] = None) -> Table:
            return Table(key, words[key]["title"], list(headers or words[key]["headers"]), rows)

        def named(key: str, values: Dict[str, Any]) -> List[List[Any]]:
            """The rows of ``key``'s figures, labelled from the catalogue in its order."""
            return [[words[key]["rows"][name], value] for name, value in values.items()]

        return [
            table(
                "overview",
                named(
                    "overview",
                    {
                        "period": WORDS["since"].format(period=PERIODS[self.period.kind], start=self.period.labels[0]),
                        "channel": CHANNELS[self.channel],
                        "conversations": c.conversations,
                        "user_messages": c.user_messages,
                        "answered_share": pct(self.share(ANSWERED)),
                        "handoff_share": pct(self.share(HANDOFF)),
                        "tickets_opened": t.opened,
                        "satisfied_share": pct(r.satisfied_share),
                        "latency_p50": num(self.latency(0.5)),
                        "latency_p95": num(self.latency(0.95)),
                    },
                ),
            ),
            table(
                "volume",
                [[v.label, v.conversations, v.user_messages, v.bot_messages] for v in c.volumes],
                [unit, *words["volume"]["headers"]],
            ),
            table(
                "outcomes",
                [
                    [OUTCOME_LABELS[o], c.outcomes.get(o, 0), pct(c.outcomes.get(o, 0) / total_outcomes if total_outcomes else None)]
                    for o in OUTCOMES
                ],
            ),
            table("topics", [list(x) for x in self.top_topics()]),
            table("entries", [list(x) for x in self.top_entries()]),
            table("unanswered", [[text, n] for text, n in self.unanswered]),
            table(
                "tickets",
                named(
                    "tickets",
                    {
                        "opened": t.opened,
                        "waiting": t.waiting,
                        "replied": t.replied,
                        "first_reply_median": num(t.first_reply_median, 1),
                        "first_reply_p90": num(t.first_reply_p90, 1),
                        "resolved": t.resolved,
                        "after_hours": t.after_hours,
                    },
                ),
            ),
            table(
                "ratings",
                [[level.label, r.counts.get(level.score, 0)] for level in LEVELS]
                + named(
                    "ratings",
                    {
                        "total": r.total,
                        "satisfied_share": pct(r.satisfied_share),
                        "average": num(r.average, 2),
                        "comments": r.comments,
                        "followups_opened": r.followups_opened,
                        "followups_open_now": r.followups_open_now,
                    },
                ),
            ),
            table(
                "latency",
                named("latency", {"p50": num(self.latency(0.5)), "p95": num(self.latency(0.95)), "count": len(c.latencies_ms)}),
            ),
        ]


@dataclass
class Table:
    key: str
    title: str
    headers: List[str]
    rows: List[List[Any]]


def pct(value: Optional[float]) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def num(value: Optional[float], digits: int = 0) -> Any:
    if value is None:
        return "—"
    return round(value) if digits == 0 else round(value, digits)


# ---- the tracker store ----------------------------------------------------------------------------------------


@dataclass
class _Turn:
    at: float
    bucket: int
    counted: bool  # in the chosen channel
    intent: Optional[str]
    actions: List[str] = field(default_factory=list)
    topic: Optional[str] = None
    answer_intent: Optional[str] = None
    fallback: bool = False
    clarify_buttons: bool = False
    handoff: bool = False
    done: bool = False


def _outcome(turn: _Turn) -> str:
    if turn.handoff:
        return HANDOFF
    if turn.topic:
        return ANSWERED
    if turn.fallback:
        return CLARIFIED if turn.clarify_buttons else NOT_UNDERSTOOD
    if turn.intent in NOT_UNDERSTOOD_INTENTS:
        return NOT_UNDERSTOOD
    return OTHER


def conversation_figures(engine: sa.engine.Engine, span: Period, channel: str = "all") -> ConversationFigures:
    """One pass over the period's events, conversation by conversation (see the module's docstring)."""
    volumes = [Volume(label) for label in span.labels]
    outcomes: Counter = Counter()
    topics: Counter = Counter()
    entries: Counter = Counter()
    latencies: List[float] = []
    start = span.start.replace(tzinfo=timezone.utc).timestamp()
    end = span.end.replace(tzinfo=timezone.utc).timestamp()
    events = sa.table(
        "events",
        sa.column("id"),
        sa.column("sender_id"),
        sa.column("type_name"),
        sa.column("timestamp"),
        sa.column("intent_name"),
        sa.column("action_name"),
        sa.column("data"),
    )
    if not sa.inspect(engine).has_table("events"):
        return ConversationFigures(volumes, {o: 0 for o in OUTCOMES}, topics, entries, latencies)
    query = (
        select(
            events.c.sender_id,
            events.c.type_name,
            events.c.timestamp,
            events.c.intent_name,
            events.c.action_name,
            events.c.data,
        )
        .where(
            events.c.timestamp >= start,
            events.c.timestamp < end,
            events.c.type_name.in_(("user", "bot", "action", "slot", "active_loop")),
        )
        .order_by(events.c.sender_id, events.c.id)
    )

    sender: Optional[str] = None
    session = 0
    counted_sessions: set = set()
    turn: Optional[_Turn] = None

    def close(current: Optional[_Turn]) -> None:
        if current is None or not current.counted:
            return
        outcomes[_outcome(current)] += 1
        if current.topic and not current.handoff:
            topics[current.topic] += 1
            if current.answer_intent:
                entries[current.answer_intent] += 1

    def bucket_of(stamp: float) -> int:
        return span.bucket(datetime.utcfromtimestamp(stamp))

    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=5000).execute(query)
        for row_sender, kind, stamp, intent, action, data in result:
            stamp = float(stamp or 0.0)
            if row_sender != sender:
                close(turn)
                sender, session, turn = row_sender, 0, None
            if kind == "user":
                close(turn)
                match = _CHANNEL.search(data or "")
                counted = channel_matches(match.group(1) if match else None, channel)
                turn = _Turn(stamp, bucket_of(stamp), counted, intent)
                if counted:
                    volumes[turn.bucket].user_messages += 1
                    key = (sender, session)
                    if key not in counted_sessions:
                        counted_sessions.add(key)
                        volumes[turn.bucket].conversations += 1
            elif kind == "action":
                if action == SESSION_START:
                    close(turn)
                    session, turn = session + 1, None
                elif turn is not None and not turn.done:
                    if action == LISTEN:
                        turn.done = True
                        if turn.counted:
                            latencies.append((stamp - turn.at) * 1000.0)
                    else:
                        turn.actions.append(action or "")
            elif turn is None or turn.done:
                continue
            elif kind == "bot":
                if turn.counted:
                    volumes[turn.bucket].bot_messages += 1
                    if CLARIFY_MARK in (data or ""):
                        turn.clarify_buttons = True
            elif kind == "slot":
                if data and any(name in data for name in _SLOT_NAMES):
                    slot = _loads(data)
                    name, value = slot.get("name"), slot.get("value")
                    if name == SLOT_TOPIC and value:
                        turn.topic = str(value)
                    elif name == SLOT_ANSWER_INTENT and value:
                        turn.answer_intent = str(value)
                    elif name == SLOT_FALLBACK and value is not None:
                        turn.fallback = True
            elif kind == "active_loop":
                if data and HANDOFF_FORM in data and _loads(data).get("name") == HANDOFF_FORM:
                    turn.handoff = True
        close(turn)
    for outcome in OUTCOMES:
        outcomes.setdefault(outcome, 0)
    return ConversationFigures(volumes, dict(outcomes), topics, entries, latencies)


def _loads(data: str) -> Dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# ---- the project's tables -------------------------------------------------------------------------------------


def _channel_condition(column: Any, channel: str) -> Any:
    if channel == "all":
        return sa.true()
    return column == WECHAT if channel == WECHAT else column != WECHAT


def ticket_figures(session: Session, span: Period, channel: str, office_hours: Optional[Any] = None) -> TicketFigures:
    from core.handoff.models import AUTHOR_OFFICER, STATUS_OPEN, STATUS_RESOLVED, Ticket, TicketMessage

    figures = TicketFigures()
    in_channel = _channel_condition(Ticket.channel, channel)
    first_reply = (
        select(TicketMessage.ticket_id, func.min(TicketMessage.created_at).label("first_at"))
        .where(TicketMessage.author == AUTHOR_OFFICER)
        .group_by(TicketMessage.ticket_id)
        .subquery()
    )
    rows = session.execute(
        select(Ticket.created_at, Ticket.topic, first_reply.c.first_at)
        .outerjoin(first_reply, first_reply.c.ticket_id == Ticket.id)
        .where(in_channel, Ticket.created_at >= span.start, Ticket.created_at < span.end)
    ).all()
    for created_at, topic, first_at in rows:
        figures.opened += 1
        figures.per_topic[topic] += 1
        if office_hours is not None and not office_hours.is_open(created_at):
            figures.after_hours += 1
        if first_at is not None:
            figures.replied += 1
            figures.first_reply_minutes.append(max(0.0, (first_at - created_at).total_seconds() / 60.0))
    figures.waiting = int(
        session.execute(select(func.count(Ticket.id)).where(in_channel, Ticket.status == STATUS_OPEN)).scalar() or 0
    )
    figures.resolved = int(
        session.execute(
            select(func.count(Ticket.id)).where(
                in_channel,
                Ticket.status == STATUS_RESOLVED,
                Ticket.closed_at >= span.start,
                Ticket.closed_at < span.end,
            )
        ).scalar()
        or 0
    )
    return figures


def rating_figures(session: Session, span: Period, channel: str) -> RatingFigures:
    from core.handoff.models import FOLLOWUP_OPEN, RatingFollowup, Ticket
    from core.ratings import LEVELS

    in_channel = _channel_condition(Ticket.channel, channel)
    rated = (Ticket.rated_at >= span.start, Ticket.rated_at < span.end, Ticket.rating.is_not(None))
    counts = {level.score: 0 for level in LEVELS}
    for score, count in session.execute(
        select(Ticket.rating, func.count(Ticket.id)).where(in_channel, *rated).group_by(Ticket.rating)
    ).all():
        if score in counts:
            counts[score] = int(count)
    comments = session.execute(
        select(func.count(Ticket.id)).where(in_channel, *rated, Ticket.rating_comment.is_not(None))
    ).scalar()
    followups = select(func.count(RatingFollowup.id)).join(Ticket, Ticket.id == RatingFollowup.ticket_id).where(in_channel)
    opened = session.execute(
        followups.where(RatingFollowup.created_at >= span.start, RatingFollowup.created_at < span.end)
    ).scalar()
    open_now = session.execute(followups.where(RatingFollowup.status == FOLLOWUP_OPEN)).scalar()
    return RatingFigures(counts, int(comments or 0), int(opened or 0), int(open_now or 0))


def top_unanswered(session: Session, span: Period, limit: int = TOP) -> List[Tuple[str, int]]:
    """The biggest groups of the unanswered view over the same days (its representative wording, its size)."""
    from core.curation.unanswered import unanswered_report

    report = unanswered_report(session, days=span.days, suggest=False)
    return [(group.representative, group.count) for group in report.groups[:limit]]


def knowledge_names(session: Session) -> Tuple[Dict[str, str], Dict[str, str]]:
    """Topic id → title, and answer intent → the standard question of its general entry."""
    from core.knowledge.models import KnowledgeEntry, Topic

    titles = {t.id: t.title for t in session.execute(select(Topic)).scalars()}
    questions: Dict[str, str] = {}
    for intent, question in session.execute(
        select(KnowledgeEntry.intent, KnowledgeEntry.question).where(KnowledgeEntry.intent.is_not(None)).order_by(
            KnowledgeEntry.id
        )
    ).all():
        questions.setdefault(intent, question)
    return titles, questions


def compute(
    session: Session,
    kind: str = "week",
    channel: str = "all",
    engine: Optional[sa.engine.Engine] = None,
    moment: Optional[datetime] = None,
    tz_name: str = "Asia/Shanghai",
    office_hours: Optional[Any] = None,
) -> Figures:
    """All the figures of one period and channel."""
    channel = channel if channel in CHANNELS else "all"
    span = period(kind, moment, tz_name)
    titles, questions = knowledge_names(session)
    return Figures(
        period=span,
        channel=channel,
        conversations=conversation_figures(engine or tracker_engine(), span, channel),
        tickets=ticket_figures(session, span, channel, office_hours),
        ratings=rating_figures(session, span, channel),
        unanswered=top_unanswered(session, span),
        topic_titles=titles,
        entry_questions=questions,
        generated_at=moment or datetime.utcnow(),
    )


# ---- the export -----------------------------------------------------------------------------------------------


def to_xlsx(tables: Iterable[Table]) -> bytes:
    """One sheet per table, the same rows as the page; every cell written as a value, never as a formula."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.title[:31])
        sheet.append(table.headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_cell(v) for v in row])
        for index, header in enumerate(table.headers, start=1):
            width = max([len(str(header))] + [len(str(r[index - 1])) for r in table.rows if index - 1 < len(r)])
            sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(60, 4 + width * 2)
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, never a formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: Any) -> Any:
    return value if isinstance(value, (int, float)) else str(value)


def xlsx_tables(content: bytes) -> Dict[str, List[List[Any]]]:
    """The sheets of an export (title → rows including the header), for tests and checks."""
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    return {sheet.title: [list(r) for r in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}
