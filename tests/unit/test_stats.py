"""The dashboard's figures (core/stats.py) on a seeded tracker store and seeded tickets and ratings."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from core import stats
from core.accounts import account_repository
from core.accounts.models import Officer
from core.handoff.models import RatingFollowup
from core.handoff.office_hours import Holidays, OfficeHours
from core.handoff.repository import ticket_repository
from core.knowledge.models import UnansweredQuestion
from tests.utils.stats import (
    ANSWERED,
    CLARIFIED,
    HANDOFF,
    NOT_UNDERSTOOD,
    OTHER,
    Turn,
    conversation_rows,
    create_events_table,
    insert_rows,
    seed_ticket,
)

TZ = ZoneInfo("Asia/Shanghai")


def local_midnight_utc(days_ago: int = 0) -> datetime:
    today = datetime.now(TZ).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)
    return today.astimezone(timezone.utc).replace(tzinfo=None)


@pytest.fixture()
def tracker(tmp_path):
    engine = create_events_table(f"sqlite:///{tmp_path / 'tracker.db'}")
    day0 = local_midnight_utc()
    rows = []
    # web conversation today: two answers, a clarification, a hand-off; then a second session later the same day
    rows += conversation_rows(
        "web-a",
        "socketio",
        day0 + timedelta(hours=10),
        [
            Turn(ANSWERED, latency_ms=100),
            Turn(ANSWERED, latency_ms=200),
            Turn(CLARIFIED, latency_ms=300),
            Turn(HANDOFF, latency_ms=400),
        ],
    )
    rows += conversation_rows("web-a", "socketio", day0 + timedelta(hours=15), [Turn(OTHER, latency_ms=500)])
    # WeChat conversation today
    rows += conversation_rows(
        "wx-b",
        "wechat",
        day0 + timedelta(hours=11),
        [
            Turn(ANSWERED, topic="address", intent="address_self_declaration", latency_ms=600),
            Turn(NOT_UNDERSTOOD, latency_ms=700),
            Turn(OTHER, latency_ms=800),
        ],
    )
    # three days ago (in the week and the month), forty days ago (in none)
    rows += conversation_rows("web-c", "rest", local_midnight_utc(3) + timedelta(hours=9), [Turn(ANSWERED)])
    rows += conversation_rows("web-d", "rest", local_midnight_utc(40) + timedelta(hours=9), [Turn(ANSWERED)] * 3)
    insert_rows(engine, rows)
    return engine


@pytest.fixture()
def tickets_seeded(database):
    with account_repository() as accounts:
        officer_id = accounts.create("wang", "王服务官", "Wang-Password-123").id
    day0 = local_midnight_utc()
    with ticket_repository() as tickets:
        officer = tickets.session.get(Officer, officer_id)
        seed_ticket(tickets, "web-a", "socketio", day0 + timedelta(hours=10), timedelta(minutes=10), True, 5, None, officer)
        seed_ticket(tickets, "wx-b", "wechat", day0 + timedelta(hours=10), timedelta(minutes=30), True, 1, "等太久了", officer)
        seed_ticket(tickets, "web-e", "socketio", day0 + timedelta(hours=2))  # at 02:00: after hours, still waiting
        seed_ticket(tickets, "web-c", "rest", local_midnight_utc(3) + timedelta(hours=10), timedelta(minutes=60), True, 3, "还行", officer)
        for text in ("个体户怎么年报", "个体户怎么年报", "个体户如何年报", "外资企业怎么注册"):
            tickets.session.add(UnansweredQuestion(text=text, reason="fallback", created_at=day0 + timedelta(hours=9)))
    return officer_id


def hours():
    return OfficeHours.from_spec("mon-sun 09:00-18:00", "Asia/Shanghai", Holidays())


def compute(kind, channel, engine):
    from core.db import session_scope

    with session_scope() as session:
        return stats.compute(session, kind, channel, engine=engine, office_hours=hours())


def test_today_on_every_channel(tracker, tickets_seeded):
    figures = compute("day", "all", tracker)
    c = figures.conversations
    assert c.conversations == 3  # two sessions of web-a, one of wx-b
    assert c.user_messages == 8
    assert sum(v.bot_messages for v in c.volumes) == 8
    assert c.outcomes == {ANSWERED: 3, CLARIFIED: 1, HANDOFF: 1, NOT_UNDERSTOOD: 1, OTHER: 2}
    assert figures.share(ANSWERED) == pytest.approx(3 / 8)
    assert figures.top_topics()[0] == ("开办企业", 2)
    assert dict(c.entries) == {"startup_process": 2, "address_self_declaration": 1}
    assert sorted(round(x) for x in c.latencies_ms) == [100, 200, 300, 400, 500, 600, 700, 800]
    assert figures.latency(0.5) == pytest.approx(450)
    assert figures.latency(0.95) == pytest.approx(765)
    # by hour: 10 时 holds web-a's first session, 11 时 wx-b's, 15 时 the second session
    assert [(v.label, v.conversations, v.user_messages) for v in c.volumes if v.user_messages] == [
        ("10时", 1, 4),
        ("11时", 1, 3),
        ("15时", 1, 1),
    ]
    t = figures.tickets
    assert (t.opened, t.waiting, t.resolved, t.after_hours, t.replied) == (3, 1, 2, 1, 2)
    assert t.first_reply_median == pytest.approx(20)
    assert t.first_reply_p90 == pytest.approx(28)
    r = figures.ratings
    assert r.counts == {5: 1, 4: 0, 3: 0, 2: 0, 1: 1}
    assert r.satisfied_share == pytest.approx(0.5)
    assert (r.comments, r.followups_opened, r.followups_open_now) == (1, 1, 1)
    assert ("个体户怎么年报", 3) in figures.unanswered  # grouped as on the unanswered view (with hand-off questions)


def test_channels_and_longer_periods(tracker, tickets_seeded):
    wechat = compute("day", "wechat", tracker)
    assert (wechat.conversations.conversations, wechat.conversations.user_messages) == (1, 3)
    assert wechat.conversations.outcomes[NOT_UNDERSTOOD] == 1 and wechat.conversations.outcomes[HANDOFF] == 0
    assert wechat.tickets.opened == 1 and wechat.ratings.counts[1] == 1 and wechat.ratings.counts[5] == 0

    web_week = compute("week", "web", tracker)
    assert web_week.conversations.conversations == 3  # web-a twice, web-c
    assert web_week.conversations.outcomes[ANSWERED] == 3
    assert len(web_week.conversations.volumes) == 7
    assert web_week.tickets.opened == 3 and web_week.tickets.first_reply_median == pytest.approx(35)
    assert web_week.ratings.counts[3] == 1 and web_week.ratings.comments == 1  # 基本满意 with a comment: no follow-up
    assert web_week.ratings.followups_opened == 0

    month = compute("month", "all", tracker)
    assert month.conversations.conversations == 4  # web-d (forty days ago) is outside
    assert len(month.conversations.volumes) == 30


def test_the_export_holds_the_figures_of_the_page(tracker, tickets_seeded):
    figures = compute("week", "all", tracker)
    tables = figures.tables()
    sheets = stats.xlsx_tables(stats.to_xlsx(tables))
    assert list(sheets) == [t.title for t in tables]
    for table in tables:
        assert sheets[table.title][0] == table.headers
        assert sheets[table.title][1:] == [[v if isinstance(v, (int, float)) else str(v) for v in row] for row in table.rows]
    volume = sheets["会话量与消息量"]
    assert sum(row[1] for row in volume[1:]) == figures.conversations.conversations == 4


def test_no_user_identity_in_the_figures(tracker, tickets_seeded):
    figures = compute("week", "all", tracker)
    text = repr([t.rows for t in figures.tables()])
    for identity in ("web-a", "wx-b", "陈先生", "13812345678", "等太久了"):
        assert identity not in text


def test_an_empty_tracker_store_and_bad_parameters(tmp_path, database):
    from core.db import session_scope

    engine = stats.tracker_engine(f"sqlite:///{tmp_path / 'none.db'}")
    with session_scope() as session:
        figures = stats.compute(session, "year", "fax", engine=engine)
    assert figures.period.kind == "week" and figures.channel == "all"
    assert figures.conversations.conversations == 0 and figures.share(ANSWERED) is None
    assert figures.latency(0.5) is None
    assert stats.xlsx_tables(stats.to_xlsx(figures.tables()))


def test_a_negative_rating_with_a_comment_opens_one_follow_up_item(tickets_seeded):
    from core.db import session_scope
    from core.ratings import FOLLOWUP_STATUS_LABELS, FollowupRepository

    with session_scope() as session:
        items = FollowupRepository(session).items()
        assert [(i.ticket.rating, i.ticket.rating_level, i.ticket.rating_comment) for i in items] == [
            (1, "very_dissatisfied", "等太久了")
        ]
        officer = session.get(Officer, tickets_seeded)
        FollowupRepository(session).update(items[0], officer, "rectify", "已电话回访，优化排班", "close")
    with session_scope() as session:
        item = session.query(RatingFollowup).one()
        assert (item.kind, item.status, item.note, item.closed_by_id) == ("rectify", "closed", "已电话回访，优化排班", tickets_seeded)
        assert FOLLOWUP_STATUS_LABELS[item.status] == "已完成"
        assert FollowupRepository(session).count_open() == 0


def test_a_month_of_ten_thousand_conversations_is_read_in_seconds(tmp_path, database):
    engine = create_events_table(f"sqlite:///{tmp_path / 'big.db'}")
    day0 = local_midnight_utc()
    template = conversation_rows(
        "t", "socketio", day0, [Turn(ANSWERED), Turn(CLARIFIED), Turn(ANSWERED), Turn(HANDOFF), Turn(OTHER)]
    )
    rows = []
    for n in range(10_000):
        shift = -(n % 29) * 86400 + (n % 13) * 3600
        rows += [(f"s{n:05d}", r[1], r[2] + shift, r[3], r[4], r[5]) for r in template]
    insert_rows(engine, rows)
    from core.db import session_scope

    started = time.perf_counter()
    with session_scope() as session:
        figures = stats.compute(session, "month", "all", engine=engine)
    seconds = time.perf_counter() - started
    assert figures.conversations.conversations == 10_000
    assert figures.conversations.outcomes[ANSWERED] == 20_000
    print(f"month of 10,000 conversations: {seconds:.2f} s for {len(rows)} events")
    assert seconds < 15, f"{seconds:.1f} s for {len(rows)} events"


def test_the_tracker_store_is_found_as_the_rasa_server_is_given_it(monkeypatch):
    for name in ("TRACKER_DB_URL", "TRACKER_PG_HOST", "TRACKER_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRACKER_DB", "/srv/hz/tracker.db")
    assert stats.tracker_url() == "sqlite:////srv/hz/tracker.db"
    for name, value in {"TRACKER_PG_HOST": "127.0.0.1", "TRACKER_PG_PORT": "5433", "TRACKER_PG_DB": "hzbot_tracker",
                        "TRACKER_PG_USER": "hzbot", "TRACKER_PG_PASSWORD": "p@ss/word"}.items():
        monkeypatch.setenv(name, value)
    assert stats.tracker_url() == "postgresql://hzbot:p%40ss%2Fword@127.0.0.1:5433/hzbot_tracker"
    monkeypatch.setenv("TRACKER_DB_URL", "sqlite:///x.db")
    assert stats.tracker_url() == "sqlite:///x.db"
