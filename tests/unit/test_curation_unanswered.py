"""Unanswered questions: grouped by similarity, counted over time, turned into a draft entry in one step."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.curation.repository import NotFound, curation_repository
from core.curation.unanswered import draft_from_group, group_texts, sparkline, unanswered_report
from core.db import session_scope
from core.knowledge.models import UnansweredQuestion
from core.knowledge.repository import knowledge_repository
from tests.utils.curation import ADMIN

SEAL = ["公司注销后公章怎么处理", "注销以后公章怎么办", "注销了公章要交回吗", "公司注销后公章怎么处理"]
PARKING = ["政务中心停车收费吗", "政务中心停车要收费吗", "去政务中心办事停车收不收费"]


def add(text: str, reason: str = "fallback", days_ago: float = 0.0) -> None:
    with session_scope() as session:
        session.add(UnansweredQuestion(text=text, reason=reason, created_at=datetime.utcnow() - timedelta(days=days_ago)))


def test_similar_messages_share_a_group_and_different_ones_do_not():
    texts = SEAL + PARKING + ["今天天气怎么样"]
    groups = [sorted(texts[i] for i in group) for group in group_texts(texts)]
    assert sorted(SEAL) in groups and sorted(PARKING) in groups and ["今天天气怎么样"] in groups
    assert len(groups) == 3
    assert group_texts([]) == [] and group_texts(["👍", "👍", "？？"]) == [[0, 1], [2]]


def test_the_report_groups_the_bots_records_and_counts_them_over_time(database):
    with knowledge_repository() as kb:  # recorded the way the bot records them
        for text in SEAL[:3]:
            kb.record_unanswered(text, "fallback")
        kb.record_unanswered("政务中心停车收费吗", "handoff")
    add("政务中心停车要收费吗", "out_of_scope", days_ago=3)
    add("去政务中心办事停车收不收费", "fallback", days_ago=20)
    add("很久以前的问题：停车收费吗", "fallback", days_ago=100)
    with session_scope() as session:
        week = unanswered_report(session, days=7)
        month = unanswered_report(session, days=30, suggest=False)
        handed_off = unanswered_report(session, days=30, reason="handoff")
    assert week.total == 5 and month.total == 6 and handed_off.total == 1
    assert len(week.buckets) == 7 and sum(b.count for b in week.buckets) == 5 and week.buckets[-1].count == 4
    top = week.groups[0]
    assert top.count == 3 and top.representative in SEAL and top.reasons == {"fallback": 3}
    assert top.buckets[-1] == 3 and len(top.sparkline) == 7
    parking = next(g for g in month.groups if "政务中心停车收费吗" in dict(g.texts))
    assert parking.count == 3 and parking.reasons == {"handoff": 1, "out_of_scope": 1, "fallback": 1}
    assert len(month.buckets) == 5 and sum(parking.buckets) == 3  # five weeks
    assert top.suggestion is not None and top.suggestion[0].startswith("dereg")  # the closest entry is shown


def test_a_group_becomes_a_draft_entry_and_leaves_the_list(database):
    for text in SEAL:
        add(text)
    with session_scope() as session:
        group = unanswered_report(session, days=7).groups[0]
    with curation_repository() as repo:
        change = draft_from_group(repo, group.ids, ADMIN)
        entry = change.entry
        assert entry.status == "draft" and entry.origin == "staff" and entry.updated_by == "chief"
        assert entry.question == "公司注销后公章怎么处理"  # the most frequent wording
        assert set(entry.paraphrases) == {"注销以后公章怎么办", "注销了公章要交回吗"}
        assert repo.topic(entry.topic_id) is not None  # the closest entry's topic, or the staff topic
        assert repo.history(entry.id)[0].note == "由 4 条未回答的问题生成"
    with session_scope() as session:
        assert unanswered_report(session, days=7).groups == []
    with pytest.raises(NotFound), curation_repository() as repo:  # a colleague clicked the same group
        draft_from_group(repo, group.ids, ADMIN)


def test_an_unrelated_group_goes_to_the_staff_topic(database):
    add("推荐一部好看的电影")
    with session_scope() as session:
        ids = unanswered_report(session, days=7).groups[0].ids
    with curation_repository() as repo:
        assert draft_from_group(repo, ids, ADMIN).entry.topic_id == "staff"
        assert repo.topic("staff").title.startswith("其他问题")


def test_sparklines_scale_to_the_busiest_bucket():
    assert sparkline([0, 0, 0]) == "▁▁▁"
    line = sparkline([0, 1, 5, 10])
    assert line[0] == "▁" and line[-1] == "█" and line[1] < line[2] < line[3]


def test_questions_handed_to_an_officer_are_included_once(database):
    from core.handoff.repository import NewTicket, ticket_repository

    with ticket_repository() as tickets:
        for summary in ("注销以后公章怎么办", "公司注销后公章怎么处理"):
            tickets.open_ticket(NewTicket(sender_id="u1", channel="rest", reason="user_request", topic="注销与歇业",
                                          summary=summary, contact_name="陈先生", phone="13812345678", consent=True))
    with session_scope() as session:
        first = unanswered_report(session, days=7, suggest=False)
    with session_scope() as session:
        again = unanswered_report(session, days=7, reason="handoff", suggest=False)
    assert first.total == 2 and first.groups[0].reasons == {"handoff": 2}
    assert again.total == 2  # copied once, however often the page is opened
    with session_scope() as session:
        stored = session.query(UnansweredQuestion).all()
        assert {q.text for q in stored} == {"注销以后公章怎么办", "公司注销后公章怎么处理"}
        assert all("陈" not in q.text and "138" not in q.text for q in stored)
