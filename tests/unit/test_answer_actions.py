"""action_answer and action_clarify over the real knowledge base (a temporary copy per test) and the real domain."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from actions.answers import ActionAnswer, ActionClarify
from core.knowledge.repository import knowledge_repository


def texts(dispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def slot_events(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def run(action, dispatcher, tracker, domain):
    return await action.run(dispatcher, tracker, domain)


async def test_startup_question_gets_the_half_day_process_with_its_source(database, dispatcher, domain, tracker_for):
    events = await run(ActionAnswer(), dispatcher, tracker_for("开公司要多久", "startup_process"), domain)
    reply = texts(dispatcher)
    assert "0.5" in reply and "一网通" in reply
    assert reply.strip().splitlines()[-1].startswith("📖 来源：")
    assert slot_events(events)["current_topic"] == "startup"
    assert slot_events(events)["last_answer_intent"] == "startup_process"


async def test_simple_deregistration_notice_is_twenty_days(database, dispatcher, domain, tracker_for):
    await run(ActionAnswer(), dispatcher, tracker_for("简易注销公示多久", "simple_dereg_notice"), domain)
    reply = texts(dispatcher)
    assert "20" in reply
    assert "来源" in reply


async def test_individual_business_variant_is_chosen_from_the_entity(database, dispatcher, domain, tracker_for):
    entity = [{"entity": "entity_type", "value": "个体工商户", "start": 0, "end": 3}]
    tracker = tracker_for("个体户简易注销要公示吗", "simple_dereg_notice", entities=entity)
    events = await run(ActionAnswer(), dispatcher, tracker, domain)
    reply = texts(dispatcher)
    assert "10" in reply and "公示" in reply
    assert slot_events(events)["entity_type"] == "个体工商户"


async def test_that_about_individual_business_repeats_the_last_question_for_it(database, dispatcher, domain, tracker_for):
    entity = [{"entity": "entity_type", "value": "个体工商户", "start": 1, "end": 4}]
    tracker = tracker_for(
        "那个体户呢", "inform_entity_type", entities=entity,
        slots={"last_answer_intent": "simple_dereg_notice", "current_topic": "deregistration"},
    )
    await run(ActionAnswer(), dispatcher, tracker, domain)
    assert "10" in texts(dispatcher)


async def test_how_long_follows_the_topic_of_the_conversation(database, dispatcher, domain, tracker_for):
    with knowledge_repository() as kb:
        topic = kb.topic_of_intent("simple_dereg_notice")
        expected = kb.answer_for_intent(kb.followup_intent(topic, "duration"))
    tracker = tracker_for("要多久？", "followup_duration", slots={"current_topic": topic})
    await run(ActionAnswer(), dispatcher, tracker, domain)
    assert expected.answer.splitlines()[0] in texts(dispatcher)


async def test_how_long_without_a_topic_asks_which_procedure(database, dispatcher, domain, tracker_for):
    await run(ActionAnswer(), dispatcher, tracker_for("要多久", "followup_duration"), domain)
    assert dispatcher.messages[0]["response"] == "utter_ask_followup_topic"


async def test_unknown_intent_says_so_and_offers_an_officer(database, dispatcher, domain, tracker_for):
    await run(ActionAnswer(), dispatcher, tracker_for("随便问问", "no_such_topic"), domain)
    assert dispatcher.messages[0]["response"] == "utter_no_answer"


async def test_long_messages_are_answered_on_their_first_part(database, dispatcher, domain, tracker_for):
    text = "开公司要多久" + "我想问一下开公司的事情。" * 250
    await run(ActionAnswer(), dispatcher, tracker_for(text, "startup_process"), domain)
    assert "2000" in dispatcher.messages[0]["text"]
    assert "0.5" in texts(dispatcher)


async def test_unconfirmed_points_are_flagged_for_the_window(database, dispatcher, domain, tracker_for):
    with knowledge_repository() as kb:
        flagged = [a for a in kb.published_answers() if a.to_confirm and a.intent]
    if not flagged:
        pytest.fail("the knowledge base should hold entries with points to confirm (〔待确认〕 facts)")
    answer = flagged[0]
    await run(ActionAnswer(), dispatcher, tracker_for(answer.question, answer.intent), domain)
    assert "请以登记窗口或CBSO首席商事服务官的最新口径为准" in texts(dispatcher)


async def test_clarify_offers_the_two_most_likely_topics(database, dispatcher, domain, tracker_for):
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.3},
        {"name": "simple_dereg_notice", "confidence": 0.25},
        {"name": "greet", "confidence": 0.2},
        {"name": "general_dereg_process", "confidence": 0.15},
        {"name": "startup_process", "confidence": 0.1},
    ]
    await run(ActionClarify(), dispatcher, tracker_for("嗯嗯那个那个", "nlu_fallback", ranking=ranking), domain)
    message = dispatcher.messages[0]
    assert "您是想问" in message["text"]
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads == ["/simple_dereg_notice", "/general_dereg_process", "/deny"]


async def test_clarify_answers_a_close_paraphrase_from_the_knowledge_base(database, dispatcher, domain, tracker_for):
    ranking = [{"name": "nlu_fallback", "confidence": 0.3}]
    await run(ActionClarify(), dispatcher, tracker_for("简易注销公示期多少天", "nlu_fallback", ranking=ranking), domain)
    assert "20" in texts(dispatcher) and "📖 来源" in texts(dispatcher)


async def test_clarify_offers_close_entries_as_buttons(database, dispatcher, domain, tracker_for):
    ranking = [{"name": "nlu_fallback", "confidence": 0.3}]
    await run(ActionClarify(), dispatcher, tracker_for("变更的事情", "nlu_fallback", ranking=ranking), domain)
    message = dispatcher.messages[0]
    assert "您是想问" in message["text"] and len(message["buttons"]) >= 2
    assert message["buttons"][-1]["payload"] == "/deny"


async def test_out_of_scope_is_recorded_for_staff_and_answered_politely(database, dispatcher, domain, tracker_for):
    from sqlalchemy import select

    from core.db import session_scope
    from core.knowledge.models import UnansweredQuestion

    await run(ActionClarify(), dispatcher, tracker_for("明天天气怎么样", "out_of_scope"), domain)
    assert dispatcher.messages[0]["response"] == "utter_out_of_scope"
    with session_scope() as session:
        rows = session.execute(select(UnansweredQuestion)).scalars().all()
        assert [(r.text, r.reason) for r in rows] == [("明天天气怎么样", "out_of_scope")]


async def test_clarify_without_candidates_offers_the_menu(database, dispatcher, domain, tracker_for):
    ranking = [{"name": "nlu_fallback", "confidence": 0.3}, {"name": "greet", "confidence": 0.2}]
    await run(ActionClarify(), dispatcher, tracker_for("啊啊啊", "nlu_fallback", ranking=ranking), domain)
    assert dispatcher.messages[0]["response"] == "utter_clarify_none"


def test_slot_events_are_plain_rasa_events():
    assert SlotSet("current_topic", "x")["event"] == "slot"


async def test_a_staff_entry_asked_word_for_word_wins_over_the_nlu_topic(database, dispatcher, domain, tracker_for):
    from datetime import datetime

    from core.db import session_scope
    from core.knowledge.models import KnowledgeEntry

    with session_scope() as session:
        session.add(KnowledgeEntry(
            id="staff.nursing_room", topic_id="startup", intent=None, entity_types=["all"],
            question="办事大厅哪里可以喂奶", paraphrases=["政务中心有母婴室吗"], answer="政务服务中心一楼设有母婴室。",
            buttons=[], source="海珠区政务服务中心公告", rule_date="2026-11", reviewed="2026-11-25",
            status="published", origin="staff", updated_by="officer1", updated_at=datetime.utcnow(),
        ))
    # the NLU filed it as a short follow-up and there is no topic yet: the staff entry answers
    await run(ActionAnswer(), dispatcher, tracker_for("办事大厅哪里可以喂奶", "followup_where"), domain)
    assert "母婴室" in texts(dispatcher)


async def test_how_long_after_ordinary_deregistration_is_about_ordinary_deregistration(
    database, dispatcher, domain, tracker_for
):
    slots = {"current_topic": "deregistration", "last_answer_intent": "general_dereg_process"}
    await run(ActionAnswer(), dispatcher, tracker_for("要多久？", "followup_duration", slots=slots), domain)
    reply = texts(dispatcher)
    assert "清算组" in reply and "公示期是 20 天" not in reply


async def test_a_long_message_that_collapses_short_gets_no_note(database, dispatcher, domain, tracker_for):
    text = "开公司要多久" + "？" * 2500
    await run(ActionAnswer(), dispatcher, tracker_for(text, "startup_process"), domain)
    assert "2000" not in dispatcher.messages[0]["text"]


async def test_that_about_a_type_the_general_answer_covers_names_the_type(database, dispatcher, domain, tracker_for):
    entity = [{"entity": "entity_type", "value": "个体工商户", "start": 1, "end": 4}]
    tracker = tracker_for(
        "那个体户呢", "inform_entity_type", entities=entity,
        slots={"last_answer_intent": "startup_process", "current_topic": "startup", "entity_type": "有限责任公司"},
    )
    await run(ActionAnswer(), dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"] == "对个体工商户来说："
    assert "0.5" in texts(dispatcher)


async def test_a_variant_chosen_from_earlier_in_the_conversation_is_named(database, dispatcher, domain, tracker_for):
    tracker = tracker_for("简易注销要公示多少天", "simple_dereg_notice", slots={"entity_type": "个体工商户"})
    await run(ActionAnswer(), dispatcher, tracker, domain)
    assert "按您前面说的「个体工商户」回答" in dispatcher.messages[0]["text"]
    assert "那公司呢" in dispatcher.messages[0]["text"]


async def test_answers_without_the_domain_as_rasa_sends_them_with_selective_domain(database, dispatcher, tracker_for):
    """endpoints.yml enable_selective_domain: Rasa sends no domain to action_answer; its texts come from the files."""
    entity = [{"entity": "entity_type", "value": "个体工商户", "start": 1, "end": 4}]
    tracker = tracker_for(
        "那个体户呢", "inform_entity_type", entities=entity,
        slots={"last_answer_intent": "simple_dereg_notice", "current_topic": "deregistration"},
    )
    await run(ActionAnswer(), dispatcher, tracker, {})
    reply = texts(dispatcher)
    assert "10" in reply and "个体工商户" in reply and "📖 来源" in reply


async def test_clarify_inside_a_form_that_rejected_the_message_goes_back_to_listening(
    database, dispatcher, domain, tracker_for
):
    """Nothing else predicts listening there: Rasa ran action_clarify ten times in one turn (found by the load test
    on the scaled stack, tests/scaled/test_scaled_load.py)."""
    ranking = [{"name": "nlu_fallback", "confidence": 0.3}]
    tracker = tracker_for("能不能帮我弄一下", "nlu_fallback", ranking=ranking)
    tracker.active_loop = {"name": "address_check_form", "rejected": True}
    events = await run(ActionClarify(), dispatcher, tracker, domain)
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "action_listen"}
    assert len(dispatcher.messages) == 1
    outside = await run(ActionClarify(), dispatcher, tracker_for("能不能帮我弄一下", "nlu_fallback", ranking=ranking),
                        domain)
    assert not any(e.get("event") == "followup" for e in outside)  # outside a form the rules listen already
