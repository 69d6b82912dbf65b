"""Reasoning about the described case (actions/cases.py, core/dialogue/cases.py) with the real domain, the real
knowledge over a temporary database and the real extractor: the verdict, its reason and its source."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk.executor import CollectingDispatcher

from actions.answers import ActionAnswer, ActionClarify
from actions.cases import ActionReasonCase, CaseReasoner
from core.dialogue import cases as reasoning
from core.dialogue.knowledge import cases, checks


def _slots(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _text(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages)


def _buttons(dispatcher: CollectingDispatcher) -> List[str]:
    return [b["payload"] for m in dispatcher.messages for b in (m.get("buttons") or [])]


async def _describe(domain, tracker, action=None):
    dispatcher = CollectingDispatcher()
    events = await (action or ActionReasonCase()).run(dispatcher, tracker, domain)
    return dispatcher, events


# --- 简易 or 普通注销, over several turns ----------------------------------------------------------------------------


async def test_i_want_to_deregister_asks_for_the_facts_that_decide(database, domain, tracker_for):
    for intent, action in (("nlu_fallback", ActionClarify()), ("general_dereg_process", ActionAnswer())):
        dispatcher, events = await _describe(domain, tracker_for("我想注销公司", intent=intent), action)
        assert len(dispatcher.messages) == 1
        text = _text(dispatcher)
        assert "简易注销" in text and "普通注销" in text and "还有没有没还清的债务" in text
        assert "📖 依据" in text and "第三十三条" in text
        assert "/check_simple_dereg_eligibility" in _buttons(dispatcher)
        assert _slots(events)["case_decision"] == "dereg" and _slots(events)["current_topic"] == "deregistration"


async def test_unpaid_bank_loan_after_i_want_to_deregister_means_general_deregistration(database, domain, tracker_for):
    tracker = tracker_for("两个股东，公司还欠银行贷款没还清", intent="describe_case", slots={"case_decision": "dereg"})
    dispatcher, events = await _describe(domain, tracker)
    text = _text(dispatcher)
    assert "不能走简易注销" in text and "要走普通注销" in text
    assert "没有债权债务或已经清偿完" in text  # the reason: unsettled debts exclude 简易注销
    assert "成立清算组" in text and "清税证明" in text  # the way forward
    assert "📖 依据：《公司法》第二百三十二条" in text and "第三十三条" in text
    slots = _slots(events)
    assert slots["sd_debts"] is True and slots["last_answer_intent"] == "general_dereg_process"
    assert "/check_materials" in _buttons(dispatcher) or "utter_case_dereg_buttons" in text


async def test_the_same_description_without_context_is_no_deregistration_case(database, domain, tracker_for):
    dispatcher = CollectingDispatcher()
    result = CaseReasoner().reason(dispatcher, tracker_for("两个股东，公司还欠银行贷款没还清", intent="describe_case"), domain)
    assert not result.handled and not dispatcher.messages


async def test_other_exclusions_each_give_their_reason(database, domain, tracker_for):
    for text, reason in [
        ("公司被列入经营异常名录了", "列入经营异常名录或严重违法失信名单的"),
        ("有个股东的股权被冻结了", "被冻结、出质或有动产抵押"),
        ("公司有一笔官司还没打完", "正处于诉讼、仲裁程序中"),
        ("税务局正在立案调查", "正被立案调查"),
        ("还有几个月的社保没交", "社保费"),
    ]:
        tracker = tracker_for(text, intent="describe_case", slots={"case_decision": "dereg"})
        dispatcher, events = await _describe(domain, tracker)
        assert "不能走简易注销" in _text(dispatcher) and reason in _text(dispatcher), text


async def test_facts_gathered_over_turns_then_simple_deregistration(database, domain, tracker_for):
    tracker = tracker_for("没有欠债，也没有被列入异常名录", intent="describe_case", slots={"case_decision": "dereg"})
    dispatcher, events = await _describe(domain, tracker)
    assert dispatcher.messages[0]["response"] == "utter_case_dereg_open"
    slots = _slots(events)
    assert slots["sd_debts"] is False and slots["sd_abnormal"] is False
    # everything else denied in a later message: 简易注销, with the 20-day notice
    known = {f"sd_{k}": False for k in ("listed", "debts", "abnormal", "pledged", "investment", "revoked", "penalty", "branches", "approval")}
    tracker = tracker_for("也没有打官司", intent="describe_case", slots={"case_decision": "dereg", **known})
    dispatcher, events = await _describe(domain, tracker)
    text = _text(dispatcher)
    assert "可以走简易注销" in text and "20日" in text and "📖 依据" in text


async def test_an_individual_business_with_unpaid_tax_gets_the_individual_route(database, domain, tracker_for):
    tracker = tracker_for("个体户还欠税没交清，想注销", intent="describe_case")
    dispatcher, _ = await _describe(domain, tracker)
    text = _text(dispatcher)
    assert "不能走简易注销" in text and "不用解散决议和清算报告" in text


async def test_a_question_describing_the_case_gets_the_verdict_not_the_general_conditions(database, domain, tracker_for):
    dispatcher = CollectingDispatcher()
    tracker = tracker_for("公司还欠银行贷款，能简易注销吗", intent="simple_dereg_eligibility")
    await ActionAnswer().run(dispatcher, tracker, domain)
    assert "不能走简易注销" in _text(dispatcher) and "普通注销" in _text(dispatcher)


async def test_a_plain_question_is_answered_and_the_check_offered(database, domain, tracker_for):
    dispatcher = CollectingDispatcher()
    await ActionAnswer().run(dispatcher, tracker_for("简易注销要满足什么条件", intent="simple_dereg_eligibility"), domain)
    text = _text(dispatcher)
    assert "📖 来源" in text and "不能走简易注销" not in text  # the knowledge entry
    assert "/check_simple_dereg_eligibility" in _buttons(dispatcher)  # the self-check is offered, not started


async def test_inside_a_form_no_check_is_offered(database, domain, tracker_for):
    dispatcher = CollectingDispatcher()
    tracker = tracker_for("简易注销要满足什么条件", intent="simple_dereg_eligibility")
    tracker.active_loop = {"name": "materials_form"}
    await ActionAnswer().run(dispatcher, tracker, domain)
    assert "/check_simple_dereg_eligibility" not in _buttons(dispatcher)


# --- 变更登记 or 备案 -------------------------------------------------------------------------------------------------


async def test_a_new_supervisor_needs_only_filing(database, domain, tracker_for):
    dispatcher = CollectingDispatcher()
    await ActionAnswer().run(dispatcher, tracker_for("我们换了个监事，要去办变更登记吗", intent="address_change"), domain)
    text = _text(dispatcher)
    assert "是备案事项" in text and "不用办变更登记" in text and "变更登记由登记机关责令改正" in text
    assert "第九条" in text and "以登记窗口审核为准" in text


async def test_several_changes_are_sorted_into_registration_and_filing(database, domain, tracker_for):
    tracker = tracker_for("公司换了法人和经营范围，还换了两个董事", intent="describe_case")
    dispatcher, events = await _describe(domain, tracker)
    text = _text(dispatcher)
    assert "📝 法定代表人、经营范围是登记事项" in text and "🗂 董事、监事、高级管理人员是备案事项" in text
    assert "新任法定代表人签署" in text  # the note of the item, with its source
    assert _slots(events)["case_decision"] == "change"


async def test_a_plain_how_to_change_question_is_left_to_the_knowledge_entry(database, domain, tracker_for):
    dispatcher = CollectingDispatcher()
    result = CaseReasoner().reason(dispatcher, tracker_for("我想换法人", intent="nlu_fallback"), domain, strict=True)
    assert not result.handled


# --- which entity type; whether an address can be declared -------------------------------------------------------


async def test_which_entity_type_fits_the_described_case(database, domain, tracker_for):
    dispatcher = CollectingDispatcher()
    await ActionAnswer().run(dispatcher, tracker_for("我一个人开小吃店，开个体户还是公司好", intent="startup_entity_choice"), domain)
    assert "一个人投资、小本生意" in _text(dispatcher) and "最简单的是个体工商户" in _text(dispatcher)
    dispatcher = CollectingDispatcher()
    await ActionAnswer().run(dispatcher, tracker_for("我们三个朋友合伙开工作室，选什么类型好", intent="startup_entity_choice"), domain)
    text = _text(dispatcher)
    assert "有限责任公司或合伙企业" in text and "无限连带责任" in text and "《合伙企业法》" in text


async def test_an_address_case_gets_the_address_verdict(database, domain, tracker_for):
    dispatcher = CollectingDispatcher()
    await ActionAnswer().run(dispatcher, tracker_for("我在自己家里开个设计工作室，地址能不能注册", intent="address_residence"), domain)
    assert "可以登记" in _text(dispatcher) and "📖 依据" in _text(dispatcher)
    dispatcher, events = await _describe(domain, tracker_for("租了居民楼的房子，想开奶茶店", intent="describe_case"))
    assert "需要向窗口确认" in _text(dispatcher) and "业主一致同意" in _text(dispatcher)
    assert _slots(events)["addr_type"] == "residential" and _slots(events)["addr_business"] == "catering"


async def test_a_partial_address_case_is_answered_from_the_knowledge_and_prefills_the_check(database, domain, tracker_for):
    dispatcher = CollectingDispatcher()
    events = await ActionAnswer().run(dispatcher, tracker_for("住宅能注册公司吗", intent="address_residence"), domain)
    assert "📖 来源" in _text(dispatcher) and "/check_address" in _buttons(dispatcher)
    assert _slots(events)["addr_type"] == "residential"


async def test_a_question_that_is_no_case_is_not_reasoned_about(database, domain, tracker_for):
    for text in ("开公司要多久", "简易注销公示多少天", "名称可以用哪些字"):
        dispatcher = CollectingDispatcher()
        assert not CaseReasoner().reason(dispatcher, tracker_for(text, intent="nlu_fallback"), domain).handled, text


# --- the pure parts --------------------------------------------------------------------------------------------------


def test_change_items_skip_words_that_only_contain_an_item():
    found = [i.key for i in reasoning.change_items("股东会决议换了法定代表人", cases())]
    assert found == ["legal_rep"]


def test_knowledge_cites_facts_and_every_offer_has_a_button():
    knowledge = cases()
    assert all(knowledge.facts[name] for name in ("deregistration", "change", "entity_choice", "address"))
    for outcome in knowledge.entity_outcomes:
        assert outcome.sourced.source and outcome.sourced.rule_date
    assert checks().offer("no_such_intent", "deregistration") == "simple_dereg"
    assert checks().offer("no_such_intent", None) is None


async def test_someone_elses_neighbouring_matter_is_referred_not_reasoned(database, domain, tracker_for):
    dispatcher = CollectingDispatcher()
    tracker = tracker_for("员工申请了劳动仲裁，老板说公司要注销了", intent="describe_case")
    assert not CaseReasoner().reason(dispatcher, tracker, domain).handled  # the employee's question: a referral
    tracker = tracker_for("我们公司还有一个劳动仲裁没结束，想注销", intent="describe_case")
    assert CaseReasoner().reason(dispatcher, tracker, domain).handled  # the owner's own case
    assert "正处于诉讼、仲裁程序中" in _text(dispatcher)


async def test_which_type_over_two_turns(database, domain, tracker_for):
    dispatcher = CollectingDispatcher()
    events = await ActionAnswer().run(dispatcher, tracker_for("开个体户还是开公司好", intent="startup_entity_choice"), domain)
    assert "📖 来源" in _text(dispatcher)  # no case described yet: the knowledge answer
    slots = {"last_answer_intent": _slots(events).get("last_answer_intent"), "current_topic": _slots(events).get("current_topic")}
    dispatcher, events = await _describe(domain, tracker_for("我和老婆两个人一起做", intent="describe_case", slots=slots))
    assert "家里人一起经营" in _text(dispatcher) and "家庭经营" in _text(dispatcher) and "📖 依据" in _text(dispatcher)
    assert _slots(events)["case_decision"] == "entity"


async def test_details_outside_a_form_after_a_type_question_get_the_verdict_not_the_materials_form(
    database, domain, tracker_for
):
    from actions.materials.actions import ActionMaterialsChecklist
    from actions.materials.forms import ValidateMaterialsForm

    slots = {"last_answer_intent": "startup_entity_choice", "current_topic": "startup"}
    dispatcher = CollectingDispatcher()
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for("我和老婆两个人一起做", intent="inform_condition", slots=slots), domain)
    assert "家里人一起经营" in _text(dispatcher) and "您要办哪项业务" not in _text(dispatcher)
    assert _slots(events)["requested_slot"] is None  # the form ends at once …
    closing = CollectingDispatcher()
    await ActionMaterialsChecklist().run(closing, tracker_for("", slots=_slots(events)), domain)
    assert not closing.messages  # … and its closing action says nothing more
    # without that context the details start the materials check as before
    dispatcher = CollectingDispatcher()
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for("我是家庭经营的", intent="inform_condition"), domain)
    assert _slots(events)["mat_family_run"] is True and _slots(events)["requested_slot"] == "materials_procedure"
