"""The validation actions of the three forms, with the real domain, the real repository over a temporary
database and the real extractor: what each message fills, and which question comes next."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from actions.materials import names
from actions.materials.forms import ValidateAddressCheckForm, ValidateMaterialsForm, ValidateSimpleDeregForm
from core.materials.repository import materials_repository

MILK_TEA = "我想在海珠开个奶茶店，个体户，现在只有身份证和租房合同"


def _slots(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _texts(dispatcher) -> str:
    return "\n".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages)


async def test_milk_tea_in_one_message_gets_a_first_checklist_and_the_next_question(
    database, domain, dispatcher, tracker_for
):
    tracker = tracker_for(MILK_TEA, intent="check_materials")
    events = await ValidateMaterialsForm().run(dispatcher, tracker, domain)
    slots = _slots(events)
    assert slots[names.SLOT_PROCEDURE] == "setup"
    assert slots[names.SLOT_ENTITY_TYPE] == "个体工商户"
    assert slots["mat_food"] == "catering" and slots["mat_premises"] == "rented"
    assert slots[names.SLOT_HELD] == {"身份证明": True, "租赁合同": True}
    assert slots[names.SLOT_PREVIEWED] is True
    assert slots[names.REQUESTED_SLOT] == "mat_residential"
    text = _texts(dispatcher)
    assert "个体工商户登记（备案）申请书" in text and "食品经营许可" in text and "公司章程" not in text
    assert all(len(m.get("text") or "") <= 600 for m in dispatcher.messages)


async def test_everything_in_the_first_message_asks_nothing(database, domain, dispatcher, tracker_for):
    text = "我要开个体户，家庭经营，用自己家的房子，不涉及食品，我是本地人，自己办，现在有身份证和房产证"
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for(text, intent="check_materials"), domain)
    slots = _slots(events)
    assert slots[names.REQUESTED_SLOT] is None
    assert slots["mat_family_run"] is True and slots["mat_residential"] is True and slots["mat_premises"] == "owned"
    assert slots["mat_food"] == "none" and slots["mat_hk_macao"] is False and slots["mat_agent"] is False
    assert not dispatcher.messages  # no preview: the checklist action follows at once


async def test_questions_already_answered_are_skipped(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_PROCEDURE: "setup", names.SLOT_ENTITY_TYPE: "有限责任公司", "mat_premises": "rented",
             names.REQUESTED_SLOT: "mat_residential"}
    tracker = tracker_for("是写字楼，我们是找代办公司办的", intent="inform_condition", slots=slots)
    events = await ValidateMaterialsForm().run(dispatcher, tracker, domain)
    assert _slots(events)["mat_residential"] is False and _slots(events)["mat_agent"] is True
    assert _slots(events)[names.REQUESTED_SLOT] == "mat_food"


async def test_a_correction_changes_the_entity_type(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_PROCEDURE: "setup", names.SLOT_ENTITY_TYPE: "个体工商户", names.REQUESTED_SLOT: "mat_family_run",
             "mat_premises": "rented", "mat_residential": False}
    tracker = tracker_for("不对，是合伙企业", intent="correct_info", slots=slots)
    events = await ValidateMaterialsForm().run(dispatcher, tracker, domain)
    slots_set = _slots(events)
    assert slots_set[names.SLOT_ENTITY_TYPE] == "合伙企业"
    assert slots_set[names.SHARED_ENTITY_TYPE] == "合伙企业"
    assert slots_set[names.REQUESTED_SLOT] == "mat_food"  # 家庭经营 no longer matters


async def test_short_answer_to_the_question_asked(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_PROCEDURE: "simple_dereg", names.SLOT_ENTITY_TYPE: "有限责任公司", names.REQUESTED_SLOT: "mat_agent"}
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for("是的", intent="affirm", slots=slots), domain)
    assert _slots(events)["mat_agent"] is True
    assert _slots(events)[names.REQUESTED_SLOT] == names.SLOT_ANSWERED


async def test_unsure_is_not_asked_again(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_PROCEDURE: "food", names.REQUESTED_SLOT: "mat_food"}
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for("还不知道", intent="inform_condition", slots=slots), domain)
    assert _slots(events)["mat_food"] == "unsure" and _slots(events)[names.REQUESTED_SLOT] == "mat_agent"


async def test_an_answer_not_understood_is_asked_again(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_PROCEDURE: "setup", names.SLOT_ENTITY_TYPE: "分公司", names.REQUESTED_SLOT: "mat_premises"}
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for("嗯嗯", intent="inform_condition", slots=slots), domain)
    assert _slots(events) == {names.SLOT_REASK: 1, names.REQUESTED_SLOT: "mat_premises"}
    assert dispatcher.messages[0]["response"] == "utter_materials_reask"


async def test_a_question_on_another_topic_is_answered_and_the_form_asks_again(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_PROCEDURE: "setup", names.REQUESTED_SLOT: names.SLOT_ENTITY_TYPE}
    tracker = tracker_for("年报什么时候报", intent="annual_report", slots=slots)
    events = await ValidateMaterialsForm().run(dispatcher, tracker, domain)
    assert _slots(events)[names.REQUESTED_SLOT] == names.SLOT_ENTITY_TYPE  # the form's question comes again
    text = _texts(dispatcher)
    assert "6 月 30 日" in text or "6月30日" in text  # the annual report's answer, with its source
    assert "📖 来源" in text
    assert names.SLOT_PROCEDURE not in _slots(events)  # nothing of the form was changed


async def test_a_hand_off_request_leaves_the_form(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_PROCEDURE: "setup", names.REQUESTED_SLOT: names.SLOT_ENTITY_TYPE}
    for text, intent in (("转人工", "request_human"), ("帮我转人工吧", "request_human"), ("没用", "not_helpful")):
        tracker = tracker_for(text, intent=intent, slots=slots)
        assert await ValidateMaterialsForm().run(dispatcher, tracker, domain) == []  # rejected: the hand-off rules run
    assert not dispatcher.messages


async def test_end_stops_the_form(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_PROCEDURE: "setup", names.REQUESTED_SLOT: names.SLOT_ENTITY_TYPE}
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for("结束", slots=slots), domain)
    assert _slots(events) == {names.SLOT_STOPPED: True, names.REQUESTED_SLOT: None}


async def test_coming_back_starts_from_the_saved_checklist(database, domain, dispatcher, tracker_for):
    with materials_repository() as repo:
        repo.save_checklist("back-user", "setup.llc", "有限责任公司",
                            {"premises": "rented", "residential": False, "food": "none", "hk_macao": False, "agent": False},
                            {"身份证明": True, "公司章程": False})
    tracker = tracker_for("我现在有章程了", intent="inform_have_materials", sender="back-user")
    events = await ValidateMaterialsForm().run(dispatcher, tracker, domain)
    slots = _slots(events)
    assert slots[names.SLOT_PROCEDURE] == "setup" and slots[names.SLOT_ENTITY_TYPE] == "有限责任公司"
    assert slots[names.SLOT_HELD] == {"身份证明": True, "公司章程": True}
    assert slots[names.REQUESTED_SLOT] is None


async def test_nothing_known_asks_the_procedure_first(database, domain, dispatcher, tracker_for):
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for("帮我核对材料", intent="check_materials"), domain)
    assert _slots(events)[names.REQUESTED_SLOT] == names.SLOT_PROCEDURE


async def test_not_covered_combination_ends_the_questions(database, domain, dispatcher, tracker_for):
    events = await ValidateMaterialsForm().run(
        dispatcher, tracker_for("股份有限公司设立要什么材料，帮我核对", intent="check_materials"), domain
    )
    assert _slots(events)[names.REQUESTED_SLOT] is None


@pytest.mark.parametrize(
    "text",
    ["", "🙏🙏🙏", "<img src=x onerror=alert(1)>", "'; DROP TABLE material_checklists; --", "好" * 5000],
)
async def test_bad_input_never_crashes_the_forms(database, domain, dispatcher, tracker_for, text):
    for action, slot in ((ValidateMaterialsForm(), names.SLOT_PROCEDURE), (ValidateSimpleDeregForm(), "sd_debts"),
                         (ValidateAddressCheckForm(), names.SLOT_ADDR_TYPE)):
        slots = {names.REQUESTED_SLOT: slot, names.SLOT_ENTITY_TYPE: "有限责任公司"}
        events = await action.run(dispatcher, tracker_for(text, intent="nlu_fallback", slots=slots), domain)
        assert isinstance(events, list)


# --- 简易注销 self-check ---


async def test_simple_dereg_starts_with_the_entity_type(database, domain, dispatcher, tracker_for):
    events = await ValidateSimpleDeregForm().run(
        dispatcher, tracker_for("帮我看看能不能简易注销", intent="check_simple_dereg_eligibility"), domain
    )
    assert _slots(events)[names.REQUESTED_SLOT] == names.SLOT_ENTITY_TYPE
    assert dispatcher.messages[0]["response"] == "utter_simple_dereg_intro"


async def test_simple_dereg_asks_each_exclusion_and_reads_statements(database, domain, dispatcher, tracker_for):
    tracker = tracker_for("我的有限公司想简易注销，没有欠税，也没被吊销", intent="check_simple_dereg_eligibility")
    slots = _slots(await ValidateSimpleDeregForm().run(dispatcher, tracker, domain))
    assert slots[names.SLOT_ENTITY_TYPE] == "有限责任公司"
    assert slots["sd_debts"] is False and slots["sd_revoked"] is False
    assert slots[names.REQUESTED_SLOT] == "sd_abnormal"  # 上市 only for 股份有限公司


async def test_simple_dereg_yes_no_and_all_no(database, domain, dispatcher, tracker_for):
    base = {names.SLOT_ENTITY_TYPE: "个体工商户", names.REQUESTED_SLOT: "sd_debts"}
    slots = _slots(await ValidateSimpleDeregForm().run(dispatcher, tracker_for("有", intent="affirm", slots=base), domain))
    assert slots["sd_debts"] is True and slots[names.REQUESTED_SLOT] == "sd_abnormal"
    slots = _slots(await ValidateSimpleDeregForm().run(dispatcher, tracker_for("都没有", intent="deny", slots=base), domain))
    assert slots["sd_debts"] is False and slots["sd_penalty"] is False and slots[names.REQUESTED_SLOT] is None


async def test_simple_dereg_ignores_company_words_in_answers(database, domain, dispatcher, tracker_for):
    base = {names.SLOT_ENTITY_TYPE: "个体工商户", names.REQUESTED_SLOT: "sd_debts"}
    slots = _slots(await ValidateSimpleDeregForm().run(
        dispatcher, tracker_for("没有，欠公司的钱都还了", intent="deny", slots=base), domain))
    assert names.SLOT_ENTITY_TYPE not in slots and slots["sd_debts"] is False


# --- the address check ---


async def test_address_everything_at_once(database, domain, dispatcher, tracker_for):
    tracker = tracker_for("在小区住宅里开奶茶店行不行，帮我判断", intent="check_address")
    slots = _slots(await ValidateAddressCheckForm().run(dispatcher, tracker, domain))
    assert slots[names.SLOT_ADDR_TYPE] == "residential" and slots[names.SLOT_ADDR_BUSINESS] == "catering"
    assert slots[names.REQUESTED_SLOT] is None


async def test_address_asks_the_entity_type_only_for_an_online_shop(database, domain, dispatcher, tracker_for):
    base = {names.REQUESTED_SLOT: names.SLOT_ADDR_TYPE}
    slots = _slots(await ValidateAddressCheckForm().run(dispatcher, tracker_for("只开网店", slots=base), domain))
    assert slots[names.SLOT_ADDR_TYPE] == "online" and slots[names.REQUESTED_SLOT] == names.SLOT_ENTITY_TYPE
    slots = _slots(await ValidateAddressCheckForm().run(dispatcher, tracker_for("公租房", slots=base), domain))
    assert slots[names.SLOT_ADDR_TYPE] == "restricted" and slots[names.REQUESTED_SLOT] is None


async def test_a_new_case_does_not_resume_an_old_checklist(database, domain, dispatcher, tracker_for):
    with materials_repository() as repo:
        repo.save_checklist("two-cases", "setup.llc", "有限责任公司", {"premises": "rented"}, {"公司章程": True})
    tracker = tracker_for("帮我核对个体户的材料，我有身份证", intent="check_materials", sender="two-cases")
    slots = _slots(await ValidateMaterialsForm().run(dispatcher, tracker, domain))
    assert slots[names.SLOT_ENTITY_TYPE] == "个体工商户"
    assert slots[names.SLOT_HELD] == {"身份证明": True} and "mat_premises" not in slots


async def test_which_deregistration_is_asked_when_unclear(database, domain, dispatcher, tracker_for):
    tracker = tracker_for("注销", intent="simple_dereg_process", slots={names.REQUESTED_SLOT: names.SLOT_PROCEDURE})
    slots = _slots(await ValidateMaterialsForm().run(dispatcher, tracker, domain))
    assert slots[names.REQUESTED_SLOT] == names.SLOT_PROCEDURE
    assert dispatcher.messages[0]["response"] == "utter_materials_which_deregistration"


@pytest.mark.parametrize("text", ["我现在有房产证了", "有房产证了", "没有房产证"])
async def test_a_material_said_while_a_yes_no_question_is_open_is_no_answer_to_it(
    database, domain, dispatcher, tracker_for, text
):
    """「是住宅吗？」 open, 「我现在有房产证了」: the 有 is about the document - record it, ask the question again."""
    slots = {names.SLOT_PROCEDURE: "setup", names.SLOT_ENTITY_TYPE: "个体工商户", "mat_premises": "rented",
             "mat_food": "catering", names.SLOT_HELD: {"身份证明": True, "租赁合同": True},
             names.SLOT_ANSWERED: True, names.SLOT_PREVIEWED: True, names.REQUESTED_SLOT: "mat_residential"}
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for(text, intent="inform_have_materials", slots=slots), domain)
    set_ = _slots(events)
    assert set_[names.SLOT_HELD]["产权证明"] is ("没有" not in text)
    assert "mat_residential" not in set_
    assert set_[names.REQUESTED_SLOT] == "mat_residential"


async def test_yes_before_a_material_still_answers(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_PROCEDURE: "setup", names.SLOT_ENTITY_TYPE: "个体工商户", "mat_premises": "rented",
             names.REQUESTED_SLOT: "mat_residential"}
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for("是的，有身份证", intent="affirm", slots=slots), domain)
    assert _slots(events)["mat_residential"] is True


MILK_TEA_OPEN = {names.SLOT_PROCEDURE: "setup", names.SLOT_ENTITY_TYPE: "个体工商户", "mat_premises": "rented",
                 "mat_food": "catering", names.SLOT_HELD: {"身份证明": True, "租赁合同": True},
                 names.SLOT_ANSWERED: True, names.SLOT_PREVIEWED: True}


async def test_what_am_i_missing_inside_the_questions_shows_the_list_and_asks_again(
    database, domain, dispatcher, tracker_for
):
    """A1: 「我还差什么」 while 「是住宅吗？」 is open was rejected; its only rule is the form, so the fallback and the
    form took turns until the circuit breaker. Now: the checklist as it stands, then the same question."""
    slots = {**MILK_TEA_OPEN, names.REQUESTED_SLOT: "mat_residential"}
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for("我还差什么", intent="ask_missing_materials", slots=slots), domain)
    assert events  # never rejected
    assert _slots(events)[names.REQUESTED_SLOT] == "mat_residential"
    text = _texts(dispatcher)
    assert "❌" in text and "个体工商户登记（备案）申请书" in text


@pytest.mark.parametrize("intent", sorted(names.FORM_INTENTS - {"ask_missing_materials"}))
async def test_intents_routed_to_the_form_are_never_rejected(database, domain, dispatcher, tracker_for, intent):
    slots = {**MILK_TEA_OPEN, names.REQUESTED_SLOT: "mat_residential"}
    text = "请问这个到底是怎么弄的呢，能不能再详细说说，我还是看不太明白啊，麻烦你了谢谢"
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for(text, intent=intent, slots=slots), domain)
    assert _slots(events)[names.REQUESTED_SLOT] == "mat_residential"
    assert dispatcher.messages[0]["response"] == "utter_materials_reask"


async def test_what_am_i_missing_after_end_shows_the_list(database, domain, dispatcher, tracker_for):
    """A4: after 「结束」 (requested_slot cleared) 「我还差什么」 asked the open question; now the form ends at once and
    the checklist action sends the list."""
    slots = {**MILK_TEA_OPEN, names.SLOT_ENTITY_TYPE: "一人有限责任公司", names.REQUESTED_SLOT: None}
    events = await ValidateMaterialsForm().run(dispatcher, tracker_for("我还差什么", intent="ask_missing_materials", slots=slots), domain)
    assert _slots(events)[names.REQUESTED_SLOT] is None


# --- a form asks only what was not said; questions inside forms are answered ----------------------------------------


async def test_one_person_company_with_id_and_articles_is_not_asked_the_procedure(database, domain, dispatcher, tracker_for):
    tracker = tracker_for("一人有限公司，身份证和章程都有了，还要啥", intent="check_materials")
    events = await ValidateMaterialsForm().run(dispatcher, tracker, domain)
    slots = _slots(events)
    assert slots[names.SLOT_PROCEDURE] == "setup" and slots[names.SLOT_ENTITY_TYPE] == "一人有限责任公司"
    assert slots[names.SLOT_HELD] == {"身份证明": True, "公司章程": True}
    assert slots[names.REQUESTED_SLOT] != names.SLOT_PROCEDURE
    assert "公司设立登记申请书" in _texts(dispatcher)  # the first checklist at once


async def test_one_named_document_does_not_decide_the_procedure(database, domain, dispatcher, tracker_for):
    """身份证 belongs to a setup check, but a message naming only it may be about any procedure: the form asks."""
    tracker = tracker_for("法人身份证丢了，要换法人，要带什么", intent="check_materials")
    events = await ValidateMaterialsForm().run(dispatcher, tracker, domain)
    slots = _slots(events)
    assert slots.get(names.SLOT_PROCEDURE) is None and slots[names.REQUESTED_SLOT] == names.SLOT_PROCEDURE
    assert "公司设立登记申请书" not in _texts(dispatcher)


async def test_a_check_started_after_an_answer_is_about_that_answer(database, domain, dispatcher, tracker_for):
    with materials_repository() as repo:  # an older checklist of the same user is about another procedure
        repo.save_checklist("ctx-user", "setup.llc", "有限责任公司", {}, {"身份证明": True})
    slots = {"last_answer_intent": "simple_dereg_materials", "current_topic": "deregistration", "entity_type": "个体工商户"}
    tracker = tracker_for("帮我核对我的材料", intent="check_materials", slots=slots, sender="ctx-user")
    events = await ValidateMaterialsForm().run(dispatcher, tracker, domain)
    assert _slots(events)[names.SLOT_PROCEDURE] == "simple_dereg"
    assert _slots(events)[names.SLOT_ENTITY_TYPE] == "个体工商户"  # named earlier in the conversation


async def test_deregistration_without_which_one_is_not_guessed(database, domain, dispatcher, tracker_for):
    tracker = tracker_for("注销公司我有营业执照和申请书，还要什么", intent="check_materials")
    events = await ValidateMaterialsForm().run(dispatcher, tracker, domain)
    assert names.SLOT_PROCEDURE not in _slots(events) or _slots(events)[names.SLOT_PROCEDURE] is None


async def test_when_do_i_get_the_licence_inside_the_form_is_answered_and_adds_no_material(
    database, domain, dispatcher, tracker_for
):
    slots = {names.SLOT_PROCEDURE: "setup", names.REQUESTED_SLOT: names.SLOT_ENTITY_TYPE}
    tracker = tracker_for("最快几时拿到执照？", intent="startup_process", slots=slots)
    events = await ValidateMaterialsForm().run(dispatcher, tracker, domain)
    slots_set = _slots(events)
    assert slots_set[names.REQUESTED_SLOT] == names.SLOT_ENTITY_TYPE  # asked again
    assert names.SLOT_HELD not in slots_set  # the licence asked about is not one the user has
    assert "0.5 天" in _texts(dispatcher) and "📖 来源" in _texts(dispatcher)
    assert not any(b.get("payload", "").startswith("/check_") for m in dispatcher.messages for b in m.get("buttons") or [])


async def test_a_question_that_also_answers_the_form_is_answered_too(database, domain, dispatcher, tracker_for):
    slots = {names.SLOT_PROCEDURE: "setup", names.REQUESTED_SLOT: names.SLOT_ENTITY_TYPE}
    tracker = tracker_for("一人公司要多少注册资本？", intent="registered_capital", slots=slots)
    events = await ValidateMaterialsForm().run(dispatcher, tracker, domain)
    assert _slots(events)[names.SLOT_ENTITY_TYPE] == "一人有限责任公司"
    assert _slots(events)[names.REQUESTED_SLOT] == "mat_premises"
    assert "认缴" in _texts(dispatcher)


async def test_a_question_inside_the_simple_dereg_check_is_answered_and_the_check_resumes(
    database, domain, dispatcher, tracker_for
):
    slots = {names.SLOT_ENTITY_TYPE: "有限责任公司", names.REQUESTED_SLOT: "sd_debts"}
    tracker = tracker_for("简易注销公示多少天？", intent="simple_dereg_notice", slots=slots)
    events = await ValidateSimpleDeregForm().run(dispatcher, tracker, domain)
    assert _slots(events)[names.REQUESTED_SLOT] == "sd_debts"
    assert "20" in _texts(dispatcher) and "📖 来源" in _texts(dispatcher)
    assert await ValidateSimpleDeregForm().run(dispatcher, tracker_for("转人工", intent="request_human", slots=slots), domain) == []


async def test_a_question_inside_the_address_check_is_answered_and_the_check_resumes(
    database, domain, dispatcher, tracker_for
):
    slots = {names.REQUESTED_SLOT: names.SLOT_ADDR_TYPE}
    tracker = tracker_for("一址多照是什么意思？", intent="address_multi_licence", slots=slots)
    events = await ValidateAddressCheckForm().run(dispatcher, tracker, domain)
    assert _slots(events)[names.REQUESTED_SLOT] == names.SLOT_ADDR_TYPE
    assert "📖 来源" in _texts(dispatcher)
