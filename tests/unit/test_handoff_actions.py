"""The hand-off's custom actions and form validations (actions/handoff/actions.py), on a temporary database."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import ActionClarify
from actions.handoff import REASON_KB_GAP, start_handoff_events
from actions.handoff.actions import (
    ActionAskHandoffConsent,
    ActionHandoffCancel,
    ActionHandoffRate,
    ActionHandoffRelayEnd,
    ActionHandoffStart,
    ActionHandoffSubmit,
    ActionSessionStart,
    ActionTicketStatus,
    ValidateHandoffChatForm,
    ValidateHandoffForm,
    summary_draft,
    transcript,
)
from core.accounts.models import Officer
from core.handoff import names
from core.handoff.delivery import replies_for_returning_user
from core.handoff.models import AUTHOR_EVENT, STATUS_ASSIGNED, STATUS_CLOSED, STATUS_OPEN
from core.handoff.repository import ticket_repository
from tests.unit.test_handoff_repository import make_officer, open_ticket

CHINA = ZoneInfo("Asia/Shanghai")


def china(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHINA).astimezone(timezone.utc).replace(tzinfo=None)


def user(text: str, intent: str, confidence: float = 1.0, timestamp: float = 1764000000.0) -> Dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "timestamp": timestamp,
        "parse_data": {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": []},
    }


def bot(text: str) -> Dict[str, Any]:
    return {"event": "bot", "text": text, "timestamp": 1764000001.0}


def action(name: str) -> Dict[str, Any]:
    return {"event": "action", "name": name}


def tracker(
    text: str,
    intent: str,
    confidence: float = 1.0,
    slots: Optional[Dict[str, Any]] = None,
    history: Optional[List[Dict[str, Any]]] = None,
    sender: str = "user-1",
    active_loop: Optional[str] = None,
    channel: str = "rest",
    entities: Optional[List[Dict[str, Any]]] = None,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "entities": entities or [],
    }
    current = {**user(text, intent, confidence), "input_channel": channel, "parse_data": latest}
    events = [{"event": "session_started"}, *(history or []), current]
    return Tracker(
        sender, slots or {}, latest, events, False, None, {"name": active_loop} if active_loop else {}, "action_listen"
    )


def responses(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


def event_map(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e.get("value") for e in events if e.get("event") == "slot"}


def loops(events: List[Dict[str, Any]]) -> List[Optional[str]]:
    return [e["name"] for e in events if e.get("event") == "active_loop"]


def followup(events: List[Dict[str, Any]]) -> Optional[str]:
    return next((e["name"] for e in events if e.get("event") == "followup"), None)


# ---- starting ---------------------------------------------------------------------------------------------------


async def test_asking_for_a_person_opens_the_form_with_a_summary_from_the_conversation(database, domain):
    history = [user("个体户转公司要准备什么材料", "individual_to_company"), bot("……"), action("action_answer")]
    dispatcher = CollectingDispatcher()
    events = await ActionHandoffStart().run(dispatcher, tracker("转人工", "request_human", history=history), domain)
    assert responses(dispatcher) == ["utter_handoff_intro_user_request"]
    slots = event_map(events)
    assert slots[names.SUMMARY_DRAFT] == "个体户转公司要准备什么材料"
    assert slots[names.REASON] == "user_request" and slots[names.TOPIC] is None
    assert followup(events) == names.HANDOFF_FORM


@pytest.mark.parametrize(
    "text, intent, intro, topic",
    [
        ("我要投诉", "request_human", "utter_handoff_intro_user_request", "投诉与建议"),
        ("没用", "not_helpful", "utter_handoff_intro_not_helpful", None),
        ("你们电话多少", "request_human", "utter_handoff_intro_user_request", None),
    ],
)
async def test_the_introduction_follows_the_reason(database, domain, text, intent, intro, topic):
    dispatcher = CollectingDispatcher()
    events = await ActionHandoffStart().run(dispatcher, tracker(text, intent), domain)
    said = responses(dispatcher)
    assert said[0] == intro
    assert ("utter_handoff_phone_note" in said) == ("电话" in text)
    assert event_map(events)[names.TOPIC] == topic


async def test_another_action_can_start_a_handoff_with_its_own_summary(database, domain):
    """A materials check that meets a case the knowledge base does not cover returns start_handoff_events."""
    events = start_handoff_events(REASON_KB_GAP, summary="合伙企业分支机构的材料", topic="变更登记")
    assert followup(events) == "action_handoff_start"
    slots = event_map(events)
    dispatcher = CollectingDispatcher()
    events = await ActionHandoffStart().run(dispatcher, tracker("核对材料", "materials_check", slots=slots), domain)
    assert responses(dispatcher) == ["utter_handoff_intro_kb_gap"]
    assert event_map(events)[names.SUMMARY_DRAFT] == "合伙企业分支机构的材料"
    assert event_map(events)[names.TOPIC] == "变更登记"


async def test_a_user_with_an_open_ticket_goes_back_to_it(database, domain):
    _id, number, _token = open_ticket()
    dispatcher = CollectingDispatcher()
    events = await ActionHandoffStart().run(dispatcher, tracker("转人工", "request_human"), domain)
    assert number in responses(dispatcher)[0]
    assert followup(events) == names.CHAT_FORM and event_map(events)[names.TICKET] == number


def test_summary_draft_skips_messages_without_the_question():
    history = [
        user("你好", "greet"),
        user("/startup_process", "startup_process"),
        user("开公司\n要多久", "startup_process"),
    ]
    assert summary_draft(tracker("人工", "request_human", history=history)) == "开公司 要多久"
    assert summary_draft(tracker("转人工", "request_human", history=[user("你好", "greet")])) is None
    long = "我想把个体户转成有限公司，原来的字号能不能保留，需要先注销个体户吗，还有税务那边怎么处理，社保和银行账户要不要变更，谢谢您"
    draft = summary_draft(tracker(long, "request_human"))
    assert len(draft) == 60 and draft.endswith("…") and "，" in draft  # one line, Chinese punctuation kept


def test_transcript_stops_where_the_handoff_started():
    history = [
        user("开公司要多久", "startup_process"),
        bot("0.5天"),
        action("action_handoff_start"),
        bot("好的，我帮您转…"),
    ]
    lines = transcript(tracker("陈先生", "greet", history=history))
    assert [(line.author, line.text) for line in lines] == [("user", "开公司要多久"), ("bot", "0.5天")]


# ---- the form -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slot, value, expected, said",
    [
        (names.TOPIC, "注销与歇业", "注销与歇业", []),
        (names.TOPIC, "投诉与建议", "投诉与建议", []),
        (names.SUMMARY, "确认", "开公司要多久", []),
        (names.SUMMARY, "我想问住所申报要什么材料", "我想问住所申报要什么材料", []),
        (names.SUMMARY, "啊", None, ["utter_handoff_invalid_summary"]),
        (names.CONTACT_NAME, "陈先生", "陈先生", []),
        (names.CONTACT_NAME, "13812345678", None, ["utter_handoff_invalid_name"]),
        # a question sent where the name is asked is not taken as the name
        (names.CONTACT_NAME, "开公司要什么材料", None, ["utter_handoff_name_is_question"]),
        (names.CONTACT_NAME, "個體戶點樣註銷", None, ["utter_handoff_name_is_question"]),
        (names.CONTACT_NAME, "李生", "李生", []),
        (names.PHONE, "138 1234 5678", "13812345678", []),
        (names.PHONE, "+853 6612 3456", "+853 66123456", []),
        (names.PHONE, "12345", None, ["utter_handoff_invalid_phone"]),
        (names.CONSENT, "同意", True, []),
        (names.CONSENT, "你好", None, ["utter_handoff_consent_required"]),
        # abuse is neither a topic, a summary nor a name
        (names.TOPIC, "点解你咁蠢", None, ["utter_handoff_invalid_topic"]),
        (names.SUMMARY, "点解你咁蠢", None, ["utter_handoff_invalid_summary"]),
        (names.CONTACT_NAME, "蠢材", None, ["utter_handoff_invalid_name"]),
        # the form validates slots set before it starts (action_handoff_start empties them): silently
        (names.TOPIC, None, None, []),
        (names.SUMMARY, None, None, []),
        (names.CONTACT_NAME, None, None, []),
        (names.PHONE, None, None, []),
        (names.CONSENT, None, None, []),
    ],
)
async def test_form_validation(domain, slot, value, expected, said):
    dispatcher = CollectingDispatcher()
    t = tracker(value, "greet", 0.5, slots={names.SUMMARY_DRAFT: "开公司要多久"})
    result = await getattr(ValidateHandoffForm(), f"validate_{slot}")(value, dispatcher, t, domain)
    assert result[slot] == expected
    assert responses(dispatcher) == said


FORM_SO_FAR = {names.TOPIC: "开办企业", names.SUMMARY: "开公司要多久", names.CONTACT_NAME: "陈先生"}


@pytest.mark.parametrize(
    "asked, text, intent, said",
    [
        (names.TOPIC, "唉算啦", "deny", "utter_handoff_cancelled"),
        (names.TOPIC, "取消", "out_of_scope", "utter_handoff_cancelled"),
        (names.SUMMARY, "算了", "deny", "utter_handoff_cancelled"),
        (names.SUMMARY, "不用了", "deny", "utter_handoff_cancelled"),
        (names.CONTACT_NAME, "唔使喇", "deny", "utter_handoff_cancelled"),
        (names.PHONE, "不要了", "deny", "utter_handoff_cancelled"),
        (names.CONSENT, "不同意", "deny", "utter_handoff_consent_declined"),
        (names.CONSENT, "不", "deny", "utter_handoff_consent_declined"),
    ],
)
async def test_giving_up_or_refusing_consent_ends_the_form_without_a_ticket(database, domain, asked, text, intent, said):
    """The message is not stored as the answer: the form ends, the bot listens (no submit, no second question)."""
    before = names.FORM_SLOTS[: names.FORM_SLOTS.index(asked)]
    slots = {slot: FORM_SO_FAR.get(slot, "13812345678") for slot in before}  # the questions answered so far
    slots.update({names.REQUESTED_SLOT: asked, asked: text})  # what the form's from_text mapping extracted
    t = tracker(text, intent, 0.9, slots=slots, active_loop=names.HANDOFF_FORM)
    t.slots_to_validate = lambda: {asked: text}
    dispatcher = CollectingDispatcher()
    events = await ValidateHandoffForm().run(dispatcher, t, domain)
    assert responses(dispatcher) == [said]
    values = event_map(events)
    assert values[names.REQUESTED_SLOT] is None and all(values[slot] is None for slot in names.FORM_SLOTS)
    assert followup(events) == "action_listen"
    with ticket_repository() as tickets:
        assert tickets.tickets_of("user-1") == []


async def test_an_ordinary_answer_goes_on_with_the_form(database, domain):
    t = tracker("开办企业", "startup_process", 0.9, slots={names.REQUESTED_SLOT: names.TOPIC}, active_loop=names.HANDOFF_FORM)
    t.slots_to_validate = lambda: {names.TOPIC: "开办企业"}
    events = await ValidateHandoffForm().run(CollectingDispatcher(), t, domain)
    assert event_map(events) == {names.TOPIC: "开办企业"} and followup(events) is None


async def test_summary_question_offers_the_draft(domain):
    from actions.handoff.actions import ActionAskHandoffSummary

    dispatcher = CollectingDispatcher()
    await ActionAskHandoffSummary().run(
        dispatcher, tracker("陈", "greet", slots={names.SUMMARY_DRAFT: "开公司要多久"}), domain
    )
    assert "「开公司要多久」" in dispatcher.messages[0]["text"] and dispatcher.messages[0]["buttons"]
    dispatcher = CollectingDispatcher()
    await ActionAskHandoffSummary().run(dispatcher, tracker("陈", "greet"), domain)
    assert responses(dispatcher) == ["utter_ask_handoff_summary"]


async def test_leaving_the_form(database, domain):
    dispatcher = CollectingDispatcher()
    events = await ActionHandoffCancel().run(
        dispatcher, tracker("取消人工", "end_handoff", active_loop=names.HANDOFF_FORM), domain
    )
    assert responses(dispatcher) == ["utter_handoff_cancelled"]
    assert loops(events) == [None]
    dispatcher = CollectingDispatcher()
    await ActionHandoffCancel().run(dispatcher, tracker("结束人工", "end_handoff"), domain)
    assert responses(dispatcher) == ["utter_handoff_nothing_to_end"]


# ---- the ticket -------------------------------------------------------------------------------------------------------

FORM = {
    names.TOPIC: "变更登记",
    names.SUMMARY: "个体户转公司要准备什么材料",
    names.CONTACT_NAME: "陈先生",
    names.PHONE: "13812345678",
    names.CONSENT: True,
    names.REASON: "user_request",
}


async def test_submit_in_office_hours_creates_the_ticket_with_the_transcript(database, domain):
    history = [
        user("个体户转公司要准备什么材料", "individual_to_company"),
        bot("需要……"),
        action("action_handoff_start"),
    ]
    dispatcher = CollectingDispatcher()
    submit = ActionHandoffSubmit(clock=lambda: china(2026, 11, 25, 10, 0))  # a Wednesday morning
    events = await submit.run(dispatcher, tracker("同意", "affirm", slots=FORM, history=history), domain)
    number = event_map(events)[names.TICKET]
    text = dispatcher.messages[0]["text"]
    assert number in text and "138****5678" in text and "30分钟" in text
    assert dispatcher.messages[1]["custom"]["handoff"]["ticket"] == number
    token = dispatcher.messages[1]["custom"]["handoff"]["poll_token"]
    with ticket_repository() as tickets:
        ticket = tickets.ticket_by_poll_token(token)
        assert (ticket.number, ticket.topic, ticket.phone, ticket.consent) == (number, "变更登记", "13812345678", True)
        assert [m.text for m in ticket.messages] == ["个体户转公司要准备什么材料", "需要……"]
    assert all(event_map(events)[slot] is None for slot in names.FORM_SLOTS)


async def test_submit_outside_office_hours_says_when_the_ticket_is_picked_up(database, domain):
    dispatcher = CollectingDispatcher()
    submit = ActionHandoffSubmit(clock=lambda: china(2026, 9, 30, 19, 0))  # the evening before Golden Week
    await submit.run(dispatcher, tracker("同意", "affirm", slots=FORM, channel="wechat"), domain)
    text = dispatcher.messages[0]["text"]
    assert "非工作时间" in text and "10月8日（周四）9:00" in text and "周一至周五 9:00–12:00、14:00–18:00" in text
    assert len(dispatcher.messages) == 1  # no poll token for WeChat


async def test_an_incomplete_form_opens_no_ticket(database, domain):
    dispatcher = CollectingDispatcher()
    await ActionHandoffSubmit().run(dispatcher, tracker("同意", "affirm", slots={**FORM, names.CONSENT: None}), domain)
    with ticket_repository() as tickets:
        assert tickets.tickets_of("user-1") == []
    assert dispatcher.messages == []


async def test_a_locked_database_keeps_the_form_and_a_second_consent_submits_it(database, domain, monkeypatch):
    """The database is locked by another writer for longer than DB_BUSY_TIMEOUT: no ticket, the user is told, what
    they filled in is kept and the form waits for 「同意」 again; once the lock is gone that 「同意」 opens one ticket."""
    import sqlite3

    from core import db
    from core.settings import get_settings

    monkeypatch.setenv("DB_BUSY_TIMEOUT", "1")
    get_settings.cache_clear()
    url = str(db.get_engine().url)
    db.configure(url)  # the engine takes the busy timeout when it is made
    locker = sqlite3.connect(url.split("///", 1)[1], timeout=1, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    dispatcher = CollectingDispatcher()
    submit = ActionHandoffSubmit(clock=lambda: china(2026, 11, 25, 10, 0))
    try:
        events = await submit.run(dispatcher, tracker("同意", "affirm", slots=FORM), domain)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert responses(dispatcher) == ["utter_handoff_submit_failed"]
    assert loops(events) == [names.HANDOFF_FORM] and followup(events) == "action_listen"
    slots = event_map(events)
    assert slots[names.CONSENT] is None and slots[names.REQUESTED_SLOT] == names.CONSENT
    assert names.PHONE not in slots and names.SUMMARY not in slots  # what the user gave is kept
    with ticket_repository() as tickets:
        assert tickets.tickets_of("user-1") == []

    dispatcher = CollectingDispatcher()
    events = await submit.run(dispatcher, tracker("同意", "affirm", slots=FORM), domain)
    number = event_map(events)[names.TICKET]
    with ticket_repository() as tickets:
        assert [t.number for t in tickets.tickets_of("user-1")] == [number]


async def test_the_consent_question_states_the_retention_setting(database, domain, monkeypatch):
    from core.settings import get_settings

    monkeypatch.setenv("TICKET_RETENTION_DAYS", "90")
    get_settings.cache_clear()
    dispatcher = CollectingDispatcher()
    await ActionAskHandoffConsent().run(dispatcher, tracker("138 1234 5678", "inform"), domain)
    message = dispatcher.messages[0]
    assert "保存90天" in message["text"] and "{" not in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["同意", "不同意"]


# ---- the relay ---------------------------------------------------------------------------------------------------------


async def relay(
    text: str,
    intent: str = "greet",
    confidence: float = 0.9,
    number: Optional[str] = None,
    domain=None,
    sender="user-1",
):
    dispatcher = CollectingDispatcher()
    t = tracker(text, intent, confidence, slots={names.TICKET: number}, active_loop=names.CHAT_FORM, sender=sender)
    result = await ValidateHandoffChatForm().validate_handoff_relay(text, dispatcher, t, domain)
    return result, dispatcher


def claim_and_reply(ticket_id: int, text: str) -> None:
    officer_id = make_officer("wang")
    with ticket_repository() as tickets:
        officer = tickets.session.get(Officer, officer_id)
        tickets.claim(ticket_id, officer)
        tickets.reply(tickets.ticket(ticket_id), officer, text)


async def test_messages_go_to_the_ticket_and_officer_replies_come_back(database, domain):
    ticket_id, number, _token = open_ticket()
    result, dispatcher = await relay("我是做餐饮的个体户", number=number, domain=domain)
    assert result == {names.RELAY: None, names.TICKET: number}  # the form goes on
    assert dispatcher.messages[0]["text"] == f"（已转给服务官，工单 {number}，请稍候。）"
    _result, dispatcher = await relay("另外字号能保留吗", number=number, domain=domain)
    assert dispatcher.messages == []  # the bot does not answer while the ticket is open
    claim_and_reply(ticket_id, "可以保留原字号。")
    _result, dispatcher = await relay("好的", number=number, domain=domain)
    assert responses(dispatcher) == ["👤 CBSO首席商事服务官：可以保留原字号。"]
    with ticket_repository() as tickets:
        texts = [m.text for m in tickets.ticket(ticket_id).messages]
    assert texts[-4:] == ["我是做餐饮的个体户", "另外字号能保留吗", "可以保留原字号。", "好的"]


async def test_the_relay_starting_relays_nothing(database, domain):
    ticket_id, number, _token = open_ticket()
    dispatcher = CollectingDispatcher()
    t = tracker("同意", "affirm", slots={names.TICKET: number}, active_loop=names.CHAT_FORM)
    assert await ValidateHandoffChatForm().validate_handoff_relay(None, dispatcher, t, domain) == {names.RELAY: None}
    assert dispatcher.messages == []
    with ticket_repository() as tickets:
        assert "同意" not in [m.text for m in tickets.ticket(ticket_id).messages]


async def test_status_question_while_waiting(database, domain):
    _id, number, _token = open_ticket()
    _result, dispatcher = await relay("我的工单怎么样了", "ticket_status", 0.95, number=number, domain=domain)
    said = responses(dispatcher)
    assert said[0] == "utter_ticket_status_header" and number in said[1]


async def relay_end(text: str, number: str, domain) -> List[str]:
    dispatcher = CollectingDispatcher()
    await ActionHandoffRelayEnd().run(dispatcher, tracker(text, "end_handoff", slots={names.TICKET: number}), domain)
    return responses(dispatcher)


async def test_ending_the_relay_keeps_the_ticket_open_for_the_officers(database, domain):
    ticket_id, number, _token = open_ticket()
    result, _dispatcher = await relay("结束人工", "end_handoff", number=number, domain=domain)
    assert result[names.REQUESTED_SLOT] is None  # back to the bot
    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        assert ticket.status == STATUS_OPEN and ticket.user_left  # still in the officers' queue, marked
        assert [t.id for t in tickets.queue()] == [ticket_id]
        assert ticket.messages[-1].author == AUTHOR_EVENT and "结束人工" in ticket.messages[-1].text
    said = await relay_end("结束人工", number, domain)
    assert len(said) == 1 and f"工单 {number} 仍然保留" in said[0] and "「取消人工」撤回" in said[0]

    # the officer replies later: it reaches the user with the bot's answer to their next message
    claim_and_reply(ticket_id, "您好，字号可以保留。")
    assert replies_for_returning_user("user-1", "rest") == [
        "👤 CBSO首席商事服务官：您好，字号可以保留。",
        f"（以上是服务官对工单 {number} 的回复。想继续和服务官沟通，回复「转人工」。）",
    ]
    assert replies_for_returning_user("user-1", "rest") == []  # once

    # a new session does not put them back into the relay …
    events = await ActionSessionStart().run(CollectingDispatcher(), tracker("你好", "greet"), domain)
    assert loops(events) == []
    # … asking for a person again does, with the same ticket
    dispatcher = CollectingDispatcher()
    events = await ActionHandoffStart().run(dispatcher, tracker("转人工", "request_human"), domain)
    assert followup(events) == names.CHAT_FORM and number in responses(dispatcher)[0]
    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        assert ticket.status == STATUS_ASSIGNED and not ticket.user_left
        assert [m.text for m in ticket.messages][-1] == "用户回到了人工对话。"


async def test_cancelling_before_an_officer_replied_withdraws_the_ticket(database, domain):
    ticket_id, number, _token = open_ticket()
    result, _dispatcher = await relay("取消人工", "end_handoff", number=number, domain=domain)
    assert result[names.REQUESTED_SLOT] is None
    with ticket_repository() as tickets:
        assert tickets.ticket(ticket_id).status == STATUS_CLOSED
        assert tickets.queue() == []
    assert await relay_end("取消人工", number, domain) == [
        f"好的，工单 {number} 已撤回，服务官不会再处理。现在由我（智能助手）继续为您服务。"
    ]


async def test_cancelling_after_an_officer_replied_only_leaves_the_chat(database, domain):
    ticket_id, number, _token = open_ticket()
    claim_and_reply(ticket_id, "请问是哪类个体户？")
    _result, dispatcher = await relay("取消人工", "end_handoff", number=number, domain=domain)
    assert responses(dispatcher) == ["👤 CBSO首席商事服务官：请问是哪类个体户？"]  # the waiting reply first
    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        assert ticket.status == STATUS_ASSIGNED and ticket.user_left
    said = await relay_end("取消人工", number, domain)
    assert len(said) == 1 and "不能撤回" in said[0]


async def test_ending_with_no_form_active(database, domain):
    """结束人工/取消人工 typed outside the relay (the rule without a form): the same choices."""
    ticket_id, number, _token = open_ticket()
    dispatcher = CollectingDispatcher()
    await ActionHandoffCancel().run(dispatcher, tracker("结束人工", "end_handoff"), domain)
    assert f"工单 {number} 仍然保留" in responses(dispatcher)[0]
    dispatcher = CollectingDispatcher()
    await ActionHandoffCancel().run(dispatcher, tracker("取消人工", "end_handoff"), domain)
    assert responses(dispatcher) == [f"好的，工单 {number} 已撤回，服务官不会再处理。现在由我（智能助手）继续为您服务。"]
    with ticket_repository() as tickets:
        assert tickets.ticket(ticket_id).status == STATUS_CLOSED


def test_transcripts_show_button_clicks_as_the_user_saw_them(database):
    shown_buttons = {
        "event": "bot",
        "text": "您想了解什么？",
        "timestamp": 1764000001.0,
        "data": {"buttons": [{"title": "开办企业流程", "payload": "/startup_process"}]},
    }
    history = [
        user("/greet", "greet"),  # sent by the web chat on its own: left out
        shown_buttons,
        user("/startup_process", "startup_process"),
        user('/startup_materials{"entity_type": "有限责任公司"}', "startup_materials"),  # no such button here
        action("action_handoff_start"),
    ]
    lines = transcript(tracker("陈先生", "greet", history=history))
    texts = [line.text for line in lines if line.author == "user"]
    assert texts[0] == "（点击了按钮：开办企业流程）"
    assert texts[1].startswith("（点击了按钮：") and "startup_materials" not in texts[1] and "{" not in texts[1]
    assert all(not t.startswith("/") for t in texts) and len(texts) == 2


async def test_button_clicks_during_the_relay_reach_the_officer_readably(database, domain):
    ticket_id, number, _token = open_ticket()
    await relay("/request_human", "request_human", number=number, domain=domain)
    await relay("/greet", "greet", number=number, domain=domain)
    with ticket_repository() as tickets:
        texts = [m.text for m in tickets.ticket(ticket_id).messages]
    assert texts[-1].startswith("（点击了按钮：转人工") and "/greet" not in texts and "/request_human" not in texts


async def test_a_question_about_cancelling_something_still_reaches_the_officer(database, domain):
    ticket_id, number, _token = open_ticket()
    result, _dispatcher = await relay(
        "我想取消之前核准的公司名称，怎么办", "end_handoff", 0.7, number=number, domain=domain
    )
    assert names.REQUESTED_SLOT not in result
    with ticket_repository() as tickets:
        assert tickets.ticket(ticket_id).is_active


async def test_after_resolution_the_user_is_back_with_the_bot_and_asked_for_a_rating(database, domain):
    ticket_id, number, _token = open_ticket()
    claim_and_reply(ticket_id, "请带身份证原件到窗口。")
    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        tickets.resolve(ticket, ticket.assigned_officer, "服务官已办结您的工单")
    result, dispatcher = await relay("谢谢", "thanks", number=number, domain=domain)
    assert result[names.REQUESTED_SLOT] is None
    assert responses(dispatcher) == ["👤 CBSO首席商事服务官：请带身份证原件到窗口。"]  # the notice: the next action
    dispatcher = CollectingDispatcher()
    await ActionHandoffRelayEnd().run(dispatcher, tracker("谢谢", "thanks", slots={names.TICKET: number}), domain)
    assert responses(dispatcher) == [
        f"服务官已办结您的工单 {number}，现在由我（智能助手）继续为您服务。",
        "utter_handoff_ask_rating",
    ]
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "handoff_rating", "value": "5"}]
    await ActionHandoffRate().run(
        dispatcher, tracker('/rate_service{"handoff_rating":"5"}', "rate_service", entities=entities), domain
    )
    assert "非常满意" in dispatcher.messages[0]["text"]
    with ticket_repository() as tickets:
        assert tickets.ticket(ticket_id).rating == 5 and tickets.ticket(ticket_id).rating_level == "very_satisfied"
    dispatcher = CollectingDispatcher()
    await ActionHandoffRate().run(dispatcher, tracker("4分", "rate_service"), domain)
    assert responses(dispatcher) == ["utter_handoff_no_rating_due"]


async def test_a_rating_typed_right_after_the_resolution_counts(database, domain):
    ticket_id, number, _token = open_ticket()
    claim_and_reply(ticket_id, "已为您核实。")
    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        tickets.resolve(ticket, ticket.assigned_officer, "服务官已办结您的工单")
    _result, dispatcher = await relay("5分", "rate_service", number=number, domain=domain)
    assert "非常满意" in dispatcher.messages[-1]["text"]
    dispatcher = CollectingDispatcher()
    await ActionHandoffRelayEnd().run(dispatcher, tracker("5分", "rate_service", slots={names.TICKET: number}), domain)
    assert dispatcher.messages == []


async def test_nobody_else_can_relay_into_a_ticket(database, domain):
    ticket_id, number, _token = open_ticket(sender="owner")
    result, _dispatcher = await relay("我是别人", number=number, domain=domain, sender="intruder")
    assert result[names.REQUESTED_SLOT] is None  # no ticket of this sender: the relay ends
    with ticket_repository() as tickets:
        assert "我是别人" not in [m.text for m in tickets.ticket(ticket_id).messages]


async def test_ticket_status(database, domain):
    dispatcher = CollectingDispatcher()
    await ActionTicketStatus().run(dispatcher, tracker("我的工单怎么样了", "ticket_status"), domain)
    assert responses(dispatcher) == ["utter_ticket_status_none"]
    _id, number, _token = open_ticket()
    dispatcher = CollectingDispatcher()
    status = ActionTicketStatus(clock=lambda: china(2026, 11, 28, 10, 0))  # a Saturday
    await status.run(dispatcher, tracker("我的工单怎么样了", "ticket_status"), domain)
    text = dispatcher.messages[0]["text"]
    assert number in text and "等待服务官受理，预计 11月30日（周一）9:00 起处理" in text


async def test_rating_without_a_ticket_and_a_bad_rating(database, domain):
    dispatcher = CollectingDispatcher()
    await ActionHandoffRate().run(dispatcher, tracker("5", "rate_service"), domain)
    assert responses(dispatcher) == ["utter_handoff_no_rating_due"]
    ticket_id, _number, _token = open_ticket()
    claim_and_reply(ticket_id, "好的")
    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        tickets.resolve(ticket, ticket.assigned_officer, "已办结")
    dispatcher = CollectingDispatcher()
    await ActionHandoffRate().run(dispatcher, tracker("还可以吧", "rate_service"), domain)
    assert responses(dispatcher) == ["utter_handoff_rating_invalid"]


async def test_a_new_session_resumes_the_relay_of_an_open_ticket(database, domain):
    dispatcher = CollectingDispatcher()
    events = await ActionSessionStart().run(dispatcher, tracker("你好", "greet"), domain)
    assert [e["event"] for e in events] == ["session_started", "action"]
    _id, number, _token = open_ticket()
    events = await ActionSessionStart().run(dispatcher, tracker("你好", "greet"), domain)
    assert loops(events) == [names.CHAT_FORM]
    assert event_map(events) == {names.TICKET: number, names.REQUESTED_SLOT: names.RELAY}
    assert events[-1]["name"] == "action_listen"


# ---- two fallbacks in a row --------------------------------------------------------------------------------------------


async def test_the_second_fallback_in_a_row_hands_off(database, domain):
    first = tracker("阿巴阿巴阿巴", "nlu_fallback", 0.2)
    dispatcher = CollectingDispatcher()
    events = await ActionClarify().run(dispatcher, first, domain)
    marker = event_map(events)[names.FALLBACK_TURN]
    assert marker == 1 and dispatcher.messages  # the first time it clarifies
    second = tracker(
        "呜啦呜啦呜啦",
        "nlu_fallback",
        0.2,
        slots={names.FALLBACK_TURN: marker},
        history=[user("阿巴阿巴阿巴", "nlu_fallback", 0.2), action("action_clarify")],
    )
    dispatcher = CollectingDispatcher()
    events = await ActionClarify().run(dispatcher, second, domain)
    assert followup(events) == "action_handoff_start" and event_map(events)[names.REASON] == "fallback"
    assert dispatcher.messages == []
    # not in a row: something else was understood in between
    third = tracker(
        "呜啦呜啦呜啦",
        "nlu_fallback",
        0.2,
        slots={names.FALLBACK_TURN: 1},
        history=[user("阿巴阿巴阿巴", "nlu_fallback", 0.2), user("开公司要多久", "startup_process")],
    )
    events = await ActionClarify().run(CollectingDispatcher(), third, domain)
    assert followup(events) is None


def resolved_ticket() -> tuple:
    ticket_id, number, _token = open_ticket()
    claim_and_reply(ticket_id, "已为您核实。")
    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        tickets.resolve(ticket, ticket.assigned_officer, "服务官已办结您的工单")
    return ticket_id, number


async def test_a_negative_rating_asks_for_a_comment_which_opens_a_follow_up_item(database, domain):
    from actions.handoff.actions import ActionHandoffRatingComment, ValidateHandoffRatingCommentForm
    from core.ratings import FollowupRepository

    ticket_id, number = resolved_ticket()
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "handoff_rating", "value": "2"}]
    events = await ActionHandoffRate().run(
        dispatcher, tracker('/rate_service{"handoff_rating":"2"}', "rate_service", entities=entities), domain
    )
    assert "不满意" in dispatcher.messages[0]["text"] and followup(events) == names.RATING_COMMENT_FORM
    assert event_map(events)[names.TICKET] == number
    dispatcher = CollectingDispatcher()
    slots = {names.TICKET: number}
    result = await ValidateHandoffRatingCommentForm().validate_handoff_rating_comment(
        "等了两天才有人回复", dispatcher, tracker("等了两天才有人回复", "out_of_scope", slots=slots), domain
    )
    assert result == {names.RATING_COMMENT: "stored"}
    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        assert (ticket.rating, ticket.rating_level, ticket.rating_comment) == (2, "dissatisfied", "等了两天才有人回复")
        items = FollowupRepository(tickets.session).items()
        assert [i.ticket_id for i in items] == [ticket_id]
    dispatcher = CollectingDispatcher()
    events = await ActionHandoffRatingComment().run(
        dispatcher, tracker("等了两天才有人回复", "out_of_scope", slots={**slots, names.RATING_COMMENT: "stored"}), domain
    )
    assert responses(dispatcher) == ["utter_handoff_rating_comment_thanks"]
    assert event_map(events) == {names.RATING_COMMENT: None, names.TICKET: None}


async def test_the_comment_can_be_skipped_or_given_with_the_rating(database, domain):
    from actions.handoff.actions import ValidateHandoffRatingCommentForm
    from core.ratings import FollowupRepository

    ticket_id, number = resolved_ticket()
    await ActionHandoffRate().run(CollectingDispatcher(), tracker("非常不满意", "rate_service"), domain)
    result = await ValidateHandoffRatingCommentForm().validate_handoff_rating_comment(
        "跳过", CollectingDispatcher(), tracker("跳过", "deny", slots={names.TICKET: number}), domain
    )
    assert result == {names.RATING_COMMENT: "skipped"}
    with ticket_repository() as tickets:
        assert tickets.ticket(ticket_id).rating_comment is None
        assert FollowupRepository(tickets.session).items() == []


async def test_a_comment_typed_with_the_rating_opens_the_follow_up_item_at_once(database, domain):
    from core.ratings import FollowupRepository

    other_id, _other = resolved_ticket()
    dispatcher = CollectingDispatcher()
    events = await ActionHandoffRate().run(dispatcher, tracker("不满意，材料清单没说清楚要原件", "rate_service"), domain)
    assert followup(events) is None and "回访或整改" in dispatcher.messages[0]["text"]
    with ticket_repository() as tickets:
        ticket = tickets.ticket(other_id)
        assert (ticket.rating_level, ticket.rating_comment) == ("dissatisfied", "不满意，材料清单没说清楚要原件")
        assert [i.ticket_id for i in FollowupRepository(tickets.session).items()] == [other_id]


async def test_basic_satisfaction_is_level_three_without_a_follow_up(database, domain):
    ticket_id, _number = resolved_ticket()
    dispatcher = CollectingDispatcher()
    events = await ActionHandoffRate().run(dispatcher, tracker("基本满意", "rate_service"), domain)
    assert followup(events) is None and "基本满意" in dispatcher.messages[0]["text"]
    with ticket_repository() as tickets:
        assert (tickets.ticket(ticket_id).rating, tickets.ticket(ticket_id).rating_level) == (3, "basic")
